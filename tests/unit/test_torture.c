/* test_torture.c: allocation-failure torture (issue 8 item 5, STYLE.md 5).
 *
 * Each main path of the library runs again and again with the Nth
 * allocation made to fail (avrr_alloc_fail_after), N = 1, 2, 3, ... until the
 * path runs through. Every failing run must return an error code (usually
 * AVRR_ENOMEM), never crash, and free what it took: the ASan build of
 * `make test` reports any leak when the program ends. Paths that write to a
 * registry must also leave nothing half-stored behind a failed run: the
 * registry holds exactly what the one successful run wrote.
 *
 * SQLite's, ICU's and json-c's own allocations do not go through
 * avrr_malloc and are not failed here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "avrr/core.h"
#include "avrr/csv.h"
#include "avrr/match.h"
#include "avrr/pseudo.h"
#include "avrr/service.h"
#include "service/codec.h"
#include "store/store.h"

/* A path that needs more allocations than this is looping, not working. */
#define TORTURE_MAX 200000

typedef avrr_err (*path_fn)(void *ctx);

static bool is_error_code(avrr_err rc)
{
    return rc < AVRR_OK && rc > AVRR__ERR_FIRST && rc < AVRR__ERR_LAST;
}

/* Runs fn with the 1st, 2nd, ... allocation failing until it succeeds.
 * Returns the number of failing runs (the allocations the path makes). */
static long torture(const char *name, path_fn fn, void *ctx)
{
    long n;
    /* The path must work when nothing fails, or the loop below would only
     * ever see its ordinary error. */
    avrr_alloc_fail_after(0);
    assert_int_equal(fn(ctx), AVRR_OK);
    for (n = 1; n < TORTURE_MAX; n++) {
        if (getenv("AVRR_TORTURE_VERBOSE") && n % 50 == 0)
            fprintf(stderr, "torture: %s: %ld...\n", name, n);
        avrr_alloc_fail_after(n);
        avrr_err rc = fn(ctx);
        avrr_alloc_fail_after(0);
        if (rc == AVRR_OK)
            break;
        if (!is_error_code(rc)) {
            fprintf(stderr, "%s: allocation %ld failed: returned %d, not an error code\n",
                    name, n, (int)rc);
            fail();
        }
    }
    assert_true(n < TORTURE_MAX);
    fprintf(stderr, "torture: %s: %ld allocation(s), each failure handled\n", name, n - 1);
    return n - 1;
}

/* ---- the codec --------------------------------------------------------------- */

static const char PERSON_JSON[] =
    "{\"identities\":[{\"given_names\":\"Youssef\",\"surname\":\"El Amrani\",\"sex\":\"m\","
    "\"birth_date\":\"1990-03-14\",\"nationality\":\"MA\",\"birth_place\":\"Nador\","
    "\"address\":\"Kerkstraat 1\",\"national_ref\":\"NL-1\",\"eurodac_ref\":\"E-1\","
    "\"documents\":[{\"type\":\"passport\",\"number\":\"UZ4411720\",\"country\":\"MAR\"},"
    "{\"type\":\"id_card\",\"number\":\"X1\"}]},"
    "{\"given_names\":\"Joessef\",\"surname\":\"Elamrani\",\"birth_date\":\"1990\"},"
    "{\"full_name\":\"\xd9\x8a\xd9\x88\xd8\xb3\xd9\x81 \xd8\xa7\xd9\x84\xd8\xb9\xd9\x85\xd8\xb1"
    "\xd8\xa7\xd9\x86\xd9\x8a\",\"birth_date\":\"1990-00-00\"}]}";

static avrr_err codec_person(void *ctx)
{
    (void)ctx;
    json_object *o = NULL;
    avrr_person p = {0};
    avrr_error e;
    avrr_err result = avrr_json_parse_object(PERSON_JSON, sizeof PERSON_JSON - 1, &o, &e);
    if (result == AVRR_OK)
        result = avrr_codec_person_from_json(o, &p, &e);
    if (result == AVRR_OK) {
        json_object *back = avrr_codec_person_to_json(&p);
        json_object_put(back);
    }
    avrr_person_clear(&p);
    json_object_put(o);
    return result;
}

static void test_codec_person(void **state)
{
    (void)state;
    assert_true(torture("codec person decode", codec_person, NULL) > 0);
}

/* ---- identity validation and copy ------------------------------------------- */

static avrr_err identity_validate(void *ctx)
{
    (void)ctx;
    avrr_identity src = {0}, id = {0};
    avrr_document doc = {.type = "passport", .number = "UZ4411720", .country = "ma"};
    avrr_error e;
    src.given_names = "Youssef";
    src.surname = "El Amrani";
    src.full_name = "\xd9\x8a\xd9\x88\xd8\xb3\xd9\x81";
    src.birth_place = "Nador";
    src.address = "Kerkstraat 1, Amsterdam";
    src.documents = &doc;
    src.n_documents = 1;
    memcpy(src.nationality, "ma", 3);
    avrr_err result = avrr_identity_copy(&id, &src);
    if (result == AVRR_OK)
        result = avrr_identity_validate(&id, &e);
    avrr_identity_clear(&id);
    return result;
}

static void test_identity_validate(void **state)
{
    (void)state;
    assert_true(torture("identity copy + validate", identity_validate, NULL) > 0);
}

/* ---- the CSV identity reader --------------------------------------------- */

static const char CSV[] =
    "rec_id,given_names,surname,full_name,sex,birth_date,nationality,birth_place,"
    "document_no,address\r\n"
    "r1,Youssef,El Amrani,,m,1990-03-14,MA,Nador,UZ4411720,\"Kerkstraat 1\r\nAmsterdam\"\r\n"
    "r2,Joessef,Elamrani,,,1990,,,,\r\n"
    "r3,,,\"\xd9\x8a\xd9\x88\xd8\xb3\xd9\x81\",f,1990-00-00,MAR,,,\r\n";

static avrr_err csv_reader(void *ctx)
{
    (void)ctx;
    FILE *f = fmemopen((void *)CSV, sizeof CSV - 1, "r");
    assert_non_null(f);
    avrr_identity_reader *r = NULL;
    avrr_error e;
    int rows = 0;
    avrr_err result = avrr_identity_reader_open(f, "torture.csv", &r, &e);
    while (result == AVRR_OK) {
        avrr_identity id;
        const char *rec_id;
        result = avrr_identity_reader_next(r, &id, &rec_id, &e);
        if (result == AVRR_OK) {
            rows++;
            avrr_identity_clear(&id);
        }
    }
    if (result == AVRR_ENOTFOUND) {
        result = AVRR_OK;
        assert_int_equal(rows, 3);
    }
    avrr_identity_reader_close(r);
    fclose(f);
    return result;
}

static void test_csv_reader(void **state)
{
    (void)state;
    assert_true(torture("CSV identity reader", csv_reader, NULL) > 0);
}

/* ---- the match index ------------------------------------------------------- */

static avrr_err match_index(void *ctx)
{
    (void)ctx;
    avrr_match_index *idx = NULL;
    avrr_match_hit *hits = NULL;
    size_t n_hits = 0;
    avrr_identity a = {.given_names = "Youssef", .surname = "El Amrani"};
    avrr_identity b = {.given_names = "Joessef", .surname = "Elamrani"};
    avrr_identity c = {.full_name = "\xd9\x8a\xd9\x88\xd8\xb3\xd9\x81 \xd8\xa7\xd9\x84\xd8\xb9"
                                    "\xd9\x85\xd8\xb1\xd8\xa7\xd9\x86\xd9\x8a"};
    a.birth_date = b.birth_date = c.birth_date = (avrr_date){1990, 3, 14, AVRR_DATE_DAY, false};
    avrr_err result = avrr_match_index_new(NULL, &idx);
    if (result == AVRR_OK)
        result = avrr_match_index_add(idx, 1, 1, "NL", &a);
    if (result == AVRR_OK)
        result = avrr_match_index_add(idx, 2, 2, "BE", &b);
    if (result == AVRR_OK)
        result = avrr_match_index_add(idx, 3, 3, "BE", &c);
    if (result == AVRR_OK)
        result = avrr_match_index_query(idx, &a, 0.1, 10, &hits, &n_hits);
    if (result == AVRR_OK)
        assert_true(n_hits >= 1);
    if (result == AVRR_OK)
        result = avrr_match_index_remove(idx, 2);
    avrr_free(hits);
    avrr_match_index_free(idx);
    return result;
}

static void test_match_index(void **state)
{
    (void)state;
    assert_true(torture("match index add + query", match_index, NULL) > 0);
}

/* ---- the pseudonymised index: a national node's encoding, checked --------- */

static avrr_err pseudo_encoded_check(void *ctx)
{
    (void)ctx;
    static const uint8_t secret[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                       17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
                                       31, 32};
    avrr_pseudo_key *key = NULL;
    avrr_match_index *idx = NULL;
    avrr_match_rec *enc = NULL, *probe = NULL;
    avrr_match_hit *hits = NULL;
    size_t n_hits = 0;
    char *wire = NULL, *body = NULL;
    json_object *o = NULL;
    avrr_check_request req = {0};
    avrr_error e;
    avrr_identity a = {.given_names = "Youssef", .surname = "El Amrani"};
    avrr_identity b = {.given_names = "Joessef", .surname = "Elamrani"};
    a.birth_date = b.birth_date = (avrr_date){1990, 3, 14, AVRR_DATE_DAY, false};
    avrr_err result = avrr_pseudo_key_from_bytes(secret, sizeof secret, &key);
    if (result == AVRR_OK)
        result = avrr_match_index_new(NULL, &idx);
    if (result == AVRR_OK)
        result = avrr_match_index_set_pseudonym_key(idx, key);
    if (result == AVRR_OK)
        result = avrr_match_index_add(idx, 1, 1, "NL", &a);
    /* the node: encode, wire form, a check request */
    if (result == AVRR_OK)
        result = avrr_pseudo_encode(key, &b, &enc);
    if (result == AVRR_OK)
        result = avrr_pseudo_to_wire(enc, &wire);
    if (result == AVRR_OK) {
        size_t cap = strlen(wire) + 64;
        body = avrr_malloc(cap);
        if (!body)
            result = AVRR_ENOMEM;
        else
            snprintf(body, cap, "{\"purpose\":\"assistance_decision\",\"encoded_identity\":\"%s\"}",
                     wire);
    }
    /* the server: parse, decode, query */
    if (result == AVRR_OK)
        result = avrr_json_parse_object(body, strlen(body), &o, &e);
    if (result == AVRR_OK)
        result = avrr_codec_check_request_from_json(o, &req, &e);
    if (result == AVRR_OK)
        result = avrr_pseudo_decode(key, req.encoded_identity, strlen(req.encoded_identity),
                                    &probe, &e);
    if (result == AVRR_OK)
        result = avrr_match_index_query_encoded(idx, probe, 0.5, 10, &hits, &n_hits);
    if (result == AVRR_OK)
        assert_int_equal(n_hits, 1);
    avrr_free(hits);
    avrr_match_rec_free(probe);
    avrr_codec_check_request_clear(&req);
    json_object_put(o);
    avrr_free(body);
    avrr_free(wire);
    avrr_match_rec_free(enc);
    avrr_match_index_free(idx);
    avrr_pseudo_key_free(key);
    return result;
}

static void test_pseudo_encoded_check(void **state)
{
    (void)state;
    assert_true(torture("pseudonymised encode + wire + decode + query", pseudo_encoded_check,
                        NULL) > 0);
}

/* ---- the store ------------------------------------------------------------- */

typedef struct registry {
    char dir[64];
    char db[128];
    int n;
} registry;

static void registry_remove(const char *db)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    char path[160];
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s%s", db, suffixes[i]);
        unlink(path);
    }
}

/* A registry with tenant NL, made without failures. */
static void registry_make(registry *r)
{
    snprintf(r->dir, sizeof r->dir, "/tmp/avrr-torture-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    snprintf(r->db, sizeof r->db, "%s/registry.db", r->dir);
    avrr_service *svc = NULL;
    avrr_error e;
    assert_int_equal(avrr_service_open(r->db, true, &svc, &e), AVRR_OK);
    assert_int_equal(avrr_service_tenant_add(svc, "NL", "Netherlands", &e), AVRR_OK);
    avrr_service_close(svc);
}

static void registry_drop(registry *r)
{
    registry_remove(r->db);
    rmdir(r->dir);
}

static int64_t registry_count(registry *r, const char *table)
{
    avrr_service *svc = NULL;
    avrr_error e;
    int64_t n = -1;
    assert_int_equal(avrr_service_open(r->db, false, &svc, &e), AVRR_OK);
    assert_int_equal(avrr_service_count(svc, table, &n, &e), AVRR_OK);
    avrr_service_close(svc);
    return n;
}

/* Opening (and so creating and migrating) a fresh registry. */
static avrr_err store_create(void *ctx)
{
    registry *r = ctx;
    avrr_store *s = NULL;
    avrr_error e;
    registry_remove(r->db);
    avrr_err result = avrr_store_open(r->db, true, &s, &e);
    avrr_store_close(s);
    return result;
}

static void test_store_create(void **state)
{
    (void)state;
    registry r;
    snprintf(r.dir, sizeof r.dir, "/tmp/avrr-torture-XXXXXX");
    assert_non_null(mkdtemp(r.dir));
    snprintf(r.db, sizeof r.db, "%s/registry.db", r.dir);
    torture("store create + migrate", store_create, &r);
    registry_drop(&r);
}

static avrr_err store_person(void *ctx)
{
    registry *r = ctx;
    avrr_store *s = NULL;
    avrr_person p = {0}, got = {0};
    json_object *o = NULL;
    avrr_error e;
    avrr_err result = avrr_store_open(r->db, false, &s, &e);
    if (result == AVRR_OK)
        result = avrr_json_parse_object(PERSON_JSON, sizeof PERSON_JSON - 1, &o, &e);
    if (result == AVRR_OK)
        result = avrr_codec_person_from_json(o, &p, &e);
    for (size_t i = 0; result == AVRR_OK && i < p.n_identities; i++)
        result = avrr_identity_validate(&p.identities[i], &e);
    if (result == AVRR_OK) {
        memcpy(p.tenant, "NL", 3);
        result = s->ops->person_insert(s, &p, &e);
        if (result == AVRR_OK)
            r->n++; /* stored, whatever happens next */
    }
    if (result == AVRR_OK)
        result = s->ops->person_get(s, "NL", p.id, &got, &e);
    if (result == AVRR_OK) {
        assert_int_equal(got.n_identities, 3);
        assert_string_equal(got.identities[0].surname, "El Amrani");
    }
    avrr_person_clear(&got);
    avrr_person_clear(&p);
    json_object_put(o);
    avrr_store_close(s);
    return result;
}

static void test_store_person(void **state)
{
    (void)state;
    registry r = {0};
    registry_make(&r);
    torture("store open + person insert + get", store_person, &r);
    /* A failed insert left nothing behind, a successful one all three
     * identities. */
    assert_int_equal(registry_count(&r, "persons"), r.n);
    assert_int_equal(registry_count(&r, "identities"), 3 * r.n);
    registry_drop(&r);
}

/* ---- the service ------------------------------------------------------------- */

/* Opening the registry and loading the match index. */
static avrr_err service_open(void *ctx)
{
    registry *r = ctx;
    avrr_service *svc = NULL;
    avrr_actor actor;
    avrr_error e;
    avrr_err result = avrr_service_open(r->db, false, &svc, &e);
    if (result == AVRR_OK)
        result = avrr_service_local_actor(svc, "NL", AVRR_ROLE_CASEWORKER, &actor, &e);
    if (result == AVRR_OK)
        result = avrr_service_index_load(svc, &e);
    avrr_service_close(svc);
    return result;
}

typedef struct service_ctx {
    registry *r;
    avrr_service *svc;
    avrr_actor actor;
} service_ctx;

/* Registering a person and checking for it on one open service, so that a
 * failed run leaves the service (its match index) as the next run finds it. */
static avrr_err service_register_check(void *ctx)
{
    service_ctx *c = ctx;
    avrr_person p = {0};
    json_object *o = NULL;
    avrr_check_request cr = {0};
    avrr_check_result res = {0};
    avrr_error e;
    avrr_err result = avrr_json_parse_object(PERSON_JSON, sizeof PERSON_JSON - 1, &o, &e);
    if (result == AVRR_OK)
        result = avrr_codec_person_from_json(o, &p, &e);
    if (result == AVRR_OK)
        result = avrr_service_person_register(c->svc, &c->actor, &p, &e);
    if (result == AVRR_OK) {
        c->r->n++; /* stored: counted before the check, which may still fail */
        json_object_put(o);
        static const char check[] =
            "{\"purpose\":\"assistance_decision\",\"identity\":{\"given_names\":\"Yusuf\","
            "\"surname\":\"Amrani\",\"birth_date\":\"1990-03-14\"},"
            "\"aliases\":[{\"full_name\":\"Youssef El Amrani\"}]}";
        o = NULL;
        result = avrr_json_parse_object(check, sizeof check - 1, &o, &e);
    }
    if (result == AVRR_OK) {
        cr.request_json = "{}";
        result = avrr_codec_check_request_from_json(o, &cr, &e);
    }
    if (result == AVRR_OK)
        result = avrr_service_check(c->svc, &c->actor, &cr, &res, &e);
    avrr_check_result_clear(&res);
    avrr_codec_check_request_clear(&cr);
    avrr_person_clear(&p);
    json_object_put(o);
    return result;
}

static void test_service(void **state)
{
    (void)state;
    registry r = {0};
    avrr_error e;
    registry_make(&r);
    torture("service open + local actor + index load", service_open, &r);

    service_ctx c = {.r = &r};
    assert_int_equal(avrr_service_open(r.db, false, &c.svc, &e), AVRR_OK);
    assert_int_equal(avrr_service_local_actor(c.svc, "NL", AVRR_ROLE_CASEWORKER, &c.actor, &e),
                     AVRR_OK);
    assert_int_equal(avrr_service_index_load(c.svc, &e), AVRR_OK);
    torture("service register + check", service_register_check, &c);
    /* The service still works, and its index holds every stored person:
     * a check finds them. */
    assert_int_equal(service_register_check(&c), AVRR_OK);
    avrr_service_close(c.svc);
    /* Every register that returned an error stored nothing; the ones that
     * succeeded (before the check failed) stored whole persons. */
    assert_int_equal(registry_count(&r, "persons"), r.n);
    assert_int_equal(registry_count(&r, "identities"), 3 * r.n);
    registry_drop(&r);
}

int main(void)
{
    /* A data key in the environment would make the temp registries
     * encrypted ones; the torture is about allocation, not keys. */
    unsetenv("AVRR_DATA_KEY");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_person),
        cmocka_unit_test(test_identity_validate),
        cmocka_unit_test(test_csv_reader),
        cmocka_unit_test(test_match_index),
        cmocka_unit_test(test_pseudo_encoded_check),
        cmocka_unit_test(test_store_create),
        cmocka_unit_test(test_store_person),
        cmocka_unit_test(test_service),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
