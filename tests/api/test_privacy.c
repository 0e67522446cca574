/* test_privacy.c: privacy by design through the real server: the audit log
 * for the dpo only, failed authentications audited, the data-subject rights
 * (export, rectification with history, restriction, erasure that leaves no
 * trace of the names in the database files), all for the controller only. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static harness H;

static json_object *call(const char *method, const char *path, const char *key, const char *body,
                         long want)
{
    http_reply r;
    http(&H, method, path, key, body, body ? -1 : 0, &r);
    if (r.status != want) {
        fprintf(stderr, "%s %s: %ld (want %ld) %s\n", method, path, r.status, want,
                r.body ? r.body : "");
        fail();
    }
    json_object *o = json_object_get(r.json);
    http_reply_free(&r);
    return o;
}

static int64_t create_person(const char *key, const char *body)
{
    json_object *o = call("POST", "/v1/persons", key, body, 201);
    int64_t id = jint(o, "id");
    json_object_put(o);
    return id;
}

static int setup(void **state)
{
    (void)state;
    harness_start(&H);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    harness_stop(&H);
    return 0;
}

static void test_audit_for_dpo_only(void **state)
{
    (void)state;
    http_reply r;
    /* A failed authentication is an event too. */
    int64_t before = harness_count(&H, "audit_events");
    http(&H, "GET", "/v1/persons", "avrr_wrongwrongwrongwrongwrongwrongwrongwrong0", NULL, 0, &r);
    assert_int_equal(r.status, 401);
    http_reply_free(&r);
    assert_int_equal(harness_count(&H, "audit_events"), before + 1);

    create_person(H.key_nl, "{\"identities\":[{\"given_names\":\"Hamza\",\"surname\":\"Bouzid\"}]}");
    http(&H, "GET", "/v1/audit", H.key_nl, NULL, 0, &r);
    assert_int_equal(r.status, 403);
    http_reply_free(&r);
    json_object *o = call("GET", "/v1/audit?limit=1000", H.key_nl_dpo, NULL, 200);
    json_object *items = json_object_object_get(o, "items");
    bool created = false, denied = false;
    for (size_t i = 0; i < json_object_array_length(items); i++) {
        json_object *ev = json_object_array_get_idx(items, i);
        assert_string_equal(jstr(ev, "tenant"), "NL"); /* own tenant's events only */
        assert_int_equal(strlen(jstr(ev, "hash")), 64);
        if (strcmp(jstr(ev, "action"), "person.create") == 0 &&
            strcmp(jstr(ev, "outcome"), "ok") == 0)
            created = jstr(ev, "request_id") && jstr(ev, "request_id")[0];
        if (strcmp(jstr(ev, "action"), "audit.read") == 0 &&
            strcmp(jstr(ev, "outcome"), "forbidden") == 0)
            denied = strcmp(jstr(ev, "role"), "caseworker") == 0;
    }
    assert_true(created);
    assert_true(denied);
    json_object_put(o);
}


static void test_export_rectify_restrict_erase(void **state)
{
    (void)state;
    int64_t p = create_person(H.key_nl,
                              "{\"identities\":[{\"given_names\":\"Khadija\",\"surname\":\"Zerhouni\","
                              "\"sex\":\"f\",\"birth_date\":\"1986-04-09\",\"nationality\":\"DZA\","
                              "\"birth_place\":\"Tlemcen\","
                              "\"documents\":[{\"type\":\"passport\",\"number\":\"DZ9981234\"}]}]}");
    char path[128], body[512];
    snprintf(body, sizeof body,
             "{\"person_id\":%lld,\"destination_country\":\"DZA\",\"return_type\":\"voluntary\"}",
             (long long)p);
    json_object *c = call("POST", "/v1/cases", H.key_nl, body, 201);
    snprintf(path, sizeof path, "/v1/cases/%lld/assistance", (long long)jint(c, "id"));
    json_object_put(c);
    json_object_put(call("POST", path, H.key_nl,
                         "{\"kind\":\"ticket\",\"amount_cents\":41000,\"funding\":\"amif\"}", 201));

    /* Rectification keeps the earlier version. */
    snprintf(path, sizeof path, "/v1/persons/%lld", (long long)p);
    json_object *person = call("GET", path, H.key_nl, NULL, 200);
    int64_t iid = jint(person, "identities.0.id");
    json_object_put(person);
    snprintf(path, sizeof path, "/v1/persons/%lld/identities/%lld", (long long)p, (long long)iid);
    json_object_put(call("PUT", path, H.key_nl,
                         "{\"given_names\":\"Khadidja\",\"surname\":\"Zerhouni\",\"sex\":\"f\","
                         "\"birth_date\":\"1986-04-19\",\"nationality\":\"DZA\"}", 200));
    json_object_put(call("PUT", path, H.key_be, "{\"surname\":\"X\"}", 404));

    /* Export: everything held, for the controller only. */
    snprintf(path, sizeof path, "/v1/persons/%lld/export", (long long)p);
    json_object *x = call("GET", path, H.key_nl, NULL, 200);
    assert_string_equal(jstr(x, "identities.0.given_names"), "Khadidja");
    assert_string_equal(jstr(x, "identities.0.birth_date"), "1986-04-19");
    assert_string_equal(jstr(x, "identity_history.0.before.given_names"), "Khadija");
    assert_string_equal(jstr(x, "identity_history.0.before.documents.0.number"), "DZ9981234");
    assert_int_equal(jint(x, "cases.0.assistance.0.amount_cents"), 41000);
    assert_non_null(json_object_object_get(x, "links"));
    json_object_put(x);
    json_object_put(call("GET", path, H.key_be, NULL, 404));
    json_object_put(call("GET", path, H.key_nl_stat, NULL, 403));
    json_object_put(call("GET", path, H.key_nl_dpo, NULL, 200));

    /* Restriction: other tenants' checks see only that it exists. */
    snprintf(path, sizeof path, "/v1/persons/%lld/restriction", (long long)p);
    json_object_put(call("POST", path, H.key_nl, "{\"restricted\":true}", 200));
    json_object_put(call("POST", path, H.key_nl, "{\"restricted\":\"yes\"}", 400));
    json_object *chk = call("POST", "/v1/checks", H.key_be,
                            "{\"purpose\":\"assistance_decision\",\"identity\":{\"given_names\":"
                            "\"Khadidja\",\"surname\":\"Zerhouni\",\"birth_date\":\"1986-04-19\"}}",
                            201);
    assert_string_equal(jstr(chk, "hits.0.tenant"), "NL");
    assert_true(json_object_get_boolean(json_object_object_get(
        json_object_array_get_idx(json_object_object_get(chk, "hits"), 0), "restricted")));
    assert_string_equal(jstr(chk, "hits.0.message"), "restricted: contact the owner");
    assert_null(json_object_object_get(json_object_array_get_idx(json_object_object_get(chk, "hits"), 0),
                                       "assistance"));
    json_object_put(chk);
    json_object_put(call("POST", path, H.key_nl, "{\"restricted\":false}", 200));

    /* Erasure: only the controller; names gone from the API, the index and
     * the database files; cases and assistance stay, anonymous. */
    snprintf(path, sizeof path, "/v1/persons/%lld", (long long)p);
    json_object_put(call("DELETE", path, H.key_be, NULL, 404));
    int64_t cases = harness_count(&H, "cases"), assistance = harness_count(&H, "assistance");
    json_object_put(call("DELETE", path, H.key_nl, NULL, 200));
    json_object *gone = call("GET", path, H.key_nl, NULL, 200);
    assert_int_equal(json_object_array_length(json_object_object_get(gone, "identities")), 0);
    assert_true(jint(gone, "erased_at") > 0);
    json_object_put(gone);
    assert_int_equal(harness_count(&H, "cases"), cases);
    assert_int_equal(harness_count(&H, "assistance"), assistance);
    chk = call("POST", "/v1/checks", H.key_be,
               "{\"purpose\":\"assistance_decision\",\"identity\":{\"given_names\":\"Khadidja\","
               "\"surname\":\"Zerhouni\",\"birth_date\":\"1986-04-19\"}}", 201);
    assert_int_equal(json_object_array_length(json_object_object_get(chk, "hits")), 0);
    json_object_put(chk);

    /* No byte of the erased record is left in the database or its journal
     * (Belgium's own check requests keep what Belgium typed: its record). */
    static const char *const names[] = {"Khadija", "Tlemcen", "DZ9981234", "1986-04-09"};
    static const char *const files[] = {"registry.db", "registry.db-wal"};
    for (size_t f = 0; f < 2; f++) {
        char fp[400];
        snprintf(fp, sizeof fp, "%s/%s", H.dir, files[f]);
        FILE *in = fopen(fp, "rb");
        if (!in)
            continue;
        fseek(in, 0, SEEK_END);
        long size = ftell(in);
        fseek(in, 0, SEEK_SET);
        char *buf = malloc((size_t)size + 1);
        assert_int_equal(fread(buf, 1, (size_t)size, in), (size_t)size);
        fclose(in);
        for (size_t k = 0; k < 4; k++) {
            bool found = memmem(buf, (size_t)size, names[k], strlen(names[k])) != NULL;
            if (found)
                fprintf(stderr, "'%s' still in %s\n", names[k], files[f]);
            assert_false(found);
        }
        free(buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_audit_for_dpo_only),
        cmocka_unit_test(test_export_rectify_restrict_erase),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
