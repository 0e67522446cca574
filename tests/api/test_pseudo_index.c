/* test_pseudo_index.c: the pseudonymised index mode through the real server
 * (pseudonymised_index = true in the config): a check finds a registration
 * under another spelling although the match index holds only keyed
 * encodings, namesakes stay apart, and /metrics shows that no identity of
 * the index is held in plaintext. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "harness.h"

static harness H;

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
    (void)state;
    char key[600], conf[600], text[1400];
    harness_prepare(&H);
    snprintf(key, sizeof key, "%s/pseudonym.key", H.dir);
    write_file(key, "8f3c9a0b1d2e4f50617283940a5b6c7d8e9f0011223344556677889900aabbcc\n", 0600);
    snprintf(conf, sizeof conf, "%s/serve.conf", H.dir);
    snprintf(text, sizeof text, "pseudonymised_index = true\npseudonym_key_file = %s\n", key);
    write_file(conf, text, 0600);
    const char *extra[] = {"--config", conf, NULL};
    harness_serve(&H, extra);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    harness_stop(&H);
    return 0;
}

static void metric(const char *body, const char *name, long long *v)
{
    const char *p = strstr(body, name);
    assert_non_null(p);
    *v = strtoll(p + strlen(name), NULL, 10);
}

static void test_finds_other_spelling(void **state)
{
    (void)state;
    http_reply r;
    http(&H, "POST", "/v1/persons", H.key_nl,
         "{\"identities\":[{\"given_names\":\"Youssef\",\"surname\":\"El Amrani\","
         "\"sex\":\"m\",\"birth_date\":\"1990-03-14\",\"nationality\":\"MAR\","
         "\"birth_place\":\"Casablanca\",\"documents\":[{\"type\":\"passport\","
         "\"number\":\"UZ4411720\",\"country\":\"MAR\"}]}]}",
         -1, &r);
    assert_int_equal(r.status, 201);
    http_reply_free(&r);
    /* Belgium registers the same man spelt the Dutch way, date a
     * placeholder of the same year */
    http(&H, "POST", "/v1/checks", H.key_be,
         "{\"purpose\":\"assistance_decision\",\"identity\":{\"given_names\":\"Joessef\","
         "\"surname\":\"Elamrani\",\"birth_date\":\"1990\",\"sex\":\"m\"}}",
         -1, &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(jstr(r.json, "hits.0.tenant"), "NL");
    assert_string_equal(jstr(r.json, "hits.0.band"), "strong");
    assert_string_equal(jstr(r.json, "hits.0.explanation.fields.name.level"), "exact");
    assert_string_equal(jstr(r.json, "hits.0.explanation.fields.birth_date.level"),
                        "same_year_imprecise");
    assert_null(strstr(r.body, "El Amrani"));
    http_reply_free(&r);
    /* a document number with an OCR confusion is found on it alone */
    http(&H, "POST", "/v1/checks", H.key_be,
         "{\"purpose\":\"assistance_decision\",\"identity\":{\"given_names\":\"Yusuf\","
         "\"surname\":\"Amrani\",\"birth_date\":\"1990-03-14\",\"sex\":\"m\","
         "\"documents\":[{\"type\":\"passport\",\"number\":\"UZ44II72O\"}]}}",
         -1, &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(jstr(r.json, "hits.0.tenant"), "NL");
    assert_string_equal(jstr(r.json, "hits.0.explanation.fields.document.level"),
                        "ocr_confusion");
    http_reply_free(&r);
}

static void test_namesake_is_not_strong(void **state)
{
    (void)state;
    http_reply r;
    http(&H, "POST", "/v1/checks", H.key_be,
         "{\"purpose\":\"assistance_decision\",\"identity\":{\"given_names\":\"Karim\","
         "\"surname\":\"El Amrani\",\"birth_date\":\"1971-11-02\",\"sex\":\"m\"}}",
         -1, &r);
    assert_int_equal(r.status, 201);
    const char *band = jstr(r.json, "hits.0.band");
    assert_true(band == NULL || strcmp(band, "strong") != 0);
    http_reply_free(&r);
}

static void test_index_holds_no_plaintext(void **state)
{
    (void)state;
    http_reply r;
    http(&H, "GET", "/metrics", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    long long pz = -1, all = -1, plain = -1;
    metric(r.body, "avrr_match_index_pseudonymised ", &pz);
    metric(r.body, "avrr_match_index_records{form=\"all\"} ", &all);
    metric(r.body, "avrr_match_index_records{form=\"plaintext\"} ", &plain);
    assert_int_equal(pz, 1);
    assert_true(all >= 1);
    assert_int_equal(plain, 0);
    http_reply_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_finds_other_spelling),
        cmocka_unit_test(test_namesake_is_not_strong),
        cmocka_unit_test(test_index_holds_no_plaintext),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
