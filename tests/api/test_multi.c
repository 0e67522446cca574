/* test_multi.c: several `avrr serve` processes on one database (SQLite
 * file or PostgreSQL): a registration made through one server is found by
 * a check on another within 1 second; writers on both at once leave
 * consistent links and an audit chain that verifies; an erasure on one is
 * honoured by the other. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "harness.h"

static harness A, B; /* B shares A's database and keys; only its server differs */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int setup(void **state)
{
    (void)state;
    static const char *const no_rate_limit[] = {"--rate-limit", "0", NULL};
    harness_prepare(&A);
    harness_serve(&A, no_rate_limit);
    B = A;
    harness_serve(&B, no_rate_limit);
    return A.port != B.port ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int status = 0;
    kill(B.pid, SIGTERM);
    waitpid(B.pid, &status, 0);
    bool b_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!b_ok)
        fprintf(stderr, "test_multi: server B exited badly (status %d)\n", status);
    harness_stop(&A); /* always: A must not outlive the test */
    return b_ok ? 0 : -1;
}

/* Checks on h until a hit from tenant appears or `limit` seconds pass;
 * returns the seconds it took, or -1. */
static double first_hit(harness *h, const char *body, const char *tenant, double limit)
{
    double t0 = now_s();
    while (now_s() - t0 < limit) {
        http_reply r;
        http(h, "POST", "/v1/checks", h->key_be, body, -1, &r);
        json_object *hits = json_object_object_get(r.json, "hits");
        bool found = false;
        for (size_t i = 0; i < json_object_array_length(hits) && !found; i++)
            found = strcmp(jstr(json_object_array_get_idx(hits, i), "tenant"), tenant) == 0;
        http_reply_free(&r);
        if (found)
            return now_s() - t0;
        struct timespec pause = {0, 20 * 1000000L};
        nanosleep(&pause, NULL);
    }
    return -1;
}

static void test_registration_on_one_found_on_the_other_within_1s(void **state)
{
    (void)state;
    static const char *const names[][2] = {{"Berhane", "Tekle"}, {"Irakli", "Kapanadze"},
                                           {"Hamid", "Rahimi"}, {"Serhiy", "Melnyk"},
                                           {"Oluwaseun", "Adeyemi"}};
    double worst = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char person[256], check[256];
        snprintf(person, sizeof person,
                 "{\"identities\":[{\"given_names\":\"%s\",\"surname\":\"%s\","
                 "\"birth_date\":\"1984-05-1%zu\",\"sex\":\"m\"}]}", names[i][0], names[i][1], i);
        snprintf(check, sizeof check,
                 "{\"purpose\":\"assistance_decision\",\"identity\":{\"given_names\":\"%s\","
                 "\"surname\":\"%s\",\"birth_date\":\"1984-05-1%zu\",\"sex\":\"m\"}}",
                 names[i][0], names[i][1], i);
        harness_post_id(&A, "/v1/persons", A.key_nl, person);
        double took = first_hit(&B, check, "NL", 3.0);
        fprintf(stderr, "registered on A, found on B after %.3f s\n", took);
        assert_true(took >= 0);
        if (took > worst)
            worst = took;
    }
    assert_true(worst <= 1.0);
}

typedef struct writer {
    harness *h;
    const char *key;
    int n, ok;
} writer;

static void *write_many(void *arg)
{
    writer *w = arg;
    for (int i = 0; i < w->n; i++) {
        char body[200];
        snprintf(body, sizeof body,
                 "{\"identities\":[{\"given_names\":\"Writer%d\",\"surname\":\"Port%u\"}]}", i,
                 w->h->port);
        http_reply r;
        http(w->h, "POST", "/v1/persons", w->key, body, -1, &r);
        w->ok += r.status == 201;
        http_reply_free(&r);
    }
    return NULL;
}

static void test_writers_on_both_keep_one_verifiable_chain(void **state)
{
    (void)state;
    int64_t before = harness_count(&A, "persons");
    writer wa = {&A, A.key_nl, 40, 0}, wb = {&B, B.key_be, 40, 0};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, write_many, &wa);
    pthread_create(&tb, NULL, write_many, &wb);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(wa.ok, 40);
    assert_int_equal(wb.ok, 40);
    assert_int_equal(harness_count(&A, "persons"), before + 80);
    const char *argv[] = {"avrr", "audit", "verify", "--db", A.db, NULL};
    assert_int_equal(harness_avrr(argv, NULL, 0), 0);
}

static void test_links_and_erasure_across_servers(void **state)
{
    (void)state;
    int64_t p = harness_post_id(&A, "/v1/persons", A.key_nl,
                                "{\"identities\":[{\"given_names\":\"Mehari\",\"surname\":\"Woldu\","
                                "\"birth_date\":\"1979-09-09\",\"sex\":\"m\",\"nationality\":\"ERI\"}]}");
    const char *check = "{\"purpose\":\"assistance_decision\",\"identity\":{\"given_names\":"
                        "\"Mehari\",\"surname\":\"Weldu\",\"birth_date\":\"1979-09-09\","
                        "\"sex\":\"m\",\"nationality\":\"ERI\"}}";
    assert_true(first_hit(&B, check, "NL", 3.0) >= 0);
    /* The link B's check opened is in A's queue. */
    http_reply r;
    http(&A, "GET", "/v1/links?status=yellow&limit=1000", A.key_nl, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    bool seen = false;
    json_object *items = json_object_object_get(r.json, "items");
    for (size_t i = 0; i < json_object_array_length(items); i++)
        seen = seen || jint(json_object_array_get_idx(items, i), "person_id") == p;
    http_reply_free(&r);
    assert_true(seen);
    /* Erased through A: B never shows it again, though B's index still
     * holds the identity. */
    char path[64];
    snprintf(path, sizeof path, "/v1/persons/%lld", (long long)p);
    http(&A, "DELETE", path, A.key_nl, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    http_reply_free(&r);
    http(&B, "POST", "/v1/checks", B.key_be, check, -1, &r);
    json_object *hits = json_object_object_get(r.json, "hits");
    for (size_t i = 0; i < json_object_array_length(hits); i++)
        assert_string_not_equal(jstr(json_object_array_get_idx(hits, i), "tenant"), "NL");
    http_reply_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registration_on_one_found_on_the_other_within_1s),
        cmocka_unit_test(test_writers_on_both_keep_one_verifiable_chain),
        cmocka_unit_test(test_links_and_erasure_across_servers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
