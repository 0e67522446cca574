/* harness.h: runs the real `avrr serve` on a free loopback port over a
 * fresh registry, and speaks HTTP to it with libcurl (as Redis's
 * start_server does for its tests).
 *
 * The registry is an SQLite file in the harness's folder, or, when
 * AVRR_TEST_BACKEND=postgresql (or AVRR_TEST_BACKEND is unset and
 * AVRR_TEST_PG_URI set), a fresh PostgreSQL database created through
 * AVRR_TEST_PG_URI and dropped by harness_stop(). The PostgreSQL variant
 * without AVRR_TEST_PG_URI exits 77 (ctest: skipped). */
#ifndef AVRR_TEST_HARNESS_H
#define AVRR_TEST_HARNESS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct harness {
    char dir[256];
    char db[512];          /* the registry: a file, or a PostgreSQL URI */
    char pg_db[64];        /* PostgreSQL: the harness's own database */
    int pid;
    unsigned port;
    char key_nl[128];      /* NL caseworker */
    char key_be[128];      /* BE caseworker */
    char key_nl_stat[128]; /* NL statistician */
    char key_nl_prov[128]; /* NL provider */
    char key_nl_dpo[128];  /* NL data-protection officer */
    bool tls;              /* the server said https:// */
    char cafile[300];      /* with tls: the CA file libcurl trusts */
    char local_addr[64];   /* when set, requests come from this local address */
} harness;

typedef struct http_reply {
    long status;
    char *body;        /* NUL-terminated */
    size_t len;
    json_object *json; /* parsed body, NULL when not JSON */
    char retry_after[32]; /* the Retry-After header, "" when none */
} http_reply;

/* Creates the registry with tenants NL and BE and their keys, then starts
 * the server without the per-key rate limit (the failed-authentication
 * throttle stays on). Aborts the test program on failure. */
void harness_start(harness *h);
/* harness_start() in two steps, for tests that need files in h->dir or
 * options for the server: harness_prepare() makes the folder, registry and
 * keys; harness_serve() starts `avrr serve` with the extra arguments (a
 * NULL-terminated list, or NULL) and waits for its "serving" line, http://
 * or https://. */
void harness_prepare(harness *h);
void harness_serve(harness *h, const char *const *extra);
/* Stops the server with SIGTERM, checks it exits 0, removes the folder. */
void harness_stop(harness *h);

/* Runs the avrr program with arguments (a shell-free argv) and returns its
 * exit status; stdout's last line goes to last_line when given. */
int harness_avrr(const char *const *argv, char *last_line, size_t cap);

/* Sends a request; body may be NULL; body_len < 0 means strlen(body). key
 * may be NULL (no Authorization header). */
void http(harness *h, const char *method, const char *path, const char *key,
          const char *body, long body_len, http_reply *r);
void http_reply_free(http_reply *r);

/* POSTs body to path and returns the "id" of the 201 answer; any other
 * answer fails the running test, printing the status and the body. */
int64_t harness_post_id(harness *h, const char *path, const char *key, const char *body);

/* Row count of a table, read through libavrr from the registry file. */
int64_t harness_count(harness *h, const char *table);

/* A string member at a dotted path ("error.field"), NULL when absent. */
const char *jstr(json_object *o, const char *path);
/* An integer member at a dotted path, -1 when absent. */
int64_t jint(json_object *o, const char *path);

#endif
