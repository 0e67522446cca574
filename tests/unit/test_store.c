/* tests/unit/test_store.c: the SQLite store backend against store.h.
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
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"

typedef struct fixture {
    char dir[64];
    char path[128];
    avrr_store *s;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    avrr_error e = {0};

    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/avrr-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/registry.db", f->dir);
    assert_int_equal(avrr_store_open(f->path, true, &f->s, &e), AVRR_OK);
    *state = f;
    return 0;
}

static void remove_registry(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    char name[160];
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
        unlink(name);
    }
}

static int teardown(void **state)
{
    fixture *f = *state;
    avrr_store_close(f->s);
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

static int64_t pragma_int(avrr_store *s, const char *sql)
{
    sqlite3 *db = avrr__sqlite_db(s);
    sqlite3_stmt *st = NULL;
    int64_t v;

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

    assert_int_equal(avrr_store_open("postgresql://localhost/avrr", true, &s,
                                     &e),
                     AVRR_EINVALID);
    assert_non_null(strstr(e.message, "PostgreSQL"));
}

static void test_migrations_and_reopen(void **state)
{
    fixture *f = *state;

    assert_int_equal(pragma_int(f->s, "PRAGMA user_version"),
                     AVRR_SCHEMA_VERSION);
    assert_int_equal(pragma_int(f->s, "SELECT count(*) FROM avrr_meta WHERE "
                                      "key = 'application' AND "
                                      "value = 'avrr'"),
                     1);
    add_tenant(f->s, "NL", "Netherlands");
    reopen(f); /* idempotent: nothing is applied twice */
    assert_int_equal(pragma_int(f->s, "PRAGMA user_version"),
                     AVRR_SCHEMA_VERSION);
    assert_int_equal(count(f->s, "tenants"), 1);
    assert_int_equal(pragma_int(f->s, "SELECT count(*) FROM avrr_meta"), 2);
    assert_string_equal(f->s->ops->name, "sqlite");
}

static void test_newer_schema_refused(void **state)
{
    fixture *f = *state;
    avrr_store *s = NULL;
    avrr_error e = {0};
    sqlite3 *db = NULL;

    avrr_store_close(f->s);
    f->s = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 7", NULL, NULL,
                                  NULL),
                     SQLITE_OK);
    sqlite3_close(db);

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
}

int main(void)
{
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
        cmocka_unit_test_setup_teardown(test_identity_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_handles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_count_whitelist, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
