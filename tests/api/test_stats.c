/* test_stats.c: statistics through the real server: counts and sums by
 * dimension, distinct persons, suppression of small cells for the
 * statistician, own-tenant scope for caseworkers, CSV and the Eurostat
 * table, bad parameters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static harness H;

static int64_t post(const char *path, const char *key, const char *body)
{
    http_reply r;
    http(&H, "POST", path, key, body, -1, &r);
    if (r.status != 201 && r.status != 200) {
        fprintf(stderr, "POST %s: %ld %s\n", path, r.status, r.body ? r.body : "");
        fail();
    }
    int64_t id = jint(r.json, "id");
    http_reply_free(&r);
    return id;
}

/* A returnee of `key`'s tenant to dest, departed, with one grant. */
static void returnee(const char *key, const char *surname, const char *dest, const char *kind,
                     int64_t cents)
{
    char body[256], path[96];
    snprintf(body, sizeof body, "{\"identities\":[{\"given_names\":\"Test\",\"surname\":\"%s\"}]}",
             surname);
    int64_t p = post("/v1/persons", key, body);
    snprintf(body, sizeof body,
             "{\"person_id\":%lld,\"destination_country\":\"%s\",\"return_type\":\"voluntary\","
             "\"opened_on\":\"2026-02-10\"}", (long long)p, dest);
    int64_t c = post("/v1/cases", key, body);
    snprintf(path, sizeof path, "/v1/cases/%lld/assistance", (long long)c);
    snprintf(body, sizeof body, "{\"kind\":\"%s\",\"amount_cents\":%lld,\"funding\":\"amif\"}", kind,
             (long long)cents);
    post(path, key, body);
    snprintf(path, sizeof path, "/v1/cases/%lld/status", (long long)c);
    post(path, key, "{\"status\":\"applied\"}");
    post(path, key, "{\"status\":\"approved\"}");
    post(path, key, "{\"status\":\"departed\"}");
}

static int setup(void **state)
{
    (void)state;
    harness_start(&H);
    static const char *const names[] = {"Aregawi", "Berhe", "Desta", "Fitsum", "Gebre", "Hagos"};
    for (int i = 0; i < 6; i++)
        returnee(H.key_nl, names[i], "ERI", "post_arrival", 61500);
    returnee(H.key_nl, "Lomidze", "GEO", "ticket", 40000);
    returnee(H.key_be, "Okafor", "NGA", "post_arrival", 50000);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    harness_stop(&H);
    return 0;
}

static json_object *row(json_object *o, const char *key)
{
    json_object *rows = json_object_object_get(o, "rows");
    for (size_t i = 0; i < json_object_array_length(rows); i++)
        if (strcmp(jstr(json_object_array_get_idx(rows, i), "key"), key) == 0)
            return json_object_array_get_idx(rows, i);
    return NULL;
}

static void test_caseworker_sees_own_tenant_in_full(void **state)
{
    (void)state;
    http_reply r;
    http(&H, "GET", "/v1/stats?by=destination", H.key_nl, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(row(r.json, "ERI"), "persons"), 6);
    assert_int_equal(jint(row(r.json, "ERI"), "amount_cents"), 6 * 61500);
    assert_int_equal(jint(row(r.json, "GEO"), "persons"), 1); /* own: not suppressed */
    assert_null(row(r.json, "NGA"));                          /* Belgium's */
    http_reply_free(&r);
}

static void test_statistician_all_tenants_small_cells_suppressed(void **state)
{
    (void)state;
    http_reply r;
    http(&H, "GET", "/v1/stats?by=destination", H.key_nl_stat, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(row(r.json, "ERI"), "persons"), 6);
    assert_true(json_object_get_boolean(json_object_object_get(row(r.json, "GEO"), "suppressed")));
    assert_null(json_object_object_get(row(r.json, "GEO"), "persons"));
    assert_non_null(row(r.json, "NGA")); /* every tenant */
    assert_null(json_object_object_get(row(r.json, "NGA"), "amount_cents"));
    http_reply_free(&r);

    http(&H, "GET", "/v1/stats?by=kind", H.key_nl_stat, NULL, 0, &r);
    assert_int_equal(jint(row(r.json, "post_arrival"), "persons"), 7);
    assert_int_equal(jint(row(r.json, "post_arrival"), "amount_cents"), 6 * 61500 + 50000);
    http_reply_free(&r);
}

static void test_csv_and_eurostat(void **state)
{
    (void)state;
    http_reply r;
    http(&H, "GET", "/v1/stats?by=eurostat&format=csv", H.key_nl_stat, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "geo,time,destination,return_type,assistance,persons\n"));
    assert_non_null(strstr(r.body, "NL,2026-Q1,ERI,voluntary,assisted,6\n"));
    assert_non_null(strstr(r.body, "BE,2026-Q1,NGA,voluntary,assisted,:\n"));
    http_reply_free(&r);
    http(&H, "GET", "/v1/stats?by=month&from=2026-01&to=2026-03&format=csv", H.key_nl, NULL, 0, &r);
    assert_non_null(strstr(r.body, "2026-02,7,7,7,409000,false\n"));
    http_reply_free(&r);
}

static void test_bad_parameters(void **state)
{
    (void)state;
    static const struct {
        const char *path, *field;
    } bad[] = {{"/v1/stats?by=shoe_size", "by"},
               {"/v1/stats?from=2026", "from"},
               {"/v1/stats?to=2026-13", "to"},
               {"/v1/stats?format=xml", "format"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        http_reply r;
        http(&H, "GET", bad[i].path, H.key_nl_stat, NULL, 0, &r);
        assert_int_equal(r.status, 400);
        assert_string_equal(jstr(r.json, "error.field"), bad[i].field);
        http_reply_free(&r);
    }
    http_reply r;
    http(&H, "GET", "/v1/stats", H.key_nl_prov, NULL, 0, &r);
    assert_int_equal(r.status, 403);
    http_reply_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caseworker_sees_own_tenant_in_full),
        cmocka_unit_test(test_statistician_all_tenants_small_cells_suppressed),
        cmocka_unit_test(test_csv_and_eurostat),
        cmocka_unit_test(test_bad_parameters),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
