/* test_pool.c: many checks at once through `avrr serve --store-pool 4`
 * (avrr_service_store_pool). On PostgreSQL each check's transaction runs on
 * a pooled connection of its own; on SQLite the option is ignored. On both:
 * every check is stored once with its audit event, the audit chain
 * verifies, and a pair of persons that many concurrent checks find gets
 * one link, shown in every answer. /metrics says whether the pool ran the
 * checks. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define CLIENTS 8
#define CHECKS_EACH 25

static harness H;

static bool on_postgres(void)
{
    return strncmp(H.db, "postgresql://", 13) == 0 || strncmp(H.db, "postgres://", 11) == 0;
}

static int setup(void **state)
{
    (void)state;
    static const char *const opts[] = {"--rate-limit", "0", "--threads", "8",
                                       "--store-pool", "4", NULL};
    harness_prepare(&H);
    harness_serve(&H, opts);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    harness_stop(&H);
    return 0;
}

/* The value of a metric line "name value" in /metrics; -1 when absent. */
static long long metric(const char *name)
{
    http_reply r;
    http(&H, "GET", "/metrics", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    long long v = -1;
    size_t n = strlen(name);
    for (const char *l = r.body; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, name, n) == 0 && l[n] == ' ')
            v = atoll(l + n + 1);
    http_reply_free(&r);
    return v;
}

typedef struct client {
    const char *body;
    int ok;
    int64_t link_ids[CHECKS_EACH]; /* the link shown with the NL hit */
} client;

static void *check_many(void *arg)
{
    client *c = arg;
    for (int i = 0; i < CHECKS_EACH; i++) {
        http_reply r;
        http(&H, "POST", "/v1/checks", H.key_be, c->body, -1, &r);
        if (r.status == 201 || r.status == 200) {
            c->ok++;
            json_object *hits = json_object_object_get(r.json, "hits");
            for (size_t k = 0; k < json_object_array_length(hits); k++) {
                json_object *h = json_object_array_get_idx(hits, k);
                if (strcmp(jstr(h, "tenant"), "NL") == 0)
                    c->link_ids[i] = jint(h, "link.id");
            }
        } else {
            fprintf(stderr, "check: %ld %s\n", r.status, r.body ? r.body : "");
        }
        http_reply_free(&r);
    }
    return NULL;
}

/* BE's own person P names the checks; each finds NL's person Q strongly.
 * P and Q are not linked at first (they do not match each other): the
 * first check to store opens the link, every other one shows it. */
static void test_concurrent_checks_stored_once_one_link(void **state)
{
    (void)state;
    int64_t p = harness_post_id(&H, "/v1/persons", H.key_be,
                                "{\"identities\":[{\"given_names\":\"Jonas\",\"surname\":"
                                "\"Vandenberghe\",\"birth_date\":\"1962-02-14\",\"sex\":\"m\"}]}");
    int64_t q = harness_post_id(&H, "/v1/persons", H.key_nl,
                                "{\"identities\":[{\"given_names\":\"Tesfay\",\"surname\":"
                                "\"Gebremariam\",\"birth_date\":\"1975-03-03\",\"sex\":\"m\","
                                "\"nationality\":\"ERI\"}]}");
    assert_true(p > 0 && q > 0);
    char body[400];
    snprintf(body, sizeof body,
             "{\"purpose\":\"assistance_decision\",\"person_id\":%lld,\"identity\":"
             "{\"given_names\":\"Tesfay\",\"surname\":\"Gebremariam\",\"birth_date\":"
             "\"1975-03-03\",\"sex\":\"m\",\"nationality\":\"ERI\"}}",
             (long long)p);
    int64_t checks0 = harness_count(&H, "checks"), links0 = harness_count(&H, "links");
    int64_t events0 = harness_count(&H, "audit_events");
    long long takes0 = metric("avrr_store_pool_takes_total");

    static client cl[CLIENTS];
    pthread_t t[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        memset(&cl[i], 0, sizeof cl[i]);
        cl[i].body = body;
        assert_int_equal(pthread_create(&t[i], NULL, check_many, &cl[i]), 0);
    }
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(t[i], NULL);

    int64_t link = cl[0].link_ids[0];
    assert_true(link > 0);
    for (int i = 0; i < CLIENTS; i++) {
        assert_int_equal(cl[i].ok, CHECKS_EACH);
        for (int k = 0; k < CHECKS_EACH; k++)
            assert_int_equal(cl[i].link_ids[k], link); /* one link, in every answer */
    }
    /* Each check stored once, with its one event; one link for the pair. */
    assert_int_equal(harness_count(&H, "checks"), checks0 + CLIENTS * CHECKS_EACH);
    assert_int_equal(harness_count(&H, "audit_events"), events0 + CLIENTS * CHECKS_EACH);
    assert_int_equal(harness_count(&H, "links"), links0 + 1);
    const char *argv[] = {"avrr", "audit", "verify", "--db", H.db, NULL};
    assert_int_equal(harness_avrr(argv, NULL, 0), 0);

    /* The pool ran them (three takes a request at least: its API key,
     * its own person's read, its transaction); SQLite has none. */
    if (on_postgres()) {
        assert_int_equal(metric("avrr_store_pool_size"), 4);
        assert_true(metric("avrr_store_pool_takes_total") >=
                    takes0 + 3LL * CLIENTS * CHECKS_EACH);
        assert_true(metric("avrr_store_pool_busy_max") >= 1);
    } else {
        assert_int_equal(metric("avrr_store_pool_size"), 0);
        assert_int_equal(metric("avrr_store_pool_takes_total"), 0);
    }
}

/* A check that fails leaves no record and its refusal is an event; the
 * pooled connection it used serves the next check. */
static void test_failed_check_then_next(void **state)
{
    (void)state;
    int64_t checks0 = harness_count(&H, "checks");
    http_reply r;
    http(&H, "POST", "/v1/checks", H.key_be,
         "{\"purpose\":\"case_review\",\"identity\":{\"surname\":\"X\"},\"person_id\":999999}", -1,
         &r);
    assert_int_equal(r.status, 404);
    http_reply_free(&r);
    for (int i = 0; i < 8; i++) {
        http(&H, "POST", "/v1/checks", H.key_be,
             "{\"purpose\":\"case_review\",\"identity\":{\"given_names\":\"Tesfay\","
             "\"surname\":\"Gebremariam\",\"birth_date\":\"1975-03-03\"}}", -1, &r);
        assert_true(r.status == 201 || r.status == 200);
        http_reply_free(&r);
    }
    assert_int_equal(harness_count(&H, "checks"), checks0 + 8);
    const char *argv[] = {"avrr", "audit", "verify", "--db", H.db, NULL};
    assert_int_equal(harness_avrr(argv, NULL, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_checks_stored_once_one_link),
        cmocka_unit_test(test_failed_check_then_next),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
