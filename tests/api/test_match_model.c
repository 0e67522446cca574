/* test_match_model.c: a model of `avrr train` named by match_model in the
 * serve config scores the checks of the real server. The model file here
 * differs from the shipped defaults only in its prior (0.5 instead of
 * 0.002, for any registry size), so the same check against the same
 * registration has a match weight exactly log2(0.5/0.5) - log2(0.002/0.998)
 * bits higher than under the defaults (tests/cli/test_dedup.sh: a bad model
 * file stops the server at start, naming the setting). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const char person[] =
    "{\"identities\":[{\"given_names\":\"Youssef\",\"surname\":\"El Amrani\","
    "\"sex\":\"m\",\"birth_date\":\"1990-03-14\",\"nationality\":\"MAR\"}]}";
static const char check[] =
    "{\"purpose\":\"assistance_decision\",\"identity\":{\"given_names\":\"Joessef\","
    "\"surname\":\"Elamrani\",\"birth_date\":\"1990\",\"sex\":\"m\"}}";

/* The match weight of the first hit of the check against a registry of the
 * one person, on a server started with the extra arguments. */
static double weight_with(const char *const *extra)
{
    harness h;
    http_reply r;
    harness_prepare(&h);
    harness_serve(&h, extra);
    http(&h, "POST", "/v1/persons", h.key_nl, person, -1, &r);
    assert_int_equal(r.status, 201);
    http_reply_free(&r);
    http(&h, "POST", "/v1/checks", h.key_be, check, -1, &r);
    assert_int_equal(r.status, 201);
    json_object *hits, *hit, *x, *w;
    assert_true(json_object_object_get_ex(r.json, "hits", &hits));
    hit = json_object_array_get_idx(hits, 0);
    assert_non_null(hit);
    assert_true(json_object_object_get_ex(hit, "explanation", &x));
    assert_true(json_object_object_get_ex(x, "weight", &w));
    double v = json_object_get_double(w);
    http_reply_free(&r);
    harness_stop(&h);
    return v;
}

static void test_model_scores_checks(void **state)
{
    (void)state;
    char dir[] = "/tmp/avrr-model-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char model[600], conf[600], text[1400];
    snprintf(model, sizeof model, "%s/model.json", dir);
    write_file(model, "{\"format\":\"avrr-match-model\",\"version\":1,\"prior\":0.5}\n");
    snprintf(conf, sizeof conf, "%s/serve.conf", dir);
    snprintf(text, sizeof text, "match_model = %s\n", model);
    write_file(conf, text);
    double w0 = weight_with(NULL);
    const char *extra[] = {"--config", conf, NULL};
    double w1 = weight_with(extra);
    assert_float_equal(w1 - w0, -log2(0.002 / 0.998), 0.01);
    unlink(model);
    unlink(conf);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_scores_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
