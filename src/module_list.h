/*
 * module_list.h — the module list: every module of the plinth program, in order (module_list.c).
 * main.c hands it to the application; the unit tests open the same application.
 */
#ifndef PL_MODULES_H
#define PL_MODULES_H

#include <stddef.h>

#include "app/module.h"

extern const pl_module_t *const pl_modules[];
extern const size_t pl_nmodules;

#endif
