/* test_process.c: the return process and a state's caps through the real
 * server (issue 7, items 1 and 2): NL refers a case to the partner IOM-NL,
 * whose provider accepts, records delivered assistance, a plan and a
 * follow-up, while another partner (IOM-BE) still gets 404; the Dutch rules
 * of docs/rules/nl.json cap assistance per family member and refuse cash
 * where only support in kind is allowed, explaining which rule refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static harness H;
static char key_iom_nl[128], key_iom_be[128];

static long call(const char *method, const char *path, const char *key, const char *body,
                 http_reply *r)
{
    http(&H, method, path, key, body, -1, r);
    return r->status;
}

/* A request whose status must be `want`; returns the "id" of the answer. */
static int64_t expect(const char *method, const char *path, const char *key, const char *body,
                      long want)
{
    http_reply r;
    call(method, path, key, body, &r);
    if (r.status != want) {
        fprintf(stderr, "%s %s: %ld, want %ld: %s\n", method, path, r.status, want,
                r.body ? r.body : "");
        fail();
    }
    int64_t id = jint(r.json, "id");
    http_reply_free(&r);
    return id;
}

static size_t items(json_object *o)
{
    json_object *arr = NULL;
    if (!json_object_object_get_ex(o, "items", &arr) || !json_object_is_type(arr, json_type_array))
        return (size_t)-1;
    return json_object_array_length(arr);
}

/* An NL person and a case for adults/minors ("" for the defaults). */
static int64_t nl_case(const char *family, const char *return_type, int64_t *person)
{
    char body[320];
    int64_t p = expect("POST", "/v1/persons", H.key_nl,
                       "{\"identities\":[{\"given_names\":\"Ahmad\",\"surname\":\"Rahimi\","
                       "\"birth_date\":\"1990-04-12\",\"nationality\":\"AFG\","
                       "\"address\":\"Ter Apel\",\"national_ref\":\"V-123\","
                       "\"documents\":[{\"type\":\"passport\",\"number\":\"P77\"}]}]}",
                       201);
    snprintf(body, sizeof body,
             "{\"person_id\":%lld,\"destination_country\":\"AFG\",\"return_type\":\"%s\"%s}",
             (long long)p, return_type, family);
    if (person)
        *person = p;
    return expect("POST", "/v1/cases", H.key_nl, body, 201);
}

static void grant(int64_t kase, const char *key, const char *kind, long cents, bool cash,
                  long want, const char *field, const char *needle)
{
    char body[256], path[96];
    http_reply r;
    snprintf(path, sizeof path, "/v1/cases/%lld/assistance", (long long)kase);
    snprintf(body, sizeof body,
             "{\"kind\":\"%s\",\"amount_cents\":%ld,\"cash\":%s,\"funding\":\"amif\"}", kind, cents,
             cash ? "true" : "false");
    call("POST", path, key, body, &r);
    if (r.status != want)
        fprintf(stderr, "grant %s %ld: %ld, want %ld: %s\n", kind, cents, r.status, want,
                r.body ? r.body : "");
    assert_int_equal(r.status, want);
    if (field) {
        assert_string_equal(jstr(r.json, "error.code"), "conflict");
        assert_string_equal(jstr(r.json, "error.field"), field);
        assert_non_null(strstr(jstr(r.json, "error.message"), needle));
    }
    http_reply_free(&r);
}

static int setup(void **state)
{
    (void)state;
    char rules[512];
    harness_start(&H);
    const char *iom_nl[] = {"avrr", "tenant", "add", "--db", H.db, "--code", "IOM-NL", "--name",
                            "IOM Netherlands", NULL};
    const char *iom_be[] = {"avrr", "tenant", "add", "--db", H.db, "--code", "IOM-BE", "--name",
                            "IOM Belgium", NULL};
    const char *k1[] = {"avrr", "key", "create", "--db", H.db, "--tenant", "IOM-NL",
                        "--role", "provider", NULL};
    const char *k2[] = {"avrr", "key", "create", "--db", H.db, "--tenant", "IOM-BE",
                        "--role", "provider", NULL};
    snprintf(rules, sizeof rules, "%s/docs/rules/nl.json", getenv("AVRR_SOURCE_DIR"));
    const char *load[] = {"avrr", "tenant", "rules", "--db", H.db, "--code", "NL",
                          "--file", rules, NULL};
    if (harness_avrr(iom_nl, NULL, 0) != 0 || harness_avrr(iom_be, NULL, 0) != 0 ||
        harness_avrr(k1, key_iom_nl, sizeof key_iom_nl) != 0 ||
        harness_avrr(k2, key_iom_be, sizeof key_iom_be) != 0 || harness_avrr(load, NULL, 0) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    harness_stop(&H);
    return 0;
}

static void test_referral_flow(void **state)
{
    (void)state;
    char path[128], body[256];
    http_reply r;
    int64_t person = 0, kase = nl_case("", "voluntary", &person);
    char cpath[64], ppath[64];
    snprintf(cpath, sizeof cpath, "/v1/cases/%lld", (long long)kase);
    snprintf(ppath, sizeof ppath, "/v1/persons/%lld", (long long)person);

    snprintf(path, sizeof path, "%s/counselling", cpath);
    expect("POST", path, H.key_nl,
           "{\"held_on\":\"2026-01-15\",\"counsellor\":\"DT&V Ter Apel\","
           "\"outcome\":\"wants to return to Herat, interested in a small shop\"}", 201);
    /* Before any referral, and while it is pending, the partner sees
     * nothing. */
    expect("GET", cpath, key_iom_nl, NULL, 404);
    snprintf(path, sizeof path, "%s/referrals", cpath);
    expect("POST", path, H.key_nl, "{\"partner\":\"NOPE\"}", 404);
    expect("POST", path, H.key_nl, "{\"partner\":\"NL\"}", 400);
    expect("POST", path, key_iom_nl, "{\"partner\":\"IOM-NL\"}", 403);
    int64_t ref = expect("POST", path, H.key_nl, "{\"partner\":\"iom-nl\"}", 201);
    expect("GET", cpath, key_iom_nl, NULL, 404);

    /* The partner's queue. */
    assert_int_equal(call("GET", "/v1/referrals?status=pending", key_iom_nl, NULL, &r), 200);
    assert_int_equal(items(r.json), 1);
    assert_int_equal(jint(r.json, "items.0.id"), ref);
    assert_string_equal(jstr(r.json, "items.0.tenant"), "NL");
    assert_string_equal(jstr(r.json, "items.0.partner"), "IOM-NL");
    http_reply_free(&r);
    assert_int_equal(call("GET", "/v1/referrals?status=pending", key_iom_be, NULL, &r), 200);
    assert_int_equal(items(r.json), 0);
    http_reply_free(&r);

    /* Only the partner's provider decides. */
    snprintf(path, sizeof path, "/v1/referrals/%lld/decision", (long long)ref);
    expect("POST", path, key_iom_be, "{\"decision\":\"accept\"}", 404);
    expect("POST", path, H.key_nl_prov, "{\"decision\":\"accept\"}", 403);
    expect("POST", path, key_iom_nl, "{\"decision\":\"maybe\"}", 400);
    assert_int_equal(call("POST", path, key_iom_nl, "{\"decision\":\"accept\"}", &r), 200);
    assert_string_equal(jstr(r.json, "status"), "accepted");
    http_reply_free(&r);
    expect("POST", path, key_iom_nl, "{\"decision\":\"decline\",\"reason\":\"late\"}", 409);

    /* The partner now reads the case, and of the person only the names and
     * birth date. */
    assert_int_equal(call("GET", cpath, key_iom_nl, NULL, &r), 200);
    assert_string_equal(jstr(r.json, "tenant"), "NL");
    http_reply_free(&r);
    assert_int_equal(call("GET", ppath, key_iom_nl, NULL, &r), 200);
    assert_string_equal(jstr(r.json, "identities.0.surname"), "Rahimi");
    assert_string_equal(jstr(r.json, "identities.0.birth_date"), "1990-04-12");
    assert_null(jstr(r.json, "identities.0.address"));
    assert_null(jstr(r.json, "identities.0.national_ref"));
    assert_null(jstr(r.json, "identities.0.nationality"));
    assert_null(jstr(r.json, "identities.0.documents.0.number"));
    http_reply_free(&r);

    /* It records what it delivered, moves the case on, plans and follows
     * up. */
    snprintf(path, sizeof path, "%s/assistance", cpath);
    assert_int_equal(call("POST", path, key_iom_nl,
                          "{\"kind\":\"reintegration_business\",\"amount_cents\":150000,"
                          "\"funding\":\"amif\",\"provider\":\"IOM-NL\",\"status\":\"delivered\","
                          "\"delivered_on\":\"2026-03-01\"}",
                          &r),
                     201);
    assert_string_equal(jstr(r.json, "status"), "delivered");
    http_reply_free(&r);
    snprintf(path, sizeof path, "%s/status", cpath);
    expect("POST", path, key_iom_nl, "{\"status\":\"applied\"}", 200);
    snprintf(path, sizeof path, "%s/plan", cpath);
    assert_int_equal(call("PUT", path, key_iom_nl,
                          "{\"components\":\"grocery shop in Herat; business training\","
                          "\"amounts\":[{\"kind\":\"reintegration_business\",\"amount_cents\":150000},"
                          "{\"kind\":\"REINTEGRATION_EDUCATION\",\"amount_cents\":50000}]}",
                          &r),
                     200);
    http_reply_free(&r);
    assert_int_equal(call("GET", path, H.key_nl, NULL, &r), 200);
    assert_string_equal(jstr(r.json, "recorded_by"), "IOM-NL");
    assert_string_equal(jstr(r.json, "amounts.1.kind"), "reintegration_education");
    assert_int_equal(jint(r.json, "amounts.1.amount_cents"), 50000);
    http_reply_free(&r);
    snprintf(path, sizeof path, "%s/follow-ups", cpath);
    expect("POST", path, key_iom_nl, "{\"economic\":1.5,\"social\":0.5,\"psychosocial\":0.5}", 400);
    expect("POST", path, key_iom_nl,
           "{\"visited_on\":\"2026-06-01\",\"economic\":0.6,\"social\":0.75,"
           "\"psychosocial\":0.45,\"note\":\"shop open\"}", 201);
    assert_int_equal(call("GET", path, H.key_nl, NULL, &r), 200);
    assert_int_equal(items(r.json), 1);
    assert_string_equal(jstr(r.json, "items.0.recorded_by"), "IOM-NL");
    assert_string_equal(jstr(r.json, "items.0.tenant"), "NL");
    assert_string_equal(jstr(r.json, "items.0.visited_on"), "2026-06-01");
    http_reply_free(&r);
    snprintf(path, sizeof path, "%s/assistance", cpath);
    assert_int_equal(call("GET", path, H.key_nl, NULL, &r), 200);
    assert_int_equal(items(r.json), 1);
    http_reply_free(&r);

    /* Another partner still knows nothing of the case or the person. */
    expect("GET", cpath, key_iom_be, NULL, 404);
    expect("GET", ppath, key_iom_be, NULL, 404);
    expect("GET", path, key_iom_be, NULL, 404);
    expect("POST", path, key_iom_be, "{\"kind\":\"ticket\",\"amount_cents\":1,\"funding\":\"amif\"}",
           404);
    snprintf(path, sizeof path, "%s/follow-ups", cpath);
    expect("POST", path, key_iom_be, "{\"economic\":0.5,\"social\":0.5,\"psychosocial\":0.5}", 404);
    expect("GET", path, key_iom_be, NULL, 404);
    snprintf(path, sizeof path, "%s/plan", cpath);
    expect("GET", path, key_iom_be, NULL, 404);
    snprintf(path, sizeof path, "%s/counselling", cpath);
    expect("GET", path, key_iom_be, NULL, 404);
    /* ... nor does a BE caseworker. */
    expect("GET", cpath, H.key_be, NULL, 404);

    /* A declined referral opens nothing, and needs a reason. */
    snprintf(path, sizeof path, "%s/referrals", cpath);
    int64_t ref2 = expect("POST", path, H.key_nl, "{\"partner\":\"IOM-BE\"}", 201);
    snprintf(body, sizeof body, "/v1/referrals/%lld/decision", (long long)ref2);
    expect("POST", body, key_iom_be, "{\"decision\":\"decline\"}", 400);
    assert_int_equal(call("POST", body, key_iom_be,
                          "{\"decision\":\"decline\",\"reason\":\"no presence in Herat\"}", &r),
                     200);
    assert_string_equal(jstr(r.json, "status"), "declined");
    assert_string_equal(jstr(r.json, "reason"), "no presence in Herat");
    http_reply_free(&r);
    expect("GET", cpath, key_iom_be, NULL, 404);
    /* The referring state sees both of its referrals. */
    assert_int_equal(call("GET", "/v1/referrals", H.key_nl, NULL, &r), 200);
    assert_int_equal(items(r.json), 2);
    http_reply_free(&r);
}

/* The follow-up of the referral flow feeds the statistics: mean scores by
 * quarter of the visit; for the statistician a cell of one person is
 * suppressed. */
static void test_sustainability_stats(void **state)
{
    (void)state;
    http_reply r;
    assert_int_equal(call("GET", "/v1/stats?by=sustainability", H.key_nl, NULL, &r), 200);
    assert_string_equal(jstr(r.json, "by"), "sustainability");
    assert_string_equal(jstr(r.json, "rows.0.key"), "2026-Q2");
    assert_int_equal(jint(r.json, "rows.0.visits"), 1);
    assert_int_equal(jint(r.json, "rows.0.persons"), 1);
    json_object *v = NULL, *row = json_object_array_get_idx(
                                  json_object_object_get(r.json, "rows"), 0);
    assert_true(json_object_object_get_ex(row, "social", &v));
    assert_true(json_object_get_double(v) > 0.749 && json_object_get_double(v) < 0.751);
    http_reply_free(&r);
    assert_int_equal(call("GET", "/v1/stats?by=sustainability&format=csv", H.key_nl, NULL, &r),
                     200);
    assert_non_null(strstr(r.body, "2026-Q2,1,1,1,0.600,0.750,0.450,false"));
    http_reply_free(&r);
    assert_int_equal(call("GET", "/v1/stats?by=sustainability", H.key_nl_stat, NULL, &r), 200);
    assert_true(jstr(r.json, "rows.0.suppressed") == NULL);
    assert_null(jstr(r.json, "rows.0.economic"));
    http_reply_free(&r);
}

/* NL: in kind up to EUR 2,000 per adult; the third grant beyond it is
 * refused with the rule named. */
static void test_caps_one_adult(void **state)
{
    (void)state;
    int64_t kase = nl_case("", "voluntary", NULL);
    grant(kase, H.key_nl, "reintegration_business", 100000, false, 201, NULL, NULL);
    grant(kase, H.key_nl, "reintegration_housing", 80000, false, 201, NULL, NULL);
    grant(kase, H.key_nl, "reintegration_in_kind", 30000, false, 409, "amount_cents",
          "caps.in_kind");
    http_reply r;
    char path[96];
    snprintf(path, sizeof path, "/v1/cases/%lld/assistance", (long long)kase);
    call("POST", path, H.key_nl,
         "{\"kind\":\"reintegration_in_kind\",\"amount_cents\":30000,\"funding\":\"amif\"}", &r);
    assert_non_null(strstr(jstr(r.json, "error.message"), "EUR 2,000.00"));
    assert_non_null(strstr(jstr(r.json, "error.message"), "EUR 2,100.00"));
    http_reply_free(&r);
    /* Up to the cap exactly is fine; kinds without a cap are not limited. */
    grant(kase, H.key_nl, "reintegration_in_kind", 20000, false, 201, NULL, NULL);
    grant(kase, H.key_nl, "ticket", 90000, false, 201, NULL, NULL);
    grant(kase, H.key_nl, "reintegration_medical", 1, false, 409, "amount_cents", "caps.in_kind");
}

/* 2 adults and 1 minor: 2 x 2,000 + 1 x 1,000 = EUR 5,000 in kind. */
static void test_caps_family(void **state)
{
    (void)state;
    http_reply r;
    int64_t kase = nl_case(",\"adults\":2,\"minors\":1", "voluntary", NULL);
    char path[96];
    snprintf(path, sizeof path, "/v1/cases/%lld", (long long)kase);
    assert_int_equal(call("GET", path, H.key_nl, NULL, &r), 200);
    assert_int_equal(jint(r.json, "adults"), 2);
    assert_int_equal(jint(r.json, "minors"), 1);
    http_reply_free(&r);
    grant(kase, H.key_nl, "reintegration_business", 450000, false, 201, NULL, NULL);
    grant(kase, H.key_nl, "reintegration_education", 50000, false, 201, NULL, NULL);
    grant(kase, H.key_nl, "reintegration_education", 1, false, 409, "amount_cents",
          "2 adult(s) x EUR 2,000.00 + 1 minor(s) x EUR 1,000.00");
    /* Post-arrival: EUR 615 per adult, minors not counted. */
    grant(kase, H.key_nl, "post_arrival", 123000, true, 201, NULL, NULL);
    grant(kase, H.key_nl, "post_arrival", 100, true, 409, "amount_cents", "caps.post_arrival");
    expect("POST", "/v1/cases", H.key_nl,
           "{\"person_id\":1,\"destination_country\":\"AFG\",\"return_type\":\"voluntary\","
           "\"adults\":0,\"minors\":0}", 400);
}

/* Support in kind may not be paid in cash (cash_share 0); post-arrival
 * may. */
static void test_caps_cash_share(void **state)
{
    (void)state;
    int64_t kase = nl_case("", "voluntary", NULL);
    grant(kase, H.key_nl, "reintegration_business", 10000, true, 409, "cash",
          "caps.in_kind.cash_share");
    grant(kase, H.key_nl, "reintegration_business", 10000, false, 201, NULL, NULL);
    grant(kase, H.key_nl, "post_arrival", 61500, true, 201, NULL, NULL);
}

/* NL's rules support voluntary returns only; a tenant without rules
 * (BE) is unchanged. */
static void test_rules_scope(void **state)
{
    (void)state;
    int64_t forced = nl_case("", "forced", NULL);
    grant(forced, H.key_nl, "ticket", 30000, false, 409, "return_type", "return_types");
    int64_t p = expect("POST", "/v1/persons", H.key_be,
                       "{\"identities\":[{\"given_names\":\"Nino\",\"surname\":\"Beridze\"}]}", 201);
    char body[160];
    snprintf(body, sizeof body,
             "{\"person_id\":%lld,\"destination_country\":\"GEO\",\"return_type\":\"forced\"}",
             (long long)p);
    int64_t be = expect("POST", "/v1/cases", H.key_be, body, 201);
    grant(be, H.key_be, "reintegration_in_kind", 900000, true, 201, NULL, NULL);
}

/* Erasure (GDPR Art. 17) removes the free text of the return process with
 * the identities; the scores stay as anonymous statistics. */
static void test_erasure(void **state)
{
    (void)state;
    http_reply r;
    int64_t person = 0, kase = nl_case("", "voluntary", &person);
    char path[96], ppath[64];
    snprintf(path, sizeof path, "/v1/cases/%lld/counselling", (long long)kase);
    expect("POST", path, H.key_nl, "{\"counsellor\":\"DT&V\",\"outcome\":\"health worries\"}",
           201);
    snprintf(path, sizeof path, "/v1/cases/%lld/follow-ups", (long long)kase);
    expect("POST", path, H.key_nl,
           "{\"economic\":0.2,\"social\":0.4,\"psychosocial\":0.1,\"note\":\"lives with uncle\"}",
           201);
    /* The subject's copy (Art. 15) holds the return process too. */
    snprintf(ppath, sizeof ppath, "/v1/persons/%lld/export", (long long)person);
    assert_int_equal(call("GET", ppath, H.key_nl, NULL, &r), 200);
    assert_string_equal(jstr(r.json, "cases.0.counselling.0.outcome"), "health worries");
    assert_string_equal(jstr(r.json, "cases.0.follow_ups.0.note"), "lives with uncle");
    http_reply_free(&r);
    snprintf(ppath, sizeof ppath, "/v1/persons/%lld", (long long)person);
    expect("DELETE", ppath, H.key_nl, NULL, 200);
    assert_int_equal(call("GET", path, H.key_nl, NULL, &r), 200);
    assert_null(jstr(r.json, "items.0.note"));
    assert_int_equal(items(r.json), 1);
    http_reply_free(&r);
    snprintf(path, sizeof path, "/v1/cases/%lld/counselling", (long long)kase);
    assert_int_equal(call("GET", path, H.key_nl, NULL, &r), 200);
    assert_null(jstr(r.json, "items.0.outcome"));
    assert_string_equal(jstr(r.json, "items.0.counsellor"), "DT&V");
    http_reply_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_referral_flow),
        cmocka_unit_test(test_sustainability_stats),
        cmocka_unit_test(test_caps_one_adult),
        cmocka_unit_test(test_caps_family),
        cmocka_unit_test(test_caps_cash_share),
        cmocka_unit_test(test_rules_scope),
        cmocka_unit_test(test_erasure),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
