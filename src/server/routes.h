/* routes.h: the route table of the HTTP API and its metrics, private to the
 * server layer. server.c owns the connection; routes.c maps one complete
 * request to one service call and one response. */
#ifndef AVRR_ROUTES_H
#define AVRR_ROUTES_H

#include <json-c/json.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "avrr/service.h"
#include "server/limit.h"

struct MHD_Connection;

/* Latency buckets in seconds for the Prometheus histogram: from a cached
 * read (sub-millisecond) to a slow check under load. */
#define AVRR_METRIC_BUCKETS 12
/* Status codes counted one by one; anything else lands in "other". */
#define AVRR_METRIC_CODES 14
#define AVRR_MAX_ROUTES 48

typedef struct avrr_route_metrics {
    _Atomic uint64_t by_code[AVRR_METRIC_CODES + 1];
    _Atomic uint64_t buckets[AVRR_METRIC_BUCKETS + 1]; /* last is +Inf */
    _Atomic uint64_t sum_us;
} avrr_route_metrics;

typedef struct avrr_metrics {
    avrr_route_metrics routes[AVRR_MAX_ROUTES + 1]; /* last: unmatched */
} avrr_metrics;

typedef struct avrr_http_request {
    avrr_service *srv_svc;
    struct MHD_Connection *conn;
    const char *method;
    const char *url;
    const char *body; /* NUL-terminated; body_len bytes may hold NULs */
    size_t body_len;
    bool body_too_large;
    size_t body_max;
    avrr_metrics *metrics;
    const char *request_id;
    const char *web_root;     /* folder of the web pages, NULL: none */
    avrr__limits *limits; /* rate limits applied around authentication */
    bool actor_set;
    avrr_actor actor;
} avrr_http_request;

typedef struct avrr_http_response {
    unsigned status;
    json_object *json;        /* the body, or NULL when text is set */
    char *text;               /* a non-JSON body (metrics) */
    size_t text_len;
    const char *content_type; /* for text */
    bool text_json;           /* text is a JSON body (sent as json is) */
    const char *route;        /* the matched pattern, NULL when none */
    int route_index;          /* index into metrics, AVRR_MAX_ROUTES if none */
    unsigned retry_after;     /* seconds for a Retry-After header; 0: none */
} avrr_http_response;

void avrr_route_dispatch(avrr_http_request *req, avrr_http_response *resp);

/* Serves a web page under /app/ (and / itself) from web_root; false when
 * the request is not for a page (static.c). */
bool avrr__static_serve(const char *web_root, const char *method, const char *url,
                        avrr_http_response *resp);

void avrr_metrics_init(avrr_metrics *m);
void avrr_metrics_observe(avrr_metrics *m, int route_index, unsigned status, double secs);

/* The HTTP status for an avrr_err (server.c). */
unsigned avrr__http_status(avrr_err err);

#endif
