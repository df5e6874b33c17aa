/*
 * clock.h — wall-clock time in milliseconds and RFC 3339 conversion (always UTC).
 */
#ifndef PL_CLOCK_H
#define PL_CLOCK_H

#include <stddef.h>
#include <stdint.h>

int64_t pl_now_ms(void);
/* Monotonic milliseconds / microseconds, for durations only. */
int64_t pl_mono_ms(void);
int64_t pl_mono_us(void);
/* Writes "2026-11-25T10:00:00.123Z" into out (at least 32 bytes); returns out. */
char *pl_rfc3339(int64_t ms, char *out, size_t outlen);
/* Milliseconds at 00:00 UTC of a civil date (month 1–12; months past 12 roll into later years). */
int64_t pl_utc_ms(int year, int month, int day);
/* Year and month (1–12) of a time. */
void pl_utc_month(int64_t ms, int *year, int *month);
/* Parses RFC 3339 (Z or ±hh:mm offset, optional fraction); returns 0 or -1. */
int pl_rfc3339_parse(const char *s, int64_t *ms_out);

#endif
