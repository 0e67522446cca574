/* tests/unit/test_store.c: a store backend against store.h.
 *
 * The backend is SQLite, or PostgreSQL when AVRR_TEST_BACKEND=postgresql
 * (or, with AVRR_TEST_BACKEND unset, when AVRR_TEST_PG_URI is set): then
 * every test gets a fresh database, created through AVRR_TEST_PG_URI (the
 * throw-away cluster of scripts/pg-test-cluster.sh) and dropped after it.
 * The few tests about SQLite's files (WAL, secure_delete, PRAGMAs, files
 * edited with the sqlite3 library) have a PostgreSQL variant or are skipped
 * there with a message saying why.
 *
 * Each test opens a fresh registry in its own temporary directory and checks
 * one promise of the interface: creation and migrations, refusal of newer or
 * foreign files, tenant scoping (another tenant's record is "not found"),
 * round trips field by field, paging, atomic multi-row inserts and the
 * connection settings (WAL, foreign keys, secure_delete).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "store/store.h"

typedef struct fixture {
    char dir[64];
    char path[512]; /* the registry: a file, or a PostgreSQL URI */
    char pg_db[64]; /* PostgreSQL: the test's database */
    avrr_store *s;
} fixture;

/* ---- backend selection ----------------------------------------------------- */

/* The maintenance URI when the tests run on PostgreSQL, else NULL. */
static const char *pg_uri;

/* The registry of the running test, for the side connections below. */
static const char *current_registry;

static bool on_pg(void)
{
    return pg_uri != NULL;
}

/* Skips a test about SQLite's files when the backend is PostgreSQL. */
#define SQLITE_ONLY(why)                                                      \
    do {                                                                      \
        if (on_pg()) {                                                        \
            print_message("[  SKIP    ] on PostgreSQL: %s\n", why);           \
            skip();                                                           \
        }                                                                     \
    } while (0)

/* base with its database name replaced by db: libpq URIs are
 * scheme://[userinfo@][host][:port][/dbname][?params]. */
static void uri_with_db(const char *base, const char *db, char *out,
                        size_t cap)
{
    const char *auth = strstr(base, "://");
    const char *path, *query;

    assert_non_null(auth);
    auth += 3;
    query = strchr(auth, '?');
    path = strchr(auth, '/');
    if (path == NULL || (query != NULL && path > query))
        path = query != NULL ? query : base + strlen(base);
    assert_true(snprintf(out, cap, "%.*s/%s%s", (int)(path - base), base, db,
                         query != NULL ? query : "") < (int)cap);
}

/* Runs one statement of the test's own on a connection to uri. */
static void pg_exec(const char *uri, const char *sql)
{
    PGconn *c = PQconnectdb(uri);
    PGresult *r;

    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot connect to %s: %s", uri, PQerrorMessage(c));
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK &&
        PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

/* One integer of a query run on a side connection to uri. */
static int64_t pg_int(const char *uri, const char *sql)
{
    PGconn *c = PQconnectdb(uri);
    PGresult *r;
    int64_t v;

    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot connect to %s: %s", uri, PQerrorMessage(c));
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return v;
}

/* A new empty database on the test cluster, its name in db and its URI in
 * uri. The name is made here (CREATE DATABASE takes no parameters). */
static void pg_create_db(char *db, size_t db_cap, char *uri, size_t uri_cap)
{
    static unsigned serial;
    char sql[128];

    snprintf(db, db_cap, "avrr_t_%ld_%u_%u", (long)getpid(), serial++,
             (unsigned)rand());
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    pg_exec(pg_uri, sql);
    uri_with_db(pg_uri, db, uri, uri_cap);
}

static void pg_drop_db(const char *db)
{
    char sql[128];

    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
    pg_exec(pg_uri, sql);
}

/* Runs a statement of the test's own on the registry, past the store. */
static void exec_registry_sql(avrr_store *s, const char *sql)
{
    char *msg = NULL;

    if (on_pg()) {
        pg_exec(current_registry, sql);
        return;
    }
    if (sqlite3_exec(avrr__sqlite_db(s), sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg != NULL ? msg : "?");
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    avrr_error e = {0};

    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/avrr-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    if (on_pg())
        pg_create_db(f->pg_db, sizeof f->pg_db, f->path, sizeof f->path);
    else
        snprintf(f->path, sizeof f->path, "%s/registry.db", f->dir);
    current_registry = f->path;
    assert_int_equal(avrr_store_open(f->path, true, &f->s, &e), AVRR_OK);
    *state = f;
    return 0;
}

static void remove_registry(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    char name[600]; /* a path of fixture.path and a suffix */
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
        unlink(name);
    }
}

static int teardown(void **state)
{
    fixture *f = *state;
    avrr_store_close(f->s);
    if (f->pg_db[0] != '\0')
        pg_drop_db(f->pg_db);
    else
        remove_registry(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Reopens the fixture's registry (to check what really reached the file). */
static void reopen(fixture *f)
{
    avrr_error e = {0};
    avrr_store_close(f->s);
    f->s = NULL;
    assert_int_equal(avrr_store_open(f->path, false, &f->s, &e), AVRR_OK);
}

/* One integer of a query on the registry (a PRAGMA, on SQLite); on
 * PostgreSQL through a side connection to the test's database. */
static int64_t pragma_int(avrr_store *s, const char *sql)
{
    sqlite3 *db = avrr__sqlite_db(s);
    sqlite3_stmt *st = NULL;
    int64_t v;

    if (on_pg())
        return pg_int(current_registry, sql);
    assert_non_null(db);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int64_t count(avrr_store *s, const char *table)
{
    int64_t n = -1;
    avrr_error e = {0};
    assert_int_equal(s->ops->count(s, table, &n, &e), AVRR_OK);
    return n;
}

static void add_tenant(avrr_store *s, const char *code, const char *name)
{
    avrr_tenant t = {0};
    avrr_error e = {0};
    snprintf(t.code, sizeof t.code, "%s", code);
    t.name = (char *)name;
    assert_int_equal(s->ops->tenant_insert(s, &t, &e), AVRR_OK);
    assert_true(t.created_at > 0);
}

/* The three tenants of the link and check tests: NL, BE and FR. */
static void add_nl_be_fr(avrr_store *s)
{
    add_tenant(s, "NL", "Netherlands");
    add_tenant(s, "BE", "Belgium");
    add_tenant(s, "FR", "France");
}

static avrr_date date(const char *text)
{
    avrr_date d;
    assert_int_equal(avrr_date_parse(text, &d, "date", NULL), AVRR_OK);
    return d;
}

/* A person of `tenant` with one identity named `surname` and no document.
 * Fields point at literals: the store only reads them. */
static int64_t add_person(avrr_store *s, const char *tenant,
                          const char *surname)
{
    avrr_identity id = {0};
    avrr_person p = {0};
    avrr_error e = {0};

    id.given_names = "Test";
    id.surname = (char *)surname;
    id.birth_date = date("1990");
    p.identities = &id;
    p.n_identities = 1;
    snprintf(p.tenant, sizeof p.tenant, "%s", tenant);
    assert_int_equal(s->ops->person_insert(s, &p, &e), AVRR_OK);
    assert_true(p.id > 0);
    return p.id;
}

static void assert_str_or_null(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

/* ---- open, schema, migrations ------------------------------------------ */

static void test_missing_registry(void **state)
{
    fixture *f = *state;
    char path[160];
    avrr_store *s = (avrr_store *)1;
    avrr_error e = {0};

    snprintf(path, sizeof path, "%s/absent.db", f->dir);
    assert_int_equal(avrr_store_open(path, false, &s, &e), AVRR_ENOTFOUND);
    assert_null(s);
    assert_non_null(strstr(e.message, "no registry at"));
    assert_non_null(strstr(e.message, "avrr init"));
    assert_int_equal(access(path, F_OK), -1); /* not created */

    if (on_pg()) {
        /* An empty database is no registry unless asked to make one. */
        char db[64], uri[512];
        pg_create_db(db, sizeof db, uri, sizeof uri);
        assert_int_equal(avrr_store_open(uri, false, &s, &e), AVRR_ENOTFOUND);
        assert_null(s);
        assert_non_null(strstr(e.message, "no registry at"));
        assert_non_null(strstr(e.message, "avrr init"));
        assert_int_equal(pg_int(uri, "SELECT count(*) FROM pg_tables WHERE "
                                     "schemaname = 'public'"),
                         0);
        pg_drop_db(db);
        /* A database that does not exist cannot be reached. */
        uri_with_db(pg_uri, "avrr_t_absent", uri, sizeof uri);
        assert_int_equal(avrr_store_open(uri, true, &s, &e), AVRR_EIO);
        assert_null(s);
        assert_non_null(strstr(e.message, "avrr_t_absent"));
    }
}

/* The schema version the registry records. */
static int64_t schema_version(avrr_store *s)
{
    return pragma_int(s, on_pg() ? "SELECT max(version) FROM "
                                   "schema_migrations"
                                 : "PRAGMA user_version");
}

static void test_migrations_and_reopen(void **state)
{
    fixture *f = *state;

    assert_int_equal(schema_version(f->s), AVRR_SCHEMA_VERSION);
    assert_int_equal(pragma_int(f->s, "SELECT count(*) FROM avrr_meta WHERE "
                                      "key = 'application' AND "
                                      "value = 'avrr'"),
                     1);
    add_tenant(f->s, "NL", "Netherlands");
    reopen(f); /* idempotent: nothing is applied twice */
    assert_int_equal(schema_version(f->s), AVRR_SCHEMA_VERSION);
    assert_int_equal(count(f->s, "tenants"), 1);
    assert_int_equal(pragma_int(f->s, "SELECT count(*) FROM avrr_meta"), 2);
    assert_string_equal(f->s->ops->name, on_pg() ? "postgresql" : "sqlite");
    if (on_pg())
        assert_int_equal(pragma_int(f->s, "SELECT count(*) FROM "
                                          "schema_migrations"),
                         AVRR_SCHEMA_VERSION);
}

static void test_newer_schema_refused(void **state)
{
    fixture *f = *state;
    avrr_store *s = NULL;
    avrr_error e = {0};
    sqlite3 *db = NULL;

    avrr_store_close(f->s);
    f->s = NULL;
    if (on_pg()) {
        pg_exec(f->path, "INSERT INTO schema_migrations VALUES (7, 0)");
    } else {
        assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 7", NULL,
                                      NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(db);
    }

    assert_int_equal(avrr_store_open(f->path, false, &s, &e), AVRR_EVERSION);
    assert_null(s);
    assert_non_null(strstr(e.message, "version 7"));
    assert_non_null(strstr(e.message, "upgrade avrr"));
    /* create = true must not touch it either */
    assert_int_equal(avrr_store_open(f->path, true, &s, &e), AVRR_EVERSION);
}

static void test_foreign_files_refused(void **state)
{
    fixture *f = *state;
    char path[160];
    avrr_store *s = NULL;
    avrr_error e = {0};
    sqlite3 *db = NULL;
    FILE *fp;

    if (on_pg()) {
        /* a PostgreSQL database of another application */
        char other[64], uri[512];
        pg_create_db(other, sizeof other, uri, sizeof uri);
        pg_exec(uri, "CREATE TABLE notes (t TEXT)");
        assert_int_equal(avrr_store_open(uri, true, &s, &e), AVRR_EINVALID);
        assert_null(s);
        assert_non_null(strstr(e.message, "not an avrr registry"));
        assert_int_equal(avrr_store_open(uri, false, &s, &e), AVRR_EINVALID);
        pg_drop_db(other);
        /* an empty one becomes a registry only when asked */
        pg_create_db(other, sizeof other, uri, sizeof uri);
        assert_int_equal(avrr_store_open(uri, false, &s, &e), AVRR_ENOTFOUND);
        assert_int_equal(avrr_store_open(uri, true, &s, &e), AVRR_OK);
        avrr_store_close(s);
        pg_drop_db(other);
        return;
    }
    /* an SQLite database of another application */
    snprintf(path, sizeof path, "%s/other.db", f->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE notes (t TEXT)", NULL,
                                  NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(avrr_store_open(path, true, &s, &e), AVRR_EINVALID);
    assert_null(s);
    assert_non_null(strstr(e.message, "not an avrr registry"));
    assert_int_equal(avrr_store_open(path, false, &s, &e), AVRR_EINVALID);
    remove_registry(path);

    /* not a database at all */
    fp = fopen(path, "w");
    assert_non_null(fp);
    for (int i = 0; i < 64; i++)
        fputs("rec_id,given_names,surname\n", fp);
    fclose(fp);
    assert_int_equal(avrr_store_open(path, false, &s, &e), AVRR_EINVALID);
    assert_null(s);
    assert_non_null(strstr(e.message, "not an avrr registry"));
    remove_registry(path);

    /* an empty file is not a registry unless we are asked to create one */
    fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(avrr_store_open(path, false, &s, &e), AVRR_ENOTFOUND);
    assert_int_equal(avrr_store_open(path, true, &s, &e), AVRR_OK);
    avrr_store_close(s);
    remove_registry(path);
}

static void test_connection_settings(void **state)
{
    fixture *f = *state;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;

    SQLITE_ONLY("PRAGMAs and WAL are SQLite's; foreign keys are checked "
                "by test_cases on every backend");
    assert_int_equal(pragma_int(f->s, "PRAGMA foreign_keys"), 1);
    assert_int_equal(pragma_int(f->s, "PRAGMA secure_delete"), 1);
    assert_int_equal(pragma_int(f->s, "PRAGMA synchronous"), 1); /* NORMAL */
    assert_int_equal(pragma_int(f->s, "PRAGMA busy_timeout"), 5000);

    /* WAL is recorded in the file: another connection sees it too. */
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st,
                                        NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);

    /* foreign keys at work: a person of an unknown tenant is refused */
    {
        avrr_person p = {0};
        avrr_error e = {0};
        snprintf(p.tenant, sizeof p.tenant, "XX");
        assert_int_equal(f->s->ops->person_insert(f->s, &p, &e),
                         AVRR_ENOTFOUND);
        assert_int_equal(count(f->s, "persons"), 0);
    }
}

/* ---- tenants and keys ----------------------------------------------------- */

static void test_tenants(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    avrr_tenant t = {0}, *list = NULL;
    avrr_error e = {0};
    size_t n = 0;

    add_tenant(s, "NL", "Netherlands");
    add_tenant(s, "BE", "Belgium");
    add_tenant(s, "IOM-NL", "IOM The Netherlands");

    assert_int_equal(s->ops->tenant_get(s, "NL", &t, &e), AVRR_OK);
    assert_string_equal(t.code, "NL");
    assert_string_equal(t.name, "Netherlands");
    assert_true(t.created_at > 0);
    avrr_tenant_clear(&t);

    assert_int_equal(s->ops->tenant_get(s, "FR", &t, &e), AVRR_ENOTFOUND);

    snprintf(t.code, sizeof t.code, "NL");
    t.name = "again";
    assert_int_equal(s->ops->tenant_insert(s, &t, &e), AVRR_EEXISTS);
    assert_non_null(strstr(e.message, "NL"));
    t.name = NULL;

    assert_int_equal(s->ops->tenant_list(s, &list, &n, &e), AVRR_OK);
    assert_int_equal(n, 3);
    assert_string_equal(list[0].code, "BE");
    assert_string_equal(list[1].code, "IOM-NL");
    assert_string_equal(list[2].code, "NL");
    assert_string_equal(list[1].name, "IOM The Netherlands");
    avrr_store_free_tenants(list, n);
}

static void test_keys(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    uint8_t h1[32], h2[32];
    int64_t id1 = 0, id2 = 0;
    avrr_key_info k, *keys = NULL;
    avrr_error e = {0};
    size_t n = 0;

    memset(h1, 0xa1, sizeof h1);
    memset(h2, 0xb2, sizeof h2);
    add_tenant(s, "NL", "Netherlands");
    add_tenant(s, "BE", "Belgium");
    assert_int_equal(s->ops->key_insert(s, "NL", AVRR_ROLE_CASEWORKER, h1,
                                        "desk 4", &id1, &e),
                     AVRR_OK);
    assert_int_equal(s->ops->key_insert(s, "BE", AVRR_ROLE_DPO, h2, "dpo",
                                        &id2, &e),
                     AVRR_OK);
    assert_true(id1 > 0 && id2 > id1);
    assert_int_equal(s->ops->key_insert(s, "BE", AVRR_ROLE_ADMIN, h1, "dup",
                                        NULL, &e),
                     AVRR_EEXISTS);

    assert_int_equal(s->ops->key_find(s, h1, &k, &e), AVRR_OK);
    assert_int_equal(k.id, id1);
    assert_string_equal(k.tenant, "NL");
    assert_int_equal(k.role, AVRR_ROLE_CASEWORKER);
    assert_string_equal(k.label, "desk 4");
    assert_false(k.revoked);
    assert_true(k.created_at > 0);

    assert_int_equal(s->ops->key_list(s, "BE", &keys, &n, &e), AVRR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(keys[0].role, AVRR_ROLE_DPO);
    avrr_free(keys);

    assert_int_equal(s->ops->key_revoke(s, id1, &e), AVRR_OK);
    assert_int_equal(s->ops->key_find(s, h1, &k, &e), AVRR_ENOTFOUND);
    assert_int_equal(s->ops->key_revoke(s, 9999, &e), AVRR_ENOTFOUND);

    assert_int_equal(s->ops->key_list(s, NULL, &keys, &n, &e), AVRR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(keys[0].id, id1);
    assert_true(keys[0].revoked);
    assert_false(keys[1].revoked);
    avrr_free(keys);
    assert_int_equal(count(s, "api_keys"), 2);
}

/* ---- persons --------------------------------------------------------------- */

static void assert_identity_equal(const avrr_identity *a,
                                  const avrr_identity *b)
{
    char da[11], db[11];
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->person_id, b->person_id);
    assert_str_or_null(a->given_names, b->given_names);
    assert_str_or_null(a->surname, b->surname);
    assert_str_or_null(a->full_name, b->full_name);
    assert_int_equal(a->sex, b->sex);
    assert_string_equal(avrr_date_format(&a->birth_date, da),
                        avrr_date_format(&b->birth_date, db));
    assert_int_equal(a->birth_date.precision, b->birth_date.precision);
    assert_int_equal(a->birth_date.placeholder, b->birth_date.placeholder);
    assert_int_equal(a->birth_date.year, b->birth_date.year);
    assert_int_equal(a->birth_date.month, b->birth_date.month);
    assert_int_equal(a->birth_date.day, b->birth_date.day);
    assert_string_equal(a->nationality, b->nationality);
    assert_str_or_null(a->birth_place, b->birth_place);
    assert_str_or_null(a->address, b->address);
    assert_str_or_null(a->national_ref, b->national_ref);
    assert_str_or_null(a->eurodac_ref, b->eurodac_ref);
    assert_int_equal(a->created_at, b->created_at);
    assert_int_equal(a->n_documents, b->n_documents);
    for (size_t i = 0; i < a->n_documents; i++) {
        assert_str_or_null(a->documents[i].type, b->documents[i].type);
        assert_str_or_null(a->documents[i].number, b->documents[i].number);
        assert_string_equal(a->documents[i].country,
                            b->documents[i].country);
    }
}

static void test_person_round_trip(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    avrr_document docs1[] = {
        {.type = "passport", .number = "P1234567", .country = "SYR"},
        {.type = "id_card", .number = "00-123-456", .country = ""},
    };
    avrr_document docs2[] = {
        {.type = "travel_document", .number = "TD99", .country = "NLD"},
    };
    avrr_identity ids[2] = {
        {.given_names = "Mohammed Abd al-Rahman",
         .surname = "Al-Hassan",
         .full_name = "محمد عبد الرحمن الحسن",
         .sex = AVRR_SEX_MALE,
         .nationality = "SYR",
         .birth_place = "حلب",
         .address = "Kerkstraat 1, Utrecht",
         .national_ref = "V-2024-0001",
         .eurodac_ref = "NL1234567890",
         .documents = docs1,
         .n_documents = 2},
        {.given_names = "Muhamad",
         .surname = "Alhasan",
         .full_name = NULL,
         .sex = AVRR_SEX_UNKNOWN,
         .nationality = "",
         .documents = docs2,
         .n_documents = 1},
    };
    avrr_person p = {.restricted = true, .identities = ids,
                     .n_identities = 2};
    avrr_person got = {0};
    avrr_error e = {0};

    ids[0].birth_date = date("1990-03-14");
    ids[1].birth_date = date("1990-00-00"); /* year only, placeholder */
    add_tenant(s, "NL", "Netherlands");
    add_tenant(s, "BE", "Belgium");
    snprintf(p.tenant, sizeof p.tenant, "NL");
    assert_int_equal(s->ops->person_insert(s, &p, &e), AVRR_OK);
    assert_true(p.id > 0);
    assert_true(p.created_at > 0);
    assert_true(ids[0].id > 0 && ids[1].id > ids[0].id);
    assert_int_equal(ids[0].person_id, p.id);
    assert_int_equal(ids[1].person_id, p.id);
    assert_int_equal(ids[0].created_at, p.created_at);

    reopen(f);
    s = f->s;
    assert_int_equal(s->ops->person_get(s, "NL", p.id, &got, &e), AVRR_OK);
    assert_int_equal(got.id, p.id);
    assert_string_equal(got.tenant, "NL");
    assert_true(got.restricted);
    assert_int_equal(got.created_at, p.created_at);
    assert_int_equal(got.n_identities, 2);
    assert_identity_equal(&got.identities[0], &ids[0]);
    assert_identity_equal(&got.identities[1], &ids[1]);
    assert_true(got.identities[1].birth_date.placeholder);
    assert_int_equal(got.identities[1].birth_date.precision, AVRR_DATE_YEAR);
    avrr_person_clear(&got);

    /* another tenant's person is exactly as absent as a missing one */
    assert_int_equal(s->ops->person_get(s, "BE", p.id, &got, &e),
                     AVRR_ENOTFOUND);
    assert_int_equal(got.n_identities, 0);
    assert_int_equal(s->ops->person_get(s, "NL", p.id + 100, &got, &e),
                     AVRR_ENOTFOUND);
    assert_int_equal(count(s, "persons"), 1);
    assert_int_equal(count(s, "identities"), 2);
}

static void test_identity_insert(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    avrr_identity alias = {.given_names = "Youssef", .surname = "Ali"};
    avrr_person got = {0};
    avrr_error e = {0};
    int64_t pid;

    add_tenant(s, "NL", "Netherlands");
    add_tenant(s, "BE", "Belgium");
    pid = add_person(s, "NL", "Ali");
    alias.person_id = pid;
    assert_int_equal(s->ops->identity_insert(s, "BE", &alias, &e),
                     AVRR_ENOTFOUND);
    assert_int_equal(alias.id, 0);
    assert_int_equal(s->ops->identity_insert(s, "NL", &alias, &e), AVRR_OK);
    assert_true(alias.id > 0);
    assert_int_equal(s->ops->person_get(s, "NL", pid, &got, &e), AVRR_OK);
    assert_int_equal(got.n_identities, 2);
    assert_string_equal(got.identities[1].given_names, "Youssef");
    avrr_person_clear(&got);
}

static void test_person_list_paging(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    int64_t nl[5];
    avrr_person *list = NULL;
    avrr_error e = {0};
    size_t n = 0;

    add_tenant(s, "NL", "Netherlands");
    add_tenant(s, "BE", "Belgium");
    for (int i = 0; i < 5; i++) {
        nl[i] = add_person(s, "NL", "Nl");
        add_person(s, "BE", "Be");
    }
    assert_int_equal(s->ops->person_list(s, "NL", 0, 2, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].id, nl[0]);
    assert_int_equal(list[1].id, nl[1]);
    assert_int_equal(list[1].n_identities, 1);
    assert_string_equal(list[1].identities[0].surname, "Nl");
    avrr_store_free_persons(list, n);

    assert_int_equal(s->ops->person_list(s, "NL", nl[1], 2, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].id, nl[2]);
    assert_int_equal(list[1].id, nl[3]);
    avrr_store_free_persons(list, n);

    assert_int_equal(s->ops->person_list(s, "NL", nl[3], 100000, &list, &n,
                                         &e),
                     AVRR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].id, nl[4]);
    avrr_store_free_persons(list, n);

    assert_int_equal(s->ops->person_list(s, "NL", nl[4], 10, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 0);
    avrr_store_free_persons(list, n);

    assert_int_equal(s->ops->person_list(s, "FR", 0, 10, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 0);
}

/* A failure in the middle of a person leaves nothing behind, with and
 * without a transaction of the caller's. */
static void test_person_insert_atomic(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    avrr_document good = {.type = "passport", .number = "X1",
                          .country = "IRQ"};
    avrr_document bad = {.type = "passport", .number = "", .country = ""};
    avrr_identity ids[2] = {
        {.surname = "First", .documents = &good, .n_documents = 1},
        {.surname = "Second", .documents = &bad, .n_documents = 1},
    };
    avrr_person p = {.identities = ids, .n_identities = 2};
    avrr_error e = {0};

    add_tenant(s, "NL", "Netherlands");
    snprintf(p.tenant, sizeof p.tenant, "NL");
    assert_int_equal(s->ops->person_insert(s, &p, &e), AVRR_EINVALID);
    assert_string_equal(e.field, "identities[1].documents[0]");
    assert_int_equal(p.id, 0);
    assert_int_equal(ids[0].id, 0);
    assert_int_equal(count(s, "persons"), 0);
    assert_int_equal(count(s, "identities"), 0);
    assert_int_equal(pragma_int(s, "SELECT count(*) FROM documents"), 0);

    /* inside the caller's transaction: only the failed person is undone */
    assert_int_equal(s->ops->begin(s, &e), AVRR_OK);
    add_person(s, "NL", "Kept");
    assert_int_equal(s->ops->person_insert(s, &p, &e), AVRR_EINVALID);
    assert_int_equal(s->ops->commit(s, &e), AVRR_OK);
    assert_int_equal(count(s, "persons"), 1);
    assert_int_equal(count(s, "identities"), 1);
    assert_int_equal(pragma_int(s, "SELECT count(*) FROM documents"), 0);

    /* and a rollback takes everything back */
    assert_int_equal(s->ops->begin(s, &e), AVRR_OK);
    add_person(s, "NL", "Dropped");
    s->ops->rollback(s);
    assert_int_equal(count(s, "persons"), 1);
}

/* Reads fail cleanly, without leaks, when any allocation fails. */
static void test_person_get_out_of_memory(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    avrr_document doc = {.type = "passport", .number = "A1",
                         .country = "AFG"};
    avrr_identity ids[2] = {
        {.surname = "One", .given_names = "A", .documents = &doc,
         .n_documents = 1},
        {.surname = "Two", .birth_place = "Kabul"},
    };
    avrr_person p = {.identities = ids, .n_identities = 2};
    avrr_person got = {0};
    avrr_person *list = NULL;
    avrr_error e = {0};
    size_t n = 0;
    avrr_err rc;
    long i;

    add_tenant(s, "NL", "Netherlands");
    snprintf(p.tenant, sizeof p.tenant, "NL");
    assert_int_equal(s->ops->person_insert(s, &p, &e), AVRR_OK);
    for (i = 1; i < 100; i++) {
        avrr_alloc_fail_after(i);
        rc = s->ops->person_get(s, "NL", p.id, &got, &e);
        avrr_alloc_fail_after(0);
        if (rc == AVRR_OK)
            break;
        assert_int_equal(rc, AVRR_ENOMEM);
        assert_int_equal(got.n_identities, 0);
    }
    assert_int_equal(rc, AVRR_OK);
    assert_true(i > 5);
    assert_int_equal(got.n_identities, 2);
    avrr_person_clear(&got);

    for (i = 1; i < 100; i++) {
        avrr_alloc_fail_after(i);
        rc = s->ops->person_list(s, "NL", 0, 10, &list, &n, &e);
        avrr_alloc_fail_after(0);
        if (rc == AVRR_OK)
            break;
        assert_int_equal(rc, AVRR_ENOMEM);
        assert_null(list);
    }
    assert_int_equal(rc, AVRR_OK);
    assert_int_equal(n, 1);
    avrr_store_free_persons(list, n);
}

/* ---- cases and assistance ----------------------------------------------------- */

static avrr_case make_case(const char *tenant, int64_t person_id)
{
    avrr_case c = {0};
    c.person_id = person_id;
    snprintf(c.tenant, sizeof c.tenant, "%s", tenant);
    snprintf(c.destination_country, sizeof c.destination_country, "IRQ");
    c.return_type = AVRR_RETURN_VOLUNTARY;
    c.programme = "eurp";
    c.status = AVRR_CASE_COUNSELLED;
    c.opened_on = date("2025-02-03");
    return c;
}

static void test_cases(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    avrr_case c, other, got = {0}, *list = NULL;
    avrr_error e = {0};
    char buf[11];
    int64_t nl_p, be_p;
    size_t n = 0;

    add_tenant(s, "NL", "Netherlands");
    add_tenant(s, "BE", "Belgium");
    nl_p = add_person(s, "NL", "Nl");
    be_p = add_person(s, "BE", "Be");

    other = make_case("NL", be_p); /* NL may not open a case on BE's person */
    assert_int_equal(s->ops->case_insert(s, &other, &e), AVRR_ENOTFOUND);
    assert_string_equal(e.field, "person_id");
    assert_int_equal(count(s, "cases"), 0);

    c = make_case("NL", nl_p);
    assert_int_equal(s->ops->case_insert(s, &c, &e), AVRR_OK);
    assert_true(c.id > 0 && c.created_at > 0);
    assert_int_equal(c.updated_at, c.created_at);
    other = make_case("BE", be_p);
    assert_int_equal(s->ops->case_insert(s, &other, &e), AVRR_OK);

    assert_int_equal(s->ops->case_get(s, "NL", c.id, &got, &e), AVRR_OK);
    assert_int_equal(got.person_id, nl_p);
    assert_string_equal(got.tenant, "NL");
    assert_string_equal(got.destination_country, "IRQ");
    assert_int_equal(got.return_type, AVRR_RETURN_VOLUNTARY);
    assert_string_equal(got.programme, "eurp");
    assert_int_equal(got.status, AVRR_CASE_COUNSELLED);
    assert_string_equal(avrr_date_format(&got.opened_on, buf), "2025-02-03");
    assert_int_equal(got.closed_on.precision, AVRR_DATE_UNKNOWN);
    avrr_case_clear(&got);
    assert_int_equal(s->ops->case_get(s, "BE", c.id, &got, &e),
                     AVRR_ENOTFOUND);

    c.status = AVRR_CASE_WITHDRAWN;
    c.closed_on = date("2025-03-01");
    assert_int_equal(s->ops->case_update(s, &c, &e), AVRR_OK);
    assert_int_equal(s->ops->case_get(s, "NL", c.id, &got, &e), AVRR_OK);
    assert_int_equal(got.status, AVRR_CASE_WITHDRAWN);
    assert_string_equal(avrr_date_format(&got.closed_on, buf), "2025-03-01");
    assert_int_equal(got.updated_at, c.updated_at);
    avrr_case_clear(&got);

    other.status = AVRR_CASE_ABSCONDED; /* BE's case, updated as NL */
    snprintf(other.tenant, sizeof other.tenant, "NL");
    assert_int_equal(s->ops->case_update(s, &other, &e), AVRR_ENOTFOUND);

    assert_int_equal(s->ops->case_list(s, "NL", 0, 0, 10, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].id, c.id);
    avrr_store_free_cases(list, n);
    assert_int_equal(s->ops->case_list(s, "NL", be_p, 0, 10, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(s->ops->case_list(s, "NL", nl_p, c.id, 10, &list, &n,
                                       &e),
                     AVRR_OK);
    assert_int_equal(n, 0);
}

static void test_assistance(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    avrr_case c, be_case;
    avrr_assistance a = {0}, *list = NULL;
    avrr_error e = {0};
    char buf[11];
    size_t n = 0;

    add_tenant(s, "NL", "Netherlands");
    add_tenant(s, "BE", "Belgium");
    c = make_case("NL", add_person(s, "NL", "Nl"));
    assert_int_equal(s->ops->case_insert(s, &c, &e), AVRR_OK);
    be_case = make_case("BE", add_person(s, "BE", "Be"));
    assert_int_equal(s->ops->case_insert(s, &be_case, &e), AVRR_OK);

    a.case_id = c.id;
    snprintf(a.tenant, sizeof a.tenant, "NL");
    a.kind = AVRR_KIND_REINTEGRATION_BUSINESS;
    a.amount_cents = 200000;
    a.cash = false;
    a.provider = "IOM Baghdad";
    a.funding = AVRR_FUND_AMIF;
    a.granted_on = date("2025-02-10");
    a.status = AVRR_ASSIST_GRANTED;
    assert_int_equal(s->ops->assistance_insert(s, &a, &e), AVRR_OK);
    assert_true(a.id > 0 && a.created_at > 0);
    a.kind = AVRR_KIND_POST_ARRIVAL;
    a.amount_cents = 61500;
    a.cash = true;
    a.provider = NULL;
    a.status = AVRR_ASSIST_DELIVERED;
    a.delivered_on = date("2025-03");
    assert_int_equal(s->ops->assistance_insert(s, &a, &e), AVRR_OK);

    a.case_id = be_case.id; /* NL may not record on BE's case */
    assert_int_equal(s->ops->assistance_insert(s, &a, &e), AVRR_ENOTFOUND);
    assert_int_equal(count(s, "assistance"), 2);

    assert_int_equal(s->ops->assistance_list(s, "NL", c.id, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 2);
    assert_true(list[0].id < list[1].id);
    assert_int_equal(list[0].case_id, c.id);
    assert_string_equal(list[0].tenant, "NL");
    assert_int_equal(list[0].kind, AVRR_KIND_REINTEGRATION_BUSINESS);
    assert_int_equal(list[0].amount_cents, 200000);
    assert_false(list[0].cash);
    assert_string_equal(list[0].provider, "IOM Baghdad");
    assert_int_equal(list[0].funding, AVRR_FUND_AMIF);
    assert_string_equal(avrr_date_format(&list[0].granted_on, buf),
                        "2025-02-10");
    assert_int_equal(list[0].delivered_on.precision, AVRR_DATE_UNKNOWN);
    assert_int_equal(list[0].status, AVRR_ASSIST_GRANTED);
    assert_int_equal(list[1].kind, AVRR_KIND_POST_ARRIVAL);
    assert_true(list[1].cash);
    assert_null(list[1].provider);
    assert_string_equal(avrr_date_format(&list[1].delivered_on, buf),
                        "2025-03");
    assert_int_equal(list[1].status, AVRR_ASSIST_DELIVERED);
    avrr_store_free_assistance(list, n);

    assert_int_equal(s->ops->assistance_list(s, "BE", c.id, &list, &n, &e),
                     AVRR_ENOTFOUND);
    assert_null(list);
}

/* ---- schema version 2: settings and consultation ----------------------- */

/* Number of tables and indexes, to compare two registries' schemas. */
static int64_t schema_objects(avrr_store *s)
{
    return pragma_int(s, "SELECT count(*) FROM sqlite_master "
                         "WHERE type IN ('table', 'index', 'trigger')");
}

static void exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, msg != NULL ? msg : "?");
}

/* Takes a registry of schema version 5 back to version 4 (SQLite; the
 * schema version itself is left to the caller). */
#define V5_TO_V4                                                              \
    "DROP TRIGGER links_red_insert; DROP TRIGGER links_red_update; "          \
    "DROP TRIGGER links_red_delete; DROP INDEX links_red_a; "                 \
    "DROP INDEX links_red_b; ALTER TABLE persons DROP COLUMN red_links; "

/* The same on PostgreSQL, with the version. */
#define V5_TO_V4_PG                                                           \
    "DROP TRIGGER links_red_insert ON links; "                                \
    "DROP TRIGGER links_red_update ON links; "                                \
    "DROP TRIGGER links_red_delete ON links; "                                \
    "DROP FUNCTION avrr_links_red(); DROP INDEX links_red_a; "                \
    "DROP INDEX links_red_b; ALTER TABLE persons DROP COLUMN red_links; "     \
    "DELETE FROM schema_migrations WHERE version = 5"

/* Takes a registry of schema version 4 back to version 3. */
#define V4_TO_V3                                                              \
    V5_TO_V4                                                                  \
    "DROP TABLE follow_ups; DROP TABLE plans; DROP TABLE referrals; "         \
    "DROP TABLE counselling; ALTER TABLE cases DROP COLUMN adults; "          \
    "ALTER TABLE cases DROP COLUMN minors; "

/* Takes a registry of schema version 3 back to version 2, as an avrr of
 * version 2 left it (after V4_TO_V3). */
#define V3_TO_V2                                                              \
    V4_TO_V3                                                                  \
    "DROP TABLE audit_events; DROP TABLE audit_checkpoints; "                 \
    "DROP TABLE identity_history; "                                           \
    "ALTER TABLE persons DROP COLUMN erased_at; "                             \
    "ALTER TABLE tenants DROP COLUMN retention_days; "                        \
    "ALTER TABLE tenants DROP COLUMN audit_retention_days; "

/* A registry of schema version 1 (made here by taking the current version
 * back, as an avrr of version 1 left it) is upgraded at open and keeps its
 * rows. */
static void test_migration_from_v1(void **state)
{
    fixture *f = *state;
    int64_t fresh = on_pg() ? 0 : schema_objects(f->s);
    avrr_tenant t = {0};
    avrr_error e = {0};
    sqlite3 *db = NULL;

    SQLITE_ONLY("the old schema is made by editing the file with SQLite");
    avrr_store_close(f->s);
    f->s = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    exec_sql(db, V3_TO_V2
                 "DROP TABLE disclosures; DROP TABLE links; "
                 "DROP TABLE check_hits; DROP TABLE checks; "
                 "ALTER TABLE tenants DROP COLUMN duplicate_policy; "
                 "INSERT INTO tenants (code, name, created_at) "
                 "VALUES ('NL', 'Netherlands', 1700000000); "
                 "PRAGMA user_version = 1");
    sqlite3_close(db);

    assert_int_equal(avrr_store_open(f->path, false, &f->s, &e), AVRR_OK);
    assert_int_equal(pragma_int(f->s, "PRAGMA user_version"),
                     AVRR_SCHEMA_VERSION);
    assert_int_equal(schema_objects(f->s), fresh);
    assert_int_equal(f->s->ops->tenant_get(f->s, "NL", &t, &e), AVRR_OK);
    assert_string_equal(t.name, "Netherlands");
    assert_int_equal(t.duplicate_policy, AVRR_DUPLICATE_WARN);
    assert_int_equal(t.created_at, 1700000000);
    avrr_tenant_clear(&t);
    assert_int_equal(count(f->s, "checks"), 0);
    assert_int_equal(count(f->s, "links"), 0);
    assert_int_equal(count(f->s, "disclosures"), 0);
    assert_int_equal(pragma_int(f->s, "SELECT count(*) FROM sqlite_master "
                                      "WHERE name IN ('checks', "
                                      "'check_hits', 'links', "
                                      "'disclosures', 'links_tenant_a', "
                                      "'links_tenant_b', 'links_person_a', "
                                      "'links_person_b', "
                                      "'check_hits_check', "
                                      "'disclosures_requester', "
                                      "'disclosures_owner', "
                                      "'checks_tenant')"),
                     12);
    assert_int_equal(pragma_int(f->s, "SELECT count(*) FROM "
                                      "pragma_foreign_key_check"),
                     0);
}

static void test_tenant_policy(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    avrr_tenant t = {0}, got = {0}, *list = NULL;
    avrr_error e = {0};
    size_t n = 0;

    add_tenant(s, "NL", "Netherlands"); /* zeroed record: warn */
    snprintf(t.code, sizeof t.code, "BE");
    t.name = "Belgium";
    t.duplicate_policy = AVRR_DUPLICATE_BLOCK;
    assert_int_equal(s->ops->tenant_insert(s, &t, &e), AVRR_OK);

    assert_int_equal(s->ops->tenant_get(s, "BE", &got, &e), AVRR_OK);
    assert_int_equal(got.duplicate_policy, AVRR_DUPLICATE_BLOCK);
    avrr_tenant_clear(&got);
    assert_int_equal(s->ops->tenant_list(s, &list, &n, &e), AVRR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].duplicate_policy, AVRR_DUPLICATE_BLOCK);
    assert_int_equal(list[1].duplicate_policy, AVRR_DUPLICATE_WARN);
    avrr_store_free_tenants(list, n);

    t.name = "Kingdom of Belgium";
    t.duplicate_policy = AVRR_DUPLICATE_WARN;
    assert_int_equal(s->ops->tenant_update(s, &t, &e), AVRR_OK);
    assert_int_equal(s->ops->tenant_get(s, "BE", &got, &e), AVRR_OK);
    assert_string_equal(got.name, "Kingdom of Belgium");
    assert_int_equal(got.duplicate_policy, AVRR_DUPLICATE_WARN);
    assert_int_equal(got.created_at, t.created_at);
    avrr_tenant_clear(&got);

    snprintf(t.code, sizeof t.code, "FR");
    assert_int_equal(s->ops->tenant_update(s, &t, &e), AVRR_ENOTFOUND);
    snprintf(t.code, sizeof t.code, "BE");
    t.duplicate_policy = (avrr_duplicate_policy)7;
    assert_int_equal(s->ops->tenant_update(s, &t, &e), AVRR_EINVALID);
    snprintf(t.code, sizeof t.code, "DE");
    assert_int_equal(s->ops->tenant_insert(s, &t, &e), AVRR_EINVALID);
    assert_int_equal(count(s, "tenants"), 2);
}

/* Retention periods: the store keeps exactly what the record says (the
 * service sets the defaults), 0 included; negative ones are refused. */
static void test_tenant_retention(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    avrr_tenant t = {0}, got = {0}, *list = NULL;
    avrr_error e = {0};
    size_t n = 0;

    add_tenant(s, "NL", "Netherlands"); /* zeroed: 0 and 0 */
    snprintf(t.code, sizeof t.code, "BE");
    t.name = "Belgium";
    t.retention_days = AVRR_RETENTION_DAYS_DEFAULT;
    t.audit_retention_days = AVRR_AUDIT_RETENTION_DAYS_DEFAULT;
    assert_int_equal(s->ops->tenant_insert(s, &t, &e), AVRR_OK);

    assert_int_equal(s->ops->tenant_list(s, &list, &n, &e), AVRR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].retention_days, 730);
    assert_int_equal(list[0].audit_retention_days, 1095);
    assert_int_equal(list[1].retention_days, 0);
    assert_int_equal(list[1].audit_retention_days, 0);
    avrr_store_free_tenants(list, n);

    t.retention_days = 365;
    t.audit_retention_days = 30;
    assert_int_equal(s->ops->tenant_update(s, &t, &e), AVRR_OK);
    reopen(f);
    s = f->s;
    assert_int_equal(s->ops->tenant_get(s, "BE", &got, &e), AVRR_OK);
    assert_int_equal(got.retention_days, 365);
    assert_int_equal(got.audit_retention_days, 30);
    assert_string_equal(got.name, "Belgium");
    avrr_tenant_clear(&got);

    t.retention_days = -1;
    assert_int_equal(s->ops->tenant_update(s, &t, &e), AVRR_EINVALID);
    assert_string_equal(e.field, "retention_days");
    t.retention_days = 1;
    t.audit_retention_days = -5;
    assert_int_equal(s->ops->tenant_update(s, &t, &e), AVRR_EINVALID);
    assert_string_equal(e.field, "audit_retention_days");
    snprintf(t.code, sizeof t.code, "FR");
    t.name = "France";
    assert_int_equal(s->ops->tenant_insert(s, &t, &e), AVRR_EINVALID);
    assert_int_equal(count(s, "tenants"), 2);
    assert_int_equal(s->ops->tenant_get(s, "BE", &got, &e), AVRR_OK);
    assert_int_equal(got.retention_days, 365); /* unchanged */
    avrr_tenant_clear(&got);
}

static void test_meta(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    char *v = (char *)1;
    avrr_error e = {0};

    assert_int_equal(s->ops->meta_get(s, "pseudonym_key", &v, &e),
                     AVRR_ENOTFOUND);
    assert_null(v);
    assert_int_equal(s->ops->meta_set(s, "pseudonym_key", "abc", &e),
                     AVRR_OK);
    assert_int_equal(s->ops->meta_get(s, "pseudonym_key", &v, &e), AVRR_OK);
    assert_string_equal(v, "abc");
    avrr_free(v);
    assert_int_equal(s->ops->meta_set(s, "pseudonym_key", "def", &e),
                     AVRR_OK);
    reopen(f);
    s = f->s;
    assert_int_equal(s->ops->meta_get(s, "pseudonym_key", &v, &e), AVRR_OK);
    assert_string_equal(v, "def");
    avrr_free(v);

    /* open() recognises a registry by this one */
    assert_int_equal(s->ops->meta_get(s, "application", &v, &e), AVRR_OK);
    assert_string_equal(v, "avrr");
    avrr_free(v);
    assert_int_equal(s->ops->meta_set(s, "application", "other", &e),
                     AVRR_EINVALID);
    assert_int_equal(s->ops->meta_set(s, "x", NULL, &e), AVRR_EINVALID);
    assert_int_equal(pragma_int(s, "SELECT count(*) FROM avrr_meta"), 3);
}

static void test_person_get_any(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    avrr_person got = {0};
    avrr_error e = {0};
    int64_t nl, be;

    add_tenant(s, "NL", "Netherlands");
    add_tenant(s, "BE", "Belgium");
    nl = add_person(s, "NL", "Nl");
    be = add_person(s, "BE", "Be");
    assert_int_equal(s->ops->person_get_any(s, be, &got, &e), AVRR_OK);
    assert_string_equal(got.tenant, "BE");
    assert_int_equal(got.n_identities, 1);
    assert_string_equal(got.identities[0].surname, "Be");
    avrr_person_clear(&got);
    assert_int_equal(s->ops->person_get_any(s, nl, &got, &e), AVRR_OK);
    assert_string_equal(got.tenant, "NL");
    avrr_person_clear(&got);
    assert_int_equal(s->ops->person_get_any(s, be + 10, &got, &e),
                     AVRR_ENOTFOUND);
    assert_int_equal(got.n_identities, 0);
    /* person_get keeps its tenant filter, also for a NULL tenant */
    assert_int_equal(s->ops->person_get(s, NULL, be, &got, &e),
                     AVRR_ENOTFOUND);
}

static avrr_assistance make_grant(const char *tenant, int64_t case_id,
                                  avrr_assistance_kind kind, int64_t cents)
{
    avrr_assistance a = {0};
    a.case_id = case_id;
    snprintf(a.tenant, sizeof a.tenant, "%s", tenant);
    a.kind = kind;
    a.amount_cents = cents;
    a.funding = AVRR_FUND_AMIF;
    a.status = AVRR_ASSIST_GRANTED;
    return a;
}

static void test_person_assistance(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    avrr_case c1, c2, other;
    avrr_assistance a, *list = NULL;
    avrr_error e = {0};
    int64_t pid;
    size_t n = 0;

    add_tenant(s, "NL", "Netherlands");
    add_tenant(s, "BE", "Belgium");
    pid = add_person(s, "NL", "Nl");
    c1 = make_case("NL", pid);
    assert_int_equal(s->ops->case_insert(s, &c1, &e), AVRR_OK);
    c2 = make_case("NL", pid);
    c2.programme = "national";
    assert_int_equal(s->ops->case_insert(s, &c2, &e), AVRR_OK);
    other = make_case("BE", add_person(s, "BE", "Be"));
    assert_int_equal(s->ops->case_insert(s, &other, &e), AVRR_OK);

    a = make_grant("NL", c2.id, AVRR_KIND_TICKET, 45000);
    assert_int_equal(s->ops->assistance_insert(s, &a, &e), AVRR_OK);
    a = make_grant("BE", other.id, AVRR_KIND_TICKET, 1);
    assert_int_equal(s->ops->assistance_insert(s, &a, &e), AVRR_OK);
    a = make_grant("NL", c1.id, AVRR_KIND_CASH_ALLOWANCE, 30000);
    assert_int_equal(s->ops->assistance_insert(s, &a, &e), AVRR_OK);

    assert_int_equal(s->ops->person_assistance(s, pid, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 2);
    assert_true(list[0].id < list[1].id);
    assert_int_equal(list[0].case_id, c2.id);
    assert_string_equal(list[0].programme, "national");
    assert_int_equal(list[0].kind, AVRR_KIND_TICKET);
    assert_int_equal(list[0].amount_cents, 45000);
    assert_string_equal(list[0].tenant, "NL");
    assert_int_equal(list[1].case_id, c1.id);
    assert_string_equal(list[1].programme, "eurp");
    assert_int_equal(list[1].kind, AVRR_KIND_CASH_ALLOWANCE);
    avrr_store_free_assistance(list, n);

    /* the per-case list leaves programme alone */
    assert_int_equal(s->ops->assistance_list(s, "NL", c1.id, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 1);
    assert_null(list[0].programme);
    avrr_store_free_assistance(list, n);

    assert_int_equal(s->ops->person_assistance(s, pid + 100, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 0);
    assert_null(list);
}

/* person_facts_many (PostgreSQL's; optional) says what person_flags and
 * person_assistance say, per person, in the order asked, and leaves out
 * the assistance of a restricted person of another tenant. */
static void test_person_facts_many(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    avrr_person_facts facts[4];
    avrr_case c1, c2;
    avrr_assistance a;
    avrr_error e = {0};
    int64_t nl, be, hidden;

    if (s->ops->person_facts_many == NULL) {
        print_message("[  SKIP    ] %s has no person_facts_many\n", s->ops->name);
        skip();
    }
    add_tenant(s, "NL", "Netherlands");
    add_tenant(s, "BE", "Belgium");
    nl = add_person(s, "NL", "Nl");
    be = add_person(s, "BE", "Be");
    hidden = add_person(s, "BE", "Hidden");
    c1 = make_case("NL", nl);
    assert_int_equal(s->ops->case_insert(s, &c1, &e), AVRR_OK);
    c2 = make_case("BE", hidden);
    assert_int_equal(s->ops->case_insert(s, &c2, &e), AVRR_OK);
    a = make_grant("NL", c1.id, AVRR_KIND_TICKET, 45000);
    assert_int_equal(s->ops->assistance_insert(s, &a, &e), AVRR_OK);
    a = make_grant("NL", c1.id, AVRR_KIND_CASH_ALLOWANCE, 30000);
    assert_int_equal(s->ops->assistance_insert(s, &a, &e), AVRR_OK);
    a = make_grant("BE", c2.id, AVRR_KIND_TICKET, 1);
    assert_int_equal(s->ops->assistance_insert(s, &a, &e), AVRR_OK);
    assert_int_equal(s->ops->person_set_restricted(s, "BE", hidden, true, &e),
                     AVRR_OK);

    int64_t ids[4] = {hidden, nl, hidden + 100, be};
    assert_int_equal(s->ops->person_facts_many(s, "NL", ids, 4, facts, &e),
                     AVRR_OK);
    assert_true(facts[0].found && facts[0].restricted && !facts[0].erased);
    assert_int_equal(facts[0].n_assistance, 0); /* BE's, restricted */
    assert_true(facts[1].found && !facts[1].restricted);
    assert_int_equal(facts[1].n_assistance, 2);
    assert_true(facts[1].assistance[0].id < facts[1].assistance[1].id);
    assert_int_equal(facts[1].assistance[0].amount_cents, 45000);
    assert_string_equal(facts[1].assistance[0].programme, "eurp");
    assert_false(facts[2].found);
    assert_true(facts[3].found && !facts[3].red_link);
    assert_int_equal(facts[3].n_assistance, 0);
    for (size_t i = 0; i < 4; i++)
        avrr_store_free_assistance(facts[i].assistance, facts[i].n_assistance);

    /* the owner sees its restricted person's assistance */
    assert_int_equal(s->ops->person_facts_many(s, "BE", ids, 1, facts, &e),
                     AVRR_OK);
    assert_int_equal(facts[0].n_assistance, 1);
    assert_int_equal(facts[0].assistance[0].amount_cents, 1);
    avrr_store_free_assistance(facts[0].assistance, facts[0].n_assistance);
}

/* A check by `tenant` (with its own person `pid`, or 0) that found one
 * person of `hit_tenant`. */
static int64_t add_check(avrr_store *s, const char *tenant, int64_t pid,
                         const char *hit_tenant, int64_t hit_pid)
{
    avrr_check_hit hit = {.person_id = hit_pid, .person_ref = "ref-1",
                          .probability = 0.97, .band = AVRR_BAND_STRONG};
    avrr_check c = {.key_id = 0, .purpose = AVRR_PURPOSE_CASE_REVIEW,
                    .person_id = pid, .request_json = "{}",
                    .response_json = "{}", .hits = &hit, .n_hits = 1};
    avrr_error e = {0};

    snprintf(hit.tenant, sizeof hit.tenant, "%s", hit_tenant);
    snprintf(c.tenant, sizeof c.tenant, "%s", tenant);
    assert_int_equal(s->ops->check_insert(s, &c, &e), AVRR_OK);
    assert_true(c.id > 0);
    return c.id;
}

static void test_checks(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    avrr_check_hit hits[2] = {
        {.person_id = 0, .person_ref = "p-7f3a", .probability = 0.991,
         .band = AVRR_BAND_STRONG},
        {.person_id = 0, .person_ref = "p-0b12", .probability = 0.6,
         .band = AVRR_BAND_POSSIBLE},
    };
    avrr_check c = {.key_id = 0, .purpose = AVRR_PURPOSE_ASSISTANCE_DECISION,
                    .request_json = "{\"surname\":\"Ali\"}",
                    .response_json = "{\"hits\":2}", .hits = hits,
                    .n_hits = 2};
    avrr_check got = {0};
    avrr_error e = {0};
    uint8_t hash[32];
    int64_t nl_p, be_p, fr_p, key = 0;

    add_nl_be_fr(s);
    nl_p = add_person(s, "NL", "Nl");
    be_p = add_person(s, "BE", "Be");
    fr_p = add_person(s, "FR", "Fr");
    memset(hash, 0x5c, sizeof hash);
    assert_int_equal(s->ops->key_insert(s, "NL", AVRR_ROLE_CASEWORKER, hash,
                                        "desk", &key, &e),
                     AVRR_OK);
    hits[0].person_id = be_p;
    snprintf(hits[0].tenant, sizeof hits[0].tenant, "BE");
    hits[1].person_id = fr_p;
    snprintf(hits[1].tenant, sizeof hits[1].tenant, "FR");
    snprintf(c.tenant, sizeof c.tenant, "NL");
    c.key_id = key;
    c.person_id = nl_p;
    assert_int_equal(s->ops->check_insert(s, &c, &e), AVRR_OK);
    assert_true(c.id > 0 && c.created_at > 0);

    assert_int_equal(s->ops->check_get(s, "NL", c.id, &got, &e), AVRR_OK);
    assert_int_equal(got.id, c.id);
    assert_string_equal(got.tenant, "NL");
    assert_int_equal(got.key_id, key);
    assert_int_equal(got.purpose, AVRR_PURPOSE_ASSISTANCE_DECISION);
    assert_int_equal(got.person_id, nl_p);
    assert_string_equal(got.request_json, "{\"surname\":\"Ali\"}");
    assert_string_equal(got.response_json, "{\"hits\":2}");
    assert_int_equal(got.created_at, c.created_at);
    assert_int_equal(got.n_hits, 2);
    assert_int_equal(got.hits[0].person_id, be_p);
    assert_string_equal(got.hits[0].tenant, "BE");
    assert_string_equal(got.hits[0].person_ref, "p-7f3a");
    assert_true(got.hits[0].probability == 0.991);
    assert_int_equal(got.hits[0].band, AVRR_BAND_STRONG);
    assert_int_equal(got.hits[1].person_id, fr_p);
    assert_string_equal(got.hits[1].tenant, "FR");
    assert_int_equal(got.hits[1].band, AVRR_BAND_POSSIBLE);
    avrr_check_clear(&got);

    /* only the requester sees its check, not the owners of the hits */
    assert_int_equal(s->ops->check_get(s, "BE", c.id, &got, &e),
                     AVRR_ENOTFOUND);
    assert_int_equal(got.n_hits, 0);
    assert_int_equal(s->ops->check_get(s, "NL", c.id + 1, &got, &e),
                     AVRR_ENOTFOUND);

    /* no person and no key (the command line): both read back as 0 */
    c.person_id = 0;
    c.key_id = 0;
    c.n_hits = 0;
    c.response_json = NULL;
    assert_int_equal(s->ops->check_insert(s, &c, &e), AVRR_OK);
    assert_int_equal(s->ops->check_get(s, "NL", c.id, &got, &e), AVRR_OK);
    assert_int_equal(got.person_id, 0);
    assert_int_equal(got.key_id, 0);
    assert_null(got.response_json);
    assert_int_equal(got.n_hits, 0);
    assert_null(got.hits);
    avrr_check_clear(&got);
    assert_int_equal(count(s, "checks"), 2);

    /* the requester's person must be its own */
    c.person_id = be_p;
    assert_int_equal(s->ops->check_insert(s, &c, &e), AVRR_ENOTFOUND);
    assert_string_equal(e.field, "person_id");
    assert_int_equal(c.id, 0);

    /* many hits keep their order; references with the characters of
     * array and CSV syntax read back as written */
    {
        static const char *const refs[] = {"a\"b", "c\\d", "e,f", "{g}",
                                           "NULL", " h ", "i'j", "k\tl"};
        avrr_check_hit many[40];
        avrr_check mc = c;
        mc.person_id = nl_p;
        memset(many, 0, sizeof many);
        for (size_t i = 0; i < 40; i++) {
            many[i].person_id = i % 2 ? be_p : fr_p;
            snprintf(many[i].tenant, sizeof many[i].tenant, i % 2 ? "BE" : "FR");
            snprintf(many[i].person_ref, sizeof many[i].person_ref, "%s%zu",
                     refs[i % 8], i);
            many[i].probability = 1.0 - (double)i / 64.0;
            many[i].band = i < 10 ? AVRR_BAND_STRONG : AVRR_BAND_POSSIBLE;
        }
        mc.hits = many;
        mc.n_hits = 40;
        assert_int_equal(s->ops->check_insert(s, &mc, &e), AVRR_OK);
        assert_int_equal(s->ops->check_get(s, "NL", mc.id, &got, &e), AVRR_OK);
        assert_int_equal(got.n_hits, 40);
        for (size_t i = 0; i < 40; i++) {
            assert_int_equal(got.hits[i].person_id, many[i].person_id);
            assert_string_equal(got.hits[i].tenant, many[i].tenant);
            assert_string_equal(got.hits[i].person_ref, many[i].person_ref);
            assert_true(got.hits[i].probability == many[i].probability);
            assert_int_equal(got.hits[i].band, many[i].band);
        }
        avrr_check_clear(&got);
        exec_registry_sql(s, "DELETE FROM check_hits WHERE check_id = "
                             "(SELECT max(id) FROM checks)");
        exec_registry_sql(s, "DELETE FROM checks WHERE id = "
                             "(SELECT max(id) FROM checks)");
    }

    /* a bad second hit leaves nothing behind (check nor first hit) */
    c.person_id = nl_p;
    c.n_hits = 2;
    hits[1].probability = 1.5;
    assert_int_equal(s->ops->check_insert(s, &c, &e), AVRR_EINVALID);
    assert_string_equal(e.field, "hits[1]");
    assert_int_equal(c.id, 0);
    hits[1].probability = 0.5;
    hits[1].band = (avrr_band)9;
    assert_int_equal(s->ops->check_insert(s, &c, &e), AVRR_EINVALID);
    c.purpose = (avrr_purpose)9;
    hits[1].band = AVRR_BAND_POSSIBLE;
    assert_int_equal(s->ops->check_insert(s, &c, &e), AVRR_EINVALID);
    assert_int_equal(count(s, "checks"), 2);
    assert_int_equal(pragma_int(s, "SELECT count(*) FROM check_hits"), 2);

    /* inside the caller's transaction, the refused check is reported by
     * check_insert itself and leaves the transaction usable */
    c.purpose = AVRR_PURPOSE_ASSISTANCE_DECISION;
    assert_int_equal(s->ops->begin(s, &e), AVRR_OK);
    hits[1].probability = 1.5;
    assert_int_equal(s->ops->check_insert(s, &c, &e), AVRR_EINVALID);
    assert_string_equal(e.field, "hits[1]");
    assert_int_equal(c.id, 0);
    hits[1].probability = 0.5;
    assert_int_equal(s->ops->check_insert(s, &c, &e), AVRR_OK);
    assert_int_equal(s->ops->commit(s, &e), AVRR_OK);
    assert_int_equal(count(s, "checks"), 3);
    assert_int_equal(pragma_int(s, "SELECT count(*) FROM check_hits"), 4);
}

static avrr_link make_link(const char *ta, int64_t pa, const char *tb,
                           int64_t pb, int64_t check_id)
{
    avrr_link l = {0};
    snprintf(l.tenant_a, sizeof l.tenant_a, "%s", ta);
    snprintf(l.tenant_b, sizeof l.tenant_b, "%s", tb);
    snprintf(l.source, sizeof l.source, "%s",
             check_id > 0 ? "check" : "registration");
    l.person_a = pa;
    l.person_b = pb;
    l.check_id = check_id;
    l.status = AVRR_LINK_YELLOW;
    l.probability = 0.93;
    return l;
}

/* link_insert_many: every link or none. */
static void test_link_insert_many(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    avrr_link ls[3];
    avrr_error e = {0};
    int64_t nl_p, be_p, fr_p;

    add_nl_be_fr(s);
    nl_p = add_person(s, "NL", "Nl");
    be_p = add_person(s, "BE", "Be");
    fr_p = add_person(s, "FR", "Fr");
    ls[0] = make_link("NL", nl_p, "BE", be_p, 0);
    ls[1] = make_link("NL", 0, "FR", fr_p, 0);
    ls[2] = make_link("NL", nl_p, "FR", be_p, 0); /* be_p is not FR's */
    assert_int_equal(s->ops->link_insert_many(s, ls, 3, &e), AVRR_ENOTFOUND);
    assert_string_equal(e.field, "person_b");
    assert_int_equal(ls[0].id, 0);
    assert_int_equal(ls[1].id, 0);
    assert_int_equal(count(s, "links"), 0);

    ls[2] = make_link("NL", nl_p, "FR", fr_p, 0);
    assert_int_equal(s->ops->begin(s, &e), AVRR_OK);
    assert_int_equal(s->ops->link_insert_many(s, ls, 3, &e), AVRR_OK);
    assert_int_equal(s->ops->commit(s, &e), AVRR_OK);
    assert_true(ls[0].id > 0 && ls[1].id > ls[0].id && ls[2].id > ls[1].id);
    assert_true(ls[2].created_at > 0);
    assert_int_equal(count(s, "links"), 3);
}

static void test_links(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    avrr_link l1, l2, l3, got = {0}, res = {0}, *list = NULL;
    avrr_error e = {0};
    int64_t nl_p, be_p, be_q, fr_p, chk, resolved_at;
    size_t n = 0;

    add_nl_be_fr(s);
    nl_p = add_person(s, "NL", "Nl");
    be_p = add_person(s, "BE", "Be");
    be_q = add_person(s, "BE", "Be2");
    fr_p = add_person(s, "FR", "Fr");
    chk = add_check(s, "NL", nl_p, "BE", be_p);

    l1 = make_link("NL", nl_p, "BE", be_p, chk);
    assert_int_equal(s->ops->link_insert(s, &l1, &e), AVRR_OK);
    assert_true(l1.id > 0 && l1.created_at > 0);
    l2 = make_link("NL", 0, "BE", be_q, 0); /* no person of NL's own */
    assert_int_equal(s->ops->link_insert(s, &l2, &e), AVRR_OK);
    l3 = make_link("BE", be_p, "FR", fr_p, 0);
    assert_int_equal(s->ops->link_insert(s, &l3, &e), AVRR_OK);

    /* each side must be a person of its tenant */
    got = make_link("NL", be_p, "BE", be_q, 0);
    assert_int_equal(s->ops->link_insert(s, &got, &e), AVRR_ENOTFOUND);
    assert_string_equal(e.field, "person_a");
    got = make_link("NL", nl_p, "FR", be_q, 0);
    assert_int_equal(s->ops->link_insert(s, &got, &e), AVRR_ENOTFOUND);
    assert_string_equal(e.field, "person_b");
    got = make_link("NL", nl_p, "BE", be_q, 0);
    snprintf(got.source, sizeof got.source, "rumour");
    assert_int_equal(s->ops->link_insert(s, &got, &e), AVRR_EINVALID);
    assert_int_equal(got.id, 0);
    memset(&got, 0, sizeof got);
    assert_int_equal(count(s, "links"), 3);

    /* both parties see it, a third tenant does not */
    assert_int_equal(s->ops->link_get(s, "BE", l1.id, &got, &e), AVRR_OK);
    assert_int_equal(got.id, l1.id);
    assert_int_equal(got.person_a, nl_p);
    assert_string_equal(got.tenant_a, "NL");
    assert_int_equal(got.person_b, be_p);
    assert_string_equal(got.tenant_b, "BE");
    assert_int_equal(got.check_id, chk);
    assert_string_equal(got.source, "check");
    assert_int_equal(got.status, AVRR_LINK_YELLOW);
    assert_true(got.probability == 0.93);
    assert_null(got.reason);
    assert_string_equal(got.resolved_by, "");
    assert_int_equal(got.resolved_key_id, 0);
    assert_int_equal(got.resolved_at, 0);
    assert_int_equal(got.created_at, l1.created_at);
    avrr_link_clear(&got);
    assert_int_equal(s->ops->link_get(s, "NL", l1.id, &got, &e), AVRR_OK);
    avrr_link_clear(&got);
    assert_int_equal(s->ops->link_get(s, "FR", l1.id, &got, &e),
                     AVRR_ENOTFOUND);
    assert_int_equal(s->ops->link_get(s, "NL", l2.id, &got, &e), AVRR_OK);
    assert_int_equal(got.person_a, 0);
    assert_int_equal(got.check_id, 0);
    assert_string_equal(got.source, "registration");
    avrr_link_clear(&got);

    /* resolve: the party's decision, then a conflict for the second one */
    res.id = l1.id;
    res.status = AVRR_LINK_RED;
    res.reason = "same fingerprints, other name";
    snprintf(res.resolved_by, sizeof res.resolved_by, "FR");
    res.resolved_key_id = 3;
    assert_int_equal(s->ops->link_resolve(s, &res, &e), AVRR_ENOTFOUND);
    snprintf(res.resolved_by, sizeof res.resolved_by, "BE");
    res.status = AVRR_LINK_YELLOW;
    assert_int_equal(s->ops->link_resolve(s, &res, &e), AVRR_EINVALID);
    res.status = AVRR_LINK_RED;
    assert_int_equal(s->ops->link_resolve(s, &res, &e), AVRR_OK);
    assert_true(res.resolved_at > 0);
    resolved_at = res.resolved_at;
    res.status = AVRR_LINK_GREEN;
    res.reason = "changed my mind";
    assert_int_equal(s->ops->link_resolve(s, &res, &e), AVRR_ECONFLICT);
    res.id = l3.id + 100;
    assert_int_equal(s->ops->link_resolve(s, &res, &e), AVRR_ENOTFOUND);
    assert_int_equal(s->ops->link_get(s, "NL", l1.id, &got, &e), AVRR_OK);
    assert_int_equal(got.status, AVRR_LINK_RED);
    assert_string_equal(got.reason, "same fingerprints, other name");
    assert_string_equal(got.resolved_by, "BE");
    assert_int_equal(got.resolved_key_id, 3);
    assert_int_equal(got.resolved_at, resolved_at);
    avrr_link_clear(&got);

    /* the operator ("") may resolve any link */
    memset(&res, 0, sizeof res);
    res.id = l3.id;
    res.status = AVRR_LINK_WHITE;
    assert_int_equal(s->ops->link_resolve(s, &res, &e), AVRR_OK);
    assert_int_equal(s->ops->link_get(s, "FR", l3.id, &got, &e), AVRR_OK);
    assert_int_equal(got.status, AVRR_LINK_WHITE);
    assert_string_equal(got.resolved_by, "");
    avrr_link_clear(&got);

    /* lists: by party, by status, paged */
    assert_int_equal(s->ops->link_list(s, "BE", -1, 0, 0, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 3);
    assert_int_equal(list[0].id, l1.id);
    assert_int_equal(list[1].id, l2.id);
    assert_int_equal(list[2].id, l3.id);
    avrr_store_free_links(list, n);
    assert_int_equal(s->ops->link_list(s, "BE", AVRR_LINK_YELLOW, 0, 10,
                                       &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].id, l2.id);
    avrr_store_free_links(list, n);
    assert_int_equal(s->ops->link_list(s, "NL", AVRR_LINK_RED, 0, 10, &list,
                                       &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].id, l1.id);
    avrr_store_free_links(list, n);
    assert_int_equal(s->ops->link_list(s, "NL", -1, l1.id, 1, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].id, l2.id);
    avrr_store_free_links(list, n);
    assert_int_equal(s->ops->link_list(s, "FR", AVRR_LINK_YELLOW, 0, 10,
                                       &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(s->ops->link_list(s, "NL", 9, 0, 10, &list, &n, &e),
                     AVRR_EINVALID);

    /* every link of a person, whichever side it is on */
    assert_int_equal(s->ops->links_of_person(s, be_p, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].id, l1.id);
    assert_int_equal(list[1].id, l3.id);
    avrr_store_free_links(list, n);
    assert_int_equal(s->ops->links_of_person(s, nl_p, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 1);
    avrr_store_free_links(list, n);
    assert_int_equal(s->ops->links_of_person(s, 0, &list, &n, &e), AVRR_OK);
    assert_int_equal(n, 0);
}

/* The red-link flag of a person (person_flags, person_facts_many): set by
 * resolving a link to red, for both its persons and for no one else, and
 * counted per link. */
static void expect_red(avrr_store *s, int64_t person, bool red)
{
    bool restricted = true, erased = true, red_link = !red;
    avrr_person_facts facts = {0};
    avrr_error e = {0};

    assert_int_equal(s->ops->person_flags(s, person, &restricted, &erased,
                                          &red_link, &e),
                     AVRR_OK);
    assert_int_equal(red_link, red);
    assert_false(restricted || erased);
    if (s->ops->person_facts_many != NULL) {
        assert_int_equal(s->ops->person_facts_many(s, "NL", &person, 1,
                                                   &facts, &e),
                         AVRR_OK);
        assert_true(facts.found);
        assert_int_equal(facts.red_link, red);
        avrr_store_free_assistance(facts.assistance, facts.n_assistance);
    }
}

static void resolve(avrr_store *s, int64_t link, const char *by,
                    avrr_link_status status)
{
    avrr_link res = {0};
    avrr_error e = {0};

    res.id = link;
    res.status = status;
    snprintf(res.resolved_by, sizeof res.resolved_by, "%s", by);
    assert_int_equal(s->ops->link_resolve(s, &res, &e), AVRR_OK);
}

static void test_red_link_flag(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    avrr_link l1, l2, l3;
    avrr_error e = {0};
    int64_t nl_p, be_p, be_q, fr_p;
    char sql[128];

    add_nl_be_fr(s);
    nl_p = add_person(s, "NL", "Nl");
    be_p = add_person(s, "BE", "Be");
    be_q = add_person(s, "BE", "Be2");
    fr_p = add_person(s, "FR", "Fr");
    l1 = make_link("NL", nl_p, "BE", be_p, 0);
    l2 = make_link("NL", nl_p, "FR", fr_p, 0);
    l3 = make_link("NL", 0, "BE", be_q, 0);
    assert_int_equal(s->ops->link_insert(s, &l1, &e), AVRR_OK);
    assert_int_equal(s->ops->link_insert(s, &l2, &e), AVRR_OK);
    assert_int_equal(s->ops->link_insert(s, &l3, &e), AVRR_OK);
    expect_red(s, nl_p, false);
    expect_red(s, be_p, false);

    resolve(s, l1.id, "BE", AVRR_LINK_RED);
    expect_red(s, nl_p, true);
    expect_red(s, be_p, true);
    expect_red(s, fr_p, false);
    expect_red(s, be_q, false);
    resolve(s, l2.id, "FR", AVRR_LINK_GREEN); /* not red: no flag */
    expect_red(s, fr_p, false);
    resolve(s, l3.id, "BE", AVRR_LINK_RED); /* a link without person_a */
    expect_red(s, be_q, true);
    snprintf(sql, sizeof sql, "SELECT red_links FROM persons WHERE id = %lld",
             (long long)nl_p);
    assert_int_equal(pragma_int(s, sql), 1); /* l1 only */

    /* a red link taken away (not done by avrr; the triggers keep the count
     * whatever changes links) clears the flag */
    snprintf(sql, sizeof sql,
             "UPDATE links SET status = 'white' WHERE id = %lld",
             (long long)l1.id);
    exec_registry_sql(s, sql);
    expect_red(s, be_p, false);
    expect_red(s, nl_p, false);
    expect_red(s, be_q, true);
    exec_registry_sql(s, "DELETE FROM links WHERE status = 'red'");
    expect_red(s, be_q, false);
    assert_int_equal(pragma_int(s, "SELECT count(*) FROM persons "
                                   "WHERE red_links <> 0"),
                     0);
}

/* A registry of schema version 4 with red links gets its counts at the
 * upgrade to version 5, on both backends. */
static void test_migration_from_v4(void **state)
{
    fixture *f = *state;
    avrr_link l1, l2;
    avrr_error e = {0};
    int64_t nl_p, be_p, fr_p, be_q;
    int64_t fresh = on_pg() ? 0 : schema_objects(f->s);

    add_tenant(f->s, "NL", "Netherlands");
    add_tenant(f->s, "BE", "Belgium");
    add_tenant(f->s, "FR", "France");
    nl_p = add_person(f->s, "NL", "Nl");
    be_p = add_person(f->s, "BE", "Be");
    fr_p = add_person(f->s, "FR", "Fr");
    be_q = add_person(f->s, "BE", "Be2");
    l1 = make_link("NL", nl_p, "BE", be_p, 0);
    l2 = make_link("NL", nl_p, "FR", fr_p, 0);
    assert_int_equal(f->s->ops->link_insert(f->s, &l1, &e), AVRR_OK);
    assert_int_equal(f->s->ops->link_insert(f->s, &l2, &e), AVRR_OK);
    exec_registry_sql(f->s, on_pg() ? V5_TO_V4_PG
                                    : V5_TO_V4 "PRAGMA user_version = 4");
    assert_int_equal(schema_version(f->s), 4);
    /* red links made by an avrr of version 4 */
    exec_registry_sql(f->s, "UPDATE links SET status = 'red'");
    reopen(f);

    assert_int_equal(schema_version(f->s), AVRR_SCHEMA_VERSION);
    if (!on_pg())
        assert_int_equal(schema_objects(f->s), fresh);
    assert_int_equal(pragma_int(f->s, "SELECT red_links FROM persons "
                                      "ORDER BY id LIMIT 1"),
                     2); /* nl_p: two red links */
    expect_red(f->s, nl_p, true);
    expect_red(f->s, be_p, true);
    expect_red(f->s, fr_p, true);
    expect_red(f->s, be_q, false);
}

static void test_disclosures(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    avrr_disclosure d = {0}, d2, got = {0}, *list = NULL;
    avrr_error e = {0};
    int64_t nl_p, be_p, chk, be_chk;
    size_t n = 0;

    add_nl_be_fr(s);
    nl_p = add_person(s, "NL", "Nl");
    be_p = add_person(s, "BE", "Be");
    chk = add_check(s, "NL", nl_p, "BE", be_p);
    be_chk = add_check(s, "BE", be_p, "NL", nl_p);

    d.check_id = chk;
    snprintf(d.requester, sizeof d.requester, "NL");
    d.requester_key_id = 0;
    snprintf(d.owner, sizeof d.owner, "BE");
    d.person_id = be_p;
    snprintf(d.person_ref, sizeof d.person_ref, "ref-1");
    d.reason = "grant decision on case 12";
    d.status = AVRR_DISCLOSURE_APPROVED; /* ignored: a request is pending */
    assert_int_equal(s->ops->disclosure_insert(s, &d, &e), AVRR_OK);
    assert_true(d.id > 0 && d.created_at > 0);
    assert_int_equal(d.status, AVRR_DISCLOSURE_PENDING);

    /* only about one's own check, and a person of the owner */
    d2 = d;
    d2.check_id = be_chk;
    assert_int_equal(s->ops->disclosure_insert(s, &d2, &e), AVRR_ENOTFOUND);
    assert_string_equal(e.field, "check_id");
    d2 = d;
    d2.person_id = nl_p;
    assert_int_equal(s->ops->disclosure_insert(s, &d2, &e), AVRR_ENOTFOUND);
    assert_string_equal(e.field, "person_id");
    assert_int_equal(d2.id, 0);
    assert_int_equal(count(s, "disclosures"), 1);

    /* requester and owner see it, nobody else */
    assert_int_equal(s->ops->disclosure_get(s, "NL", d.id, &got, &e),
                     AVRR_OK);
    assert_int_equal(got.id, d.id);
    assert_int_equal(got.check_id, chk);
    assert_string_equal(got.requester, "NL");
    assert_int_equal(got.requester_key_id, 0);
    assert_string_equal(got.owner, "BE");
    assert_int_equal(got.person_id, be_p);
    assert_string_equal(got.person_ref, "ref-1");
    assert_string_equal(got.reason, "grant decision on case 12");
    assert_int_equal(got.status, AVRR_DISCLOSURE_PENDING);
    assert_null(got.decision_reason);
    assert_int_equal(got.decided_key_id, 0);
    assert_int_equal(got.decided_at, 0);
    assert_int_equal(got.created_at, d.created_at);
    avrr_disclosure_clear(&got);
    assert_int_equal(s->ops->disclosure_get(s, "BE", d.id, &got, &e),
                     AVRR_OK);
    avrr_disclosure_clear(&got);
    assert_int_equal(s->ops->disclosure_get(s, "FR", d.id, &got, &e),
                     AVRR_ENOTFOUND);
    assert_null(got.reason);

    assert_int_equal(s->ops->disclosure_list(s, "BE", AVRR_DISCLOSURE_PENDING,
                                             0, 10, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].id, d.id);
    avrr_store_free_disclosures(list, n);
    assert_int_equal(s->ops->disclosure_list(s, "FR", -1, 0, 10, &list, &n,
                                             &e),
                     AVRR_OK);
    assert_int_equal(n, 0);

    /* only the owner decides, once */
    memset(&d2, 0, sizeof d2);
    d2.id = d.id;
    snprintf(d2.owner, sizeof d2.owner, "NL");
    d2.status = AVRR_DISCLOSURE_APPROVED;
    d2.decision_reason = "identity confirmed";
    d2.decided_key_id = 9;
    assert_int_equal(s->ops->disclosure_decide(s, &d2, &e), AVRR_ENOTFOUND);
    snprintf(d2.owner, sizeof d2.owner, "BE");
    d2.status = AVRR_DISCLOSURE_PENDING;
    assert_int_equal(s->ops->disclosure_decide(s, &d2, &e), AVRR_EINVALID);
    d2.status = AVRR_DISCLOSURE_APPROVED;
    assert_int_equal(s->ops->disclosure_decide(s, &d2, &e), AVRR_OK);
    assert_true(d2.decided_at > 0);
    d2.status = AVRR_DISCLOSURE_REFUSED;
    assert_int_equal(s->ops->disclosure_decide(s, &d2, &e), AVRR_ECONFLICT);
    d2.id = d.id + 100;
    assert_int_equal(s->ops->disclosure_decide(s, &d2, &e), AVRR_ENOTFOUND);

    assert_int_equal(s->ops->disclosure_get(s, "NL", d.id, &got, &e),
                     AVRR_OK);
    assert_int_equal(got.status, AVRR_DISCLOSURE_APPROVED);
    assert_string_equal(got.decision_reason, "identity confirmed");
    assert_int_equal(got.decided_key_id, 9);
    assert_true(got.decided_at > 0);
    avrr_disclosure_clear(&got);
    assert_int_equal(s->ops->disclosure_list(s, "NL", AVRR_DISCLOSURE_PENDING,
                                             0, 10, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(s->ops->disclosure_list(s, "NL",
                                             AVRR_DISCLOSURE_APPROVED, 0, 10,
                                             &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 1);
    avrr_store_free_disclosures(list, n);
}

/* ---- identity scan and count ---------------------------------------------------- */

typedef struct scan_log {
    int64_t ids[600];
    char tenants[600][17];
    size_t n;
    size_t stop_at; /* stop (returning 42) after this many; 0: never */
} scan_log;

static int on_identity(void *arg, const char *tenant, const avrr_identity *id)
{
    scan_log *log = arg;
    assert_true(log->n < 600);
    log->ids[log->n] = id->id;
    snprintf(log->tenants[log->n], sizeof log->tenants[0], "%s", tenant);
    log->n++;
    return log->stop_at != 0 && log->n == log->stop_at ? 42 : 0;
}

static void test_identity_scan(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    static scan_log log; /* large: keep it off the stack */
    avrr_error e = {0};
    const int persons = 300; /* more than one batch of the scan */

    add_tenant(s, "NL", "Netherlands");
    add_tenant(s, "BE", "Belgium");
    assert_int_equal(s->ops->begin(s, &e), AVRR_OK);
    for (int i = 0; i < persons; i++)
        add_person(s, i % 3 == 0 ? "BE" : "NL", "Scan");
    assert_int_equal(s->ops->commit(s, &e), AVRR_OK);

    memset(&log, 0, sizeof log);
    assert_int_equal(s->ops->identity_scan(s, 0, on_identity, &log, &e),
                     AVRR_OK);
    assert_int_equal(log.n, persons);
    for (size_t i = 0; i < log.n; i++) {
        if (i > 0)
            assert_true(log.ids[i] > log.ids[i - 1]);
        assert_string_equal(log.tenants[i], i % 3 == 0 ? "BE" : "NL");
    }

    {
        int64_t after = log.ids[279];
        memset(&log, 0, sizeof log);
        assert_int_equal(s->ops->identity_scan(s, after, on_identity, &log,
                                               &e),
                         AVRR_OK);
        assert_int_equal(log.n, persons - 280);
        assert_true(log.ids[0] > after);
    }

    memset(&log, 0, sizeof log);
    log.stop_at = 3;
    assert_int_equal((int)s->ops->identity_scan(s, 0, on_identity, &log, &e),
                     42);
    assert_int_equal(log.n, 3);
}

/* Two handles on one file (two processes, in real life): a reader is not
 * blocked by a writer's open transaction and sees only committed rows. */
static void test_two_handles(void **state)
{
    fixture *f = *state;
    avrr_store *b = NULL;
    avrr_error e = {0};

    assert_int_equal(avrr_store_open(f->path, false, &b, &e), AVRR_OK);
    add_tenant(f->s, "NL", "Netherlands");
    assert_int_equal(count(b, "tenants"), 1);
    assert_int_equal(f->s->ops->begin(f->s, &e), AVRR_OK);
    add_tenant(f->s, "BE", "Belgium");
    assert_int_equal(count(b, "tenants"), 1);
    assert_int_equal(f->s->ops->commit(f->s, &e), AVRR_OK);
    assert_int_equal(count(b, "tenants"), 2);
    avrr_store_close(b);
}

static void test_count_whitelist(void **state)
{
    fixture *f = *state;
    int64_t n = 0;
    avrr_error e = {0};

    assert_int_equal(f->s->ops->count(f->s, "sqlite_master", &n, &e),
                     AVRR_EINVALID);
    assert_int_equal(f->s->ops->count(f->s, "persons; DROP TABLE persons",
                                      &n, &e),
                     AVRR_EINVALID);
    assert_int_equal(count(f->s, "persons"), 0);
    assert_int_equal(count(f->s, "cases"), 0);
    assert_int_equal(count(f->s, "checks"), 0);
    assert_int_equal(count(f->s, "links"), 0);
    assert_int_equal(count(f->s, "disclosures"), 0);
    assert_int_equal(count(f->s, "audit_events"), 0);
    assert_int_equal(count(f->s, "identity_history"), 0);
}

/* ---- privacy (schema version 3) ------------------------------------------ */

/* A registry of schema version 2 gets the privacy schema at open and keeps
 * its rows; tenants get the default retention periods. */
static void test_migration_from_v2(void **state)
{
    fixture *f = *state;
    int64_t fresh = on_pg() ? 0 : schema_objects(f->s);
    avrr_tenant t = {0};
    avrr_person p = {0};
    avrr_error e = {0};
    sqlite3 *db = NULL;

    SQLITE_ONLY("the old schema is made by editing the file with SQLite");
    avrr_store_close(f->s);
    f->s = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    exec_sql(db, V3_TO_V2
                 "INSERT INTO tenants (code, name, duplicate_policy, "
                 "created_at) VALUES ('NL', 'Netherlands', 'block', "
                 "1700000000); "
                 "INSERT INTO persons (id, tenant, restricted, created_at) "
                 "VALUES (5, 'NL', 1, 1700000001); "
                 "INSERT INTO identities (person_id, surname, created_at) "
                 "VALUES (5, 'Old', 1700000001); "
                 "PRAGMA user_version = 2");
    sqlite3_close(db);

    assert_int_equal(avrr_store_open(f->path, false, &f->s, &e), AVRR_OK);
    assert_int_equal(pragma_int(f->s, "PRAGMA user_version"),
                     AVRR_SCHEMA_VERSION);
    assert_int_equal(schema_objects(f->s), fresh);
    assert_int_equal(f->s->ops->tenant_get(f->s, "NL", &t, &e), AVRR_OK);
    assert_int_equal(t.duplicate_policy, AVRR_DUPLICATE_BLOCK);
    assert_int_equal(t.retention_days, AVRR_RETENTION_DAYS_DEFAULT);
    assert_int_equal(t.audit_retention_days,
                     AVRR_AUDIT_RETENTION_DAYS_DEFAULT);
    avrr_tenant_clear(&t);
    assert_int_equal(f->s->ops->person_get(f->s, "NL", 5, &p, &e), AVRR_OK);
    assert_true(p.restricted);
    assert_int_equal(p.erased_at, 0);
    assert_int_equal(p.n_identities, 1);
    assert_string_equal(p.identities[0].surname, "Old");
    avrr_person_clear(&p);
    assert_int_equal(count(f->s, "audit_events"), 0);
    assert_int_equal(count(f->s, "identity_history"), 0);
    assert_int_equal(pragma_int(f->s, "SELECT count(*) FROM sqlite_master "
                                      "WHERE name IN ('audit_events', "
                                      "'audit_events_tenant', "
                                      "'audit_checkpoints', "
                                      "'audit_checkpoints_seq', "
                                      "'identity_history', "
                                      "'identity_history_person')"),
                     6);
    /* the audit log names tenants and persons but must outlive them */
    assert_int_equal(pragma_int(f->s, "SELECT count(*) FROM "
                                      "pragma_foreign_key_list"
                                      "('audit_events')"),
                     0);
    assert_int_equal(pragma_int(f->s, "SELECT count(*) FROM "
                                      "pragma_foreign_key_list"
                                      "('identity_history')"),
                     0);
    assert_int_equal(pragma_int(f->s, "SELECT count(*) FROM "
                                      "pragma_foreign_key_check"),
                     0);
}

/* A stand-in for the BLAKE2b chain of src/privacy: depends on prev_hash,
 * seq and action, and counts its calls. */
static int chain_calls;

static void fake_chain(avrr_audit_event *ev)
{
    chain_calls++;
    for (size_t i = 0; i < sizeof ev->hash; i++)
        ev->hash[i] = (uint8_t)(ev->prev_hash[i] ^ (uint8_t)(ev->seq * 31 + i) ^
                                (uint8_t)ev->action[0]);
}

static avrr_audit_event make_event(const char *tenant, const char *action,
                                   int64_t ts_ms)
{
    avrr_audit_event ev;
    memset(&ev, 0, sizeof ev);
    ev.ts_ms = ts_ms;
    snprintf(ev.tenant, sizeof ev.tenant, "%s", tenant);
    snprintf(ev.role, sizeof ev.role, "caseworker");
    snprintf(ev.action, sizeof ev.action, "%s", action);
    snprintf(ev.target_type, sizeof ev.target_type, "person");
    ev.target_id = 42;
    snprintf(ev.purpose, sizeof ev.purpose, "case_review");
    snprintf(ev.request_id, sizeof ev.request_id, "req-%lld",
             (long long)ts_ms);
    snprintf(ev.outcome, sizeof ev.outcome, "ok");
    return ev;
}

static void append(avrr_store *s, avrr_audit_event *ev)
{
    avrr_error e = {0};
    int before = chain_calls;
    assert_int_equal(s->ops->audit_append(s, ev, fake_chain, &e), AVRR_OK);
    assert_int_equal(chain_calls, before + 1);
}

static void assert_event_equal(const avrr_audit_event *a,
                               const avrr_audit_event *b)
{
    assert_int_equal(a->seq, b->seq);
    assert_int_equal(a->ts_ms, b->ts_ms);
    assert_int_equal(a->key_id, b->key_id);
    assert_string_equal(a->tenant, b->tenant);
    assert_string_equal(a->role, b->role);
    assert_string_equal(a->action, b->action);
    assert_string_equal(a->target_type, b->target_type);
    assert_int_equal(a->target_id, b->target_id);
    assert_string_equal(a->purpose, b->purpose);
    assert_string_equal(a->request_id, b->request_id);
    assert_string_equal(a->outcome, b->outcome);
    assert_memory_equal(a->prev_hash, b->prev_hash, 32);
    assert_memory_equal(a->hash, b->hash, 32);
}

/* Two handles (two servers) appending to one log, in transactions: an
 * append may be sent on the head its handle last saw (PostgreSQL), which
 * the other handle's events have made stale; the stored chain is whole
 * all the same: the event is chained again before the commit, and before
 * any statement the transaction sends after it. */
static void tx_append(avrr_store *s, avrr_audit_event *ev)
{
    avrr_error e = {0};
    assert_int_equal(s->ops->audit_append(s, ev, fake_chain, &e), AVRR_OK);
}

static void test_audit_two_writers(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s, *b = NULL;
    static const char *const want[] = {"a0", "b1", "c2", "d3",
                                       "f5", "g6", "h7"};
    avrr_audit_event ev, *list = NULL;
    avrr_error e = {0};
    char *v = NULL;
    size_t n = 0;

    assert_int_equal(avrr_store_open(f->path, false, &b, &e), AVRR_OK);
    assert_int_equal(s->ops->begin(s, &e), AVRR_OK);
    ev = make_event("NL", "a0", 1000);
    tx_append(s, &ev);
    assert_int_equal(s->ops->commit(s, &e), AVRR_OK);
    ev = make_event("BE", "b1", 1001);
    tx_append(b, &ev); /* outside a transaction */
    /* s's head (1) is stale: the commit chains its event on 2 */
    assert_int_equal(s->ops->begin(s, &e), AVRR_OK);
    ev = make_event("NL", "c2", 1002);
    tx_append(s, &ev);
    assert_int_equal(s->ops->commit(s, &e), AVRR_OK);
    /* b's head (2) is stale, and a write follows the event */
    assert_int_equal(b->ops->begin(b, &e), AVRR_OK);
    ev = make_event("BE", "d3", 1003);
    tx_append(b, &ev);
    assert_int_equal(b->ops->meta_set(b, "two_writers", "b", &e), AVRR_OK);
    assert_int_equal(b->ops->commit(b, &e), AVRR_OK);
    /* a stale event rolled back stores nothing */
    assert_int_equal(s->ops->begin(s, &e), AVRR_OK);
    ev = make_event("NL", "e4", 1004);
    tx_append(s, &ev);
    s->ops->rollback(s);
    /* two events in one transaction */
    assert_int_equal(s->ops->begin(s, &e), AVRR_OK);
    ev = make_event("NL", "f5", 1005);
    tx_append(s, &ev);
    ev = make_event("NL", "g6", 1006);
    tx_append(s, &ev);
    assert_int_equal(s->ops->commit(s, &e), AVRR_OK);
    /* b's head (4) is stale, and the transaction reads the log after its
     * event: it sees the event where it is stored */
    assert_int_equal(b->ops->begin(b, &e), AVRR_OK);
    ev = make_event("BE", "h7", 1007);
    tx_append(b, &ev);
    assert_int_equal(b->ops->audit_list(b, "BE", 0, 0, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 3);
    assert_string_equal(list[2].action, "h7");
    assert_int_equal(list[2].seq, 7);
    avrr_free(list);
    list = NULL;
    assert_int_equal(b->ops->commit(b, &e), AVRR_OK);
    assert_int_equal(s->ops->meta_get(s, "two_writers", &v, &e), AVRR_OK);
    assert_string_equal(v, "b");
    avrr_free(v);
    avrr_store_close(b);

    assert_int_equal(s->ops->audit_list(s, NULL, 0, 0, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 7);
    for (size_t i = 0; i < n; i++) {
        avrr_audit_event again = list[i];
        assert_int_equal(list[i].seq, (int64_t)i + 1);
        assert_string_equal(list[i].action, want[i]);
        if (i > 0)
            assert_memory_equal(list[i].prev_hash, list[i - 1].hash, 32);
        fake_chain(&again);
        assert_memory_equal(again.hash, list[i].hash, 32);
    }
    avrr_free(list);
}

/* check_insert_links (PostgreSQL): the check, its hits and links in one
 * write, all or nothing; in a transaction the audit head rides with it, so
 * that a check with links and its event cost two round trips (this one and
 * the COMMIT's), and the event chains on the head another handle left. */
static void test_check_insert_links(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s, *b = NULL;
    avrr_check_hit hit = {.person_ref = "ref-1", .probability = 0.97,
                          .band = AVRR_BAND_STRONG};
    avrr_check c = {.purpose = AVRR_PURPOSE_CASE_REVIEW, .request_json = "{}",
                    .response_json = "{}", .hits = &hit, .n_hits = 1};
    avrr_audit_event ev, *list = NULL;
    avrr_link ls[2], *got = NULL;
    avrr_error e = {0};
    size_t n = 0;
    int64_t nl_p, be_p, fr_p;

    if (!s->ops->check_insert_links) {
        assert_null(s->ops->round_trips); /* SQLite: none to save */
        print_message("[  SKIP    ] sqlite has no check_insert_links\n");
        skip();
    }
    add_nl_be_fr(s);
    nl_p = add_person(s, "NL", "Nl");
    be_p = add_person(s, "BE", "Be");
    fr_p = add_person(s, "FR", "Fr");
    snprintf(c.tenant, sizeof c.tenant, "NL");
    hit.person_id = be_p;
    snprintf(hit.tenant, sizeof hit.tenant, "BE");

    /* the requester's person is not the requester's: nothing stored */
    c.person_id = be_p;
    ls[0] = make_link("NL", be_p, "BE", be_p, 0);
    assert_int_equal(s->ops->check_insert_links(s, &c, ls, 1, &e),
                     AVRR_ENOTFOUND);
    assert_string_equal(e.field, "person_id");
    assert_int_equal(c.id, 0);
    /* a refused link, in a transaction: nothing stored, the transaction
     * goes on */
    c.person_id = nl_p;
    ls[0] = make_link("NL", nl_p, "BE", be_p, 0);
    ls[1] = make_link("NL", nl_p, "FR", be_p, 0); /* be_p is not FR's */
    assert_int_equal(s->ops->begin(s, &e), AVRR_OK);
    assert_int_equal(s->ops->check_insert_links(s, &c, ls, 2, &e),
                     AVRR_ENOTFOUND);
    assert_string_equal(e.field, "person_b");
    assert_int_equal(c.id, 0);
    assert_int_equal(ls[0].id, 0);
    ev = make_event("NL", "a1", 2001);
    tx_append(s, &ev);
    assert_int_equal(s->ops->commit(s, &e), AVRR_OK);
    assert_int_equal(ev.seq, 1);
    assert_int_equal(count(s, "checks"), 0);
    assert_int_equal(count(s, "links"), 0);

    /* another handle moves the head; then a check with two links and its
     * event: two round trips, the event on b's */
    assert_int_equal(avrr_store_open(f->path, false, &b, &e), AVRR_OK);
    ev = make_event("BE", "b2", 2002);
    tx_append(b, &ev);
    assert_int_equal(ev.seq, 2);
    avrr_store_close(b);
    ls[1] = make_link("NL", nl_p, "FR", fr_p, 0);
    uint64_t rt = s->ops->round_trips(s);
    assert_int_equal(s->ops->begin(s, &e), AVRR_OK);
    assert_int_equal(s->ops->check_insert_links(s, &c, ls, 2, &e), AVRR_OK);
    assert_true(c.id > 0);
    assert_int_equal(s->ops->round_trips(s) - rt, 1);
    ev = make_event("NL", "c3", 2003);
    ev.target_id = c.id;
    tx_append(s, &ev);
    assert_int_equal(ev.seq, 3);
    ev = make_event("NL", "d4", 2004); /* a second event: no read either */
    tx_append(s, &ev);
    assert_int_equal(ev.seq, 4);
    assert_int_equal(s->ops->commit(s, &e), AVRR_OK);
    assert_int_equal(s->ops->round_trips(s) - rt, 2);
    assert_true(ls[0].id > 0 && ls[1].id > ls[0].id);
    assert_int_equal(ls[0].check_id, c.id);
    assert_int_equal(ls[1].check_id, c.id);
    assert_int_equal(s->ops->links_of_person(s, nl_p, &got, &n, &e), AVRR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(got[0].check_id, c.id);
    assert_int_equal(got[1].check_id, c.id);
    assert_int_equal(got[1].person_b, fr_p);
    avrr_store_free_links(got, n);
    assert_int_equal(pragma_int(s, "SELECT count(*) FROM check_hits"), 1);

    /* outside a transaction: its own, and the next event reads the head */
    c.person_id = 0;
    assert_int_equal(s->ops->check_insert_links(s, &c, NULL, 0, &e), AVRR_OK);
    ev = make_event("NL", "e5", 2005);
    tx_append(s, &ev);
    assert_int_equal(ev.seq, 5);
    assert_int_equal(count(s, "checks"), 2);

    /* the chain is whole */
    assert_int_equal(s->ops->audit_list(s, NULL, 0, 0, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        avrr_audit_event again = list[i];
        assert_int_equal(list[i].seq, (int64_t)i + 1);
        if (i > 0)
            assert_memory_equal(list[i].prev_hash, list[i - 1].hash, 32);
        fake_chain(&again);
        assert_memory_equal(again.hash, list[i].hash, 32);
    }
    avrr_free(list);
}

typedef struct audit_log {
    int64_t seqs[600];
    size_t n;
    size_t stop_at;
} audit_log;

static int on_event(void *arg, const avrr_audit_event *ev)
{
    audit_log *log = arg;
    assert_true(log->n < 600);
    log->seqs[log->n++] = ev->seq;
    return log->stop_at != 0 && log->n == log->stop_at ? 17 : 0;
}

static void test_audit_chain(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s, *b = NULL;
    avrr_audit_event ev[4], *list = NULL;
    uint8_t zeros[32] = {0};
    avrr_error e = {0};
    size_t n = 0;

    chain_calls = 0;
    ev[0] = make_event("NL", "person.create", 1000);
    ev[0].key_id = 7;
    ev[1] = make_event("BE", "check.create", 2000);
    ev[2] = make_event("", "auth.failed", 3000); /* unknown tenant, role */
    ev[2].role[0] = '\0';
    ev[2].target_type[0] = '\0';
    ev[2].target_id = 0;
    snprintf(ev[2].outcome, sizeof ev[2].outcome, "unauthorized");
    /* full buffers come back whole */
    memset(ev[1].request_id, 'r', sizeof ev[1].request_id - 1);
    memset(ev[1].action, 'a', sizeof ev[1].action - 1);

    append(s, &ev[0]);
    /* the second append comes from another handle on the file (another
     * process, in real life): the head is read from the file */
    assert_int_equal(avrr_store_open(f->path, false, &b, &e), AVRR_OK);
    append(b, &ev[1]);
    append(s, &ev[2]);
    avrr_store_close(b);
    assert_int_equal(chain_calls, 3);
    assert_int_equal(ev[0].seq, 1);
    assert_int_equal(ev[1].seq, 2);
    assert_int_equal(ev[2].seq, 3);
    assert_memory_equal(ev[0].prev_hash, zeros, 32);
    assert_memory_equal(ev[1].prev_hash, ev[0].hash, 32);
    assert_memory_equal(ev[2].prev_hash, ev[1].hash, 32);

    /* inside the caller's transaction, an append goes with it */
    ev[3] = make_event("NL", "person.read", 4000);
    assert_int_equal(s->ops->begin(s, &e), AVRR_OK);
    append(s, &ev[3]);
    assert_int_equal(ev[3].seq, 4);
    s->ops->rollback(s);
    assert_int_equal(count(s, "audit_events"), 3);
    ev[3] = make_event("NL", "person.read", 4000);
    append(s, &ev[3]);
    assert_int_equal(ev[3].seq, 4);
    assert_memory_equal(ev[3].prev_hash, ev[2].hash, 32);

    reopen(f);
    s = f->s;
    assert_int_equal(s->ops->audit_list(s, NULL, 0, 0, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++)
        assert_event_equal(&list[i], &ev[i]);
    avrr_free(list);

    assert_int_equal(s->ops->audit_list(s, "NL", 0, 0, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].seq, 1);
    assert_int_equal(list[1].seq, 4);
    avrr_free(list);
    assert_int_equal(s->ops->audit_list(s, "NL", 1, 0, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].seq, 4);
    avrr_free(list);
    assert_int_equal(s->ops->audit_list(s, "", 0, 0, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].seq, 3);
    avrr_free(list);
    assert_int_equal(s->ops->audit_list(s, NULL, 1, 2, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].seq, 2);
    assert_int_equal(list[1].seq, 3);
    avrr_free(list);
    assert_int_equal(s->ops->audit_list(s, "FR", 0, 0, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 0);
    assert_null(list);

    /* an event without action is refused before anything is chained */
    {
        avrr_audit_event bad = make_event("NL", "", 5000);
        int calls = chain_calls;
        assert_int_equal(s->ops->audit_append(s, &bad, fake_chain, &e),
                         AVRR_EINVALID);
        assert_int_equal(chain_calls, calls);
        assert_int_equal(count(s, "audit_events"), 4);
    }
}

static void test_audit_scan(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    static audit_log log;
    avrr_error e = {0};
    const int events = 300; /* more than one batch */

    assert_int_equal(s->ops->begin(s, &e), AVRR_OK);
    for (int i = 0; i < events; i++) {
        avrr_audit_event ev = make_event(i % 2 ? "NL" : "BE", "x.y", i);
        append(s, &ev);
    }
    assert_int_equal(s->ops->commit(s, &e), AVRR_OK);

    memset(&log, 0, sizeof log);
    assert_int_equal(s->ops->audit_scan(s, 0, on_event, &log, &e), AVRR_OK);
    assert_int_equal(log.n, events);
    for (size_t i = 0; i < log.n; i++)
        assert_int_equal(log.seqs[i], (int64_t)i + 1);

    memset(&log, 0, sizeof log);
    assert_int_equal(s->ops->audit_scan(s, 290, on_event, &log, &e),
                     AVRR_OK);
    assert_int_equal(log.n, 10);
    assert_int_equal(log.seqs[0], 291);

    memset(&log, 0, sizeof log);
    log.stop_at = 3;
    assert_int_equal((int)s->ops->audit_scan(s, 0, on_event, &log, &e), 17);
    assert_int_equal(log.n, 3);
}

static void test_audit_purge(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    avrr_audit_event ev[8], *list = NULL;
    uint8_t hash[32], zeros[32] = {0};
    int64_t seq = -1, removed = -1;
    avrr_error e = {0};
    size_t n = 0;

    assert_int_equal(s->ops->audit_anchor(s, &seq, hash, &e), AVRR_OK);
    assert_int_equal(seq, 0);
    assert_memory_equal(hash, zeros, 32);
    /* nothing to purge in an empty log */
    assert_int_equal(s->ops->audit_purge(s, 1000000, &removed, &e), AVRR_OK);
    assert_int_equal(removed, 0);

    for (int i = 0; i < 5; i++) {
        ev[i] = make_event("NL", "person.read", (i + 1) * 1000);
        append(s, &ev[i]);
    }
    assert_int_equal(s->ops->audit_purge(s, 3500, &removed, &e), AVRR_OK);
    assert_int_equal(removed, 3);
    assert_int_equal(s->ops->audit_anchor(s, &seq, hash, &e), AVRR_OK);
    assert_int_equal(seq, 3);
    assert_memory_equal(hash, ev[2].hash, 32);
    assert_int_equal(s->ops->audit_list(s, NULL, 0, 0, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 2);
    assert_event_equal(&list[0], &ev[3]);
    assert_event_equal(&list[1], &ev[4]);
    avrr_free(list);

    /* nothing older: nothing moves */
    assert_int_equal(s->ops->audit_purge(s, 3500, &removed, &e), AVRR_OK);
    assert_int_equal(removed, 0);
    assert_int_equal(s->ops->audit_anchor(s, &seq, hash, &e), AVRR_OK);
    assert_int_equal(seq, 3);

    /* the chain goes on from the newest event */
    ev[5] = make_event("NL", "person.read", 6000);
    append(s, &ev[5]);
    assert_int_equal(ev[5].seq, 6);
    assert_memory_equal(ev[5].prev_hash, ev[4].hash, 32);

    /* everything removed: the chain goes on from the anchor */
    assert_int_equal(s->ops->audit_purge(s, 100000, &removed, &e), AVRR_OK);
    assert_int_equal(removed, 3);
    assert_int_equal(count(s, "audit_events"), 0);
    reopen(f);
    s = f->s;
    assert_int_equal(s->ops->audit_anchor(s, &seq, hash, &e), AVRR_OK);
    assert_int_equal(seq, 6);
    assert_memory_equal(hash, ev[5].hash, 32);
    ev[6] = make_event("NL", "person.read", 7000);
    append(s, &ev[6]);
    assert_int_equal(ev[6].seq, 7);
    assert_memory_equal(ev[6].prev_hash, ev[5].hash, 32);

    /* a corrupted anchor is reported, not silently restarted at zeros */
    assert_int_equal(s->ops->meta_set(s, "audit_anchor_hash", "zz", &e),
                     AVRR_OK);
    assert_int_equal(s->ops->audit_anchor(s, &seq, hash, &e), AVRR_EDB);
}

static void test_audit_checkpoints(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    avrr_audit_checkpoint c[3], *list = NULL;
    avrr_error e = {0};
    size_t n = 9;

    assert_int_equal(s->ops->audit_checkpoint_list(s, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 0);
    assert_null(list);
    memset(c, 0, sizeof c);
    for (int i = 0; i < 3; i++) {
        c[i].ts_ms = 1700000000000 + i;
        memset(c[i].hash, 0x10 + i, sizeof c[i].hash);
        memset(c[i].public_key, 0x20 + i, sizeof c[i].public_key);
        memset(c[i].signature, 0x30 + i, sizeof c[i].signature);
    }
    c[0].seq = 9;
    c[1].seq = 4;
    c[2].seq = 9; /* the same head, signed again */
    for (int i = 0; i < 3; i++)
        assert_int_equal(s->ops->audit_checkpoint_insert(s, &c[i], &e),
                         AVRR_OK);
    reopen(f);
    s = f->s;
    assert_int_equal(s->ops->audit_checkpoint_list(s, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 3);
    {
        const int order[3] = {1, 0, 2};
        for (int i = 0; i < 3; i++) {
            const avrr_audit_checkpoint *want = &c[order[i]];
            assert_int_equal(list[i].seq, want->seq);
            assert_int_equal(list[i].ts_ms, want->ts_ms);
            assert_memory_equal(list[i].hash, want->hash, 32);
            assert_memory_equal(list[i].public_key, want->public_key, 32);
            assert_memory_equal(list[i].signature, want->signature, 64);
        }
    }
    avrr_free(list);
}

static void test_identity_rectify(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    avrr_document old_docs[] = {
        {.type = "passport", .number = "P1", .country = "SYR"},
    };
    avrr_document new_docs[] = {
        {.type = "passport", .number = "P2", .country = "SYR"},
        {.type = "id_card", .number = "ID3", .country = ""},
    };
    avrr_identity id = {.given_names = "Mohamed", .surname = "Hasan",
                        .documents = old_docs, .n_documents = 1};
    avrr_identity fix = {0};
    avrr_person p = {.identities = &id, .n_identities = 1}, got = {0};
    avrr_identity_change *hist = NULL;
    avrr_error e = {0};
    uint8_t h[32];
    int64_t key = 0, other;
    size_t n = 0;

    add_tenant(s, "NL", "Netherlands");
    add_tenant(s, "BE", "Belgium");
    snprintf(p.tenant, sizeof p.tenant, "NL");
    id.birth_date = date("1990");
    assert_int_equal(s->ops->person_insert(s, &p, &e), AVRR_OK);
    other = add_person(s, "NL", "Other");
    memset(h, 0x42, sizeof h);
    assert_int_equal(s->ops->key_insert(s, "NL", AVRR_ROLE_CASEWORKER, h,
                                        "desk", &key, &e),
                     AVRR_OK);

    fix.id = id.id;
    fix.person_id = p.id;
    fix.given_names = "Mohammed";
    fix.surname = "Al-Hassan";
    fix.full_name = "Mohammed Al-Hassan";
    fix.sex = AVRR_SEX_MALE;
    fix.birth_date = date("1990-03-14");
    snprintf(fix.nationality, sizeof fix.nationality, "SYR");
    fix.birth_place = "Aleppo";
    fix.national_ref = "V-1";
    fix.documents = new_docs;
    fix.n_documents = 2;

    /* another tenant: as absent as a missing identity; nothing written */
    assert_int_equal(s->ops->identity_rectify(s, "BE", &fix, "{\"v\":1}",
                                              key, &e),
                     AVRR_ENOTFOUND);
    assert_string_equal(e.field, "id");
    fix.id = id.id + 100;
    assert_int_equal(s->ops->identity_rectify(s, "NL", &fix, "{\"v\":1}",
                                              key, &e),
                     AVRR_ENOTFOUND);
    fix.id = id.id;
    fix.person_id = other; /* names another person of the same tenant */
    assert_int_equal(s->ops->identity_rectify(s, "NL", &fix, "{\"v\":1}",
                                              key, &e),
                     AVRR_ENOTFOUND);
    fix.person_id = p.id;
    assert_int_equal(s->ops->identity_rectify(s, "NL", &fix, NULL, key, &e),
                     AVRR_EINVALID);
    assert_int_equal(count(s, "identity_history"), 0);

    assert_int_equal(s->ops->identity_rectify(s, "NL", &fix, "{\"v\":1}",
                                              key, &e),
                     AVRR_OK);
    fix.surname = "Alhassan";
    fix.n_documents = 1;
    assert_int_equal(s->ops->identity_rectify(s, "NL", &fix, "{\"v\":2}", 0,
                                              &e),
                     AVRR_OK);

    reopen(f);
    s = f->s;
    assert_int_equal(s->ops->person_get(s, "NL", p.id, &got, &e), AVRR_OK);
    assert_int_equal(got.n_identities, 1);
    fix.created_at = id.created_at; /* kept */
    assert_identity_equal(&got.identities[0], &fix);
    avrr_person_clear(&got);
    assert_int_equal(pragma_int(s, "SELECT count(*) FROM documents"), 1);

    assert_int_equal(s->ops->identity_history(s, "NL", p.id, &hist, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(hist[0].identity_id, id.id);
    assert_int_equal(hist[0].key_id, key);
    assert_true(hist[0].changed_at > 0);
    assert_string_equal(hist[0].old_json, "{\"v\":1}");
    assert_int_equal(hist[1].key_id, 0);
    assert_string_equal(hist[1].old_json, "{\"v\":2}");
    for (size_t i = 0; i < n; i++)
        avrr_identity_change_clear(&hist[i]);
    avrr_free(hist);

    assert_int_equal(s->ops->identity_history(s, "BE", p.id, &hist, &n, &e),
                     AVRR_ENOTFOUND);
    assert_null(hist);
    assert_int_equal(s->ops->identity_history(s, "NL", other, &hist, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 0);
}

static void test_person_erase(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    avrr_document docs[] = {{.type = "passport", .number = "P1"}};
    avrr_identity alias = {.surname = "Alias", .documents = docs,
                           .n_documents = 1};
    avrr_identity fix = {.surname = "Fixed", .documents = docs,
                         .n_documents = 1};
    avrr_person got = {0}, *list = NULL;
    avrr_identity_change *hist = NULL;
    avrr_case c;
    avrr_assistance a;
    avrr_error e = {0};
    static scan_log log;
    int64_t pid, keep, erased_at;
    size_t n = 0;

    add_tenant(s, "NL", "Netherlands");
    add_tenant(s, "BE", "Belgium");
    pid = add_person(s, "NL", "Erase");
    keep = add_person(s, "NL", "Keep");
    alias.person_id = pid;
    assert_int_equal(s->ops->identity_insert(s, "NL", &alias, &e), AVRR_OK);
    alias.id = 0;
    alias.person_id = keep;
    assert_int_equal(s->ops->identity_insert(s, "NL", &alias, &e), AVRR_OK);
    fix.id = alias.id - 1; /* pid's alias */
    assert_int_equal(s->ops->identity_rectify(s, "NL", &fix, "{}", 0, &e),
                     AVRR_OK);
    fix.id = alias.id; /* keep's alias */
    assert_int_equal(s->ops->identity_rectify(s, "NL", &fix, "{}", 0, &e),
                     AVRR_OK);
    c = make_case("NL", pid);
    assert_int_equal(s->ops->case_insert(s, &c, &e), AVRR_OK);
    a = make_grant("NL", c.id, AVRR_KIND_TICKET, 100);
    assert_int_equal(s->ops->assistance_insert(s, &a, &e), AVRR_OK);
    assert_int_equal(count(s, "identities"), 4);
    assert_int_equal(pragma_int(s, "SELECT count(*) FROM documents"), 2);

    assert_int_equal(s->ops->person_erase(s, "BE", pid, &e), AVRR_ENOTFOUND);
    assert_int_equal(s->ops->person_erase(s, "NL", pid + 100, &e),
                     AVRR_ENOTFOUND);
    assert_int_equal(count(s, "identities"), 4);

    assert_int_equal(s->ops->person_erase(s, "NL", pid, &e), AVRR_OK);
    assert_int_equal(count(s, "identities"), 2); /* keep's */
    assert_int_equal(pragma_int(s, "SELECT count(*) FROM documents"), 1);
    assert_int_equal(count(s, "identity_history"), 1);
    assert_int_equal(count(s, "persons"), 2);
    assert_int_equal(count(s, "cases"), 1);
    assert_int_equal(count(s, "assistance"), 1);

    assert_int_equal(s->ops->person_get(s, "NL", pid, &got, &e), AVRR_OK);
    assert_int_equal(got.n_identities, 0);
    assert_null(got.identities);
    assert_true(got.erased_at > 0);
    erased_at = got.erased_at;
    avrr_person_clear(&got);
    assert_int_equal(s->ops->person_list(s, "NL", 0, 0, &list, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].erased_at, erased_at);
    assert_int_equal(list[1].erased_at, 0);
    assert_int_equal(list[1].n_identities, 2);
    avrr_store_free_persons(list, n);

    /* again: fine, and the first time stays */
    assert_int_equal(pragma_int(s, "SELECT count(*) FROM persons WHERE "
                                   "erased_at IS NOT NULL"),
                     1);
    exec_registry_sql(s, "UPDATE persons SET erased_at = 1000 "
                         "WHERE erased_at IS NOT NULL");
    assert_int_equal(s->ops->person_erase(s, "NL", pid, &e), AVRR_OK);
    assert_int_equal(s->ops->person_get_any(s, pid, &got, &e), AVRR_OK);
    assert_int_equal(got.erased_at, 1000);
    avrr_person_clear(&got);

    /* the match index never sees the erased person again */
    memset(&log, 0, sizeof log);
    assert_int_equal(s->ops->identity_scan(s, 0, on_identity, &log, &e),
                     AVRR_OK);
    assert_int_equal(log.n, 2);
    assert_int_equal(s->ops->identity_history(s, "NL", pid, &hist, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 0);
    assert_null(hist);
}

static void test_person_restrict(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    avrr_person got = {0};
    avrr_error e = {0};
    int64_t pid;

    add_tenant(s, "NL", "Netherlands");
    add_tenant(s, "BE", "Belgium");
    pid = add_person(s, "NL", "R");
    assert_int_equal(s->ops->person_set_restricted(s, "NL", pid, true, &e),
                     AVRR_OK);
    assert_int_equal(s->ops->person_get(s, "NL", pid, &got, &e), AVRR_OK);
    assert_true(got.restricted);
    avrr_person_clear(&got);
    /* setting it again is no error */
    assert_int_equal(s->ops->person_set_restricted(s, "NL", pid, true, &e),
                     AVRR_OK);
    assert_int_equal(s->ops->person_set_restricted(s, "BE", pid, false, &e),
                     AVRR_ENOTFOUND);
    assert_int_equal(s->ops->person_set_restricted(s, "NL", pid + 1, false,
                                                   &e),
                     AVRR_ENOTFOUND);
    assert_int_equal(s->ops->person_get(s, "NL", pid, &got, &e), AVRR_OK);
    assert_true(got.restricted);
    avrr_person_clear(&got);
    assert_int_equal(s->ops->person_set_restricted(s, "NL", pid, false, &e),
                     AVRR_OK);
    assert_int_equal(s->ops->person_get(s, "NL", pid, &got, &e), AVRR_OK);
    assert_false(got.restricted);
    avrr_person_clear(&got);
}

/* A person of `tenant` with one case per (status, closed_on) pair. */
static int64_t person_with_cases(avrr_store *s, const char *tenant,
                                 const avrr_case_status *status,
                                 const char *const *closed, size_t n)
{
    int64_t pid = add_person(s, tenant, "Due");
    avrr_error e = {0};

    for (size_t i = 0; i < n; i++) {
        avrr_case c = make_case(tenant, pid);
        c.status = status[i];
        c.closed_on = date(closed[i]);
        assert_int_equal(s->ops->case_insert(s, &c, &e), AVRR_OK);
    }
    return pid;
}

static void test_persons_due(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    const avrr_case_status done[] = {AVRR_CASE_COMPLETED,
                                     AVRR_CASE_WITHDRAWN};
    const avrr_case_status mixed[] = {AVRR_CASE_COMPLETED,
                                      AVRR_CASE_DEPARTED};
    const avrr_case_status fled[] = {AVRR_CASE_ABSCONDED};
    const char *const old2[] = {"2020-01-10", "2019-05-02"};
    const char *const open2[] = {"2020-01-10", ""};
    const char *const late[] = {"2022-05-01"};
    const char *const month[] = {"2020-12"};
    const char *const none[] = {""};
    int64_t a, b, c, d, m, x, erased, *ids = NULL;
    avrr_error e = {0};
    size_t n = 9;

    add_tenant(s, "NL", "Netherlands");
    add_tenant(s, "BE", "Belgium");
    a = person_with_cases(s, "NL", done, old2, 2);   /* due */
    b = person_with_cases(s, "NL", mixed, open2, 2); /* one case open */
    c = add_person(s, "NL", "No case");              /* no case */
    d = person_with_cases(s, "NL", fled, late, 1);   /* closed too late */
    m = person_with_cases(s, "NL", fled, month, 1);  /* "2020-12": 12-31 */
    x = person_with_cases(s, "NL", done, none, 1);   /* final, no date */
    erased = person_with_cases(s, "NL", done, old2, 2);
    assert_int_equal(s->ops->person_erase(s, "NL", erased, &e), AVRR_OK);
    (void)person_with_cases(s, "BE", done, old2, 2); /* another tenant */
    (void)b;
    (void)c;
    (void)d;
    (void)x;

    assert_int_equal(s->ops->persons_due(s, "NL", "2021-01-01", &ids, &n,
                                         &e),
                     AVRR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], a);
    assert_int_equal(ids[1], m);
    avrr_free(ids);

    assert_int_equal(s->ops->persons_due(s, "NL", "2020-12-15", &ids, &n,
                                         &e),
                     AVRR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], a);
    avrr_free(ids);

    assert_int_equal(s->ops->persons_due(s, "NL", "2020-01-10", &ids, &n,
                                         &e),
                     AVRR_OK);
    assert_int_equal(n, 0); /* closed on the cutoff day: not before it */
    assert_null(ids);

    assert_int_equal(s->ops->persons_due(s, "NL", "2030-01-01", &ids, &n,
                                         &e),
                     AVRR_OK);
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], a);
    assert_int_equal(ids[1], d);
    assert_int_equal(ids[2], m);
    avrr_free(ids);

    assert_int_equal(s->ops->persons_due(s, "NL", "2021", &ids, &n, &e),
                     AVRR_EINVALID);
    assert_string_equal(e.field, "closed_before");
    assert_int_equal(s->ops->persons_due(s, "NL", "soon", &ids, &n, &e),
                     AVRR_EINVALID);
    assert_int_equal(s->ops->persons_due(s, "NL", NULL, &ids, &n, &e),
                     AVRR_EINVALID);
    assert_int_equal(s->ops->persons_due(s, "FR", "2030-01-01", &ids, &n,
                                         &e),
                     AVRR_OK);
    assert_int_equal(n, 0);
}

static void test_checks_forget(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    avrr_check got = {0};
    avrr_error e = {0};
    int64_t old_check, new_check, cleared = -1;
    int64_t pid;

    add_tenant(s, "NL", "Netherlands");
    add_tenant(s, "BE", "Belgium");
    pid = add_person(s, "BE", "Be");
    old_check = add_check(s, "NL", 0, "BE", pid);
    new_check = add_check(s, "NL", 0, "BE", pid);
    exec_registry_sql(s, "UPDATE checks SET created_at = 1000 "
                         "WHERE id = (SELECT min(id) FROM checks)");

    assert_int_equal(s->ops->checks_forget(s, 2000, &cleared, &e), AVRR_OK);
    assert_int_equal(cleared, 1);
    assert_int_equal(s->ops->check_get(s, "NL", old_check, &got, &e),
                     AVRR_OK);
    assert_null(got.request_json);
    assert_string_equal(got.response_json, "{}");
    assert_int_equal(got.n_hits, 1);
    avrr_check_clear(&got);
    assert_int_equal(s->ops->check_get(s, "NL", new_check, &got, &e),
                     AVRR_OK);
    assert_string_equal(got.request_json, "{}");
    avrr_check_clear(&got);
    assert_int_equal(s->ops->checks_forget(s, 2000, &cleared, &e), AVRR_OK);
    assert_int_equal(cleared, 0);
    assert_int_equal(count(s, "checks"), 2);
}

static long long file_size(const char *path)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return (long long)sb.st_size;
}

static void test_compact(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    avrr_error e = {0};
    sqlite3 *reader = NULL;
    sqlite3_stmt *st = NULL;
    char wal[sizeof f->path + 8];
    int64_t pid;

    if (on_pg()) {
        /* No files to compact: a no-op that succeeds (see postgres.c). */
        assert_int_equal(s->ops->compact(s, &e), AVRR_OK);
        SQLITE_ONLY("WAL checkpoints and file sizes are SQLite's");
    }
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    add_tenant(s, "NL", "Netherlands");
    pid = add_person(s, "NL", "Secret");
    assert_int_equal(s->ops->person_erase(s, "NL", pid, &e), AVRR_OK);
    assert_true(file_size(wal) > 0);

    /* inside a transaction it cannot work */
    assert_int_equal(s->ops->begin(s, &e), AVRR_OK);
    assert_int_equal(s->ops->compact(s, &e), AVRR_ECONFLICT);
    s->ops->rollback(s);

    /* another connection reading keeps the WAL in use: reported, once */
    assert_int_equal(sqlite3_open(f->path, &reader), SQLITE_OK);
    exec_sql(reader, "BEGIN");
    assert_int_equal(sqlite3_prepare_v2(reader, "SELECT count(*) FROM "
                                                "persons",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    sqlite3_busy_timeout(avrr__sqlite_db(s), 50); /* keep the test quick */
    assert_int_equal(s->ops->compact(s, &e), AVRR_EDB);
    assert_non_null(strstr(e.message, "checkpoint incomplete"));
    sqlite3_finalize(st);
    exec_sql(reader, "COMMIT");
    sqlite3_close(reader);

    assert_int_equal(s->ops->compact(s, &e), AVRR_OK);
    assert_int_equal(file_size(wal), 0);
    assert_int_equal(count(s, "persons"), 1); /* nothing lost */
    assert_int_equal(count(s, "identities"), 0);
}

int main(void)
{
    const char *backend = getenv("AVRR_TEST_BACKEND");

    if (backend != NULL && backend[0] != '\0'
            ? strcmp(backend, "postgresql") == 0
            : getenv("AVRR_TEST_PG_URI") != NULL) {
        pg_uri = getenv("AVRR_TEST_PG_URI");
        if (pg_uri == NULL || pg_uri[0] == '\0') {
            fprintf(stderr, "test_store: AVRR_TEST_PG_URI is not set: "
                            "skipping the PostgreSQL run (make test starts "
                            "a cluster with scripts/pg-test-cluster.sh)\n");
            return 77; /* ctest's SKIP_RETURN_CODE */
        }
        srand((unsigned)getpid());
        fprintf(stderr, "test_store: on PostgreSQL\n");
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing_registry, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migrations_and_reopen, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_foreign_files_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_connection_settings, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tenants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_person_round_trip, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_identity_insert, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_person_list_paging, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_person_insert_atomic, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_person_get_out_of_memory, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assistance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v1, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tenant_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meta, setup, teardown),
        cmocka_unit_test_setup_teardown(test_person_get_any, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_person_assistance, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_person_facts_many, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_insert_many, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_disclosures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_red_link_flag, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v4, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_identity_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_handles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_count_whitelist, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tenant_retention, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v2, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_audit_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_two_writers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_check_insert_links, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_audit_purge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_checkpoints, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_identity_rectify, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_person_erase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_person_restrict, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_persons_due, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checks_forget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
