/* test_transport.c: the transport protections of the real server: HTTPS
 * with a certificate from scripts/tls-selfsigned.sh (and nothing but HTTPS
 * on that port), a private key others can read refused at start, the rate
 * limit per API key (429, Retry-After, the error body, other keys
 * unaffected) and the throttle on failed authentications per address. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "harness.h"

/* A key of the right shape that no registry holds. */
#define WRONG_KEY "avrr_wrongwrongwrongwrongwrongwrongwrongwrong0"

static void run(const char *cmd)
{
    if (system(cmd) != 0) {
        fprintf(stderr, "failed: %s\n", cmd);
        fail();
    }
}

/* Makes h->dir/tls/{cert,key}.pem with the project's script. */
static void make_pair(harness *h, char *cert, char *key, size_t cap)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "sh '%s/scripts/tls-selfsigned.sh' '%s/tls' >/dev/null",
             getenv("AVRR_SOURCE_DIR"), h->dir);
    run(cmd);
    snprintf(cert, cap, "%s/tls/cert.pem", h->dir);
    snprintf(key, cap, "%s/tls/key.pem", h->dir);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The folder of a harness whose server never started. */
static void remove_dir(harness *h)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", h->dir);
    run(cmd);
}

static void expect_status(harness *h, const char *path, const char *key, long want)
{
    http_reply r;
    http(h, "GET", path, key, NULL, 0, &r);
    if (r.status != want)
        fprintf(stderr, "GET %s: %ld (want %ld) %s\n", path, r.status, want,
                r.body ? r.body : "");
    assert_int_equal(r.status, want);
    http_reply_free(&r);
}

/* A 429 with a Retry-After of at least a second and the API's error body,
 * code "limit" and field null. */
static void assert_limited(const http_reply *r)
{
    assert_int_equal(r->status, 429);
    char *end;
    long secs = strtol(r->retry_after, &end, 10);
    assert_true(end != r->retry_after && *end == '\0' && secs >= 1);
    assert_string_equal(jstr(r->json, "error.code"), "limit");
    json_object *err = NULL, *field = NULL;
    assert_true(json_object_object_get_ex(r->json, "error", &err));
    assert_true(json_object_object_get_ex(err, "field", &field));
    assert_null(field); /* JSON null */
    assert_non_null(jstr(r->json, "error.message"));
}

static void test_https(void **state)
{
    (void)state;
    harness h;
    char cert[400], key[400];
    harness_prepare(&h);
    make_pair(&h, cert, key, sizeof cert);
    const char *args[] = {"--tls-cert", cert, "--tls-key", key, NULL};
    harness_serve(&h, args);
    assert_true(h.tls);
    snprintf(h.cafile, sizeof h.cafile, "%s", cert);

    http_reply r;
    http(&h, "GET", "/healthz", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "status"), "ok");
    http_reply_free(&r);
    expect_status(&h, "/v1/persons", h.key_nl, 200);
    expect_status(&h, "/v1/persons", NULL, 401);

    /* Plain HTTP to the HTTPS port gets no answer. */
    h.tls = false;
    expect_status(&h, "/healthz", NULL, -1);
    h.tls = true;
    /* Without the certificate as CA, the client refuses the server. */
    h.cafile[0] = '\0';
    expect_status(&h, "/healthz", NULL, -1);
    harness_stop(&h);
}

/* Runs `avrr serve ARGS` that must fail; its stderr must hold `want`. */
static void expect_refused(harness *h, const char *args, const char *want)
{
    char cmd[2000], out[300], text[2000] = "";
    snprintf(out, sizeof out, "%s/serve.err", h->dir);
    snprintf(cmd, sizeof cmd, "'%s' serve --db '%s' --listen 127.0.0.1:0 --quiet %s 2>'%s'",
             getenv("AVRR_BIN"), h->db, args, out);
    int rc = system(cmd);
    assert_true(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 1);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    if (!strstr(text, want))
        fprintf(stderr, "stderr of serve %s: '%s' (want '%s')\n", args, text, want);
    assert_non_null(strstr(text, want));
}

static void test_tls_refusals(void **state)
{
    (void)state;
    harness h;
    char cert[400], key[400], args[1000];
    harness_prepare(&h);
    make_pair(&h, cert, key, sizeof cert);

    /* A key the group can read may have been copied: refused, with the fix. */
    assert_int_equal(chmod(key, 0640), 0);
    snprintf(args, sizeof args, "--tls-cert '%s' --tls-key '%s'", cert, key);
    expect_refused(&h, args, "chmod 600");
    assert_int_equal(chmod(key, 0600), 0);

    /* Both or neither. */
    snprintf(args, sizeof args, "--tls-cert '%s'", cert);
    expect_refused(&h, args, "both or neither");

    /* The certificate where the key should be: the start fails and says so. */
    char wrong[400];
    snprintf(wrong, sizeof wrong, "%s/tls/cert-as-key.pem", h.dir);
    snprintf(args, sizeof args, "cp '%s' '%s' && chmod 600 '%s'", cert, wrong, wrong);
    run(args);
    snprintf(args, sizeof args, "--tls-cert '%s' --tls-key '%s'", cert, wrong);
    expect_refused(&h, args, "cannot serve HTTPS");
    remove_dir(&h);
}

static void test_rate_limit_per_key(void **state)
{
    (void)state;
    harness h;
    char conf[400];
    harness_prepare(&h);
    snprintf(conf, sizeof conf, "%s/limits.conf", h.dir);
    /* One request a second with bursts of 3: the fourth quick request is over. */
    write_file(conf, "rate_limit = 1\nrate_burst = 3\n");
    const char *args[] = {"--config", conf, NULL};
    harness_serve(&h, args);

    http_reply r;
    int sent = 0;
    bool limited = false;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!limited && sent < 50) {
        http(&h, "GET", "/v1/persons", h.key_nl, NULL, 0, &r);
        sent++;
        limited = r.status == 429;
        if (!limited) {
            assert_int_equal(r.status, 200);
            http_reply_free(&r);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(limited);
    /* The burst of 3, plus one token a second while the requests ran (a
     * slow sanitizer build takes longer, and may be let through more). */
    double elapsed = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_in_range(sent, 4, 4 + (int)elapsed + 1);
    assert_limited(&r);
    http_reply_free(&r);

    /* Another key, and the routes without a key, are not affected. */
    expect_status(&h, "/v1/persons", h.key_be, 200);
    expect_status(&h, "/healthz", NULL, 200);
    harness_stop(&h);
}

static void test_failed_auth_throttle(void **state)
{
    (void)state;
    harness h;
    char conf[400];
    harness_prepare(&h);
    snprintf(conf, sizeof conf, "%s/limits.conf", h.dir);
    write_file(conf, "auth_fail_limit = 3\n");
    const char *args[] = {"--config", conf, NULL};
    harness_serve(&h, args);

    /* No key guesses nothing, and does not count. */
    for (int i = 0; i < 5; i++)
        expect_status(&h, "/v1/persons", NULL, 401);
    for (int i = 0; i < 3; i++)
        expect_status(&h, "/v1/persons", WRONG_KEY, 401);

    /* The fourth wrong key in the minute: 429, and from now on even a good
     * key from this address is refused before it is looked at. */
    http_reply r;
    http(&h, "GET", "/v1/persons", WRONG_KEY, NULL, 0, &r);
    assert_limited(&r);
    http_reply_free(&r);
    http(&h, "GET", "/v1/persons", h.key_nl, NULL, 0, &r);
    assert_limited(&r);
    http_reply_free(&r);

    /* Another address (all of 127/8 is this machine) is not affected. */
    snprintf(h.local_addr, sizeof h.local_addr, "host!127.0.0.2");
    expect_status(&h, "/v1/persons", h.key_nl, 200);
    harness_stop(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_https),
        cmocka_unit_test(test_tls_refusals),
        cmocka_unit_test(test_rate_limit_per_key),
        cmocka_unit_test(test_failed_auth_throttle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
