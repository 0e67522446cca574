/* test_api.c: the HTTP API through the real server: the registration flow
 * a caseworker follows, tenancy, paging, metrics, the OpenAPI description,
 * and the data-driven cases under tests/cases/ (bad input of every kind,
 * each proven to change nothing stored). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "avrr/server.h"
#include "harness.h"

static harness H;
/* A fixture: one person and one case per tenant, for the cases to aim at. */
static int64_t nl_person, be_person, nl_case, be_case;

static const char *PERSON =
    "{\"identities\":[{\"given_names\":\"Youssef\",\"surname\":\"El Amrani\","
    "\"sex\":\"m\",\"birth_date\":\"1990-03-14\",\"nationality\":\"MA\","
    "\"documents\":[{\"type\":\"passport\",\"number\":\"UZ4411720\",\"country\":\"MAR\"}]},"
    "{\"given_names\":\"Joessef\",\"surname\":\"Elamrani\",\"birth_date\":\"1990\"},"
    "{\"full_name\":\"\xd9\x8a\xd9\x88\xd8\xb3\xd9\x81 \xd8\xa7\xd9\x84\xd8\xb9\xd9\x85\xd8\xb1\xd8\xa7\xd9\x86\xd9\x8a\","
    "\"birth_date\":\"1990-00-00\"}]}";

static int setup(void **state)
{
    (void)state;
    harness_start(&H);
    char body[256];
    nl_person = harness_post_id(&H, "/v1/persons", H.key_nl, PERSON);
    be_person = harness_post_id(&H, "/v1/persons", H.key_be,
                                "{\"identities\":[{\"given_names\":\"Yusuf\",\"surname\":\"Amrani\","
                                "\"birth_date\":\"1990-01-01\",\"nationality\":\"MAR\"}]}");
    snprintf(body, sizeof body,
             "{\"person_id\":%lld,\"destination_country\":\"MAR\",\"return_type\":\"voluntary\"}",
             (long long)nl_person);
    nl_case = harness_post_id(&H, "/v1/cases", H.key_nl, body);
    snprintf(body, sizeof body,
             "{\"person_id\":%lld,\"destination_country\":\"MA\",\"return_type\":\"voluntary\"}",
             (long long)be_person);
    be_case = harness_post_id(&H, "/v1/cases", H.key_be, body);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    harness_stop(&H);
    return 0;
}

/* SIGINT and SIGTERM stop the server cleanly only when every one of its
 * threads blocks them (the main thread waits for them with sigwait): a
 * thread that does not takes the signal's default action, and the server
 * dies with status 15 instead of exiting 0 (the WAL checkpoint thread did). Read from /proc; under valgrind
 * (AVRR_SERVER_WRAPPER) the masks are valgrind's, so skipped there. */
static void test_stop_signals_blocked_in_every_thread(void **state)
{
    (void)state;
    const char *wrap = getenv("AVRR_SERVER_WRAPPER");
    if (wrap && wrap[0])
        skip();
    char path[128];
    snprintf(path, sizeof path, "/proc/%d/task", H.pid);
    DIR *d = opendir(path);
    if (!d)
        skip(); /* no /proc */
    int threads = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        /* the main thread waits in sigwait, which unblocks the signals it
         * waits for while it waits */
        if (de->d_name[0] == '.' || atoi(de->d_name) == H.pid)
            continue;
        char st[300], line[256];
        snprintf(st, sizeof st, "%s/%s/status", path, de->d_name);
        FILE *f = fopen(st, "r");
        if (!f)
            continue; /* the thread ended meanwhile */
        unsigned long long blk = 0;
        bool seen = false;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "SigBlk: %llx", &blk) == 1) {
                seen = true;
                break;
            }
        fclose(f);
        assert_true(seen);
        /* bit n-1 for signal n */
        if ((blk & (1ull << 1)) == 0 || (blk & (1ull << 14)) == 0)
            fail_msg("thread %s of the server does not block SIGINT and SIGTERM "
                     "(SigBlk %llx)",
                     de->d_name, blk);
        threads++;
    }
    closedir(d);
    assert_true(threads >= 1);
}

static void test_healthz_needs_no_key(void **state)
{
    (void)state;
    http_reply r;
    http(&H, "GET", "/healthz", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "status"), "ok");
    http_reply_free(&r);
}

static void test_keys_are_required(void **state)
{
    (void)state;
    http_reply r;
    http(&H, "GET", "/v1/persons", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 401);
    assert_string_equal(jstr(r.json, "error.code"), "unauthorized");
    http_reply_free(&r);
    http(&H, "GET", "/v1/persons", "avrr_notakeyatall0000000000000000000000000000", NULL, 0, &r);
    assert_int_equal(r.status, 401);
    http_reply_free(&r);
}

static void test_revoked_key_is_refused(void **state)
{
    (void)state;
    char key[128], line[256];
    const char *create_argv[] = {"avrr", "key", "create", "--db", H.db, "--tenant", "NL",
                                 "--role", "caseworker", "--label", "short-lived", NULL};
    assert_int_equal(harness_avrr(create_argv, key, sizeof key), 0);
    http_reply r;
    http(&H, "GET", "/v1/persons", key, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    http_reply_free(&r);
    /* The newest key has the highest id: revoke it by that id. */
    const char *list_argv[] = {"avrr", "key", "list", "--db", H.db, "--tenant", "NL", NULL};
    assert_int_equal(harness_avrr(list_argv, line, sizeof line), 0);
    char id[32];
    snprintf(id, sizeof id, "%ld", strtol(line, NULL, 10));
    assert_non_null(strstr(line, "short-lived"));
    const char *revoke_argv[] = {"avrr", "key", "revoke", "--db", H.db, "--id", id, NULL};
    assert_int_equal(harness_avrr(revoke_argv, NULL, 0), 0);
    http(&H, "GET", "/v1/persons", key, NULL, 0, &r);
    assert_int_equal(r.status, 401);
    http_reply_free(&r);
}

/* The flow of the README: a person with two aliases, a case, assistance,
 * a status change, everything listed back. */
static void test_registration_flow(void **state)
{
    (void)state;
    http_reply r;
    char path[128], body[512];
    int64_t before = harness_count(&H, "identities");
    int64_t pid = harness_post_id(&H, "/v1/persons", H.key_nl, PERSON);
    assert_int_equal(harness_count(&H, "identities"), before + 3);

    snprintf(path, sizeof path, "/v1/persons/%lld", (long long)pid);
    http(&H, "GET", path, H.key_nl, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "tenant"), "NL");
    assert_string_equal(jstr(r.json, "identities.0.nationality"), "MAR");
    assert_string_equal(jstr(r.json, "identities.0.documents.0.number"), "UZ4411720");
    assert_string_equal(jstr(r.json, "identities.1.birth_date"), "1990");
    assert_string_equal(jstr(r.json, "identities.1.birth_date_precision"), "year");
    assert_string_equal(jstr(r.json, "identities.2.full_name"),
                        "\xd9\x8a\xd9\x88\xd8\xb3\xd9\x81 \xd8\xa7\xd9\x84\xd8\xb9\xd9\x85\xd8\xb1\xd8\xa7\xd9\x86\xd9\x8a");
    http_reply_free(&r);

    /* A further alias later. */
    snprintf(path, sizeof path, "/v1/persons/%lld/identities", (long long)pid);
    harness_post_id(&H, path, H.key_nl, "{\"given_names\":\"Youssouf\",\"surname\":\"Amrani\"}");

    snprintf(body, sizeof body,
             "{\"person_id\":%lld,\"destination_country\":\"mar\",\"return_type\":\"VOLUNTARY\","
             "\"programme\":\"national\"}", (long long)pid);
    int64_t cid = harness_post_id(&H, "/v1/cases", H.key_nl, body);

    snprintf(path, sizeof path, "/v1/cases/%lld/assistance", (long long)cid);
    harness_post_id(&H, path, H.key_nl,
                    "{\"kind\":\"post_arrival\",\"amount_cents\":61500,\"cash\":true,"
                    "\"provider\":\"DT&V\",\"funding\":\"amif\",\"granted_on\":\"2026-05-02\"}");
    harness_post_id(&H, path, H.key_nl,
                    "{\"kind\":\"reintegration_business\",\"amount_cents\":200000,\"cash\":false,"
                    "\"provider\":\"IOM\",\"funding\":\"amif\"}");
    http(&H, "GET", path, H.key_nl, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_object_array_length(json_object_object_get(r.json, "items")), 2);
    assert_int_equal(jint(r.json, "items.0.amount_cents"), 61500);
    assert_string_equal(jstr(r.json, "items.1.kind"), "reintegration_business");
    http_reply_free(&r);

    snprintf(path, sizeof path, "/v1/cases/%lld/status", (long long)cid);
    http(&H, "POST", path, H.key_nl, "{\"status\":\"applied\"}", -1, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "status"), "applied");
    http_reply_free(&r);
    /* applied -> reintegrating skips the departure: refused, case unchanged. */
    http(&H, "POST", path, H.key_nl, "{\"status\":\"reintegrating\"}", -1, &r);
    assert_int_equal(r.status, 409);
    assert_string_equal(jstr(r.json, "error.field"), "status");
    http_reply_free(&r);
    http(&H, "POST", path, H.key_nl, "{\"status\":\"withdrawn\"}", -1, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(jstr(r.json, "closed_on"));
    http_reply_free(&r);
    /* A closed case takes no new assistance. */
    snprintf(path, sizeof path, "/v1/cases/%lld/assistance", (long long)cid);
    int64_t n = harness_count(&H, "assistance");
    http(&H, "POST", path, H.key_nl, "{\"kind\":\"ticket\",\"amount_cents\":100,\"funding\":\"amif\"}", -1, &r);
    assert_int_equal(r.status, 409);
    http_reply_free(&r);
    assert_int_equal(harness_count(&H, "assistance"), n);

    snprintf(path, sizeof path, "/v1/cases?person_id=%lld", (long long)pid);
    http(&H, "GET", path, H.key_nl, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "items.0.id"), cid);
    assert_string_equal(jstr(r.json, "items.0.destination_country"), "MAR");
    http_reply_free(&r);
}

static void test_other_tenant_gets_404(void **state)
{
    (void)state;
    http_reply r, mine;
    char path[128];
    snprintf(path, sizeof path, "/v1/persons/%lld", (long long)be_person);
    http(&H, "GET", path, H.key_nl, NULL, 0, &r);
    assert_int_equal(r.status, 404);
    /* Same answer as for an id that does not exist at all. */
    http(&H, "GET", "/v1/persons/999999", H.key_nl, NULL, 0, &mine);
    assert_int_equal(mine.status, 404);
    assert_string_equal(jstr(r.json, "error.code"), jstr(mine.json, "error.code"));
    http_reply_free(&r);
    http_reply_free(&mine);
    /* BE's list does not contain NL's persons. */
    http(&H, "GET", "/v1/persons?limit=1000", H.key_be, NULL, 0, &r);
    json_object *items = json_object_object_get(r.json, "items");
    for (size_t i = 0; i < json_object_array_length(items); i++)
        assert_string_equal(jstr(json_object_array_get_idx(items, i), "tenant"), "BE");
    http_reply_free(&r);
}

static void test_paging(void **state)
{
    (void)state;
    for (int i = 0; i < 5; i++)
        harness_post_id(&H, "/v1/persons", H.key_be,
                        "{\"identities\":[{\"given_names\":\"Dawit\",\"surname\":\"Haile\"}]}");
    http_reply r;
    int64_t after = 0, seen = 0, last = 0;
    char path[128];
    for (int pages = 0; pages < 100; pages++) {
        snprintf(path, sizeof path, "/v1/persons?limit=2&after=%lld", (long long)after);
        http(&H, "GET", path, H.key_be, NULL, 0, &r);
        assert_int_equal(r.status, 200);
        json_object *items = json_object_object_get(r.json, "items");
        assert_true(json_object_array_length(items) <= 2);
        for (size_t i = 0; i < json_object_array_length(items); i++) {
            int64_t id = jint(json_object_array_get_idx(items, i), "id");
            assert_true(id > last);
            last = id;
            seen++;
        }
        after = jint(r.json, "next");
        http_reply_free(&r);
        if (after <= 0)
            break;
    }
    /* Every BE person, each once. */
    assert_int_equal(seen, 6);
}

static void test_roles_without_personal_data_access(void **state)
{
    (void)state;
    http_reply r;
    http(&H, "GET", "/v1/persons", H.key_nl_stat, NULL, 0, &r);
    assert_int_equal(r.status, 403);
    http_reply_free(&r);
    int64_t n = harness_count(&H, "persons");
    http(&H, "POST", "/v1/persons", H.key_nl_prov, PERSON, -1, &r);
    assert_int_equal(r.status, 403);
    http_reply_free(&r);
    assert_int_equal(harness_count(&H, "persons"), n);
}

static void test_metrics(void **state)
{
    (void)state;
    http_reply r;
    http(&H, "GET", "/metrics", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "avrr_http_requests_total{route=\"POST /v1/persons\",code=\"201\"}"));
    assert_non_null(strstr(r.body, "avrr_http_request_duration_seconds_bucket{route=\"GET /healthz\",le=\"+Inf\"}"));
    assert_non_null(strstr(r.body, "avrr_registry_rows{table=\"persons\"}"));
    http_reply_free(&r);
}

static void test_unknown_route_and_method(void **state)
{
    (void)state;
    http_reply r;
    http(&H, "GET", "/v1/nothing", H.key_nl, NULL, 0, &r);
    assert_int_equal(r.status, 404);
    http_reply_free(&r);
    http(&H, "DELETE", "/v1/cases", H.key_nl, NULL, 0, &r);
    assert_int_equal(r.status, 405);
    http_reply_free(&r);
}

/* Every route the server serves is in docs/openapi.yaml and every
 * operation there is served. */
static void test_openapi_matches_routes(void **state)
{
    (void)state;
    char path[512], line[512], current[256] = "";
    snprintf(path, sizeof path, "%s/docs/openapi.yaml", getenv("AVRR_SOURCE_DIR"));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char documented[64][96];
    size_t n = 0;
    bool in_paths = false;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strcmp(line, "paths:") == 0) {
            in_paths = true;
            continue;
        }
        if (in_paths && line[0] && line[0] != ' ' && line[0] != '#')
            in_paths = false;
        if (!in_paths)
            continue;
        if (strncmp(line, "  /", 3) == 0 && line[strlen(line) - 1] == ':') {
            snprintf(current, sizeof current, "%.*s", (int)strlen(line) - 3, line + 2);
        } else if (strncmp(line, "    ", 4) == 0 && line[4] != ' ' && current[0]) {
            static const char *const methods[] = {"get", "post", "put", "patch", "delete"};
            for (size_t m = 0; m < 5; m++) {
                size_t ml = strlen(methods[m]);
                if (strncmp(line + 4, methods[m], ml) == 0 && line[4 + ml] == ':') {
                    char upper[8];
                    for (size_t k = 0; k <= ml; k++)
                        upper[k] = (char)(methods[m][k] >= 'a' ? methods[m][k] - 32 : methods[m][k]);
                    assert_true(n < 64);
                    snprintf(documented[n++], sizeof documented[0], "%s %s", upper, current);
                }
            }
        }
    }
    fclose(f);
    const char *const *served = avrr_server_routes();
    size_t ns = 0;
    for (; served[ns]; ns++) {
        bool found = false;
        for (size_t i = 0; i < n; i++)
            found = found || strcmp(documented[i], served[ns]) == 0;
        if (!found)
            fprintf(stderr, "served but not in openapi.yaml: %s\n", served[ns]);
        assert_true(found);
    }
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t k = 0; served[k]; k++)
            found = found || strcmp(documented[i], served[k]) == 0;
        if (!found)
            fprintf(stderr, "in openapi.yaml but not served: %s\n", documented[i]);
        assert_true(found);
    }
    assert_int_equal(n, ns);
}

/* ---- data-driven cases ------------------------------------------------------
 * A .case file holds one or more cases separated by lines "---":
 *   # what the case proves
 *   request METHOD PATH        ($NL_PERSON $BE_PERSON $NL_CASE $BE_CASE expand)
 *   key nl|be|stat|prov|none|bad
 *   body TEXT                  (rest of line; \xHH escapes, \0 for NUL)
 *   body-repeat N TEXT         (TEXT repeated N times: oversized bodies)
 *   body-append TEXT           (like body; body lines of a case add up, so
 *                               that "body PREFIX", "body-repeat N X",
 *                               "body-append SUFFIX" make a 64 KiB name)
 *   status N
 *   code X                     (error.code)
 *   field X                    (error.field)
 *   unchanged                  (no table changed row count)
 */
typedef struct test_case {
    char file[256];
    unsigned line;
    char method[16], path[256], key[8];
    char *body;
    size_t body_len;
    long status;
    char code[64], field[128];
    bool unchanged;
} test_case;

static void expand(const char *in, char *out, size_t cap)
{
    static const char *const names[] = {"$NL_PERSON", "$BE_PERSON", "$NL_CASE", "$BE_CASE"};
    int64_t values[] = {nl_person, be_person, nl_case, be_case};
    size_t o = 0;
    while (*in && o + 1 < cap) {
        bool done = false;
        for (size_t i = 0; i < 4 && !done; i++) {
            size_t l = strlen(names[i]);
            if (strncmp(in, names[i], l) == 0) {
                o += (size_t)snprintf(out + o, cap - o, "%lld", (long long)values[i]);
                in += l;
                done = true;
            }
        }
        if (!done)
            out[o++] = *in++;
    }
    out[o < cap ? o : cap - 1] = '\0';
}

static size_t unescape(const char *in, char *out)
{
    size_t o = 0;
    while (*in) {
        if (in[0] == '\\' && in[1] == 'x' && in[2] && in[3]) {
            char hex[3] = {in[2], in[3], 0};
            out[o++] = (char)strtol(hex, NULL, 16);
            in += 4;
        } else if (in[0] == '\\' && in[1] == '0') {
            out[o++] = '\0';
            in += 2;
        } else {
            out[o++] = *in++;
        }
    }
    return o;
}

/* Appends n bytes to the case's body (a NUL is kept after them). */
static void body_add(test_case *tc, const char *p, size_t n)
{
    char *b = realloc(tc->body, tc->body_len + n + 1);
    assert_non_null(b);
    memcpy(b + tc->body_len, p, n);
    tc->body = b;
    tc->body_len += n;
    tc->body[tc->body_len] = '\0';
}

static const char *key_for(const char *name)
{
    if (strcmp(name, "nl") == 0) return H.key_nl;
    if (strcmp(name, "be") == 0) return H.key_be;
    if (strcmp(name, "stat") == 0) return H.key_nl_stat;
    if (strcmp(name, "prov") == 0) return H.key_nl_prov;
    if (strcmp(name, "bad") == 0) return "avrr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    return NULL;
}

static const char *const tables[] = {"persons", "identities", "cases", "assistance", "tenants",
                                     "api_keys"};

static int run_case(const test_case *tc)
{
    int64_t before[6], after[6];
    for (size_t i = 0; i < 6; i++)
        before[i] = harness_count(&H, tables[i]);
    http_reply r;
    http(&H, tc->method, tc->path, key_for(tc->key), tc->body, tc->body ? (long)tc->body_len : 0, &r);
    int failed = 0;
    if (r.status != tc->status) {
        fprintf(stderr, "%s:%u: expected status %ld, got %ld: %s\n", tc->file, tc->line,
                tc->status, r.status, r.body ? r.body : "");
        failed = 1;
    }
    if (tc->code[0] && (!jstr(r.json, "error.code") || strcmp(jstr(r.json, "error.code"), tc->code))) {
        fprintf(stderr, "%s:%u: expected error.code %s: %s\n", tc->file, tc->line, tc->code,
                r.body ? r.body : "");
        failed = 1;
    }
    if (tc->field[0] && (!jstr(r.json, "error.field") || strcmp(jstr(r.json, "error.field"), tc->field))) {
        fprintf(stderr, "%s:%u: expected error.field %s: %s\n", tc->file, tc->line, tc->field,
                r.body ? r.body : "");
        failed = 1;
    }
    if (r.status >= 400 && r.status < 500 && r.status != 413 && !jstr(r.json, "error.message")) {
        fprintf(stderr, "%s:%u: a 4xx without a JSON error body: %s\n", tc->file, tc->line,
                r.body ? r.body : "");
        failed = 1;
    }
    http_reply_free(&r);
    if (tc->unchanged) {
        for (size_t i = 0; i < 6; i++) {
            after[i] = harness_count(&H, tables[i]);
            if (after[i] != before[i]) {
                fprintf(stderr, "%s:%u: %s changed from %lld to %lld rows\n", tc->file, tc->line,
                        tables[i], (long long)before[i], (long long)after[i]);
                failed = 1;
            }
        }
    }
    return failed;
}

static void test_cases(void **state)
{
    (void)state;
    char dirpath[512];
    snprintf(dirpath, sizeof dirpath, "%s/tests/cases", getenv("AVRR_SOURCE_DIR"));
    DIR *d = opendir(dirpath);
    assert_non_null(d);
    struct dirent *ent;
    int failures = 0, ran = 0;
    while ((ent = readdir(d))) {
        size_t l = strlen(ent->d_name);
        if (l < 6 || strcmp(ent->d_name + l - 5, ".case") != 0)
            continue;
        char path[800];
        snprintf(path, sizeof path, "%s/%s", dirpath, ent->d_name);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        char line[8192], tmp[8192];
        unsigned lineno = 0;
        test_case tc;
        memset(&tc, 0, sizeof tc);
        bool open = false;
        for (;;) {
            char *got = fgets(line, sizeof line, f);
            if (got) {
                lineno++;
                line[strcspn(line, "\n")] = '\0';
            }
            if (!got || strcmp(line, "---") == 0) {
                if (open) {
                    failures += run_case(&tc);
                    ran++;
                }
                free(tc.body);
                memset(&tc, 0, sizeof tc);
                open = false;
                if (!got)
                    break;
                continue;
            }
            if (!line[0] || line[0] == '#')
                continue;
            if (!open) {
                snprintf(tc.file, sizeof tc.file, "%s", ent->d_name);
                tc.line = lineno;
                snprintf(tc.key, sizeof tc.key, "nl");
                open = true;
            }
            if (strncmp(line, "request ", 8) == 0) {
                char p[256];
                assert_int_equal(sscanf(line + 8, "%15s %255s", tc.method, p), 2);
                expand(p, tc.path, sizeof tc.path);
            } else if (strncmp(line, "key ", 4) == 0) {
                snprintf(tc.key, sizeof tc.key, "%s", line + 4);
            } else if (strncmp(line, "body ", 5) == 0 ||
                       strncmp(line, "body-append ", 12) == 0) {
                char raw[8192];
                expand(strchr(line, ' ') + 1, tmp, sizeof tmp);
                body_add(&tc, raw, unescape(tmp, raw));
            } else if (strncmp(line, "body-repeat ", 12) == 0) {
                char *rest;
                long times = strtol(line + 12, &rest, 10);
                rest++;
                size_t rl = strlen(rest), at = tc.body_len;
                char *b = realloc(tc.body, at + rl * (size_t)times + 1);
                assert_non_null(b);
                tc.body = b;
                for (long i = 0; i < times; i++)
                    memcpy(tc.body + at + rl * (size_t)i, rest, rl);
                tc.body_len = at + rl * (size_t)times;
                tc.body[tc.body_len] = '\0';
            } else if (strncmp(line, "status ", 7) == 0) {
                tc.status = strtol(line + 7, NULL, 10);
            } else if (strncmp(line, "code ", 5) == 0) {
                snprintf(tc.code, sizeof tc.code, "%s", line + 5);
            } else if (strncmp(line, "field ", 6) == 0) {
                snprintf(tc.field, sizeof tc.field, "%s", line + 6);
            } else if (strcmp(line, "unchanged") == 0) {
                tc.unchanged = true;
            } else {
                fprintf(stderr, "%s:%u: unknown directive: %s\n", ent->d_name, lineno, line);
                failures++;
            }
        }
        fclose(f);
    }
    closedir(d);
    fprintf(stderr, "ran %d data-driven cases\n", ran);
    assert_true(ran > 0);
    assert_int_equal(failures, 0);
}


/* A listing of more than a page: with limit=1000 over 1,001 persons the
 * first page says there is a next one, and the next page holds the last. */
static void test_paging_past_the_largest_page(void **state)
{
    (void)state;
    char csv[400], key[128], path[128];
    snprintf(csv, sizeof csv, "%s/many.csv", H.dir);
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    fputs("rec_id,given_names,surname\n", f);
    for (int i = 0; i < 1001; i++)
        fprintf(f, "de-%d,Dawit,Haile%d\n", i, i);
    fclose(f);
    const char *tenant[] = {"avrr", "tenant", "add", "--db", H.db, "--code", "DE", "--name", "Germany", NULL};
    assert_int_equal(harness_avrr(tenant, NULL, 0), 0);
    const char *mk[] = {"avrr", "key", "create", "--db", H.db, "--tenant", "DE", "--role", "caseworker", NULL};
    assert_int_equal(harness_avrr(mk, key, sizeof key), 0);
    const char *imp[] = {"avrr", "import", "--db", H.db, "--tenant", "DE", "--quiet", csv, NULL};
    assert_int_equal(harness_avrr(imp, NULL, 0), 0);
    http_reply r;
    http(&H, "GET", "/v1/persons?limit=1000", key, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_object_array_length(json_object_object_get(r.json, "items")), 1000);
    int64_t next = jint(r.json, "next");
    assert_true(next > 0);
    http_reply_free(&r);
    snprintf(path, sizeof path, "/v1/persons?limit=1000&after=%lld", (long long)next);
    http(&H, "GET", path, key, NULL, 0, &r);
    assert_int_equal(json_object_array_length(json_object_object_get(r.json, "items")), 1);
    assert_int_equal(jint(r.json, "next"), -1); /* null: the last page */
    http_reply_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthz_needs_no_key),
        cmocka_unit_test(test_stop_signals_blocked_in_every_thread),
        cmocka_unit_test(test_keys_are_required),
        cmocka_unit_test(test_revoked_key_is_refused),
        cmocka_unit_test(test_registration_flow),
        cmocka_unit_test(test_other_tenant_gets_404),
        cmocka_unit_test(test_paging),
        cmocka_unit_test(test_paging_past_the_largest_page),
        cmocka_unit_test(test_roles_without_personal_data_access),
        cmocka_unit_test(test_unknown_route_and_method),
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_openapi_matches_routes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
