/*
 * typeid.h — TypeIDs (spec v0.3): a lowercase type prefix, '_', and a UUID in 26
 * characters of Crockford base32. New IDs use UUIDv7 (48-bit millisecond time, then a
 * per-thread counter and random bits), so IDs of one prefix sort by creation time.
 */
#ifndef PL_TYPEID_H
#define PL_TYPEID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PL_TYPEID_MAX 91 /* 63 prefix + '_' + 26 + NUL */

/* Encodes prefix + uuid into out (PL_TYPEID_MAX bytes). Returns 0, or -1 for a bad prefix. */
int pl_typeid_encode(const char *prefix, const uint8_t uuid[16], char *out);
/* Decodes s; prefix_out (64 bytes) receives the prefix. Returns 0 or -1 if s is not valid. */
int pl_typeid_decode(const char *s, size_t len, char *prefix_out, uint8_t uuid_out[16]);
/* A new UUIDv7 TypeID with this prefix. */
void pl_typeid_new(const char *prefix, char *out);
/* true if s is a valid TypeID whose prefix is exactly `prefix`. */
bool pl_typeid_valid(const char *s, size_t len, const char *prefix);
void pl_uuid_v7(uint8_t uuid[16]);

#endif
