/* Common includes for cmocka unit tests. */
#ifndef PL_UNIT_H
#define PL_UNIT_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#endif
