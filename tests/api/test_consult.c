/* test_consult.c: consultation across member states through the real
 * server: checks with hits and explanations, no personal details of another
 * tenant's record in any answer, freshness, links and their colours,
 * disclosure in two steps, and the guard against paying twice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static harness H;
static char key_de[128];
static int64_t nl_youssef, nl_case;

static json_object *post_ok(const char *path, const char *key, const char *body, long want)
{
    http_reply r;
    http(&H, "POST", path, key, body, -1, &r);
    if (r.status != want) {
        fprintf(stderr, "POST %s: %ld (want %ld) %s\n", path, r.status, want, r.body ? r.body : "");
        fail();
    }
    json_object *o = json_object_get(r.json);
    http_reply_free(&r);
    return o;
}

static json_object *get_ok(const char *path, const char *key)
{
    http_reply r;
    http(&H, "GET", path, key, NULL, 0, &r);
    if (r.status != 200) {
        fprintf(stderr, "GET %s: %ld %s\n", path, r.status, r.body ? r.body : "");
        fail();
    }
    json_object *o = json_object_get(r.json);
    http_reply_free(&r);
    return o;
}

static int64_t create(const char *path, const char *key, const char *body)
{
    json_object *o = post_ok(path, key, body, 201);
    int64_t id = jint(o, "id");
    json_object_put(o);
    return id;
}

/* The NL record the scenario of the consultation issue is about. Its
 * details must never reach another tenant. */
static const char *NL_SECRETS[] = {"El Amrani", "1990-03-14", "UZ4411720", "Casablanca",
                                   "\"given_names\":\"", "\"surname\":\"",
                                   "\"birth_date\":\"", "\"documents\"", NULL};

static void assert_no_nl_details(const char *body)
{
    for (const char *const *s = NL_SECRETS; *s; s++) {
        if (strstr(body, *s)) {
            fprintf(stderr, "personal detail '%s' leaked: %s\n", *s, body);
            fail();
        }
    }
}

static int setup(void **state)
{
    (void)state;
    harness_start(&H);
    const char *de[] = {"avrr", "tenant", "add", "--db", H.db, "--code", "DE", "--name",
                        "Germany", NULL};
    if (harness_avrr(de, NULL, 0) != 0)
        return -1;
    const char *key[] = {"avrr", "key", "create", "--db", H.db, "--tenant", "DE", "--role",
                         "caseworker", NULL};
    if (harness_avrr(key, key_de, sizeof key_de) != 0)
        return -1;
    nl_youssef = create("/v1/persons", H.key_nl,
                        "{\"identities\":[{\"given_names\":\"Youssef\",\"surname\":\"El Amrani\","
                        "\"sex\":\"m\",\"birth_date\":\"1990-03-14\",\"nationality\":\"MAR\","
                        "\"birth_place\":\"Casablanca\",\"documents\":[{\"type\":\"passport\","
                        "\"number\":\"UZ4411720\",\"country\":\"MAR\"}]}]}");
    char body[256];
    snprintf(body, sizeof body,
             "{\"person_id\":%lld,\"destination_country\":\"MAR\",\"return_type\":\"voluntary\","
             "\"programme\":\"eurp\"}", (long long)nl_youssef);
    nl_case = create("/v1/cases", H.key_nl, body);
    snprintf(body, sizeof body, "/v1/cases/%lld/assistance", (long long)nl_case);
    json_object_put(post_ok(body, H.key_nl,
                            "{\"kind\":\"reintegration_business\",\"amount_cents\":200000,"
                            "\"funding\":\"amif\",\"provider\":\"IOM\"}", 201));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    harness_stop(&H);
    return 0;
}

static const char *CHECK_JOESSEF =
    "{\"purpose\":\"assistance_decision\",\"identity\":{\"given_names\":\"Joessef\","
    "\"surname\":\"Elamrani\",\"birth_date\":\"1990\",\"sex\":\"m\"}}";

/* Belgium's check finds the Dutch record, explains why, shows the
 * assistance given, and tells nothing personal about it. */
static void test_check_finds_variant_without_details(void **state)
{
    (void)state;
    http_reply r;
    int64_t before = harness_count(&H, "checks");
    http(&H, "POST", "/v1/checks", H.key_be, CHECK_JOESSEF, -1, &r);
    assert_int_equal(r.status, 201);
    assert_true(jint(r.json, "id") > 0);
    assert_string_equal(jstr(r.json, "hits.0.tenant"), "NL");
    assert_string_equal(jstr(r.json, "hits.0.band"), "strong");
    assert_non_null(jstr(r.json, "hits.0.person_ref"));
    assert_int_equal(strlen(jstr(r.json, "hits.0.person_ref")), 32);
    assert_non_null(jstr(r.json, "hits.0.explanation.fields.name.level"));
    assert_non_null(jstr(r.json, "hits.0.explanation.fields.birth_date.level"));
    assert_int_equal(jint(r.json, "hits.0.assistance.0.amount_cents"), 200000);
    assert_string_equal(jstr(r.json, "hits.0.assistance.0.programme"), "eurp");
    assert_string_equal(jstr(r.json, "hits.0.assistance.0.funding"), "amif");
    assert_int_equal(jint(r.json, "hits.0.person_id"), -1);
    assert_string_equal(jstr(r.json, "hits.0.link.status"), "yellow");
    assert_no_nl_details(r.body);
    int64_t id = jint(r.json, "id");
    http_reply_free(&r);
    assert_int_equal(harness_count(&H, "checks"), before + 1);

    /* The recorded check answers the same, still without details. */
    char path[64];
    snprintf(path, sizeof path, "/v1/checks/%lld", (long long)id);
    json_object *o = get_ok(path, H.key_be);
    assert_string_equal(jstr(o, "hits.0.tenant"), "NL");
    assert_no_nl_details(json_object_to_json_string(o));
    json_object_put(o);
    /* Another tenant cannot read Belgium's check. */
    http(&H, "GET", path, H.key_nl, NULL, 0, &r);
    assert_int_equal(r.status, 404);
    http_reply_free(&r);
}

/* A different man who shares the name Mohammed Ali and the default date
 * 01-01-1990 is not reported as the same person. */
static void test_namesakes_are_not_strong_hits(void **state)
{
    (void)state;
    create("/v1/persons", H.key_nl,
           "{\"identities\":[{\"given_names\":\"Mohammed\",\"surname\":\"Ali\",\"sex\":\"m\","
           "\"birth_date\":\"1990-01-01\",\"nationality\":\"SDN\",\"birth_place\":\"Khartoum\","
           "\"documents\":[{\"type\":\"passport\",\"number\":\"P04417788\",\"country\":\"SDN\"}]}]}");
    http_reply r;
    http(&H, "POST", "/v1/checks", H.key_be,
         "{\"purpose\":\"assistance_decision\",\"identity\":{\"given_names\":\"Mohammed\","
         "\"surname\":\"Ali\",\"sex\":\"m\",\"birth_date\":\"1990-01-01\",\"nationality\":\"IRQ\","
         "\"birth_place\":\"Basra\",\"documents\":[{\"type\":\"passport\",\"number\":\"A9912004\","
         "\"country\":\"IRQ\"}]}}", -1, &r);
    assert_int_equal(r.status, 201);
    json_object *hits = json_object_object_get(r.json, "hits");
    for (size_t i = 0; i < json_object_array_length(hits); i++)
        assert_string_not_equal(jstr(json_object_array_get_idx(hits, i), "band"), "strong");
    http_reply_free(&r);
}

/* The answer to a check is encoded once, with the copy the check records:
 * it is that copy with the check's id and the links the check opened
 * (GET /v1/checks/{id} shows the copy as recorded, with its time). Three
 * kinds: a strong hit on another tenant (a link opened), possible hits only,
 * no hit; each several times, so that ids grow. */
static void test_check_answer_as_recorded(void **state)
{
    (void)state;
    const char *bodies[] = {
        CHECK_JOESSEF,
        "{\"purpose\":\"assistance_decision\",\"identity\":{\"given_names\":\"Amadou\","
        "\"surname\":\"Kouyate\",\"sex\":\"m\",\"birth_date\":\"1987-06-21\"}}",
        "{\"purpose\":\"case_review\",\"identity\":{\"given_names\":\"Xaverius\","
        "\"surname\":\"Quoppelmann\",\"sex\":\"m\",\"birth_date\":\"1931-12-30\"}}",
    };
    /* Belgium's own person: a hit that opens no link */
    create("/v1/persons", H.key_be,
           "{\"identities\":[{\"given_names\":\"Amadou\",\"surname\":\"Kouyate\","
           "\"sex\":\"m\",\"birth_date\":\"1987-06-21\",\"nationality\":\"GIN\"}]}");
    int opened = 0, without_hits = 0, own = 0;
    for (int round = 0; round < 12; round++) {
        http_reply r;
        http(&H, "POST", "/v1/checks", H.key_be, bodies[round % 3], -1, &r);
        assert_int_equal(r.status, 201);
        int64_t id = jint(r.json, "id");
        assert_true(id > 0);
        char path[64];
        snprintf(path, sizeof path, "/v1/checks/%lld", (long long)id);
        json_object *rec = get_ok(path, H.key_be);
        assert_int_equal(jint(rec, "id"), id);
        assert_true(jint(rec, "created_at") > 0);
        json_object_object_del(rec, "created_at");
        json_object *ah = json_object_object_get(r.json, "hits");
        json_object *rh = json_object_object_get(rec, "hits");
        assert_int_equal(json_object_array_length(ah), json_object_array_length(rh));
        without_hits += json_object_array_length(ah) == 0;
        for (size_t i = 0; i < json_object_array_length(ah); i++) {
            json_object *a = json_object_array_get_idx(ah, i);
            json_object *l = json_object_object_get(a, "link");
            json_object *was = json_object_object_get(json_object_array_get_idx(rh, i), "link");
            own += json_object_object_get(a, "person_id") != NULL;
            if (!l || was)
                continue;
            /* opened by this check: a link of Belgium's, from this check */
            char lp[64];
            snprintf(lp, sizeof lp, "/v1/links/%lld", (long long)jint(l, "id"));
            json_object *lo = get_ok(lp, H.key_be);
            assert_int_equal(jint(lo, "check_id"), id);
            assert_string_equal(jstr(lo, "status"), jstr(l, "status"));
            json_object_put(lo);
            json_object_object_add(a, "link", NULL);
            opened++;
        }
        assert_true(json_object_equal(r.json, rec));
        json_object_put(rec);
        http_reply_free(&r);
    }
    assert_true(opened >= 4);
    assert_int_equal(without_hits, 4);
    assert_true(own >= 4);
}

/* A person registered on the server is found by the very next check. */
static void test_freshness(void **state)
{
    (void)state;
    create("/v1/persons", key_de,
           "{\"identities\":[{\"given_names\":\"Tesfamariam\",\"surname\":\"Ghebremedhin\","
           "\"sex\":\"m\",\"birth_date\":\"1987-11-02\",\"nationality\":\"ERI\"}]}");
    json_object *o = post_ok("/v1/checks", H.key_nl,
                             "{\"purpose\":\"return_counselling\",\"identity\":{\"given_names\":"
                             "\"Tesfa Mariam\",\"surname\":\"Gebremedhin\",\"birth_date\":"
                             "\"1987-11-02\"}}", 201);
    assert_string_equal(jstr(o, "hits.0.tenant"), "DE");
    json_object_put(o);
}

/* The caller's newest yellow link to other_tenant opened by a registration. */
static int64_t link_between(const char *key, const char *other_tenant)
{
    json_object *o = get_ok("/v1/links?status=yellow&limit=1000", key);
    json_object *items = json_object_object_get(o, "items");
    int64_t id = 0;
    for (size_t i = 0; i < json_object_array_length(items); i++) {
        json_object *l = json_object_array_get_idx(items, i);
        if (strcmp(jstr(l, "other.tenant"), other_tenant) == 0 &&
            strcmp(jstr(l, "source"), "registration") == 0)
            id = jint(l, "id");
    }
    json_object_put(o);
    return id;
}

/* Registration opens a yellow link both tenants see; green removes the
 * pair from later checks; red shows on every later hit. */
static void test_links(void **state)
{
    (void)state;
    int64_t be_person = create("/v1/persons", H.key_be,
                               "{\"identities\":[{\"given_names\":\"Yusuf\",\"surname\":"
                               "\"Elamrani\",\"sex\":\"m\",\"birth_date\":\"1990-01-01\","
                               "\"nationality\":\"MA\"}]}");
    int64_t link = link_between(H.key_be, "NL");
    assert_true(link > 0);
    assert_int_equal(link, link_between(H.key_nl, "BE") ? link : -1);
    char path[96];
    snprintf(path, sizeof path, "/v1/links/%lld", (long long)link);
    json_object *o = get_ok(path, H.key_nl);
    assert_string_equal(jstr(o, "status"), "yellow");
    assert_int_equal(jint(o, "person_id"), nl_youssef);
    assert_string_equal(jstr(o, "other.tenant"), "BE");
    json_object_put(o);
    /* A third tenant is no party to it. */
    http_reply r;
    http(&H, "GET", path, key_de, NULL, 0, &r);
    assert_int_equal(r.status, 404);
    http_reply_free(&r);

    /* Bad decisions change nothing. */
    snprintf(path, sizeof path, "/v1/links/%lld/resolve", (long long)link);
    http(&H, "POST", path, H.key_nl, "{\"decision\":\"yellow\",\"reason\":\"x\"}", -1, &r);
    assert_int_equal(r.status, 400);
    http_reply_free(&r);
    http(&H, "POST", path, H.key_nl, "{\"decision\":\"green\"}", -1, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(jstr(r.json, "error.field"), "reason");
    http_reply_free(&r);

    /* Green: different persons. Belgium's check for its own person no
     * longer reports the Dutch one. */
    o = post_ok(path, H.key_nl, "{\"decision\":\"green\",\"reason\":\"different fathers' names\"}",
                200);
    assert_string_equal(jstr(o, "status"), "green");
    assert_string_equal(jstr(o, "resolved_by"), "NL");
    json_object_put(o);
    http(&H, "POST", path, H.key_be, "{\"decision\":\"red\",\"reason\":\"again\"}", -1, &r);
    assert_int_equal(r.status, 409);
    http_reply_free(&r);
    char body[512];
    snprintf(body, sizeof body,
             "{\"purpose\":\"case_review\",\"person_id\":%lld,\"identity\":{\"given_names\":"
             "\"Yusuf\",\"surname\":\"Elamrani\",\"sex\":\"m\",\"birth_date\":\"1990-01-01\","
             "\"nationality\":\"MA\"}}", (long long)be_person);
    o = post_ok("/v1/checks", H.key_be, body, 201);
    json_object *hits = json_object_object_get(o, "hits");
    for (size_t i = 0; i < json_object_array_length(hits); i++)
        assert_string_not_equal(jstr(json_object_array_get_idx(hits, i), "tenant"), "NL");
    json_object_put(o);

    /* Red: same person under a false identity; every later hit shows it. */
    int64_t de_person = create("/v1/persons", key_de,
                               "{\"identities\":[{\"given_names\":\"Youssef\",\"surname\":"
                               "\"Amrani\",\"sex\":\"m\",\"birth_date\":\"1990-03-14\","
                               "\"nationality\":\"MAR\"}]}");
    (void)de_person;
    int64_t red = link_between(key_de, "NL");
    assert_true(red > 0);
    snprintf(path, sizeof path, "/v1/links/%lld/resolve", (long long)red);
    json_object_put(post_ok(path, key_de,
                            "{\"decision\":\"red\",\"reason\":\"same fingerprints in Eurodac\"}",
                            200));
    o = post_ok("/v1/checks", H.key_be, CHECK_JOESSEF, 201);
    bool seen = false;
    hits = json_object_object_get(o, "hits");
    for (size_t i = 0; i < json_object_array_length(hits); i++) {
        json_object *h = json_object_array_get_idx(hits, i);
        if (strcmp(jstr(h, "tenant"), "NL") == 0) {
            assert_true(json_object_get_boolean(json_object_object_get(h, "red_link")));
            seen = true;
        }
    }
    assert_true(seen);
    assert_no_nl_details(json_object_to_json_string(o));
    json_object_put(o);
}

/* The second step: Belgium asks, the Netherlands decides, only Belgium
 * reads the approved details. */
static void test_disclosure(void **state)
{
    (void)state;
    json_object *c = post_ok("/v1/checks", H.key_be, CHECK_JOESSEF, 201);
    char path[96], body[256];
    snprintf(path, sizeof path, "/v1/checks/%lld/disclosures", (long long)jint(c, "id"));
    const char *ref = NULL;
    json_object *hits = json_object_object_get(c, "hits");
    for (size_t i = 0; i < json_object_array_length(hits) && !ref; i++)
        if (strcmp(jstr(json_object_array_get_idx(hits, i), "tenant"), "NL") == 0)
            ref = jstr(json_object_array_get_idx(hits, i), "person_ref");
    assert_non_null(ref);
    snprintf(body, sizeof body, "{\"person_ref\":\"%s\",\"reason\":\"applicant denies earlier return\"}",
             ref);
    json_object_put(c);
    http_reply r;
    http(&H, "POST", path, H.key_be, "{\"person_ref\":\"0000\",\"reason\":\"x\"}", -1, &r);
    assert_int_equal(r.status, 404);
    http_reply_free(&r);
    json_object *d = post_ok(path, H.key_be, body, 201);
    assert_string_equal(jstr(d, "status"), "pending");
    assert_string_equal(jstr(d, "owner"), "NL");
    int64_t id = jint(d, "id");
    json_object_put(d);

    snprintf(path, sizeof path, "/v1/disclosures/%lld", (long long)id);
    d = get_ok(path, H.key_be);
    assert_null(json_object_object_get(d, "identities"));
    assert_no_nl_details(json_object_to_json_string(d));
    json_object_put(d);
    http(&H, "GET", path, key_de, NULL, 0, &r);
    assert_int_equal(r.status, 404);
    http_reply_free(&r);

    /* The owner's queue has it; the requester cannot decide it. */
    d = get_ok("/v1/disclosures?status=pending", H.key_nl);
    assert_int_equal(jint(d, "items.0.id"), id);
    json_object_put(d);
    snprintf(path, sizeof path, "/v1/disclosures/%lld/decision", (long long)id);
    http(&H, "POST", path, H.key_be, "{\"decision\":\"approve\"}", -1, &r);
    assert_int_equal(r.status, 403);
    http_reply_free(&r);
    json_object_put(post_ok(path, H.key_nl, "{\"decision\":\"approve\",\"reason\":\"ok\"}", 200));
    http(&H, "POST", path, H.key_nl, "{\"decision\":\"refuse\"}", -1, &r);
    assert_int_equal(r.status, 409);
    http_reply_free(&r);

    snprintf(path, sizeof path, "/v1/disclosures/%lld", (long long)id);
    d = get_ok(path, H.key_be);
    assert_string_equal(jstr(d, "status"), "approved");
    assert_string_equal(jstr(d, "identities.0.surname"), "El Amrani");
    json_object_put(d);
}

/* Assistance for a person who already received support elsewhere: a
 * warning (default) or 409 (block policy) until the link is resolved. */
static void test_guard_against_paying_twice(void **state)
{
    (void)state;
    int64_t be = create("/v1/persons", H.key_be,
                        "{\"identities\":[{\"given_names\":\"Youssef\",\"surname\":\"El-Amrani\","
                        "\"sex\":\"m\",\"birth_date\":\"1990-03-14\",\"nationality\":\"MAR\"}]}");
    char body[256], path[96];
    snprintf(body, sizeof body,
             "{\"person_id\":%lld,\"destination_country\":\"MAR\",\"return_type\":\"voluntary\"}",
             (long long)be);
    int64_t be_case = create("/v1/cases", H.key_be, body);
    snprintf(path, sizeof path, "/v1/cases/%lld/assistance", (long long)be_case);
    const char *grant = "{\"kind\":\"post_arrival\",\"amount_cents\":61500,\"cash\":true,"
                        "\"funding\":\"amif\"}";
    json_object *o = post_ok(path, H.key_be, grant, 201);
    json_object *w = json_object_object_get(o, "warnings");
    assert_true(json_object_array_length(w) >= 1);
    assert_string_equal(jstr(o, "warnings.0.tenant"), "NL");
    assert_int_equal(jint(o, "warnings.0.assistance.0.amount_cents"), 200000);
    int64_t link = jint(o, "warnings.0.link.id");
    assert_true(link > 0);
    assert_no_nl_details(json_object_to_json_string(w));
    json_object_put(o);

    /* Belgium's policy: block until resolved. Nothing is stored meanwhile. */
    const char *set[] = {"avrr", "tenant", "set", "--db", H.db, "--code", "BE",
                         "--duplicate-policy", "block", NULL};
    assert_int_equal(harness_avrr(set, NULL, 0), 0);
    int64_t n = harness_count(&H, "assistance");
    http_reply r;
    http(&H, "POST", path, H.key_be, grant, -1, &r);
    assert_int_equal(r.status, 409);
    assert_string_equal(jstr(r.json, "error.code"), "conflict");
    http_reply_free(&r);
    assert_int_equal(harness_count(&H, "assistance"), n);

    /* White: the same person, legitimately (a second, separate return). */
    char rpath[96];
    snprintf(rpath, sizeof rpath, "/v1/links/%lld/resolve", (long long)link);
    json_object_put(post_ok(rpath, H.key_be,
                            "{\"decision\":\"white\",\"reason\":\"earlier return in 2019\"}", 200));
    o = post_ok(path, H.key_be, grant, 201);
    assert_int_equal(json_object_array_length(json_object_object_get(o, "warnings")), 0);
    json_object_put(o);
    assert_int_equal(harness_count(&H, "assistance"), n + 1);
}

static void test_check_bad_input(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        long status;
        const char *field;
    } cases[] = {
        {"{\"identity\":{\"surname\":\"X\"}}", 400, "purpose"},
        {"{\"purpose\":\"curiosity\",\"identity\":{\"surname\":\"X\"}}", 400, "purpose"},
        {"{\"purpose\":\"case_review\"}", 400, "identity"},
        {"{\"purpose\":\"case_review\",\"identity\":{\"surname\":\"X\",\"birth_date\":\"1990-02-30\"}}",
         400, "identity.birth_date"},
        {"{\"purpose\":\"case_review\",\"identity\":{\"surname\":\"X\"},\"aliases\":[{\"sex\":\"q\"}]}",
         400, "aliases[0].sex"},
        {"{\"purpose\":\"case_review\",\"identity\":{\"surname\":\"X\"},\"person_id\":999999}", 404,
         "person_id"},
        {"{\"purpose\":\"case_review\",\"identity\":{\"surname\":\"X\"},\"extra\":1}", 400, "extra"},
    };
    int64_t before = harness_count(&H, "checks"), links = harness_count(&H, "links");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        http_reply r;
        http(&H, "POST", "/v1/checks", H.key_be, cases[i].body, -1, &r);
        if (r.status != cases[i].status || !jstr(r.json, "error.field") ||
            strcmp(jstr(r.json, "error.field"), cases[i].field) != 0) {
            fprintf(stderr, "%s -> %ld %s\n", cases[i].body, r.status, r.body);
            fail();
        }
        http_reply_free(&r);
    }
    assert_int_equal(harness_count(&H, "checks"), before);
    assert_int_equal(harness_count(&H, "links"), links);
    /* Roles without consultation rights. */
    http_reply r;
    http(&H, "POST", "/v1/checks", H.key_nl_stat, CHECK_JOESSEF, -1, &r);
    assert_int_equal(r.status, 403);
    http_reply_free(&r);
    http(&H, "GET", "/v1/links", H.key_nl_prov, NULL, 0, &r);
    assert_int_equal(r.status, 403);
    http_reply_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_finds_variant_without_details),
        cmocka_unit_test(test_namesakes_are_not_strong_hits),
        cmocka_unit_test(test_check_answer_as_recorded),
        cmocka_unit_test(test_freshness),
        cmocka_unit_test(test_links),
        cmocka_unit_test(test_disclosure),
        cmocka_unit_test(test_guard_against_paying_twice),
        cmocka_unit_test(test_check_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
