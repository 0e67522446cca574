/* soak.c: the load client of bench/soak/run.sh (issue 8, item 3).
 *
 *   soak --port PORT --keys FILE [--connections 64] [--duration 60]
 *        [--pid SERVER_PID] [--seed N] [--no-writes]
 *
 * FILE holds "TENANT KEY" lines (caseworker keys). Each connection is a
 * thread with its own keep-alive libcurl handle and tenant, sending one
 * request after another for the duration: a mix of reads (a person, a
 * page of persons, a case, a case's assistance), writes (register a person
 * with aliases, open a case, record assistance) and checks (POST
 * /v1/checks). It counts answers by status and class, transport errors
 * by libcurl code and latencies; with --pid it samples the server's VmRSS
 * every second. It prints a Markdown summary on stdout and exits 1 when a
 * 5xx or a connection error was seen. --no-writes sends reads in place of
 * the writes (checks stay), to tell a leak from the registry's growth.
 *
 * Build: cc -O2 -std=c17 -D_DEFAULT_SOURCE -o soak soak.c \
 *          $(pkg-config --cflags --libs libcurl json-c) -lpthread */
#include <curl/curl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_TENANTS 8
#define MAX_CONNS 1024

enum kind {
    K_GET_PERSON, K_LIST_PERSONS, K_GET_CASE, K_GET_ASSIST, /* reads */
    K_POST_PERSON, K_POST_CASE, K_POST_ASSIST,              /* writes */
    K_CHECK,                                                /* checks */
    K_COUNT
};
static const char *const KIND_NAME[K_COUNT] = {
    "GET /v1/persons/{id}",  "GET /v1/persons?limit=50", "GET /v1/cases/{id}",
    "GET /v1/cases/{id}/assistance", "POST /v1/persons", "POST /v1/cases",
    "POST /v1/cases/{id}/assistance", "POST /v1/checks"};
/* Cumulative per cent of each kind in the mix. */
static const int MIX[K_COUNT] = {25, 33, 45, 50, 65, 73, 80, 100};

typedef struct ids {
    int64_t *v;
    size_t n, cap;
    pthread_mutex_t mu;
} ids;

typedef struct tenant {
    char code[16];
    char key[128];
    ids persons, cases;
} tenant;

static tenant g_tenants[MAX_TENANTS];
static int g_ntenants;
static unsigned g_port;
static atomic_bool g_stop;
static bool g_no_writes; /* --no-writes: reads and checks only */

typedef struct stats {
    uint64_t status[600];      /* by HTTP status */
    uint64_t by_kind[K_COUNT]; /* requests */
    uint64_t kind_5xx[K_COUNT];
    uint64_t curl_err[100];    /* by CURLcode */
    double *lat;               /* ms, every request */
    size_t nlat, caplat;
} stats;

typedef struct conn {
    int idx;
    tenant *t;
    uint64_t rng;
    stats st;
} conn;

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint32_t rnd(uint64_t *s, uint32_t n) { return n ? (uint32_t)(splitmix(s) % n) : 0; }

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void ids_add(ids *l, int64_t id)
{
    pthread_mutex_lock(&l->mu);
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        int64_t *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            pthread_mutex_unlock(&l->mu);
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = id;
    pthread_mutex_unlock(&l->mu);
}

static int64_t ids_pick(ids *l, uint64_t *rng)
{
    pthread_mutex_lock(&l->mu);
    int64_t id = l->n ? l->v[rnd(rng, (uint32_t)l->n)] : 0;
    pthread_mutex_unlock(&l->mu);
    return id;
}

typedef struct buf {
    char *p;
    size_t n;
} buf;

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    buf *b = arg;
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

/* One request; returns the HTTP status or -(CURLcode) on a transport
 * error. The body goes to *out (caller frees) when out is given. */
static long request(CURL *c, const tenant *t, const char *method, const char *path,
                    const char *body, char **out)
{
    char url[256], auth[200];
    buf b = {NULL, 0};
    struct curl_slist *hdr = NULL;
    curl_easy_reset(c);
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", g_port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", t->key);
    hdr = curl_slist_append(hdr, auth);
    hdr = curl_slist_append(hdr, "Expect:");
    if (body) {
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    long status = 0;
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else
        status = -(long)rc;
    curl_slist_free_all(hdr);
    if (out)
        *out = b.p;
    else
        free(b.p);
    return status;
}

static int64_t body_id(const char *body)
{
    if (!body)
        return 0;
    json_object *j = json_tokener_parse(body), *v = NULL;
    int64_t id = 0;
    if (j && json_object_object_get_ex(j, "id", &v) && json_object_is_type(v, json_type_int))
        id = json_object_get_int64(v);
    json_object_put(j);
    return id;
}

static const char *const GIVEN[] = {"Youssef", "Maria",  "Olena", "Ahmad", "Fatima",
                                    "Giorgi",  "Amina",  "Dmytro", "Samir", "Leila",
                                    "Nikola",  "Aisha",  "Omar",   "Hana",  "Ivan"};
static const char *const SURNAME[] = {"El Amrani", "Popescu",  "Shevchenko", "Karimi",
                                      "Haddad",    "Beridze",  "Osmani",     "Bondarenko",
                                      "Nasser",    "Hosseini", "Petrovic",   "Diallo"};
#define NG (sizeof GIVEN / sizeof *GIVEN)
#define NS (sizeof SURNAME / sizeof *SURNAME)
static const char *const DEST[] = {"MAR", "UKR", "GEO", "AFG", "IRQ", "SRB", "NGA", "PAK"};
static const char *const AKIND[] = {"counselling", "ticket", "cash_allowance", "post_arrival",
                                    "reintegration_business", "reintegration_housing"};

static int identity_json(char *b, size_t cap, uint64_t *rng, bool full)
{
    if (!full)
        return snprintf(b, cap, "{\"given_names\":\"%s\",\"surname\":\"%s\",\"birth_date\":\"%u\"}",
                        GIVEN[rnd(rng, NG)], SURNAME[rnd(rng, NS)], 1950 + rnd(rng, 55));
    return snprintf(b, cap,
                    "{\"given_names\":\"%s\",\"surname\":\"%s\",\"sex\":\"%s\","
                    "\"birth_date\":\"%u-%02u-%02u\",\"nationality\":\"%s\",\"documents\":"
                    "[{\"type\":\"passport\",\"number\":\"S%08u\",\"country\":\"%s\"}]}",
                    GIVEN[rnd(rng, NG)], SURNAME[rnd(rng, NS)], rnd(rng, 2) ? "m" : "f",
                    1950 + rnd(rng, 55), 1 + rnd(rng, 12), 1 + rnd(rng, 28),
                    DEST[rnd(rng, 8)], rnd(rng, 100000000), DEST[rnd(rng, 8)]);
}

static void record(stats *st, enum kind k, long status, double ms)
{
    st->by_kind[k]++;
    if (status > 0 && status < 600) {
        st->status[status]++;
        if (status >= 500)
            st->kind_5xx[k]++;
    } else if (status < 0 && -status < 100) {
        st->curl_err[-status]++;
    }
    if (st->nlat == st->caplat) {
        size_t cap = st->caplat ? st->caplat * 2 : 4096;
        double *v = realloc(st->lat, cap * sizeof *v);
        if (!v)
            return;
        st->lat = v;
        st->caplat = cap;
    }
    st->lat[st->nlat++] = ms;
}

static void *conn_run(void *arg)
{
    conn *cn = arg;
    tenant *t = cn->t;
    CURL *c = curl_easy_init();
    char path[160], body[4096];
    while (!atomic_load(&g_stop)) {
        int r = (int)rnd(&cn->rng, 100);
        enum kind k = K_GET_PERSON;
        while (r >= MIX[k])
            k++;
        if (g_no_writes && k >= K_POST_PERSON && k <= K_POST_ASSIST)
            k = (enum kind)(k - K_POST_PERSON); /* a read instead */
        int64_t person = ids_pick(&t->persons, &cn->rng), kase = ids_pick(&t->cases, &cn->rng);
        const char *method = "GET";
        const char *b = NULL;
        switch (k) {
        case K_GET_PERSON:
            snprintf(path, sizeof path, "/v1/persons/%" PRId64, person);
            break;
        case K_LIST_PERSONS:
            snprintf(path, sizeof path, "/v1/persons?limit=50&after=%" PRId64,
                     person > 25 ? person - 25 : 0);
            break;
        case K_GET_CASE:
            snprintf(path, sizeof path, "/v1/cases/%" PRId64, kase);
            break;
        case K_GET_ASSIST:
            snprintf(path, sizeof path, "/v1/cases/%" PRId64 "/assistance", kase);
            break;
        case K_POST_PERSON: {
            method = "POST";
            snprintf(path, sizeof path, "/v1/persons");
            int n = 1 + (int)rnd(&cn->rng, 3);
            size_t len = (size_t)snprintf(body, sizeof body, "{\"identities\":[");
            for (int i = 0; i < n; i++) {
                if (i)
                    body[len++] = ',';
                len += (size_t)identity_json(body + len, sizeof body - len, &cn->rng, i == 0);
            }
            snprintf(body + len, sizeof body - len, "]}");
            b = body;
            break;
        }
        case K_POST_CASE:
            method = "POST";
            snprintf(path, sizeof path, "/v1/cases");
            snprintf(body, sizeof body,
                     "{\"person_id\":%" PRId64 ",\"destination_country\":\"%s\","
                     "\"return_type\":\"voluntary\",\"programme\":\"national\"}",
                     person, DEST[rnd(&cn->rng, 8)]);
            b = body;
            break;
        case K_POST_ASSIST:
            method = "POST";
            snprintf(path, sizeof path, "/v1/cases/%" PRId64 "/assistance", kase);
            snprintf(body, sizeof body,
                     "{\"kind\":\"%s\",\"amount_cents\":%u,\"funding\":\"amif\","
                     "\"provider\":\"IOM\"}",
                     AKIND[rnd(&cn->rng, 6)], rnd(&cn->rng, 300000));
            b = body;
            break;
        case K_CHECK: {
            method = "POST";
            snprintf(path, sizeof path, "/v1/checks");
            size_t len = (size_t)snprintf(body, sizeof body,
                                          "{\"purpose\":\"assistance_decision\",\"identity\":");
            len += (size_t)identity_json(body + len, sizeof body - len, &cn->rng, rnd(&cn->rng, 2));
            snprintf(body + len, sizeof body - len, "}");
            b = body;
            break;
        }
        default:
            break;
        }
        char *out = NULL;
        double t0 = now_ms();
        long st = request(c, t, method, path, b,
                          k == K_POST_PERSON || k == K_POST_CASE ? &out : NULL);
        record(&cn->st, k, st, now_ms() - t0);
        if (st == 201 && k == K_POST_PERSON)
            ids_add(&t->persons, body_id(out));
        else if (st == 201 && k == K_POST_CASE)
            ids_add(&t->cases, body_id(out));
        free(out);
    }
    curl_easy_cleanup(c);
    return NULL;
}

/* Every id of a listing, with the tenant's key. */
static void collect(tenant *t, const char *what, ids *l)
{
    CURL *c = curl_easy_init();
    int64_t after = 0;
    for (;;) {
        char path[128], *out = NULL;
        snprintf(path, sizeof path, "/v1/%s?limit=1000&after=%" PRId64, what, after);
        long st = request(c, t, "GET", path, NULL, &out);
        if (st != 200) {
            fprintf(stderr, "soak: GET %s as %s: %ld\n", path, t->code, st);
            exit(2);
        }
        json_object *j = json_tokener_parse(out), *items = NULL, *next = NULL;
        free(out);
        if (!j || !json_object_object_get_ex(j, "items", &items)) {
            fprintf(stderr, "soak: GET %s: not a page\n", path);
            exit(2);
        }
        for (size_t i = 0; i < json_object_array_length(items); i++) {
            json_object *v = NULL;
            if (json_object_object_get_ex(json_object_array_get_idx(items, i), "id", &v))
                ids_add(l, json_object_get_int64(v));
        }
        json_object_object_get_ex(j, "next", &next);
        after = next && json_object_is_type(next, json_type_int) ? json_object_get_int64(next) : 0;
        json_object_put(j);
        if (!after)
            break;
    }
    curl_easy_cleanup(c);
}

static long rss_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void usage(void)
{
    fprintf(stderr, "usage: soak --port PORT --keys FILE [--connections 64] [--duration 60] "
                    "[--pid SERVER_PID] [--seed N] [--no-writes]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *keys = NULL;
    int nconn = 64, pid = 0;
    double duration = 60;
    uint64_t seed = (uint64_t)time(NULL);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--no-writes")) {
            g_no_writes = true;
            continue;
        }
        if (i + 1 >= argc)
            usage();
        if (!strcmp(argv[i], "--port"))
            g_port = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--keys"))
            keys = argv[++i];
        else if (!strcmp(argv[i], "--connections"))
            nconn = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--duration"))
            duration = atof(argv[++i]);
        else if (!strcmp(argv[i], "--pid"))
            pid = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seed"))
            seed = strtoull(argv[++i], NULL, 10);
        else
            usage();
    }
    if (!g_port || !keys || nconn < 1 || nconn > MAX_CONNS || duration <= 0)
        usage();
    FILE *kf = fopen(keys, "r");
    if (!kf) {
        perror(keys);
        return 2;
    }
    char line[256];
    while (g_ntenants < MAX_TENANTS && fgets(line, sizeof line, kf)) {
        tenant *t = &g_tenants[g_ntenants];
        if (sscanf(line, "%15s %127s", t->code, t->key) == 2) {
            pthread_mutex_init(&t->persons.mu, NULL);
            pthread_mutex_init(&t->cases.mu, NULL);
            g_ntenants++;
        }
    }
    fclose(kf);
    if (!g_ntenants) {
        fprintf(stderr, "soak: no keys in %s\n", keys);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    size_t persons0 = 0, cases0 = 0;
    for (int i = 0; i < g_ntenants; i++) {
        collect(&g_tenants[i], "persons", &g_tenants[i].persons);
        collect(&g_tenants[i], "cases", &g_tenants[i].cases);
        persons0 += g_tenants[i].persons.n;
        cases0 += g_tenants[i].cases.n;
    }

    long rss[4096];
    int nrss = 0;
    if (pid)
        rss[nrss++] = rss_kb(pid);
    conn *cs = calloc((size_t)nconn, sizeof *cs);
    pthread_t *th = calloc((size_t)nconn, sizeof *th);
    double t0 = now_ms();
    for (int i = 0; i < nconn; i++) {
        cs[i].idx = i;
        cs[i].t = &g_tenants[i % g_ntenants];
        cs[i].rng = seed * 1000003ULL + (uint64_t)i;
        pthread_create(&th[i], NULL, conn_run, &cs[i]);
    }
    while (now_ms() - t0 < duration * 1000) {
        usleep(1000000);
        if (pid && nrss < 4096)
            rss[nrss++] = rss_kb(pid);
    }
    atomic_store(&g_stop, true);
    for (int i = 0; i < nconn; i++)
        pthread_join(th[i], NULL);
    double secs = (now_ms() - t0) / 1000;
    if (pid && nrss < 4096)
        rss[nrss++] = rss_kb(pid);

    stats tot;
    memset(&tot, 0, sizeof tot);
    size_t nlat = 0;
    for (int i = 0; i < nconn; i++)
        nlat += cs[i].st.nlat;
    tot.lat = malloc((nlat ? nlat : 1) * sizeof *tot.lat);
    for (int i = 0; i < nconn; i++) {
        for (int s = 0; s < 600; s++)
            tot.status[s] += cs[i].st.status[s];
        for (int k = 0; k < K_COUNT; k++) {
            tot.by_kind[k] += cs[i].st.by_kind[k];
            tot.kind_5xx[k] += cs[i].st.kind_5xx[k];
        }
        for (int e = 0; e < 100; e++)
            tot.curl_err[e] += cs[i].st.curl_err[e];
        memcpy(tot.lat + tot.nlat, cs[i].st.lat, cs[i].st.nlat * sizeof *tot.lat);
        tot.nlat += cs[i].st.nlat;
        free(cs[i].st.lat);
    }
    qsort(tot.lat, tot.nlat, sizeof *tot.lat, cmp_double);
    uint64_t cls[6] = {0}, total = 0, conn_err = 0;
    for (int s = 100; s < 600; s++) {
        cls[s / 100] += tot.status[s];
        total += tot.status[s];
    }
    for (int e = 0; e < 100; e++)
        conn_err += tot.curl_err[e];
    total += conn_err;
    size_t persons1 = 0, cases1 = 0;
    for (int i = 0; i < g_ntenants; i++) {
        persons1 += g_tenants[i].persons.n;
        cases1 += g_tenants[i].cases.n;
    }

#define PCT(p) (tot.nlat ? tot.lat[(size_t)((double)(tot.nlat - 1) * (p))] : 0.0)
    printf("| measure | value |\n|---|---|\n");
    printf("| connections | %d (tenants:", nconn);
    for (int i = 0; i < g_ntenants; i++)
        printf(" %s", g_tenants[i].code);
    printf(") |\n| duration | %.1f s |\n", secs);
    printf("| requests | %" PRIu64 " |\n| rate | %.0f requests/s |\n", total, (double)total / secs);
    printf("| 2xx | %" PRIu64 " |\n| 3xx | %" PRIu64 " |\n| 4xx | %" PRIu64 " |\n"
           "| 5xx | %" PRIu64 " |\n| connection errors | %" PRIu64 " |\n",
           cls[2], cls[3], cls[4], cls[5], conn_err);
    printf("| latency p50 / p90 / p99 / max | %.1f / %.1f / %.1f / %.1f ms |\n", PCT(0.5),
           PCT(0.9), PCT(0.99), PCT(1.0));
    printf("| persons known to the clients | %zu before, %zu after |\n", persons0, persons1);
    printf("| cases known to the clients | %zu before, %zu after |\n", cases0, cases1);
    if (pid && nrss > 0) {
        long mx = 0;
        for (int i = 0; i < nrss; i++)
            if (rss[i] > mx)
                mx = rss[i];
        long mid = rss[nrss / 2];
        printf("| server RSS start / max / end | %.1f / %.1f / %.1f MiB |\n", rss[0] / 1024.0,
               mx / 1024.0, rss[nrss - 1] / 1024.0);
        printf("| server RSS growth, second half | %+.1f MiB (%d samples, one a second) |\n",
               (rss[nrss - 1] - mid) / 1024.0, nrss);
    }
    printf("\nBy request (count, share, 5xx):\n\n| request | count | share | 5xx |\n|---|---|---|---|\n");
    for (int k = 0; k < K_COUNT; k++)
        printf("| %s | %" PRIu64 " | %.1f%% | %" PRIu64 " |\n", KIND_NAME[k], tot.by_kind[k],
               total ? 100.0 * (double)tot.by_kind[k] / (double)total : 0.0, tot.kind_5xx[k]);
    printf("\nBy status:");
    for (int s = 100; s < 600; s++)
        if (tot.status[s])
            printf(" %d: %" PRIu64 ";", s, tot.status[s]);
    for (int e = 0; e < 100; e++)
        if (tot.curl_err[e])
            printf(" curl error %d (%s): %" PRIu64 ";", e, curl_easy_strerror((CURLcode)e),
                   tot.curl_err[e]);
    printf("\n");
    if (pid && nrss > 0) {
        printf("\nRSS samples (MiB):");
        for (int i = 0; i < nrss; i++)
            printf(" %.0f", rss[i] / 1024.0);
        printf("\n");
    }
    free(tot.lat);
    free(cs);
    free(th);
    for (int i = 0; i < g_ntenants; i++) {
        free(g_tenants[i].persons.v);
        free(g_tenants[i].cases.v);
    }
    curl_global_cleanup();
    return cls[5] || conn_err ? 1 : 0;
}
