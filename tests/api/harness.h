/* harness.h: runs the real `avrr serve` on a free loopback port over a
 * fresh registry, and speaks HTTP to it with libcurl (as Redis's
 * start_server does for its tests). */
#ifndef AVRR_TEST_HARNESS_H
#define AVRR_TEST_HARNESS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct harness {
    char dir[256];
    char db[300];
    int pid;
    unsigned port;
    char key_nl[128];      /* NL caseworker */
    char key_be[128];      /* BE caseworker */
    char key_nl_stat[128]; /* NL statistician */
    char key_nl_prov[128]; /* NL provider */
    char key_nl_dpo[128];  /* NL data-protection officer */
} harness;

typedef struct http_reply {
    long status;
    char *body;        /* NUL-terminated */
    size_t len;
    json_object *json; /* parsed body, NULL when not JSON */
} http_reply;

/* Creates the registry with tenants NL and BE and their keys, then starts
 * the server. Aborts the test program on failure. */
void harness_start(harness *h);
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

/* Row count of a table, read through libavrr from the registry file. */
int64_t harness_count(harness *h, const char *table);

/* A string member at a dotted path ("error.field"), NULL when absent. */
const char *jstr(json_object *o, const char *path);
/* An integer member at a dotted path, -1 when absent. */
int64_t jint(json_object *o, const char *path);

#endif
