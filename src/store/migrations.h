/*
 * migrations.h — the versioned schema migrations compiled into the binary.
 *
 * The SQL lives in src/store/migrations/<dialect>/NNNN_name.sql; the build embeds every
 * file into build/gen/migrations_<dialect>.c (tools/embed-migrations). Versions are
 * global and only ever appended.
 */
#ifndef PL_MIGRATIONS_H
#define PL_MIGRATIONS_H

#include <stddef.h>

typedef struct pl_migration {
    int version;
    const char *name;
    const char *sql;
} pl_migration_t;

extern const pl_migration_t pl_migrations_sqlite[];
extern const size_t pl_migrations_sqlite_count;

#endif
