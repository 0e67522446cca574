/* test_hostile.c: hostile clients that the data-driven cases cannot express
 * (issue 8 item 4), spoken over raw sockets to the real server: a body that
 * stalls half-way, headers that never end, a 100 KB request line, a
 * Content-Length longer than the body, 200 connections opened and dropped.
 * Each must end in a 4xx or a closed connection, never a crash, a hang of
 * other clients or a stored row: after each, a fresh GET /healthz must be
 * answered quickly and the server process must be alive. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static harness H;

/* How long a fresh /healthz may take while other connections misbehave.
 * The server answers in well under a millisecond; under valgrind
 * (AVRR_SERVER_WRAPPER) everything is some 50 times slower. */
static int healthz_budget_ms(void)
{
    return getenv("AVRR_SERVER_WRAPPER") ? 20000 : 3000;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A blocking TCP connection to the server. */
static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)H.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* Sends everything; false when the server closed the connection first
 * (which is an acceptable answer to a hostile request). */
static bool send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Reads until the server closes, the buffer is full or timeout_ms pass
 * without data. Returns the bytes read (NUL-terminated in buf). */
static size_t recv_some(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t got = 0;
    while (got + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc = poll(&p, 1, timeout_ms);
        if (rc <= 0)
            break;
        ssize_t r = recv(fd, buf + got, cap - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
        /* One response is enough; stop at the end of its headers and a
         * short body rather than waiting for the server to close. */
        if (strstr(buf, "\r\n\r\n") && got > 12) {
            buf[got] = '\0';
            const char *cl = strstr(buf, "Content-Length: ");
            const char *end = strstr(buf, "\r\n\r\n") + 4;
            if (cl && (size_t)(end - buf) + (size_t)strtoul(cl + 16, NULL, 10) <= got)
                break;
        }
    }
    buf[got] = '\0';
    return got;
}

/* The status code of a response in buf, 0 when there is none. */
static int status_of(const char *buf)
{
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        return 0;
    return status;
}

/* True while the server process runs. */
static bool server_alive(void)
{
    int st;
    return waitpid(H.pid, &st, WNOHANG) == 0 && kill(H.pid, 0) == 0;
}

/* A fresh connection asks for /healthz and must get 200 within the budget. */
static void healthz_answers_quickly(const char *when)
{
    double t0 = now_ms();
    int fd = dial();
    const char req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    assert_true(send_all(fd, req, sizeof req - 1));
    char buf[4096];
    recv_some(fd, buf, sizeof buf, healthz_budget_ms());
    close(fd);
    double ms = now_ms() - t0;
    if (status_of(buf) != 200 || ms > healthz_budget_ms()) {
        fprintf(stderr, "%s: /healthz got %d after %.0f ms: %.200s\n", when, status_of(buf), ms,
                buf);
        fail();
    }
    assert_true(server_alive());
}

/* A hostile request must end in a 4xx or a closed connection, never a 2xx
 * or a 5xx. status 0 means closed without an answer. */
static void assert_refused(int status, const char *what)
{
    /* HOSTILE_VERBOSE=1 lists what the server answered to each request. */
    if (getenv("HOSTILE_VERBOSE"))
        fprintf(stderr, "hostile: %s -> %d\n", what, status);
    if (status != 0 && (status < 400 || status > 499)) {
        fprintf(stderr, "%s: answered %d\n", what, status);
        fail();
    }
}

static const char *const tables[] = {"persons", "identities", "cases", "assistance"};
#define N_TABLES (sizeof tables / sizeof tables[0])

static void counts(int64_t out[N_TABLES])
{
    for (size_t i = 0; i < N_TABLES; i++)
        out[i] = harness_count(&H, tables[i]);
}

static void assert_unchanged(const int64_t before[N_TABLES])
{
    int64_t after[N_TABLES];
    counts(after);
    for (size_t i = 0; i < N_TABLES; i++) {
        if (after[i] != before[i]) {
            fprintf(stderr, "%s changed from %lld to %lld rows\n", tables[i],
                    (long long)before[i], (long long)after[i]);
            fail();
        }
    }
}

/* The start of an authenticated POST /v1/persons announcing `length` bytes. */
static int post_head(char *buf, size_t cap, const char *path, unsigned long length)
{
    return snprintf(buf, cap,
                    "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                    "Content-Type: application/json\r\nContent-Length: %lu\r\n\r\n",
                    path, H.key_nl, length);
}

static const char BODY[] = "{\"identities\":[{\"given_names\":\"Slow\",\"surname\":\"Loris\"}]}";

/* ---- tests ------------------------------------------------------------------ */

/* Eight clients (twice the worker threads) send headers and half a body, then
 * stall: nobody else may wait for them, and what they sent is never stored. */
static void test_slow_body_does_not_block_others(void **state)
{
    (void)state;
    int64_t before[N_TABLES];
    counts(before);
    int fds[8];
    char head[512];
    int hn = post_head(head, sizeof head, "/v1/persons", sizeof BODY - 1);
    for (size_t i = 0; i < 8; i++) {
        fds[i] = dial();
        assert_true(send_all(fds[i], head, (size_t)hn));
        assert_true(send_all(fds[i], BODY, 20));
    }
    healthz_answers_quickly("8 stalled bodies");
    /* A normal write goes through meanwhile (and is then removed from the
     * expected counts). */
    http_reply r;
    http(&H, "POST", "/v1/persons", H.key_nl, BODY, -1, &r);
    assert_int_equal(r.status, 201);
    http_reply_free(&r);
    before[0]++;
    before[1]++;
    for (size_t i = 0; i < 8; i++)
        close(fds[i]);
    healthz_answers_quickly("after the stalled bodies went away");
    assert_unchanged(before);
}

/* Headers that never end: first a stall before the blank line, then a
 * header line that grows without end. The server refuses (431/413/400) or
 * closes when its per-connection memory is spent. */
static void test_headers_without_end(void **state)
{
    (void)state;
    int stalled = dial();
    const char part[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Stall: yes\r\n";
    assert_true(send_all(stalled, part, sizeof part - 1));
    healthz_answers_quickly("headers stalled before their end");

    int fd = dial();
    const char start[] = "GET /v1/persons HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Endless: ";
    bool open = send_all(fd, start, sizeof start - 1);
    char chunk[4096];
    memset(chunk, 'a', sizeof chunk);
    /* 4 MiB at most: far past any header limit. */
    for (size_t sent = 0; open && sent < (4u << 20); sent += sizeof chunk)
        open = send_all(fd, chunk, sizeof chunk);
    char buf[4096];
    recv_some(fd, buf, sizeof buf, healthz_budget_ms());
    assert_refused(status_of(buf), "an endless header line");
    close(fd);

    /* Many short header lines: the same limit must hold. */
    fd = dial();
    open = send_all(fd, start, sizeof start - 1) && send_all(fd, "x\r\n", 3);
    char line[64];
    for (unsigned i = 0; open && i < 200000; i++) {
        int n = snprintf(line, sizeof line, "X-H%u: %u\r\n", i, i);
        open = send_all(fd, line, (size_t)n);
    }
    recv_some(fd, buf, sizeof buf, healthz_budget_ms());
    assert_refused(status_of(buf), "200,000 header lines");
    close(fd);
    close(stalled);
    healthz_answers_quickly("after endless headers");
}

/* A request line of 100 KB: refused (414 or another 4xx) or closed. */
static void test_huge_request_line(void **state)
{
    (void)state;
    size_t n = 100 * 1024;
    char *req = malloc(n + 64);
    assert_non_null(req);
    size_t at = (size_t)snprintf(req, 64, "GET /v1/persons/");
    memset(req + at, '1', n);
    at += n;
    at += (size_t)snprintf(req + at, 64, " HTTP/1.1\r\nHost: x\r\n\r\n");
    int fd = dial();
    send_all(fd, req, at);
    char buf[4096];
    recv_some(fd, buf, sizeof buf, healthz_budget_ms());
    assert_refused(status_of(buf), "a 100 KB request line");
    close(fd);

    /* The same length of query string garbage. */
    at = (size_t)snprintf(req, 64, "GET /v1/persons?");
    for (size_t i = 0; i < n; i++)
        req[at + i] = "%&=;'\"<>"[i % 8];
    at += n;
    at += (size_t)snprintf(req + at, 64, " HTTP/1.1\r\nHost: x\r\n\r\n");
    fd = dial();
    send_all(fd, req, at);
    recv_some(fd, buf, sizeof buf, healthz_budget_ms());
    assert_refused(status_of(buf), "a 100 KB query string");
    close(fd);
    free(req);
    healthz_answers_quickly("after a 100 KB request line");
}

/* Content-Length says more than is sent, then the client half-closes: the
 * request must not be dispatched with what arrived, nothing is stored. Then
 * lengths that are not numbers, and a body over the cap. */
static void test_content_length_lies(void **state)
{
    (void)state;
    int64_t before[N_TABLES];
    counts(before);
    char head[512], buf[4096];

    int fd = dial();
    int hn = post_head(head, sizeof head, "/v1/persons", 100000);
    assert_true(send_all(fd, head, (size_t)hn));
    assert_true(send_all(fd, BODY, sizeof BODY - 1));
    healthz_answers_quickly("a Content-Length longer than the body, still open");
    shutdown(fd, SHUT_WR);
    recv_some(fd, buf, sizeof buf, healthz_budget_ms());
    assert_refused(status_of(buf), "a Content-Length longer than the body");
    close(fd);

    static const char *const lengths[] = {"-1", "abc", "18446744073709551616", "1e3",
                                          "0x10", "99999999999999999999999", "10, 20"};
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        fd = dial();
        int n = snprintf(head, sizeof head,
                         "POST /v1/persons HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                         "Content-Length: %s\r\n\r\n%s",
                         H.key_nl, lengths[i], BODY);
        send_all(fd, head, (size_t)n);
        shutdown(fd, SHUT_WR);
        recv_some(fd, buf, sizeof buf, healthz_budget_ms());
        char what[96];
        snprintf(what, sizeof what, "Content-Length: %s", lengths[i]);
        assert_refused(status_of(buf), what);
        close(fd);
    }

    /* Two lengths, and a length with chunked encoding (request smuggling). */
    static const char *const conflicting[] = {
        "Content-Length: 5\r\nContent-Length: 63\r\n",
        "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    };
    for (size_t i = 0; i < 2; i++) {
        fd = dial();
        int n = snprintf(head, sizeof head,
                         "POST /v1/persons HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                         "%s\r\n%s",
                         H.key_nl, conflicting[i], BODY);
        send_all(fd, head, (size_t)n);
        shutdown(fd, SHUT_WR);
        recv_some(fd, buf, sizeof buf, healthz_budget_ms());
        assert_refused(status_of(buf), conflicting[i]);
        close(fd);
    }

    /* A body announced over the 1 MiB cap: 413 at once. */
    fd = dial();
    hn = post_head(head, sizeof head, "/v1/persons", 2ul << 20);
    assert_true(send_all(fd, head, (size_t)hn));
    recv_some(fd, buf, sizeof buf, healthz_budget_ms());
    assert_int_equal(status_of(buf), 413);
    close(fd);

    healthz_answers_quickly("after lying lengths");
    assert_unchanged(before);
}

/* Paths the HTTP client libraries would have normalised, sent raw. */
static void test_raw_paths(void **state)
{
    (void)state;
    static const char *const paths[] = {
        "/v1/persons/../../etc/passwd", "/../../../../etc/passwd", "/v1/persons/%2e%2e/%2e%2e",
        "/app/../../etc/passwd",        "/app/..%2f..%2fetc/passwd", "//etc/passwd",
        "/v1/persons/1/../2",           "*",                         "http://evil.example/v1/persons",
        "/v1/persons\\..\\..\\etc",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        char req[512], buf[4096];
        int n = snprintf(req, sizeof req,
                         "GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                         "Connection: close\r\n\r\n",
                         paths[i], H.key_nl);
        int fd = dial();
        send_all(fd, req, (size_t)n);
        recv_some(fd, buf, sizeof buf, healthz_budget_ms());
        close(fd);
        assert_refused(status_of(buf), paths[i]);
        if (strstr(buf, "root:"))
            fail_msg("%s served a system file", paths[i]);
    }
    healthz_answers_quickly("after raw paths");
}

/* 200 connections at once, some silent, some mid-request, all dropped
 * abruptly (RST): the server keeps serving. */
static void test_abandoned_connections(void **state)
{
    (void)state;
    int64_t before[N_TABLES];
    counts(before);
    enum { N = 200 };
    int fds[N];
    char head[512];
    int hn = post_head(head, sizeof head, "/v1/persons", sizeof BODY - 1);
    for (int i = 0; i < N; i++) {
        fds[i] = dial();
        if (i % 3 == 1)
            send_all(fds[i], head, (size_t)hn / 2);
        else if (i % 3 == 2)
            send_all(fds[i], head, (size_t)hn);
    }
    healthz_answers_quickly("200 open connections");
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    for (int i = 0; i < N; i++) {
        setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(fds[i]);
    }
    healthz_answers_quickly("200 connections reset");
    /* And again, closed politely this time. */
    for (int i = 0; i < N; i++) {
        fds[i] = dial();
        send_all(fds[i], "GET /heal", 9);
    }
    for (int i = 0; i < N; i++)
        close(fds[i]);
    healthz_answers_quickly("200 connections closed");
    assert_unchanged(before);
}

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    harness_start(&H);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_true(server_alive());
    harness_stop(&H); /* also checks that the server exits 0 */
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_body_does_not_block_others),
        cmocka_unit_test(test_headers_without_end),
        cmocka_unit_test(test_huge_request_line),
        cmocka_unit_test(test_content_length_lies),
        cmocka_unit_test(test_raw_paths),
        cmocka_unit_test(test_abandoned_connections),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
