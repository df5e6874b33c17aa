/*
 * main.c — the plinth program: the module list (module_list.h) handed to the application
 * (app/app.h), which parses the command line and runs the command.
 */
#include "app/app.h"
#include "module_list.h"
#include "core/banned.h"

int main(int argc, char **argv)
{
    return pl_app_main(pl_modules, pl_nmodules, argc, argv);
}
