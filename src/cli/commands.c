/*
 * commands.c — administrative commands on the store (see cli.h). Output is JSON on
 * stdout (one document per command) so scripts can use it; errors go to stderr with a
 * non-zero exit code.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "events/audit.h"
#include "modules/members/members.h"
#include "platform/platform.h"
#include "platform/rbac.h"
#include "store/store.h"
#include "core/banned.h"

typedef struct cli {
    pl_store_t *store;
    pl_db_t *db;
    pl_arena_t arena;
    pl_err_t err;
} cli_t;

static int cli_open(cli_t *c, const pl_config_t *cfg)
{
    int applied;
    memset(c, 0, sizeof(*c));
    pl_err_clear(&c->err);
    pl_arena_init(&c->arena);
    if (pl_crypto_init() != 0 || pl_store_open(&c->store, cfg, &c->err) != 0 ||
        pl_store_migrate(c->store, &applied, &c->err) != 0 || pl_db_connect(c->store, &c->db, &c->err) != 0) {
        fprintf(stderr, "plinth: %s\n", c->err.message[0] ? c->err.message : "cannot open the store");
        return -1;
    }
    return 0;
}

static void cli_close(cli_t *c)
{
    pl_db_close(c->db);
    pl_store_close(c->store);
    pl_arena_release(&c->arena);
}

static int cli_fail(cli_t *c)
{
    int i;
    pl_db_rollback(c->db);
    fprintf(stderr, "plinth: %s\n", c->err.message[0] ? c->err.message : "failed");
    for (i = 0; i < c->err.nfields; i++)
        fprintf(stderr, "  %s: %s\n", c->err.fields[i].field, c->err.fields[i].message);
    return 1;
}

static void print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2));
    if (s)
        printf("%s\n", s);
    free(s);
    json_decref(j);
}

/* The value of --name in argv, or NULL; "--flag" alone gives "". */
static const char *opt(int argc, char **argv, const char *name)
{
    int i;
    size_t n = strlen(name);
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], name) == 0)
            return i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0 ? argv[i + 1] : "";
        if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=')
            return argv[i] + n + 1;
    }
    return NULL;
}

int pl_cli_migrate(const pl_config_t *cfg, int argc, char **argv)
{
    pl_store_t *s;
    pl_err_t err;
    int applied = 0;
    (void)argc;
    (void)argv;
    pl_err_clear(&err);
    if (pl_store_open(&s, cfg, &err) != 0 || pl_store_migrate(s, &applied, &err) != 0) {
        fprintf(stderr, "plinth: %s\n", err.message);
        return 1;
    }
    pl_store_close(s);
    printf("migrations applied: %d\n", applied);
    return 0;
}

int pl_cli_tenant(const pl_config_t *cfg, int argc, char **argv)
{
    cli_t c;
    const char *sub = argc > 1 ? argv[1] : "", *id;
    int rc = 0;
    if (strcmp(sub, "create") != 0 && strcmp(sub, "list") != 0) {
        fprintf(stderr, "usage: plinth tenant create --name NAME [--slug SLUG] | plinth tenant list\n");
        return 2;
    }
    if (cli_open(&c, cfg) != 0)
        return 1;
    if (strcmp(sub, "list") == 0) {
        json_t *all = pl_tenant_list(c.db, NULL, NULL, 1000000);
        if (all == NULL)
            rc = 1;
        else
            print_json(all);
    } else {
        const char *name = opt(argc, argv, "--name"), *slug = opt(argc, argv, "--slug");
        if (name == NULL || *name == '\0') {
            fprintf(stderr, "plinth tenant create: --name is required\n");
            rc = 2;
        } else if (pl_db_begin(c.db, PL_TX_WRITE, NULL) != 0 ||
                   pl_tenant_create(c.db, &c.arena, name, slug, &id, &c.err) != 0 ||
                   pl_db_commit(c.db) != 0) {
            rc = cli_fail(&c);
        } else {
            print_json(pl_tenant_json(c.db, id));
        }
    }
    cli_close(&c);
    return rc;
}

int pl_cli_user(const pl_config_t *cfg, int argc, char **argv)
{
    cli_t c;
    const char *email = opt(argc, argv, "--email"), *password = opt(argc, argv, "--password");
    const char *name = opt(argc, argv, "--name"), *tenant = opt(argc, argv, "--tenant");
    const char *role = opt(argc, argv, "--role");
    bool op = opt(argc, argv, "--operator") != NULL;
    const char *uid, *tid = NULL;
    char hash[128];
    json_t *out;
    int rc = 0;
    if (argc < 2 || strcmp(argv[1], "create") != 0 || !email || !password) {
        fprintf(stderr, "usage: plinth user create --email E --password P [--name N] "
                        "[--tenant ID --role owner|admin|editor|viewer] [--operator]\n");
        return 2;
    }
    if (role && !pl_rbac_role_valid(role)) {
        fprintf(stderr, "plinth user create: --role must be owner, admin, editor or viewer\n");
        return 2;
    }
    if (cli_open(&c, cfg) != 0)
        return 1;
    if (pl_password_prepare(password, email, hash, sizeof(hash), &c.err) != 0 ||
        pl_db_begin(c.db, PL_TX_WRITE, NULL) != 0) {
        rc = cli_fail(&c);
        goto out;
    }
    if (pl_user_create(c.db, &c.arena, email, hash, name ? name : "", true, &uid, &c.err) != 0) {
        rc = cli_fail(&c);
        goto out;
    }
    if (op && (pl_platform_tenant(c.db, &c.arena, &tid, &c.err) != 0 ||
               pl_membership_add(c.db, tid, uid, "owner", &c.err) != 0)) {
        rc = cli_fail(&c);
        goto out;
    }
    if (tenant && pl_membership_add(c.db, tenant, uid, role ? role : "viewer", &c.err) != 0) {
        rc = cli_fail(&c);
        goto out;
    }
    if (pl_db_commit(c.db) != 0) {
        rc = cli_fail(&c);
        goto out;
    }
    out = pl_user_json(c.db, uid);
    json_object_set_new(out, "operator", json_boolean(op));
    print_json(out);
out:
    cli_close(&c);
    return rc;
}

int pl_cli_apikey(const pl_config_t *cfg, int argc, char **argv)
{
    cli_t c;
    const char *tenant = opt(argc, argv, "--tenant"), *name = opt(argc, argv, "--name");
    const char *role = opt(argc, argv, "--role");
    json_t *out;
    int rc = 0;
    if (argc < 2 || strcmp(argv[1], "create") != 0 || !tenant || !*tenant) {
        fprintf(stderr, "usage: plinth apikey create --tenant ID [--name N] [--role admin|editor|viewer]\n");
        return 2;
    }
    if (role == NULL)
        role = "admin";
    if (!strcmp(role, "owner") || !pl_rbac_role_valid(role)) {
        fprintf(stderr, "plinth apikey create: --role must be admin, editor or viewer\n");
        return 2;
    }
    if (cli_open(&c, cfg) != 0)
        return 1;
    out = pl_tenant_json(c.db, tenant);
    if (out == NULL) {
        fprintf(stderr, "plinth apikey create: no tenant %s\n", tenant);
        rc = 1;
    } else if (json_decref(out), 0) {
    } else if (pl_db_begin(c.db, PL_TX_WRITE, NULL) != 0 ||
               pl_apikey_create(c.db, &c.arena, tenant, name && *name ? name : "cli", role, "cli", &out,
                                &c.err) != 0 ||
               pl_db_commit(c.db) != 0) {
        rc = cli_fail(&c);
    } else {
        print_json(out);
    }
    cli_close(&c);
    return rc;
}

static void seed_progress(long done, long total, void *arg)
{
    (void)arg;
    fprintf(stderr, "\rseeding %ld / %ld", done, total);
    if (done == total)
        fprintf(stderr, "\n");
}

int pl_cli_members(const pl_config_t *cfg, int argc, char **argv)
{
    cli_t c;
    const char *tenant = opt(argc, argv, "--tenant"), *n = opt(argc, argv, "--count");
    const char *acts = opt(argc, argv, "--activities");
    pl_members_seed_t seed = {5, 0, 0, seed_progress, NULL};
    json_t *t;
    int rc = 0;
    if (argc < 2 || strcmp(argv[1], "seed") != 0 || !tenant || !n) {
        fprintf(stderr, "usage: plinth members seed --tenant ID --count N [--activities N]\n");
        return 2;
    }
    seed.members = strtol(n, NULL, 10);
    seed.activities = acts ? strtol(acts, NULL, 10) : 0;
    if (seed.members < 0 || seed.members > 100000000 || seed.activities < 0) {
        fprintf(stderr, "plinth members seed: --count and --activities must be positive\n");
        return 2;
    }
    if (cli_open(&c, cfg) != 0)
        return 1;
    if ((t = pl_tenant_json(c.db, tenant)) == NULL) {
        fprintf(stderr, "plinth members seed: no tenant %s\n", tenant);
        rc = 1;
    } else {
        json_decref(t);
        if (pl_members_seed(c.db, tenant, &seed, &c.err) != 0)
            rc = cli_fail(&c);
        else
            printf("{\"tenant\":\"%s\",\"members\":%ld,\"activities\":%ld}\n", tenant, seed.members,
                   seed.activities);
    }
    cli_close(&c);
    return rc;
}

int pl_cli_audit(const pl_config_t *cfg, int argc, char **argv)
{
    cli_t c;
    const char *tenant = opt(argc, argv, "--tenant");
    int rc;
    if (argc < 2 || strcmp(argv[1], "verify") != 0) {
        fprintf(stderr, "usage: plinth audit verify [--tenant ID]\n");
        return 2;
    }
    if (cli_open(&c, cfg) != 0)
        return 1;
    rc = pl_audit_verify(c.db, tenant && *tenant ? tenant : NULL, stdout);
    cli_close(&c);
    if (rc < 0) {
        fprintf(stderr, "plinth audit verify: the audit log could not be read\n");
        return 2;
    }
    return rc == 0 ? 0 : 1;
}
