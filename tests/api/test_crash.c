/* test_crash.c: crash consistency (issue 8, item 2).
 *
 * 1. The server killed with SIGKILL at a random moment, many times, while
 *    two clients (tenants NL and BE) stream writes: registrations with
 *    aliases, cases, assistance and status changes. Every request answered
 *    2xx is recorded with its id; after each kill the registry must pass
 *    `avrr audit verify` and SQLite's integrity check, and once the server
 *    is restarted every acknowledged write must be there with the same
 *    content, and the one request each client had in flight must be there
 *    entirely or not at all (a person with all its identities or none, no
 *    record nobody asked for). The end compares the whole registry with the
 *    clients' model.
 * 2. `avrr import` of a large CSV file killed at random moments: the file
 *    is one transaction, so each kill leaves every row or none, and the
 *    registry still opens and verifies.
 *
 * The random choices come from one seed, printed first (AVRR_CRASH_SEED
 * replays it; thread timing still varies). AVRR_CRASH_ROUNDS,
 * AVRR_CRASH_IMPORT_ROUNDS and AVRR_CRASH_IMPORT_ROWS override the sizes;
 * an ASan build (or ASAN_OPTIONS in the environment) runs fewer rounds and
 * a smaller import to stay within about a minute.
 *
 * This file does not use harness.c's functions: it restarts the server
 * itself, and speaks HTTP from several threads with its own libcurl
 * handles. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "avrr/service.h"

#if defined(__SANITIZE_ADDRESS__)
#define CRASH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CRASH_ASAN 1
#endif
#endif
#ifndef CRASH_ASAN
#define CRASH_ASAN 0
#endif

#define CLIENTS 2
#define MAX_IDENTITIES 4

/* ---- small utilities -------------------------------------------------------- */

static uint64_t g_seed;

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint32_t rnd(uint64_t *s, uint32_t n) { return (uint32_t)(splitmix(s) % n); }

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(double ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {(time_t)(ms / 1000), (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static long env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : dflt;
}

static bool under_asan(void)
{
    return CRASH_ASAN || getenv("ASAN_OPTIONS") != NULL;
}

static const char *avrr_bin(void)
{
    const char *b = getenv("AVRR_BIN");
    if (!b) {
        fprintf(stderr, "test_crash: AVRR_BIN is not set\n");
        exit(1);
    }
    return b;
}

/* Runs avrr with argv (argv[0] is ignored); stdout's last line to `last`
 * when given, stderr passes through. Returns the exit status, -1 when it
 * did not exit normally. */
static int run_avrr(const char *const *argv, char *last, size_t cap)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(avrr_bin(), (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[1024];
    if (last && cap)
        last[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (last && line[0])
            snprintf(last, cap, "%s", line);
    }
    fclose(f);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void must_avrr(const char *const *argv, char *last, size_t cap)
{
    int rc = run_avrr(argv, last, cap);
    if (rc != 0) {
        fprintf(stderr, "test_crash: avrr %s %s failed (%d)\n", argv[1], argv[2] ? argv[2] : "",
                rc);
        fail();
    }
}

static void remove_dir(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "test_crash: could not remove %s\n", dir);
}

/* A fresh registry in a new folder with the given tenants. */
static void make_registry(char *dir, size_t dcap, char *db, size_t cap,
                          const char *const *tenants)
{
    snprintf(dir, dcap, "/tmp/avrr-crash-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(db, cap, "%s/registry.db", dir);
    const char *init[] = {"avrr", "init", "--db", db, NULL};
    must_avrr(init, NULL, 0);
    for (size_t i = 0; tenants[i]; i++) {
        const char *add[] = {"avrr", "tenant", "add", "--db", db, "--code", tenants[i],
                             "--name", tenants[i], NULL};
        must_avrr(add, NULL, 0);
    }
}

/* `avrr audit verify`, which must exit 0; its last line goes to `line`. */
static void audit_verify(const char *db, const char *when)
{
    char line[512];
    const char *argv[] = {"avrr", "audit", "verify", "--db", db, NULL};
    int rc = run_avrr(argv, line, sizeof line);
    if (rc != 0) {
        fprintf(stderr, "test_crash: audit verify failed (%d) %s: %s\n", rc, when, line);
        fail();
    }
}

/* SQLite's own check of the file, and a count, straight through SQLite
 * (the server is down when these run). */
static void integrity_check(const char *db, const char *when)
{
    sqlite3 *s = NULL;
    assert_int_equal(sqlite3_open_v2(db, &s, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(s, 5000);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(s, "PRAGMA quick_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const char *r = (const char *)sqlite3_column_text(st, 0);
    if (!r || strcmp(r, "ok") != 0) {
        fprintf(stderr, "test_crash: quick_check %s: %s\n", when, r ? r : "(null)");
        fail();
    }
    sqlite3_finalize(st);
    sqlite3_close(s);
}

static int64_t sql_count(const char *db, const char *sql)
{
    sqlite3 *s = NULL;
    int64_t n = -1;
    if (sqlite3_open_v2(db, &s, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(s, 5000);
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(s, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(s);
    return n;
}

/* ---- the server ------------------------------------------------------------- */

typedef struct server {
    char db[300];
    char log[300]; /* the server's stderr, every run appended */
    pid_t pid;
    unsigned port;
} server;

static void server_start(server *s)
{
    const char *argv[] = {"avrr", "serve", "--db", s->db, "--listen", "127.0.0.1:0",
                          "--quiet", "--rate-limit", "0", "--threads", "4", NULL};
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        int log = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (log >= 0)
            dup2(log, 2);
        execv(avrr_bin(), (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    s->pid = pid;
    FILE *f = fdopen(fds[0], "r");
    char line[512] = "";
    if (!fgets(line, sizeof line, f) ||
        sscanf(line, "avrr: serving http://127.0.0.1:%u/", &s->port) != 1) {
        fprintf(stderr, "test_crash: server did not start: '%s'\n", line);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fclose(f);
        fail();
    }
    fclose(f);
}

/* The server's stderr holds no sanitizer report nor error; shown when it
 * does. */
static void server_log_check(const server *s)
{
    FILE *f = fopen(s->log, "r");
    if (!f)
        return;
    char line[2048];
    bool bad = false;
    while (fgets(line, sizeof line, f))
        if (strstr(line, "Sanitizer") || strstr(line, "runtime error") ||
            strstr(line, "\"level\":\"error\""))
            bad = true;
    if (bad) {
        rewind(f);
        fprintf(stderr, "test_crash: the server's stderr (%s):\n", s->log);
        while (fgets(line, sizeof line, f))
            fputs(line, stderr);
    }
    fclose(f);
    if (bad)
        fail();
}

static void server_kill(server *s)
{
    int status = 0;
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &status, 0);
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
        fprintf(stderr, "test_crash: the server ended before the kill (status %d)\n", status);
        fail();
    }
    s->pid = 0;
}

static void server_stop(server *s)
{
    int status = 0;
    kill(s->pid, SIGTERM);
    waitpid(s->pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "test_crash: server exited badly (status %d)\n", status);
        fail();
    }
    s->pid = 0;
}

/* ---- HTTP ------------------------------------------------------------------- */

typedef struct body_buf {
    char *p;
    size_t n;
} body_buf;

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    body_buf *b = arg;
    size_t add = size * n;
    char *q = realloc(b->p, b->n + add + 1);
    if (!q)
        return 0;
    memcpy(q + b->n, p, add);
    b->p = q;
    b->n += add;
    b->p[b->n] = '\0';
    return add;
}

/* One request on the handle `c` (kept alive between calls). Returns the
 * HTTP status, or -1 when the transport failed (refused, reset, cut short).
 * *out gets the parsed JSON body (caller puts it), NULL when none. */
static long request(CURL *c, unsigned port, const char *method, const char *path,
                    const char *key, const char *body, json_object **out)
{
    char url[512], auth[200];
    body_buf b = {NULL, 0};
    struct curl_slist *hdr = NULL;
    *out = NULL;
    curl_easy_reset(c);
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    hdr = curl_slist_append(hdr, auth);
    hdr = curl_slist_append(hdr, "Expect:");
    if (body) {
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    long status = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    if (status > 0 && b.p)
        *out = json_tokener_parse(b.p);
    free(b.p);
    return status;
}

static json_object *member(json_object *o, const char *name)
{
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, name, &v) ? v : NULL;
}

static const char *mstr(json_object *o, const char *name)
{
    json_object *v = member(o, name);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int64_t mint(json_object *o, const char *name)
{
    json_object *v = member(o, name);
    return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
}

static bool same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* ---- the clients' model ----------------------------------------------------- */

static const char *const GIVEN[] = {"Youssef", "Maria", "Olena", "Ahmad", "Fatima", "Giorgi",
                                    "Amina", "Dmytro", "Samir", "Leila", "Nikola", "Aisha"};
static const char *const SURNAME[] = {"El Amrani", "Popescu", "Shevchenko", "Karimi", "Haddad",
                                      "Beridze", "Osmani", "Bondarenko", "Nasser", "Hosseini",
                                      "Petrovic", "Diallo", "Mensah"};
static const char *const STATUS[] = {"counselled", "applied",       "approved",
                                     "departed",   "reintegrating", "completed"};
#define N_STATUS 6
static const char *const KIND[] = {"counselling", "travel_document", "ticket", "cash_allowance",
                                   "post_arrival", "reintegration_business"};
static const char *const FUNDING[] = {"amif", "national", "ndici"};
static const char *const DEST[] = {"MAR", "UKR", "GEO", "AFG", "IRQ", "SRB"};

enum op_kind { OP_NONE, OP_PERSON, OP_CASE, OP_ASSIST, OP_STATUS };

typedef struct person {
    int64_t id;
    int seq;     /* the client's request number: the token in national_ref */
    uint32_t salt;
    int n;       /* identities */
    int round;   /* when it was written */
} person;

typedef struct kase {
    int64_t id;
    int64_t person_id;
    int seq;          /* programme "p<client>-<seq>" */
    int dest, rtype;
    int status;       /* index in STATUS */
    int touched;      /* the last round that wrote it */
    size_t n_assist;
} kase;

typedef struct assist {
    int64_t id;
    int64_t case_id;
    int seq;          /* provider "a<client>-<seq>" */
    int kind, funding;
    int64_t amount;
} assist;

typedef struct op {
    enum op_kind kind;
    int seq;
    uint32_t salt;
    int n;
    size_t person;   /* OP_CASE: index in persons */
    size_t kcase;    /* OP_ASSIST, OP_STATUS: index in cases */
    int dest, rtype, akind, funding, status;
    int64_t amount;
} op;

typedef struct client {
    int idx;
    const char *tenant;
    char key[128];
    unsigned port;
    uint64_t rng;
    int seq;
    int round;
    person *persons;
    size_t np, capp;
    kase *cases;
    size_t nc, capc;
    assist *assists;
    size_t na, capa;
    int64_t max_person_before; /* the greatest known person id before the round */
    int64_t max_case_before;   /* and case id */
    op inflight;               /* the request the kill cut short, if any */
    size_t acked_round;        /* writes acknowledged this round */
    size_t stored_unacked;     /* cut-short writes found stored after all */
    long unexpected;           /* a status the test does not expect (a 5xx, ...) */
    char unexpected_msg[512];
} client;

static atomic_bool g_stop;

#define GROW(arr, n, cap)                                                    \
    do {                                                                     \
        if ((n) == (cap)) {                                                  \
            (cap) = (cap) ? (cap) * 2 : 64;                                  \
            void *grown_ = realloc((arr), (cap) * sizeof *(arr));            \
            assert_non_null(grown_);                                         \
            (arr) = grown_;                                                  \
        }                                                                    \
    } while (0)

/* Identity k of a person: derived from its salt, so the check can rebuild
 * what was sent. national_ref carries client, request number, count and k. */
static void identity_expect(const client *cl, int seq, uint32_t salt, int n, int k,
                            const char **given, const char **surname, char *birth,
                            size_t bcap, char *ref, size_t rcap)
{
    *given = GIVEN[(salt + (uint32_t)k) % (sizeof GIVEN / sizeof *GIVEN)];
    *surname = SURNAME[(salt / 16 + (uint32_t)k * 3) % (sizeof SURNAME / sizeof *SURNAME)];
    int year = 1950 + (int)(salt % 50), month = 1 + (int)(salt / 50 % 12),
        day = 1 + (int)(salt / 600 % 28);
    if (k == 0)
        snprintf(birth, bcap, "%04d-%02d-%02d", year, month, day);
    else if (k == 1)
        snprintf(birth, bcap, "%04d", year);
    else
        birth[0] = '\0';
    snprintf(ref, rcap, "c%d-%d-%d-%d", cl->idx, seq, n, k);
}

static char *person_body(const client *cl, const op *o)
{
    size_t cap = 4096;
    char *b = malloc(cap);
    assert_non_null(b);
    size_t len = (size_t)snprintf(b, cap, "{\"identities\":[");
    for (int k = 0; k < o->n; k++) {
        const char *g, *s;
        char birth[16], ref[64];
        identity_expect(cl, o->seq, o->salt, o->n, k, &g, &s, birth, sizeof birth, ref,
                        sizeof ref);
        len += (size_t)snprintf(b + len, cap - len,
                                "%s{\"given_names\":\"%s\",\"surname\":\"%s\",%s%s%s"
                                "\"national_ref\":\"%s\"%s}",
                                k ? "," : "", g, s, birth[0] ? "\"birth_date\":\"" : "",
                                birth, birth[0] ? "\"," : "", ref,
                                k == 0 ? ",\"sex\":\"m\",\"nationality\":\"MA\"" : "");
    }
    snprintf(b + len, cap - len, "]}");
    return b;
}

/* Does a person in JSON carry exactly the identities of (seq, salt, n)? */
static bool person_matches(const client *cl, json_object *p, int seq, uint32_t salt, int n,
                           char *why, size_t cap)
{
    json_object *ids = member(p, "identities");
    if (!ids || !json_object_is_type(ids, json_type_array) ||
        (int)json_object_array_length(ids) != n) {
        snprintf(why, cap, "has %d identities, not %d",
                 ids ? (int)json_object_array_length(ids) : -1, n);
        return false;
    }
    for (int k = 0; k < n; k++) {
        json_object *id = json_object_array_get_idx(ids, (size_t)k);
        const char *g, *s;
        char birth[16], ref[64];
        identity_expect(cl, seq, salt, n, k, &g, &s, birth, sizeof birth, ref, sizeof ref);
        if (!same(mstr(id, "given_names"), g) || !same(mstr(id, "surname"), s) ||
            !same(mstr(id, "birth_date"), birth[0] ? birth : NULL) ||
            !same(mstr(id, "national_ref"), ref)) {
            snprintf(why, cap, "identity %d differs: %s", k, json_object_to_json_string(id));
            return false;
        }
    }
    return true;
}

/* Parses national_ref "c<client>-<seq>-<n>-<k>" of every identity of a
 * listed person: all of one request, k = 0..n-1, n of them. */
static bool person_whole(json_object *p, int *client_idx, int *seq, char *why, size_t cap)
{
    json_object *ids = member(p, "identities");
    int count = ids && json_object_is_type(ids, json_type_array)
                    ? (int)json_object_array_length(ids)
                    : 0;
    if (count == 0) {
        snprintf(why, cap, "no identities");
        return false;
    }
    int c0 = -1, s0 = -1, n0 = -1;
    bool seen[64] = {false};
    for (int i = 0; i < count; i++) {
        const char *ref = mstr(json_object_array_get_idx(ids, (size_t)i), "national_ref");
        int c, s, n, k;
        if (!ref || sscanf(ref, "c%d-%d-%d-%d", &c, &s, &n, &k) != 4 || k < 0 || k >= 64) {
            snprintf(why, cap, "identity %d has national_ref %s", i, ref ? ref : "null");
            return false;
        }
        if (i == 0) {
            c0 = c;
            s0 = s;
            n0 = n;
        } else if (c != c0 || s != s0 || n != n0) {
            snprintf(why, cap, "identities of two requests (%s)", ref);
            return false;
        }
        if (seen[k]) {
            snprintf(why, cap, "identity %d twice", k);
            return false;
        }
        seen[k] = true;
    }
    if (n0 != count) {
        snprintf(why, cap, "%d of %d identities: half registered", count, n0);
        return false;
    }
    *client_idx = c0;
    *seq = s0;
    return true;
}

static void note_unexpected(client *cl, const char *what, long status, json_object *j)
{
    if (cl->unexpected)
        return;
    cl->unexpected = status;
    snprintf(cl->unexpected_msg, sizeof cl->unexpected_msg, "%s: %ld %s", what, status,
             j ? json_object_to_json_string(j) : "");
}

/* Chooses the next write from the client's acknowledged records. */
static void choose(client *cl, op *o)
{
    memset(o, 0, sizeof *o);
    o->seq = ++cl->seq;
    uint32_t r = rnd(&cl->rng, 100);
    size_t open_case = SIZE_MAX;
    if (cl->nc) {
        size_t start = rnd(&cl->rng, (uint32_t)cl->nc);
        for (size_t i = 0; i < cl->nc; i++) {
            size_t j = (start + i) % cl->nc;
            if (cl->cases[j].status < N_STATUS - 1) {
                open_case = j;
                break;
            }
        }
    }
    if (cl->np == 0 || r < 40 || (r >= 65 && open_case == SIZE_MAX)) {
        o->kind = OP_PERSON;
        o->salt = (uint32_t)splitmix(&cl->rng);
        o->n = 1 + (int)rnd(&cl->rng, MAX_IDENTITIES);
    } else if (r < 65) {
        o->kind = OP_CASE;
        o->person = rnd(&cl->rng, (uint32_t)cl->np);
        o->dest = (int)rnd(&cl->rng, sizeof DEST / sizeof *DEST);
        o->rtype = (int)rnd(&cl->rng, 2);
    } else if (r < 85) {
        o->kind = OP_ASSIST;
        o->kcase = open_case;
        o->akind = (int)rnd(&cl->rng, sizeof KIND / sizeof *KIND);
        o->funding = (int)rnd(&cl->rng, sizeof FUNDING / sizeof *FUNDING);
        o->amount = rnd(&cl->rng, 500000);
    } else {
        o->kind = OP_STATUS;
        o->kcase = open_case;
        o->status = cl->cases[open_case].status + 1;
    }
}

static void add_person(client *cl, int64_t id, const op *o)
{
    GROW(cl->persons, cl->np, cl->capp);
    cl->persons[cl->np++] = (person){id, o->seq, o->salt, o->n, cl->round};
}

static void add_case(client *cl, int64_t id, const op *o)
{
    GROW(cl->cases, cl->nc, cl->capc);
    cl->cases[cl->nc++] = (kase){id, cl->persons[o->person].id, o->seq, o->dest, o->rtype, 0,
                                 cl->round, 0};
}

static void add_assist(client *cl, int64_t id, const op *o)
{
    GROW(cl->assists, cl->na, cl->capa);
    cl->assists[cl->na++] = (assist){id, cl->cases[o->kcase].id, o->seq, o->akind, o->funding,
                                     o->amount};
    cl->cases[o->kcase].n_assist++;
    cl->cases[o->kcase].touched = cl->round;
}

/* Sends one write; true when it was acknowledged (and recorded). */
static bool send_op(client *cl, CURL *c, const op *o)
{
    char path[128], small[512];
    char *body = NULL;
    const char *method = "POST";
    long want = 201;
    switch (o->kind) {
    case OP_PERSON:
        snprintf(path, sizeof path, "/v1/persons");
        body = person_body(cl, o);
        break;
    case OP_CASE:
        snprintf(path, sizeof path, "/v1/cases");
        snprintf(small, sizeof small,
                 "{\"person_id\":%" PRId64 ",\"destination_country\":\"%s\",\"return_type\":"
                 "\"%s\",\"programme\":\"p%d-%d\"}",
                 cl->persons[o->person].id, DEST[o->dest], o->rtype ? "forced" : "voluntary",
                 cl->idx, o->seq);
        body = strdup(small);
        break;
    case OP_ASSIST:
        snprintf(path, sizeof path, "/v1/cases/%" PRId64 "/assistance", cl->cases[o->kcase].id);
        snprintf(small, sizeof small,
                 "{\"kind\":\"%s\",\"amount_cents\":%" PRId64 ",\"funding\":\"%s\","
                 "\"provider\":\"a%d-%d\",\"cash\":%s}",
                 KIND[o->akind], o->amount, FUNDING[o->funding], cl->idx, o->seq,
                 o->amount % 2 ? "true" : "false");
        body = strdup(small);
        break;
    case OP_STATUS:
        snprintf(path, sizeof path, "/v1/cases/%" PRId64 "/status", cl->cases[o->kcase].id);
        snprintf(small, sizeof small, "{\"status\":\"%s\"}", STATUS[o->status]);
        body = strdup(small);
        want = 200;
        break;
    default:
        return false;
    }
    json_object *j = NULL;
    long st = request(c, cl->port, method, path, cl->key, body, &j);
    free(body);
    bool ok = st == want;
    int64_t id = ok ? mint(j, "id") : -1;
    if (ok && o->kind != OP_STATUS && id <= 0) {
        note_unexpected(cl, "acknowledged without an id", st, j);
        ok = false;
    }
    if (st > 0 && !ok)
        note_unexpected(cl, path, st, j);
    json_object_put(j);
    if (!ok)
        return false;
    switch (o->kind) {
    case OP_PERSON:
        add_person(cl, id, o);
        break;
    case OP_CASE:
        add_case(cl, id, o);
        break;
    case OP_ASSIST:
        add_assist(cl, id, o);
        break;
    case OP_STATUS:
        cl->cases[o->kcase].status = o->status;
        cl->cases[o->kcase].touched = cl->round;
        break;
    default:
        break;
    }
    cl->acked_round++;
    return true;
}

/* A client's stream of writes, one at a time, until the server is gone or
 * the main thread says stop. */
static void *client_run(void *arg)
{
    client *cl = arg;
    CURL *c = curl_easy_init();
    cl->inflight.kind = OP_NONE;
    while (!atomic_load(&g_stop)) {
        op o;
        choose(cl, &o);
        if (!send_op(cl, c, &o)) {
            cl->inflight = o; /* may or may not have been stored */
            break;
        }
    }
    curl_easy_cleanup(c);
    return NULL;
}

/* ---- checks after a restart ------------------------------------------------ */

static person *find_person(client *cl, int64_t id)
{
    for (size_t i = cl->np; i-- > 0;)
        if (cl->persons[i].id == id)
            return &cl->persons[i];
    return NULL;
}

/* GETs every page of `path` (which ends in a query) from the cursor `after`;
 * calls fn on each item. */
static void list_all(CURL *c, const client *cl, const char *path,
                     void (*fn)(client *, CURL *, json_object *, void *), client *mcl,
                     void *arg, int64_t after)
{
    for (;;) {
        char p[300];
        snprintf(p, sizeof p, "%s&after=%" PRId64, path, after);
        json_object *j = NULL;
        long st = request(c, cl->port, "GET", p, cl->key, NULL, &j);
        if (st != 200) {
            fprintf(stderr, "test_crash: GET %s: %ld\n", p, st);
            json_object_put(j);
            fail();
        }
        json_object *items = member(j, "items");
        assert_non_null(items);
        for (size_t i = 0; i < json_object_array_length(items); i++)
            fn(mcl, c, json_object_array_get_idx(items, i), arg);
        int64_t next = mint(j, "next");
        json_object_put(j);
        if (next <= 0)
            break;
        after = next;
    }
}

typedef struct person_scan {
    int64_t above;  /* only persons with a greater id */
    size_t seen;    /* model persons found */
    bool adopted;
} person_scan;

/* A person in a listing: whole, and either in the model (same content) or
 * the client's in-flight registration, which is then adopted. */
static void scan_person(client *cl, CURL *c, json_object *p, void *arg)
{
    (void)c;
    person_scan *ps = arg;
    int64_t id = mint(p, "id");
    if (id <= ps->above)
        return;
    char why[600];
    int ci = -1, seq = -1;
    if (!person_whole(p, &ci, &seq, why, sizeof why)) {
        fprintf(stderr, "test_crash: round %d: person %" PRId64 " of %s: %s\n", cl->round, id,
                cl->tenant, why);
        fail();
    }
    assert_int_equal(ci, cl->idx);
    person *m = find_person(cl, id);
    if (m) {
        if (m->seq != seq || !person_matches(cl, p, m->seq, m->salt, m->n, why, sizeof why)) {
            fprintf(stderr, "test_crash: round %d: acknowledged person %" PRId64 " changed: %s\n",
                    cl->round, id, why);
            fail();
        }
        ps->seen++;
        return;
    }
    if (cl->inflight.kind == OP_PERSON && cl->inflight.seq == seq && !ps->adopted &&
        person_matches(cl, p, seq, cl->inflight.salt, cl->inflight.n, why, sizeof why)) {
        ps->adopted = true;
        cl->stored_unacked++;
        add_person(cl, id, &cl->inflight);
        ps->seen++;
        return;
    }
    fprintf(stderr, "test_crash: round %d: person %" PRId64 " (%s request %d) was never "
            "acknowledged nor in flight\n", cl->round, id, cl->tenant, seq);
    fail();
}

static kase *find_case(client *cl, int64_t id)
{
    for (size_t i = cl->nc; i-- > 0;)
        if (cl->cases[i].id == id)
            return &cl->cases[i];
    return NULL;
}

static void case_expect(client *cl, json_object *j, const kase *k)
{
    char prog[32];
    snprintf(prog, sizeof prog, "p%d-%d", cl->idx, k->seq);
    if (mint(j, "id") != k->id || mint(j, "person_id") != k->person_id ||
        !same(mstr(j, "destination_country"), DEST[k->dest]) ||
        !same(mstr(j, "return_type"), k->rtype ? "forced" : "voluntary") ||
        !same(mstr(j, "programme"), prog) || !same(mstr(j, "status"), STATUS[k->status])) {
        fprintf(stderr, "test_crash: round %d: case %" PRId64 " of %s differs from what was "
                "acknowledged (status %s): %s\n", cl->round, k->id, cl->tenant,
                STATUS[k->status], json_object_to_json_string(j));
        fail();
    }
}

typedef struct case_scan {
    int64_t above;
    size_t seen;
    bool adopted;
} case_scan;

static int status_index(const char *s)
{
    for (int i = 0; s && i < N_STATUS; i++)
        if (strcmp(s, STATUS[i]) == 0)
            return i;
    return -1;
}

/* A case in a listing: in the model, or the in-flight one (adopted). An
 * in-flight status change may or may not have been stored. */
static void scan_case(client *cl, CURL *c, json_object *j, void *arg)
{
    (void)c;
    case_scan *cs = arg;
    int64_t id = mint(j, "id");
    if (id <= cs->above)
        return;
    kase *k = find_case(cl, id);
    if (k) {
        if (cl->inflight.kind == OP_STATUS && &cl->cases[cl->inflight.kcase] == k &&
            status_index(mstr(j, "status")) == cl->inflight.status) {
            k->status = cl->inflight.status; /* the cut-short change was stored */
            cl->stored_unacked++;
            cl->inflight.kind = OP_NONE;
        }
        case_expect(cl, j, k);
        cs->seen++;
        return;
    }
    char prog[32];
    if (cl->inflight.kind == OP_CASE && !cs->adopted) {
        snprintf(prog, sizeof prog, "p%d-%d", cl->idx, cl->inflight.seq);
        if (same(mstr(j, "programme"), prog)) {
            cs->adopted = true;
            cl->stored_unacked++;
            add_case(cl, id, &cl->inflight);
            case_expect(cl, j, &cl->cases[cl->nc - 1]);
            cs->seen++;
            return;
        }
    }
    fprintf(stderr, "test_crash: round %d: case %" PRId64 " of %s was never acknowledged nor "
            "in flight: %s\n", cl->round, id, cl->tenant, json_object_to_json_string(j));
    fail();
}

/* The assistance of one case equals the model (with the in-flight grant
 * adopted when it was stored). */
static void check_assistance(client *cl, CURL *c, kase *k)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/cases/%" PRId64 "/assistance", k->id);
    json_object *j = NULL;
    long st = request(c, cl->port, "GET", path, cl->key, NULL, &j);
    if (st != 200) {
        fprintf(stderr, "test_crash: GET %s: %ld\n", path, st);
        json_object_put(j);
        fail();
    }
    json_object *items = member(j, "items");
    assert_non_null(items);
    size_t n = json_object_array_length(items), seen = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *a = json_object_array_get_idx(items, i);
        int64_t id = mint(a, "id");
        const assist *m = NULL;
        for (size_t x = cl->na; x-- > 0;)
            if (cl->assists[x].id == id) {
                m = &cl->assists[x];
                break;
            }
        char prov[32];
        if (!m && cl->inflight.kind == OP_ASSIST && &cl->cases[cl->inflight.kcase] == k) {
            snprintf(prov, sizeof prov, "a%d-%d", cl->idx, cl->inflight.seq);
            if (same(mstr(a, "provider"), prov)) {
                add_assist(cl, id, &cl->inflight);
                cl->stored_unacked++;
                cl->inflight.kind = OP_NONE;
                m = &cl->assists[cl->na - 1];
            }
        }
        if (!m) {
            fprintf(stderr, "test_crash: round %d: assistance %" PRId64 " on case %" PRId64
                    " was never acknowledged nor in flight: %s\n", cl->round, id, k->id,
                    json_object_to_json_string(a));
            fail();
        }
        snprintf(prov, sizeof prov, "a%d-%d", cl->idx, m->seq);
        if (m->case_id != k->id || mint(a, "case_id") != k->id ||
            !same(mstr(a, "kind"), KIND[m->kind]) || mint(a, "amount_cents") != m->amount ||
            !same(mstr(a, "funding"), FUNDING[m->funding]) || !same(mstr(a, "provider"), prov)) {
            fprintf(stderr, "test_crash: round %d: assistance %" PRId64 " differs: %s\n",
                    cl->round, id, json_object_to_json_string(a));
            fail();
        }
        seen++;
    }
    json_object_put(j);
    if (seen != k->n_assist) {
        fprintf(stderr, "test_crash: round %d: case %" PRId64 " has %zu grants, %zu "
                "acknowledged\n", cl->round, k->id, seen, k->n_assist);
        fail();
    }
}

/* After a restart: this round's writes (and the in-flight one) of a client.
 * With `all`, every record of the client. */
static void verify_client(client *cl, CURL *c, bool all)
{
    /* Persons: this round's acknowledged ones by id, with the same content
     * (with `all`, the listing below compares every one). */
    for (size_t i = 0; i < cl->np && !all; i++) {
        person *p = &cl->persons[i];
        if (p->round != cl->round)
            continue;
        char path[64], why[600];
        snprintf(path, sizeof path, "/v1/persons/%" PRId64, p->id);
        json_object *j = NULL;
        long st = request(c, cl->port, "GET", path, cl->key, NULL, &j);
        if (st != 200 || !person_matches(cl, j, p->seq, p->salt, p->n, why, sizeof why)) {
            fprintf(stderr, "test_crash: round %d: acknowledged person %" PRId64 " of %s "
                    "(request %d): GET %ld %s\n", cl->round, p->id, cl->tenant, p->seq, st,
                    st == 200 ? why : "");
            json_object_put(j);
            fail();
        }
        json_object_put(j);
    }
    /* The listing after the last known person: nothing half there, nothing
     * nobody asked for. */
    size_t before = cl->np;
    person_scan ps = {all ? 0 : cl->max_person_before, 0, false};
    list_all(c, cl, "/v1/persons?limit=1000", scan_person, cl, &ps, ps.above);
    size_t expect = 0;
    for (size_t i = 0; i < before; i++)
        if (cl->persons[i].id > ps.above)
            expect++;
    if (ps.seen != expect + (ps.adopted ? 1 : 0)) {
        fprintf(stderr, "test_crash: round %d: %s lists %zu persons, %zu acknowledged\n",
                cl->round, cl->tenant, ps.seen, expect);
        fail();
    }
    if (ps.adopted && cl->inflight.kind == OP_PERSON)
        cl->inflight.kind = OP_NONE;

    /* Cases: the whole listing (every case acknowledged, the in-flight one
     * whole or absent, nothing else)... */
    {
        size_t nc = 0;
        case_scan cs = {all ? 0 : cl->max_case_before, 0, false};
        for (size_t i = 0; i < cl->nc; i++)
            if (cl->cases[i].id > cs.above)
                nc++;
        list_all(c, cl, "/v1/cases?limit=1000", scan_case, cl, &cs, cs.above);
        if (cs.seen != nc + (cs.adopted ? 1 : 0)) {
            fprintf(stderr, "test_crash: round %d: %s lists %zu cases, %zu acknowledged\n",
                    cl->round, cl->tenant, cs.seen, nc);
            fail();
        }
        if (cs.adopted)
            cl->inflight.kind = OP_NONE;
    }
    /* ... and each case this round touched by id, with its assistance. */
    for (size_t i = 0; i < cl->nc; i++) {
        kase *k = &cl->cases[i];
        bool inflight_here = (cl->inflight.kind == OP_STATUS || cl->inflight.kind == OP_ASSIST) &&
                             cl->inflight.kcase == i;
        if (!all && k->touched != cl->round && !inflight_here)
            continue;
        char path[64];
        snprintf(path, sizeof path, "/v1/cases/%" PRId64, k->id);
        json_object *j = NULL;
        long st = request(c, cl->port, "GET", path, cl->key, NULL, &j);
        if (st != 200) {
            fprintf(stderr, "test_crash: round %d: acknowledged case %" PRId64 ": GET %ld\n",
                    cl->round, k->id, st);
            json_object_put(j);
            fail();
        }
        if (cl->inflight.kind == OP_STATUS && cl->inflight.kcase == i &&
            status_index(mstr(j, "status")) == cl->inflight.status) {
            k->status = cl->inflight.status; /* the cut-short change was stored */
            cl->stored_unacked++;
            k->touched = cl->round;
            cl->inflight.kind = OP_NONE;
        }
        case_expect(cl, j, k);
        json_object_put(j);
        check_assistance(cl, c, k);
    }
    cl->inflight.kind = OP_NONE; /* checked: it was not stored */
    for (size_t i = 0; i < cl->np; i++)
        if (cl->persons[i].id > cl->max_person_before)
            cl->max_person_before = cl->persons[i].id;
    for (size_t i = 0; i < cl->nc; i++)
        if (cl->cases[i].id > cl->max_case_before)
            cl->max_case_before = cl->cases[i].id;
}

/* ---- 1. the server killed during writes ------------------------------------- */

static void make_key(const char *db, const char *tenant, char *out, size_t cap)
{
    const char *argv[] = {"avrr", "key", "create", "--db", db, "--tenant", tenant,
                          "--role", "caseworker", NULL};
    must_avrr(argv, out, cap);
}

static void test_server_killed_during_writes(void **state)
{
    (void)state;
    long rounds = env_long("AVRR_CRASH_ROUNDS", under_asan() ? 50 : 100);
    char dir[256];
    server srv = {0};
    static const char *const tenants[] = {"NL", "BE", NULL};
    make_registry(dir, sizeof dir, srv.db, sizeof srv.db, tenants);
    snprintf(srv.log, sizeof srv.log, "%s/server.log", dir);
    client cls[CLIENTS];
    memset(cls, 0, sizeof cls);
    for (int i = 0; i < CLIENTS; i++) {
        cls[i].idx = i;
        cls[i].tenant = tenants[i];
        make_key(srv.db, tenants[i], cls[i].key, sizeof cls[i].key);
        cls[i].rng = g_seed ^ (0x1234567ULL * (uint64_t)(i + 1));
    }
    uint64_t rng = g_seed;
    size_t total_acked = 0, total_inflight = 0, kills_with_none = 0;
    double t0 = now_ms(), t_audit = 0, t_start = 0, t_check = 0;
    server_start(&srv);
    CURL *c = curl_easy_init();
    for (long round = 1; round <= rounds; round++) {
        double delay = rnd(&rng, 50001) / 1000.0; /* 0-50 ms */
        atomic_store(&g_stop, false);
        pthread_t th[CLIENTS];
        for (int i = 0; i < CLIENTS; i++) {
            cls[i].round = (int)round;
            cls[i].port = srv.port;
            cls[i].acked_round = 0;
            assert_int_equal(pthread_create(&th[i], NULL, client_run, &cls[i]), 0);
        }
        sleep_ms(delay);
        server_kill(&srv);
        atomic_store(&g_stop, true);
        size_t acked = 0;
        for (int i = 0; i < CLIENTS; i++) {
            pthread_join(th[i], NULL);
            acked += cls[i].acked_round;
            if (cls[i].inflight.kind != OP_NONE)
                total_inflight++;
            if (cls[i].unexpected) {
                fprintf(stderr, "test_crash: round %ld: unexpected answer: %s\n", round,
                        cls[i].unexpected_msg);
                fail();
            }
        }
        total_acked += acked;
        if (acked == 0)
            kills_with_none++;
        char when[64];
        snprintf(when, sizeof when, "after the kill of round %ld", round);
        server_log_check(&srv);
        double ta = now_ms();
        audit_verify(srv.db, when);
        if (round % 10 == 0)
            integrity_check(srv.db, when);
        double tb = now_ms();
        server_start(&srv);
        double tc = now_ms();
        for (int i = 0; i < CLIENTS; i++) {
            cls[i].port = srv.port;
            verify_client(&cls[i], c, false);
        }
        t_audit += tb - ta;
        t_start += tc - tb;
        t_check += now_ms() - tc;
        if (round % 10 == 0 || round == rounds)
            printf("# round %ld: killed after %.1f ms, %zu writes acknowledged so far\n", round,
                   delay, total_acked);
    }
    /* Everything, once more, against the whole model. */
    double tf = now_ms();
    for (int i = 0; i < CLIENTS; i++)
        verify_client(&cls[i], c, true);
    t_check += now_ms() - tf;
    curl_easy_cleanup(c);
    server_stop(&srv);
    server_log_check(&srv);
    audit_verify(srv.db, "at the end");
    size_t np = 0, nc = 0, na = 0, stored_unacked = 0;
    for (int i = 0; i < CLIENTS; i++) {
        stored_unacked += cls[i].stored_unacked;
        np += cls[i].np;
        nc += cls[i].nc;
        na += cls[i].na;
    }
    assert_int_equal(sql_count(srv.db, "SELECT count(*) FROM persons"), (int64_t)np);
    printf("# %ld kills in %.1f s: %zu writes acknowledged (%zu kills before any), %zu cut "
           "short (%zu of them stored all the same); registry: %zu persons, %zu cases, %zu grants\n",
           rounds, (now_ms() - t0) / 1000, total_acked, kills_with_none, total_inflight,
           stored_unacked, np, nc, na);
    printf("# time: %.1f s in audit verify, %.1f s restarting, %.1f s checking over HTTP\n",
           t_audit / 1000, t_start / 1000, t_check / 1000);
    assert_true(total_acked >= (size_t)rounds / 2); /* the kills did land among writes */
    for (int i = 0; i < CLIENTS; i++) {
        free(cls[i].persons);
        free(cls[i].cases);
        free(cls[i].assists);
    }
    remove_dir(dir);
}

/* ---- 2. avrr import killed mid-file ----------------------------------------- */

static void write_csv(const char *path, long rows, long first)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("rec_id,given_names,surname,full_name,sex,birth_date,nationality,birth_place,"
          "document_no\n", f);
    for (long i = first; i < first + rows; i++)
        fprintf(f, "imp%ld,%s,%s%ld,,%s,%04ld-%02ld-%02ld,MA,Rabat,X%08ld\n", i,
                GIVEN[i % 12], SURNAME[i / 12 % 13], i, i % 2 ? "m" : "f", 1950 + i % 50,
                1 + i % 12, 1 + i % 28, i);
    assert_int_equal(fclose(f), 0);
}

/* Starts `avrr import` quietly; returns its pid. */
static pid_t import_start(const char *db, const char *csv)
{
    const char *argv[] = {"avrr", "import", "--db", db, "--tenant", "NL", "--quiet", csv, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execv(avrr_bin(), (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static void test_import_killed_mid_file(void **state)
{
    (void)state;
    long rows = env_long("AVRR_CRASH_IMPORT_ROWS", under_asan() ? 20000 : 200000);
    long rounds = env_long("AVRR_CRASH_IMPORT_ROUNDS", 10);
    uint64_t rng = g_seed ^ 0xfeedULL;
    char dir[256], db[300], csv[320], cdir[256], cdb[300], ccsv[320];
    static const char *const tenants[] = {"NL", NULL};
    make_registry(dir, sizeof dir, db, sizeof db, tenants);
    snprintf(csv, sizeof csv, "%s/people.csv", dir);
    write_csv(csv, rows, 0);

    /* How long a whole import takes here, to spread the kills over it: the
     * fixed cost (an import of no rows) plus ten times the cost of a tenth
     * of the rows. */
    make_registry(cdir, sizeof cdir, cdb, sizeof cdb, tenants);
    double took[2];
    for (int i = 0; i < 2; i++) {
        snprintf(ccsv, sizeof ccsv, "%s/part%d.csv", cdir, i);
        write_csv(ccsv, i ? rows / 10 : 0, 0);
        double t = now_ms();
        pid_t cp = import_start(cdb, ccsv);
        int cst = 0;
        waitpid(cp, &cst, 0);
        assert_true(WIFEXITED(cst) && WEXITSTATUS(cst) == 0);
        took[i] = now_ms() - t;
    }
    double full_ms = took[0] + 10 * (took[1] > took[0] ? took[1] - took[0] : 1);
    remove_dir(cdir);
    printf("# import of %ld rows: about %.0f ms here (%.0f ms of it fixed)\n", rows, full_ms,
           took[0]);

    int all = 0, none = 0;
    for (long round = 1; round <= rounds; round++) {
        int64_t before = sql_count(db, "SELECT count(*) FROM persons");
        int64_t ids_before = sql_count(db, "SELECT count(*) FROM identities");
        assert_true(before >= 0 && ids_before >= 0);
        double delay = rnd(&rng, (uint32_t)(full_ms * 1.1) + 1);
        double start = now_ms();
        pid_t pid = import_start(db, csv);
        int status = 0;
        bool exited = false;
        while (now_ms() - start < delay) {
            if (waitpid(pid, &status, WNOHANG) == pid) {
                exited = true;
                break;
            }
            sleep_ms(1);
        }
        if (!exited) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
        }
        double round_ms = now_ms() - start;
        bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
        if (!killed && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            fprintf(stderr, "test_crash: import round %ld ended with status %d\n", round, status);
            fail();
        }
        char when[64];
        snprintf(when, sizeof when, "after import round %ld", round);
        integrity_check(db, when);
        int64_t after = sql_count(db, "SELECT count(*) FROM persons");
        int64_t ids_after = sql_count(db, "SELECT count(*) FROM identities");
        printf("# import round %ld: %s after %.0f ms (of about %.0f): %" PRId64 " -> %" PRId64
               " persons\n", round, killed ? "killed" : "finished", round_ms, full_ms,
               before, after);
        if (after == before && ids_after == ids_before && killed) {
            none++;
        } else if (after == before + rows && ids_after == ids_before + rows) {
            all++;
        } else {
            fprintf(stderr, "test_crash: import round %ld left %" PRId64 " of %ld rows "
                    "(%" PRId64 " identities)\n", round, after - before, rows,
                    ids_after - ids_before);
            fail();
        }
        audit_verify(db, when);
        /* What this round taught about the import's length here (the
         * estimate above is rough on a busy machine). */
        if (!killed)
            full_ms = round_ms;
        else if (round_ms > full_ms)
            full_ms = round_ms * 1.2;
        if (!killed) {
            /* A finished import: start the next round from an empty
             * registry again, so that the rounds take the same time. */
            remove_dir(dir);
            make_registry(dir, sizeof dir, db, sizeof db, tenants);
            snprintf(csv, sizeof csv, "%s/people.csv", dir);
            write_csv(csv, rows, 0);
        }
    }
    /* The registry still opens through libavrr and counts. */
    avrr_service *svc = NULL;
    assert_int_equal(avrr_service_open(db, false, &svc, NULL), AVRR_OK);
    int64_t n = -1;
    assert_int_equal(avrr_service_count(svc, "persons", &n, NULL), AVRR_OK);
    avrr_service_close(svc);
    assert_int_equal(n, sql_count(db, "SELECT count(*) FROM persons"));
    printf("# import killed %ld times: %d left every row, %d left none\n", rounds, all, none);
    remove_dir(dir);
}

int main(void)
{
    const char *s = getenv("AVRR_CRASH_SEED");
    g_seed = s && *s ? strtoull(s, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
    printf("# test_crash: seed %" PRIu64 " (AVRR_CRASH_SEED=%" PRIu64 " to replay)%s\n", g_seed,
           g_seed, under_asan() ? ", sanitizer build: fewer rounds" : "");
    fflush(stdout);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_killed_during_writes),
        cmocka_unit_test(test_import_killed_mid_file),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
