/* avrr/server.h: the HTTP/JSON API over the service layer (DESIGN.md
 * section 7). The server maps requests to service calls and results to
 * status codes; it holds no rule of its own.
 *
 * Thread-safety: a server runs its own threads; start and stop from one
 * thread. The service must outlive the server.
 */
#ifndef AVRR_SERVER_H
#define AVRR_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "avrr/service.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct avrr_server avrr_server;

typedef struct avrr_server_config {
    const char *listen;    /* "127.0.0.1:8080"; port 0 picks a free port */
    unsigned threads;      /* worker threads; 0 means 4 */
    size_t body_max;       /* request body cap in bytes; 0 means 1 MiB */
    int log_requests;      /* non-zero: one JSON line per request on stderr */
    const char *web_root;  /* folder served under /app/ (web pages); NULL: none */
    /* HTTPS: both PEM files, or neither for plain HTTP. The key file must
     * not be readable by group or others (AVRR_EINVALID otherwise). TLS 1.2
     * is the oldest version offered. */
    const char *tls_cert;  /* certificate, then any intermediates */
    const char *tls_key;   /* its private key */
    /* Requests per second per API key, on average; 0: no limit. Over it,
     * 429 with Retry-After. */
    unsigned rate_limit;
    unsigned rate_burst;   /* requests a key may make at once; 0 means 2 x rate_limit */
    /* Failed authentications (a key presented and refused) per client
     * address per minute; once spent, every authenticated request from that
     * address gets 429 until the minute has refilled. 0: no throttle. */
    unsigned auth_fail_limit;
} avrr_server_config;

/* Binds and starts serving. AVRR_EINVALID for a bad listen address or TLS
 * setting, AVRR_EIO when the files cannot be read or the daemon cannot
 * start (the message says why). */
avrr_err avrr_server_start(avrr_service *svc, const avrr_server_config *cfg,
                           avrr_server **out, avrr_error *e);
/* The port actually bound (useful with port 0). */
uint16_t avrr_server_port(const avrr_server *srv);
/* Non-zero when the server speaks HTTPS. */
int avrr_server_tls(const avrr_server *srv);
/* Stops accepting, finishes requests in flight, frees the server. */
void avrr_server_stop(avrr_server *srv);

/* The routes the server serves, as "METHOD /path/{param}" strings, in a
 * NULL-terminated static array; a test compares them to docs/openapi.yaml. */
const char *const *avrr_server_routes(void);

#ifdef __cplusplus
}
#endif
#endif
