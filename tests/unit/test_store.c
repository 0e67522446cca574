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

/* ---- schema version 2: settings and consultation ----------------------- */

/* Number of tables and indexes, to compare two registries' schemas. */
static int64_t schema_objects(avrr_store *s)
{
    return pragma_int(s, "SELECT count(*) FROM sqlite_master "
                         "WHERE type IN ('table', 'index')");
}

static void exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, msg != NULL ? msg : "?");
}

/* A registry of schema version 1 (made here by taking version 2 back, as
 * an avrr of version 1 left it) is upgraded at open and keeps its rows. */
static void test_migration_from_v1(void **state)
{
    fixture *f = *state;
    int64_t fresh = schema_objects(f->s);
    avrr_tenant t = {0};
    avrr_error e = {0};
    sqlite3 *db = NULL;

    avrr_store_close(f->s);
    f->s = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    exec_sql(db, "DROP TABLE disclosures; DROP TABLE links; "
                 "DROP TABLE check_hits; DROP TABLE checks; "
                 "ALTER TABLE tenants DROP COLUMN duplicate_policy; "
                 "INSERT INTO tenants (code, name, created_at) "
                 "VALUES ('NL', 'Netherlands', 1700000000); "
                 "PRAGMA user_version = 1");
    sqlite3_close(db);

    assert_int_equal(avrr_store_open(f->path, false, &f->s, &e), AVRR_OK);
    assert_int_equal(pragma_int(f->s, "PRAGMA user_version"), 2);
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

    add_tenant(s, "NL", "Netherlands");
    add_tenant(s, "BE", "Belgium");
    add_tenant(s, "FR", "France");
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

static void test_links(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    avrr_link l1, l2, l3, got = {0}, res = {0}, *list = NULL;
    avrr_error e = {0};
    int64_t nl_p, be_p, be_q, fr_p, chk, resolved_at;
    size_t n = 0;

    add_tenant(s, "NL", "Netherlands");
    add_tenant(s, "BE", "Belgium");
    add_tenant(s, "FR", "France");
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

static void test_disclosures(void **state)
{
    fixture *f = *state;
    avrr_store *s = f->s;
    avrr_disclosure d = {0}, d2, got = {0}, *list = NULL;
    avrr_error e = {0};
    int64_t nl_p, be_p, chk, be_chk;
    size_t n = 0;

    add_tenant(s, "NL", "Netherlands");
    add_tenant(s, "BE", "Belgium");
    add_tenant(s, "FR", "France");
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
        cmocka_unit_test_setup_teardown(test_migration_from_v1, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tenant_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meta, setup, teardown),
        cmocka_unit_test_setup_teardown(test_person_get_any, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_person_assistance, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disclosures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identity_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_handles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_count_whitelist, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
