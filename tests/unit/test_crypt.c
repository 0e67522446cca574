/* tests/unit/test_crypt.c: encryption at rest of personal fields
 * (src/store/crypt.h) through the SQLite store.
 *
 * Each test works in its own temporary directory with key files beside the
 * registry: every encrypted column makes the round trip; a distinctive name
 * never reaches the database or WAL bytes; a missing, wrong, loose or
 * malformed key is refused with a message naming AVRR_DATA_KEY; a changed or
 * moved ciphertext is an error, not garbage; rekey leaves only the new key
 * able to open the registry and wipes the plaintext of a plain one from its
 * files; out of memory is an error.
 */
#define _GNU_SOURCE /* memmem */
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
#include <sqlite3.h>

#include "store/crypt.h"
#include "store/store.h"

/* Names no test data or schema text contains by chance. */
#define NAME_GIVEN "Xanthippe-Quillfeather"
#define NAME_SURNAME "Vorobyaninova-Zmeyukina"

typedef struct fixture {
    char dir[64];
    char path[128];
    char key1[128], key2[128];
    avrr_store *s;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    avrr_error e = {0};
    avrr_data_key *k = NULL;

    assert_non_null(f);
    unsetenv(AVRR_DATA_KEY_ENV);
    snprintf(f->dir, sizeof f->dir, "/tmp/avrr-crypt-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/registry.db", f->dir);
    snprintf(f->key1, sizeof f->key1, "%s/data1.key", f->dir);
    snprintf(f->key2, sizeof f->key2, "%s/data2.key", f->dir);
    assert_int_equal(avrr_data_key_create(f->key1, &k, &e), AVRR_OK);
    avrr_data_key_free(k);
    assert_int_equal(avrr_data_key_create(f->key2, NULL, &e), AVRR_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    static const char *const names[] = {"registry.db", "registry.db-wal",
                                        "registry.db-shm", "data1.key",
                                        "data2.key", "other.key"};
    char name[192];

    avrr_store_close(f->s);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(name, sizeof name, "%s/%s", f->dir, names[i]);
        unlink(name);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static avrr_err open_with(fixture *f, const char *key, bool create,
                          avrr_error *e)
{
    avrr_store_options opt = {.create = create, .data_key = key};
    avrr_store_close(f->s);
    f->s = NULL;
    return avrr_store_open_ex(f->path, &opt, &f->s, e);
}

static void add_tenant(avrr_store *s, const char *code)
{
    avrr_tenant t = {.name = "Tenant"};
    avrr_error e = {0};
    snprintf(t.code, sizeof t.code, "%s", code);
    assert_int_equal(s->ops->tenant_insert(s, &t, &e), AVRR_OK);
}

static avrr_date date(const char *text)
{
    avrr_date d;
    assert_int_equal(avrr_date_parse(text, &d, "date", NULL), AVRR_OK);
    return d;
}

/* A person of NL with every personal field set and two documents. */
static int64_t add_full_person(avrr_store *s)
{
    avrr_document docs[2] = {{.type = "passport", .number = "P-77451203",
                              .country = "AFG"},
                             {.type = "id_card", .number = "ID 0042"}};
    avrr_identity id = {.given_names = NAME_GIVEN, .surname = NAME_SURNAME,
                        .full_name = NAME_GIVEN " " NAME_SURNAME,
                        .sex = AVRR_SEX_FEMALE, .birth_date = date("1987-06"),
                        .nationality = "AFG", .birth_place = "Herat",
                        .address = "Azc Ter Apel, unit 4",
                        .national_ref = "v-0815", .eurodac_ref = "NL1-99",
                        .documents = docs, .n_documents = 2};
    avrr_person p = {.identities = &id, .n_identities = 1};
    avrr_error e = {0};

    snprintf(p.tenant, sizeof p.tenant, "NL");
    assert_int_equal(s->ops->person_insert(s, &p, &e), AVRR_OK);
    return p.id;
}

static int64_t add_check(avrr_store *s, const char *request)
{
    avrr_check c = {.purpose = AVRR_PURPOSE_CASE_REVIEW,
                    .request_json = (char *)request, .response_json = "{}"};
    avrr_error e = {0};
    snprintf(c.tenant, sizeof c.tenant, "NL");
    assert_int_equal(s->ops->check_insert(s, &c, &e), AVRR_OK);
    return c.id;
}

/* Rectifies the person's identity (keeping the old version in history). */
static void rectify(avrr_store *s, int64_t pid)
{
    avrr_person p = {0};
    avrr_error e = {0};
    assert_int_equal(s->ops->person_get(s, "NL", pid, &p, &e), AVRR_OK);
    avrr_identity *id = &p.identities[0];
    free(id->address);
    id->address = strdup("Returned to Herat");
    assert_int_equal(s->ops->identity_rectify(
                         s, "NL", id, "{\"surname\":\"" NAME_SURNAME "\"}", 0, &e),
                     AVRR_OK);
    avrr_person_clear(&p);
}

/* Every field of add_full_person after rectify(). */
static void assert_full_person(avrr_store *s, int64_t pid)
{
    avrr_person p = {0};
    avrr_identity_change *h = NULL;
    avrr_error e = {0};
    size_t n = 0;

    assert_int_equal(s->ops->person_get(s, "NL", pid, &p, &e), AVRR_OK);
    assert_int_equal(p.n_identities, 1);
    const avrr_identity *id = &p.identities[0];
    assert_string_equal(id->given_names, NAME_GIVEN);
    assert_string_equal(id->surname, NAME_SURNAME);
    assert_string_equal(id->full_name, NAME_GIVEN " " NAME_SURNAME);
    assert_int_equal(id->sex, AVRR_SEX_FEMALE);
    assert_int_equal(id->birth_date.year, 1987);
    assert_int_equal(id->birth_date.month, 6);
    assert_int_equal(id->birth_date.precision, AVRR_DATE_MONTH);
    assert_string_equal(id->nationality, "AFG");
    assert_string_equal(id->birth_place, "Herat");
    assert_string_equal(id->address, "Returned to Herat");
    assert_string_equal(id->national_ref, "v-0815");
    assert_string_equal(id->eurodac_ref, "NL1-99");
    assert_int_equal(id->n_documents, 2);
    assert_string_equal(id->documents[0].number, "P-77451203");
    assert_string_equal(id->documents[0].country, "AFG");
    assert_string_equal(id->documents[1].number, "ID 0042");
    avrr_person_clear(&p);

    assert_int_equal(s->ops->identity_history(s, "NL", pid, &h, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(h[0].old_json, "{\"surname\":\"" NAME_SURNAME "\"}");
    avrr_identity_change_clear(&h[0]);
    avrr_free(h);
}

static void assert_check(avrr_store *s, int64_t id, const char *request)
{
    avrr_check c = {0};
    avrr_error e = {0};
    assert_int_equal(s->ops->check_get(s, "NL", id, &c, &e), AVRR_OK);
    if (request == NULL)
        assert_null(c.request_json);
    else
        assert_string_equal(c.request_json, request);
    avrr_check_clear(&c);
}

/* True when the file holds the bytes of text. A missing file holds none. */
static bool file_contains(const char *path, const char *text)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;
    bool found;

    if (fp == NULL)
        return false;
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    rewind(fp);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    found = memmem(buf, (size_t)n, text, strlen(text)) != NULL;
    free(buf);
    return found;
}

static bool registry_contains(fixture *f, const char *text)
{
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    return file_contains(f->path, text) || file_contains(wal, text);
}

/* Runs one SQL statement on the store's connection. */
static void sql(avrr_store *s, const char *text)
{
    char *err = NULL;
    int rc = sqlite3_exec(avrr__sqlite_db(s), text, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", text, err);
}

static const char *sql_text(avrr_store *s, const char *query, char *buf,
                            size_t size)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(avrr__sqlite_db(s), query, -1, &st,
                                        NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return buf;
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_round_trip(void **state)
{
    fixture *f = *state;
    avrr_error e = {0};
    char buf[128];
    int64_t pid, c1, c2;

    assert_int_equal(open_with(f, f->key1, true, &e), AVRR_OK);
    assert_true(avrr_store_encrypted(f->s));
    add_tenant(f->s, "NL");
    pid = add_full_person(f->s);
    rectify(f->s, pid);
    c1 = add_check(f->s, "{\"surname\":\"" NAME_SURNAME "\"}");
    c2 = add_check(f->s, NULL);
    assert_full_person(f->s, pid);

    /* What reaches the file: sealed BLOBs in the personal columns, the
     * statistics columns in the clear, and the key id but not the key. */
    assert_int_equal(open_with(f, f->key1, false, &e), AVRR_OK);
    assert_full_person(f->s, pid);
    assert_check(f->s, c1, "{\"surname\":\"" NAME_SURNAME "\"}");
    assert_check(f->s, c2, NULL);
    assert_string_equal(
        sql_text(f->s,
                 "SELECT typeof(given_names) || typeof(surname) || "
                 "typeof(full_name) || typeof(birth_date) || "
                 "typeof(birth_place) || typeof(address) || "
                 "typeof(national_ref) || typeof(eurodac_ref) "
                 "FROM identities",
                 buf, sizeof buf),
        "blobblobblobblobblobblobblobblob");
    assert_string_equal(sql_text(f->s,
                                 "SELECT sex || nationality || birth_precision "
                                 "|| birth_placeholder FROM identities",
                                 buf, sizeof buf),
                        "fAFG20");
    assert_string_equal(sql_text(f->s,
                                 "SELECT group_concat(typeof(number)) FROM "
                                 "documents",
                                 buf, sizeof buf),
                        "blob,blob");
    assert_string_equal(sql_text(f->s,
                                 "SELECT typeof(old_json) FROM "
                                 "identity_history",
                                 buf, sizeof buf),
                        "blob");
    assert_string_equal(sql_text(f->s,
                                 "SELECT group_concat(typeof(request_json)) "
                                 "FROM checks ORDER BY id",
                                 buf, sizeof buf),
                        "blob,null");
    assert_string_equal(sql_text(f->s,
                                 "SELECT value FROM avrr_meta WHERE key = "
                                 "'data_encryption'",
                                 buf, sizeof buf),
                        "xchacha20poly1305-ietf-v1");
    assert_int_equal(strlen(sql_text(f->s,
                                     "SELECT value FROM avrr_meta WHERE key "
                                     "= 'data_key_id'",
                                     buf, sizeof buf)),
                     16);
    /* The meta settings that open the registry cannot be overwritten. */
    assert_int_equal(f->s->ops->meta_set(f->s, "data_key_id", "00", &e),
                     AVRR_EINVALID);
}

static int scan_cb(void *arg, const char *tenant, const avrr_identity *id)
{
    int *seen = arg;
    (void)tenant;
    if (id->surname != NULL && strcmp(id->surname, NAME_SURNAME) == 0 &&
        id->n_documents == 2)
        (*seen)++;
    return 0;
}

static void test_scan_and_plaintext_absent(void **state)
{
    fixture *f = *state;
    avrr_error e = {0};
    int seen = 0;

    assert_int_equal(open_with(f, f->key1, true, &e), AVRR_OK);
    add_tenant(f->s, "NL");
    for (int i = 0; i < 3; i++)
        add_full_person(f->s);
    assert_int_equal(f->s->ops->identity_scan(f->s, 0, scan_cb, &seen, &e),
                     AVRR_OK);
    assert_int_equal(seen, 3);
    /* Neither the database nor the WAL ever holds the plaintext. */
    assert_false(registry_contains(f, NAME_SURNAME));
    assert_false(registry_contains(f, NAME_GIVEN));
    assert_false(registry_contains(f, "P-77451203"));
    assert_int_equal(f->s->ops->compact(f->s, &e), AVRR_OK);
    avrr_store_close(f->s);
    f->s = NULL;
    assert_false(registry_contains(f, NAME_SURNAME));
    assert_false(registry_contains(f, "Azc Ter Apel"));
}

static void test_missing_and_wrong_key(void **state)
{
    fixture *f = *state;
    avrr_error e = {0};
    char other[160], bad[160];
    FILE *fp;

    assert_int_equal(open_with(f, f->key1, true, &e), AVRR_OK);
    add_tenant(f->s, "NL");
    add_full_person(f->s);

    /* No key. */
    assert_int_equal(open_with(f, NULL, false, &e), AVRR_EINVALID);
    assert_null(f->s);
    assert_string_equal(e.field, "data_key");
    assert_non_null(strstr(e.message, "AVRR_DATA_KEY"));
    assert_non_null(strstr(e.message, "encrypted"));

    /* Another key (another key id). */
    assert_int_equal(open_with(f, f->key2, false, &e), AVRR_EINVALID);
    assert_non_null(strstr(e.message, "AVRR_DATA_KEY"));

    /* A wrong key carrying the right key id: the check value catches it. */
    snprintf(other, sizeof other, "%s/other.key", f->dir);
    {
        char text[160] = "", *sp;
        fp = fopen(f->key1, "r");
        assert_non_null(fp);
        assert_non_null(fgets(text, sizeof text, fp));
        fclose(fp);
        sp = strrchr(text, ' ');
        assert_non_null(sp);
        sp[1] = sp[1] == '0' ? '1' : '0'; /* first digit of the key */
        fp = fopen(other, "w");
        assert_non_null(fp);
        fputs(text, fp);
        fclose(fp);
        chmod(other, 0600);
    }
    assert_int_equal(open_with(f, other, false, &e), AVRR_EINVALID);
    assert_non_null(strstr(e.message, "wrong key"));
    assert_non_null(strstr(e.message, "AVRR_DATA_KEY"));

    /* A key file others may read, or that is no key at all. */
    chmod(other, 0640);
    assert_int_equal(open_with(f, other, false, &e), AVRR_EINVALID);
    assert_non_null(strstr(e.message, "chmod 600"));
    snprintf(bad, sizeof bad, "%s/nonexistent.key", f->dir);
    assert_int_equal(open_with(f, bad, false, &e), AVRR_EIO);
    assert_non_null(strstr(e.message, "AVRR_DATA_KEY"));
    fp = fopen(other, "w");
    assert_non_null(fp);
    fputs("avrr-data-key-v1 nothex\n", fp);
    fclose(fp);
    chmod(other, 0600);
    assert_int_equal(open_with(f, other, false, &e), AVRR_EINVALID);
    assert_non_null(strstr(e.message, "not an avrr data key"));
    /* An existing key file is never overwritten. */
    assert_int_equal(avrr_data_key_create(f->key1, NULL, &e), AVRR_EEXISTS);

    /* The right key still opens it, also through AVRR_DATA_KEY. */
    avrr_store_close(f->s);
    f->s = NULL;
    setenv(AVRR_DATA_KEY_ENV, f->key1, 1);
    assert_int_equal(avrr_store_open(f->path, false, &f->s, &e), AVRR_OK);
    unsetenv(AVRR_DATA_KEY_ENV);
    assert_true(avrr_store_encrypted(f->s));
}

static void test_plain_registry_with_key_refused(void **state)
{
    fixture *f = *state;
    avrr_error e = {0};

    assert_int_equal(open_with(f, NULL, true, &e), AVRR_OK);
    assert_false(avrr_store_encrypted(f->s));
    add_tenant(f->s, "NL");
    assert_int_equal(open_with(f, f->key1, false, &e), AVRR_EINVALID);
    assert_non_null(strstr(e.message, "not encrypted"));
    assert_non_null(strstr(e.message, "avrr rekey"));
    /* Also when asked to create (init on an existing registry). */
    assert_int_equal(open_with(f, f->key1, true, &e), AVRR_EINVALID);
    assert_int_equal(open_with(f, NULL, false, &e), AVRR_OK);
}

static void test_tampered_or_moved(void **state)
{
    fixture *f = *state;
    avrr_person p = {0};
    avrr_check c = {0};
    avrr_error e = {0};
    int64_t a, b, c3, c4, ck;

    assert_int_equal(open_with(f, f->key1, true, &e), AVRR_OK);
    add_tenant(f->s, "NL");
    a = add_full_person(f->s);
    b = add_full_person(f->s);
    ck = add_check(f->s, "{\"given_names\":\"x\"}");

    /* One flipped bit in the ciphertext (past the 33-byte header). */
    {
        sqlite3_blob *blob = NULL;
        unsigned char byte;
        assert_int_equal(sqlite3_blob_open(avrr__sqlite_db(f->s), "main",
                                           "identities", "surname", a, 1,
                                           &blob),
                         SQLITE_OK);
        assert_int_equal(sqlite3_blob_read(blob, &byte, 1, 40), SQLITE_OK);
        byte ^= 0x01;
        assert_int_equal(sqlite3_blob_write(blob, &byte, 1, 40), SQLITE_OK);
        sqlite3_blob_close(blob);
    }
    assert_int_equal(f->s->ops->person_get(f->s, "NL", a, &p, &e), AVRR_EDB);
    assert_int_equal(p.n_identities, 0);
    assert_non_null(strstr(e.message, "does not open"));

    /* A value moved to another column of the same row. */
    sql(f->s, "UPDATE identities SET given_names = surname "
              "WHERE person_id = 2");
    assert_int_equal(f->s->ops->person_get(f->s, "NL", b, &p, &e), AVRR_EDB);

    /* A value moved to another person, same column. */
    c3 = add_full_person(f->s);
    c4 = add_full_person(f->s);
    assert_int_equal(f->s->ops->person_get(f->s, "NL", c3, &p, &e), AVRR_OK);
    avrr_person_clear(&p);
    sql(f->s, "UPDATE identities SET address = "
              "(SELECT address FROM identities WHERE person_id = 4) "
              "WHERE person_id = 3");
    assert_int_equal(f->s->ops->person_get(f->s, "NL", c3, &p, &e), AVRR_EDB);
    assert_int_equal(f->s->ops->person_get(f->s, "NL", c4, &p, &e), AVRR_OK);
    avrr_person_clear(&p);

    /* A value left in the clear in an encrypted registry. */
    sql(f->s, "UPDATE checks SET request_json = '{\"plain\":1}'");
    assert_int_equal(f->s->ops->check_get(f->s, "NL", ck, &c, &e), AVRR_EDB);
    assert_non_null(strstr(e.message, "in the clear"));

    /* A document number truncated below the sealed size. */
    sql(f->s, "UPDATE documents SET number = x'0102'");
    assert_int_equal(f->s->ops->person_get(f->s, "NL", c4, &p, &e), AVRR_EDB);
    assert_non_null(strstr(e.message, "damaged"));
}

static void test_rekey(void **state)
{
    fixture *f = *state;
    avrr_error e = {0};
    int64_t pid, ck, n = 0;
    char wal[160];

    /* A plain registry first: its plaintext is in the files. */
    assert_int_equal(open_with(f, NULL, true, &e), AVRR_OK);
    add_tenant(f->s, "NL");
    pid = add_full_person(f->s);
    rectify(f->s, pid);
    ck = add_check(f->s, "{\"surname\":\"" NAME_SURNAME "\"}");
    assert_true(registry_contains(f, NAME_SURNAME));

    /* Encrypting it for the first time wipes the plaintext from the files. */
    assert_int_equal(f->s->ops->rekey(f->s, f->key1, &n, &e), AVRR_OK);
    assert_int_equal(n, 8 + 2 + 1 + 1);
    assert_true(avrr_store_encrypted(f->s));
    assert_full_person(f->s, pid);
    assert_false(registry_contains(f, NAME_SURNAME));
    assert_false(registry_contains(f, NAME_GIVEN));
    assert_false(registry_contains(f, "P-77451203"));
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    avrr_store_close(f->s);
    f->s = NULL;
    assert_false(registry_contains(f, NAME_SURNAME));
    assert_int_equal(open_with(f, NULL, false, &e), AVRR_EINVALID);

    /* The same key again is refused. */
    assert_int_equal(open_with(f, f->key1, false, &e), AVRR_OK);
    assert_int_equal(f->s->ops->rekey(f->s, f->key1, &n, &e), AVRR_EINVALID);
    assert_full_person(f->s, pid);

    /* key1 -> key2 through the wrapper: only key2 opens it afterwards. */
    avrr_store_close(f->s);
    f->s = NULL;
    assert_int_equal(avrr_store_rekey(f->path, f->key1, f->key2, &n, &e),
                     AVRR_OK);
    assert_int_equal(n, 12);
    assert_int_equal(open_with(f, f->key1, false, &e), AVRR_EINVALID);
    assert_non_null(strstr(e.message, "AVRR_DATA_KEY"));
    assert_int_equal(open_with(f, f->key2, false, &e), AVRR_OK);
    assert_full_person(f->s, pid);
    assert_check(f->s, ck, "{\"surname\":\"" NAME_SURNAME "\"}");
    assert_false(registry_contains(f, NAME_SURNAME));

    /* A rekey from a wrong old key does nothing. */
    avrr_store_close(f->s);
    f->s = NULL;
    assert_int_equal(avrr_store_rekey(f->path, f->key1, f->key2, &n, &e),
                     AVRR_EINVALID);
    assert_int_equal(open_with(f, f->key2, false, &e), AVRR_OK);
    assert_full_person(f->s, pid);
}

static void test_rekeyed_under_a_writer(void **state)
{
    fixture *f = *state;
    avrr_store_options opt = {.data_key = NULL};
    avrr_store *other = NULL;
    avrr_error e = {0};
    int64_t n = 0;

    /* A server holding key1 must not write after someone re-keyed the
     * registry under key2: its values would open under neither. */
    assert_int_equal(open_with(f, f->key1, true, &e), AVRR_OK);
    add_tenant(f->s, "NL");
    add_full_person(f->s);
    opt.data_key = f->key1;
    assert_int_equal(avrr_store_open_ex(f->path, &opt, &other, &e), AVRR_OK);
    assert_int_equal(other->ops->rekey(other, f->key2, &n, &e), AVRR_OK);
    avrr_store_close(other);
    avrr_document doc = {.number = "Z-1"};
    avrr_identity id = {.surname = "Late", .documents = &doc,
                        .n_documents = 1};
    avrr_person p = {.identities = &id, .n_identities = 1};
    snprintf(p.tenant, sizeof p.tenant, "NL");
    assert_int_equal(f->s->ops->person_insert(f->s, &p, &e), AVRR_ECONFLICT);
    assert_non_null(strstr(e.message, "re-keyed"));
    assert_int_equal(f->s->ops->begin(f->s, &e), AVRR_ECONFLICT);
    assert_int_equal(open_with(f, f->key2, false, &e), AVRR_OK);
    assert_int_equal(f->s->ops->person_insert(f->s, &p, &e), AVRR_OK);
}

static void test_rekey_many_rows(void **state)
{
    fixture *f = *state;
    avrr_error e = {0};
    int64_t n = 0;
    int seen = 0;

    /* More rows than one rekey batch (256), so that batches join up. */
    assert_int_equal(open_with(f, f->key1, true, &e), AVRR_OK);
    add_tenant(f->s, "NL");
    assert_int_equal(f->s->ops->begin(f->s, &e), AVRR_OK);
    for (int i = 0; i < 600; i++)
        add_full_person(f->s);
    assert_int_equal(f->s->ops->commit(f->s, &e), AVRR_OK);
    assert_int_equal(f->s->ops->rekey(f->s, f->key2, &n, &e), AVRR_OK);
    assert_int_equal(n, 600 * (8 + 2));
    assert_int_equal(open_with(f, f->key2, false, &e), AVRR_OK);
    assert_int_equal(f->s->ops->identity_scan(f->s, 0, scan_cb, &seen, &e),
                     AVRR_OK);
    assert_int_equal(seen, 600);
}

static void test_out_of_memory(void **state)
{
    fixture *f = *state;
    avrr_person got = {0};
    avrr_error e = {0};
    avrr_err rc = AVRR_OK;
    int64_t pid;
    long i;

    assert_int_equal(open_with(f, f->key1, true, &e), AVRR_OK);
    add_tenant(f->s, "NL");
    pid = add_full_person(f->s);
    for (i = 1; i < 200; i++) {
        avrr_alloc_fail_after(i);
        rc = f->s->ops->person_get(f->s, "NL", pid, &got, &e);
        avrr_alloc_fail_after(0);
        if (rc == AVRR_OK)
            break;
        assert_int_equal(rc, AVRR_ENOMEM);
        assert_int_equal(got.n_identities, 0);
    }
    assert_int_equal(rc, AVRR_OK);
    assert_true(i > 10);
    avrr_person_clear(&got);

    for (i = 1; i < 200; i++) {
        int64_t before = 0, after = 0;
        assert_int_equal(f->s->ops->count(f->s, "persons", &before, &e),
                         AVRR_OK);
        avrr_alloc_fail_after(i);
        avrr_document doc = {.number = "X1"};
        avrr_identity id = {.surname = "Oom", .documents = &doc,
                            .n_documents = 1};
        avrr_person p = {.identities = &id, .n_identities = 1};
        snprintf(p.tenant, sizeof p.tenant, "NL");
        rc = f->s->ops->person_insert(f->s, &p, &e);
        avrr_alloc_fail_after(0);
        assert_int_equal(f->s->ops->count(f->s, "persons", &after, &e),
                         AVRR_OK);
        if (rc == AVRR_OK)
            break;
        assert_int_equal(rc, AVRR_ENOMEM);
        assert_int_equal(after, before); /* nothing half-stored */
    }
    assert_int_equal(rc, AVRR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_and_plaintext_absent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_missing_and_wrong_key, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_plain_registry_with_key_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_or_moved, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rekey, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rekeyed_under_a_writer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rekey_many_rows, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_out_of_memory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
