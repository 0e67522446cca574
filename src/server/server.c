/* server.c: the HTTP/JSON API (DESIGN.md section 7) on libmicrohttpd.
 *
 * This file maps HTTP to service calls and back: routing, body collection
 * with a cap, authentication header, JSON in and out, status codes, metrics
 * and request logs. Every rule about the data lives in the service layer.
 *
 * libmicrohttpd calls the access handler several times per request: once
 * when the headers are in (we only set up the request context then, because
 * libmicrohttpd 0.9.75 closes the connection when a response is queued on
 * that first call), then once per chunk of body, then once more with no
 * data, when we dispatch and queue the response. The one exception is a
 * body announced larger than the cap: it is refused with 413 on the first
 * call, and closing that connection is what we want.
 *
 * With a certificate and key the daemon speaks HTTPS only (GnuTLS inside
 * libmicrohttpd); the rate limits (limit.h) are applied by routes.c around
 * authentication. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "avrr/server.h"
#include "server/routes.h"
#include "service/codec.h"

#define DEFAULT_THREADS 4
#define DEFAULT_BODY_MAX (1u << 20) /* 1 MiB: a person with 32 aliases is ~40 KiB */
/* A client that sends nothing for this long is dropped (slow-body attacks). */
#define CONNECTION_TIMEOUT_S 30
#define SERVER_MAGIC 0x5e7e75e7u
/* A certificate chain of leaf and two intermediates is about 6 KiB of PEM;
 * 64 KiB leaves room for long chains and stops a wrong file early. */
#define TLS_PEM_MAX (64u << 10)
/* TLS 1.3 and 1.2 only, with GnuTLS's NORMAL ciphers: older versions have
 * known weaknesses and every supported client speaks 1.2 (BSI TR-02102-2,
 * ENISA). */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
/* Failed authentications are counted per minute (auth_fail_limit). */
#define AUTH_FAIL_WINDOW_S 60.0

struct avrr_server {
    unsigned magic;
    struct MHD_Daemon *daemon;
    avrr_service *svc;
    size_t body_max;
    int log_requests;
    char *web_root;
    uint16_t port;
    avrr_metrics metrics;
    _Atomic uint64_t request_seq;
    uint32_t boot_id; /* random per start, so request ids differ across restarts */
    char *tls_cert, *tls_key; /* PEM, kept until the daemon stops */
    size_t tls_key_len;
    avrr__limits limits;
    /* The first message libmicrohttpd logs while starting, for the error. */
    atomic_flag start_error_taken;
    char start_error[256];
};

/* Per-request state, allocated on the first handler call. */
typedef struct request {
    char *body;
    size_t len, cap;
    bool too_large;
    struct timespec start;
} request;

static double elapsed_s(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Appends a chunk of body, up to the cap; beyond it the request is marked
 * too large and the rest is discarded. */
static bool body_append(avrr_server *srv, request *r, const char *data, size_t n)
{
    if (r->too_large)
        return true;
    if (r->len + n > srv->body_max) {
        r->too_large = true;
        return true;
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + n + 1)
            cap *= 2;
        char *p = avrr_realloc(r->body, cap);
        if (!p)
            return false;
        r->body = p;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return true;
}

/* Sends a JSON body: body, or when given the text of one (json_text). */
static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status,
                                 json_object *body, const char *json_text,
                                 const char *request_id, unsigned retry_after)
{
    const char *text = "{\"error\":{\"code\":\"out_of_memory\",\"field\":null,"
                       "\"message\":\"out of memory\"}}";
    size_t len;
    if (json_text) {
        text = json_text;
    } else if (body) {
        text = json_object_to_json_string_length(
            body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    } else {
        status = MHD_HTTP_SERVICE_UNAVAILABLE;
    }
    if (!text) {
        status = MHD_HTTP_SERVICE_UNAVAILABLE;
        text = "{}";
    }
    len = strlen(text);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (request_id)
        MHD_add_response_header(resp, "X-Request-Id", request_id);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (retry_after) {
        char secs[16];
        snprintf(secs, sizeof secs, "%u", retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, secs);
    }
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status,
                                 const char *ctype, char *text, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    /* The pages load scripts, styles and data from this server only; the
     * API key lives in the page's sessionStorage, so no third-party script
     * may ever run next to it. */
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Percent-decoding of paths and query strings, in place, except that "%00"
 * stays as it is: a decoded NUL would silently cut "1%00" down to "1" (the
 * C strings end there); kept literal, it makes the id or code invalid. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    size_t r = 0, w = 0;
    for (; s[r]; r++, w++) {
        int hi, lo;
        if (s[r] == '%' && (hi = hexval(s[r + 1])) >= 0 && (lo = hexval(s[r + 2])) >= 0 &&
            (hi | lo) != 0) {
            s[w] = (char)(hi * 16 + lo);
            r += 2;
        } else {
            s[w] = s[r];
        }
    }
    s[w] = '\0';
    return w;
}

unsigned avrr__http_status(avrr_err err)
{
    switch (err) {
    case AVRR_OK: return MHD_HTTP_OK;
    case AVRR_EINVALID: return MHD_HTTP_BAD_REQUEST;
    case AVRR_ENOTFOUND: return MHD_HTTP_NOT_FOUND;
    case AVRR_ECONFLICT:
    case AVRR_EEXISTS: return MHD_HTTP_CONFLICT;
    case AVRR_EUNAUTHORIZED: return MHD_HTTP_UNAUTHORIZED;
    case AVRR_EFORBIDDEN: return MHD_HTTP_FORBIDDEN;
    case AVRR_ETOOLARGE: return MHD_HTTP_CONTENT_TOO_LARGE;
    case AVRR_ELIMIT: return MHD_HTTP_TOO_MANY_REQUESTS;
    case AVRR_ENOMEM: return MHD_HTTP_SERVICE_UNAVAILABLE;
    default: return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

static void log_request(const avrr_server *srv, const char *method, const char *url,
                        const char *route, unsigned status, double secs,
                        const char *request_id, const char *tenant)
{
    if (!srv->log_requests)
        return;
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_object *o = json_object_new_object();
    if (!o)
        return;
    json_object_object_add(o, "ts", json_object_new_string(ts));
    json_object_object_add(o, "level", json_object_new_string(status >= 500 ? "error" : "info"));
    json_object_object_add(o, "event", json_object_new_string("request"));
    json_object_object_add(o, "request_id", json_object_new_string(request_id));
    json_object_object_add(o, "method", json_object_new_string(method));
    /* The raw path holds only numeric ids; cap it so a hostile URL cannot
     * flood the log. */
    json_object_object_add(o, "path", json_object_new_string_len(url, (int)strnlen(url, 200)));
    json_object_object_add(o, "route", route ? json_object_new_string(route) : NULL);
    json_object_object_add(o, "status", json_object_new_int((int)status));
    json_object_object_add(o, "duration_ms", json_object_new_double(secs * 1000.0));
    if (tenant && tenant[0])
        json_object_object_add(o, "tenant", json_object_new_string(tenant));
    fprintf(stderr, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version,
                              const char *upload_data, size_t *upload_data_size,
                              void **con_cls)
{
    avrr_server *srv = cls;
    request *r = *con_cls;
    (void)version;

    if (!r) {
        r = avrr_calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        clock_gettime(CLOCK_MONOTONIC, &r->start);
        *con_cls = r;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end;
            unsigned long long n = strtoull(cl, &end, 10);
            if (end != cl && *end == '\0' && n > srv->body_max) {
                r->too_large = true;
                avrr_error e;
                avrr_error_set(&e, AVRR_ETOOLARGE, "body", "request body over %zu bytes",
                               srv->body_max);
                json_object *o = avrr_codec_error_to_json(&e);
                enum MHD_Result ret = send_json(conn, MHD_HTTP_CONTENT_TOO_LARGE, o, NULL, NULL, 0);
                json_object_put(o);
                return ret;
            }
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!body_append(srv, r, upload_data, *upload_data_size))
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }

    char request_id[40];
    uint64_t seq = atomic_fetch_add(&srv->request_seq, 1) + 1;
    snprintf(request_id, sizeof request_id, "%08" PRIx32 "-%" PRIu64, srv->boot_id, seq);

    avrr_http_request hr = {
        .srv_svc = srv->svc,
        .conn = conn,
        .method = method,
        .url = url,
        .body = r->body ? r->body : "",
        .body_len = r->len,
        .body_too_large = r->too_large,
        .body_max = srv->body_max,
        .metrics = &srv->metrics,
        .request_id = request_id,
        .limits = &srv->limits,
        .web_root = srv->web_root,
    };
    avrr_http_response resp = {0};
    avrr_route_dispatch(&hr, &resp);

    enum MHD_Result ret;
    if (resp.text && resp.text_json)
        ret = send_json(conn, resp.status, NULL, resp.text, request_id, resp.retry_after);
    else if (resp.text)
        ret = send_text(conn, resp.status, resp.content_type, resp.text, resp.text_len);
    else
        ret = send_json(conn, resp.status, resp.json, NULL, request_id, resp.retry_after);
    double secs = elapsed_s(&r->start);
    avrr_metrics_observe(&srv->metrics, resp.route_index, resp.status, secs);
    log_request(srv, method, url, resp.route, resp.status, secs, request_id,
                hr.actor_set ? hr.actor.tenant : NULL);
    json_object_put(resp.json);
    avrr_free(resp.text);
    return ret;
}

static void request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    request *r = *con_cls;
    if (r) {
        avrr_free(r->body);
        avrr_free(r);
        *con_cls = NULL;
    }
}

/* Splits "host:port" or "[v6]:port" and resolves it numerically. */
static avrr_err parse_listen(const char *listen, struct sockaddr_storage *ss,
                             socklen_t *len, avrr_error *e)
{
    char host[128];
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || (size_t)(colon - listen) >= sizeof host)
        return avrr_error_set(e, AVRR_EINVALID, "listen",
                              "listen must be HOST:PORT, e.g. 127.0.0.1:8080 (got '%.60s')", listen);
    const char *h = listen;
    size_t hn = (size_t)(colon - listen);
    if (h[0] == '[' && hn >= 2 && h[hn - 1] == ']') {
        h++;
        hn -= 2;
    }
    memcpy(host, h, hn);
    host[hn] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end || port < 0 || port > 65535)
        return avrr_error_set(e, AVRR_EINVALID, "listen", "invalid port in '%.60s'", listen);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host, colon + 1, &hints, &ai);
    if (rc != 0 || !ai)
        return avrr_error_set(e, AVRR_EINVALID, "listen", "cannot resolve '%s': %s", host,
                              gai_strerror(rc));
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return AVRR_OK;
}

/* Reads a PEM file whole into a NUL-terminated buffer. A private key must
 * be readable by its owner only, as the audit key is (avrr_audit_key_load):
 * a key others can read is a key others may have copied. */
static avrr_err read_pem(const char *path, const char *field, bool secret, char **out,
                         size_t *out_len, avrr_error *e)
{
    avrr_err result = AVRR_OK;
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    *out = NULL;
    /* Symbolic links are followed (certbot's live/ folder is made of them);
     * the mode checked is the target's. */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return avrr_error_set(e, AVRR_EIO, field, "cannot open %s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        result = avrr_error_set(e, AVRR_EINVALID, field, "%s is not a regular file", path);
        goto out;
    }
    if (secret && (st.st_mode & 077) != 0) {
        result = avrr_error_set(e, AVRR_EINVALID, field,
                                "%s is readable by group or others: chmod 600 it", path);
        goto out;
    }
    if (st.st_size <= 0 || (uint64_t)st.st_size > TLS_PEM_MAX) {
        result = avrr_error_set(e, AVRR_EINVALID, field, "%s is empty or over %u bytes: not PEM",
                                path, TLS_PEM_MAX);
        goto out;
    }
    buf = avrr_malloc((size_t)st.st_size + 1);
    if (!buf) {
        result = avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
        goto out;
    }
    while (len < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            result = avrr_error_set(e, AVRR_EIO, field, "cannot read %s: %s", path,
                                    n < 0 ? strerror(errno) : "file shrank");
            goto out;
        }
        len += (size_t)n;
    }
    buf[len] = '\0';
    if (!strstr(buf, "-----BEGIN ")) {
        result = avrr_error_set(e, AVRR_EINVALID, field, "%s is not a PEM file", path);
        goto out;
    }
    *out = buf;
    *out_len = len;
    buf = NULL;
out:
    if (buf) {
        sodium_memzero(buf, (size_t)st.st_size + 1);
        avrr_free(buf);
    }
    close(fd);
    return result;
}

/* libmicrohttpd's messages (TLS handshake failures, socket errors) as JSON
 * log lines; the first one while starting also goes into the error that
 * avrr_server_start() returns, since it says why the start failed. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    avrr_server *srv = cls;
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    if (!atomic_flag_test_and_set(&srv->start_error_taken))
        snprintf(srv->start_error, sizeof srv->start_error, "%s", msg);
    json_object *o = json_object_new_object();
    if (!o)
        return;
    json_object_object_add(o, "level", json_object_new_string("error"));
    json_object_object_add(o, "event", json_object_new_string("http"));
    json_object_object_add(o, "message", json_object_new_string(msg));
    fprintf(stderr, "%s\n",
            json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                  JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

static void server_free(avrr_server *srv)
{
    if (!srv)
        return;
    avrr_free(srv->tls_cert);
    if (srv->tls_key) {
        sodium_memzero(srv->tls_key, srv->tls_key_len);
        avrr_free(srv->tls_key);
    }
    avrr__limiter_free(srv->limits.per_key);
    avrr__limiter_free(srv->limits.auth_fail);
    avrr_free(srv->web_root);
    avrr_free(srv);
}

static avrr_err setup_limits(avrr_server *srv, const avrr_server_config *cfg, avrr_error *e)
{
    avrr_err result = AVRR_OK;
    if (cfg->rate_limit) {
        unsigned burst = cfg->rate_burst ? cfg->rate_burst : 2 * cfg->rate_limit;
        result = avrr__limiter_new(cfg->rate_limit, burst, &srv->limits.per_key);
    }
    if (result == AVRR_OK && cfg->auth_fail_limit)
        result = avrr__limiter_new(cfg->auth_fail_limit / AUTH_FAIL_WINDOW_S,
                                   cfg->auth_fail_limit, &srv->limits.auth_fail);
    if (result != AVRR_OK)
        avrr_error_set(e, result, NULL, "cannot set up the rate limits: %s",
                       avrr_strerror(result));
    return result;
}

avrr_err avrr_server_start(avrr_service *svc, const avrr_server_config *cfg,
                           avrr_server **out, avrr_error *e)
{
    avrr_err result = AVRR_OK;
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    avrr_server *srv = NULL;
    const char *listen = cfg->listen ? cfg->listen : "127.0.0.1:8080";

    *out = NULL;
    result = parse_listen(listen, &ss, &sslen, e);
    if (result != AVRR_OK)
        return result;
    if (!cfg->tls_cert != !cfg->tls_key)
        return avrr_error_set(e, AVRR_EINVALID, cfg->tls_cert ? "tls_key" : "tls_cert",
                              "tls_cert and tls_key go together: set both or neither");
    if (cfg->tls_cert && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return avrr_error_set(e, AVRR_EINVALID, "tls_cert",
                              "this libmicrohttpd was built without TLS support");
    srv = avrr_calloc(1, sizeof *srv);
    if (!srv)
        return avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
    atomic_flag_clear(&srv->start_error_taken);
    srv->svc = svc;
    srv->body_max = cfg->body_max ? cfg->body_max : DEFAULT_BODY_MAX;
    srv->log_requests = cfg->log_requests;
    if (cfg->web_root && !(srv->web_root = avrr_strdup(cfg->web_root))) {
        result = avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
        goto out;
    }
    srv->boot_id = (uint32_t)time(NULL) ^ (uint32_t)(uintptr_t)srv;
    avrr_metrics_init(&srv->metrics);
    avrr_server_routes(); /* fills the route names before any thread reads them */
    result = setup_limits(srv, cfg, e);
    if (result != AVRR_OK)
        goto out;

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    size_t cert_len = 0;
    struct MHD_OptionItem tls_opts[4] = {{MHD_OPTION_END, 0, NULL}};
    if (cfg->tls_cert) {
        result = read_pem(cfg->tls_key, "tls_key", true, &srv->tls_key, &srv->tls_key_len, e);
        if (result == AVRR_OK)
            result = read_pem(cfg->tls_cert, "tls_cert", false, &srv->tls_cert, &cert_len, e);
        if (result != AVRR_OK)
            goto out;
        flags |= MHD_USE_TLS;
        tls_opts[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls_key};
        tls_opts[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, srv->tls_cert};
        tls_opts[2] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
                                              (void *)TLS_PRIORITIES};
        tls_opts[3] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    }
    unsigned threads = cfg->threads ? cfg->threads : DEFAULT_THREADS;
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, handle, srv,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, request_done, srv,
        MHD_OPTION_ARRAY, tls_opts,
        MHD_OPTION_END);
    if (!srv->daemon) {
        if (cfg->tls_cert)
            result = avrr_error_set(e, AVRR_EIO, "tls_cert",
                                    "cannot serve HTTPS on %s with %s and %s: %s", listen,
                                    cfg->tls_cert, cfg->tls_key,
                                    srv->start_error[0] ? srv->start_error
                                                        : "address in use or not allowed?");
        else
            result = avrr_error_set(e, AVRR_EIO, "listen",
                                    "cannot listen on %s (address in use or not allowed?)",
                                    listen);
        goto out;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : 0;
    srv->magic = SERVER_MAGIC;
    *out = srv;
    srv = NULL;
out:
    server_free(srv);
    return result;
}

uint16_t avrr_server_port(const avrr_server *srv)
{
    return srv->port;
}

int avrr_server_tls(const avrr_server *srv)
{
    return srv->tls_cert != NULL;
}

void avrr_server_stop(avrr_server *srv)
{
    if (!srv || srv->magic != SERVER_MAGIC)
        return;
    MHD_stop_daemon(srv->daemon);
    srv->magic = 0;
    server_free(srv);
}
