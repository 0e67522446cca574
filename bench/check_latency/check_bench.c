/* check_bench.c: in-process latency of a consultation (issue 4, item 7).
 *
 * Opens a registry, loads the match index as `avrr serve` does at start
 * (timing it, with the process's RSS after the load), then runs checks
 * through avrr_service_check(), the same use case POST /v1/checks calls,
 * with probes read from CSV files: "known" probes (another registration of
 * a person in the registry: typos, other romanisation, placeholder dates)
 * and "new" probes (persons not registered; only namesakes can hit). Prints
 * one line of key=value results per thread count, for run.sh to tabulate.
 *
 * A check is partly a write: the service records it (a row in `checks`,
 * its hits, and a yellow link per hit on another tenant) under the store
 * lock. That is measured as it is, because it is what a caller waits for.
 *
 * With --match-only CSV[,CSV...] it instead builds a bare match index from
 * those registry files (avrr_match_index_add, no store) and times
 * avrr_match_index_query alone with the same probes, threshold and hit cap
 * as a check: the matching share of a check, without the store.
 *
 * usage: check_bench --db FILE --known CSV --new CSV [--tenant CODE]
 *                    [--checks N] [--warmup N] [--threads 1,2]
 *                    [--phases] [--no-bg-checkpoints]
 *        check_bench --match-only CSV[,CSV...] --known CSV --new CSV [--checks N]
 *                    [--verify N]
 *
 * --phases also prints, per phase of a check (service/check_phases.h), its
 * wall and CPU time (mean, p50, p99) and its mean over the slowest 1 % of
 * the checks and over the middle ones: which phase makes the tail.
 * --no-bg-checkpoints: SQLite checkpoints inside commits, as before `avrr
 * serve` moved them to a thread of their own (the default here, as there).
 *
 * --match-only also prints, per query, the postings read, the distinct
 * candidates and how many of them were compared in full (the rest rejected
 * by their weight bound). --verify N then checks N probes: the query must
 * return exactly the hits that comparing every candidate in full returns,
 * and a scan of every record counts the hits that blocking never offers.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "avrr/csv.h"
#include "avrr/match.h"
#include "avrr/service.h"
#include "match/match_int.h"
#include "service/check_phases.h"

typedef struct probe {
    avrr_identity id;
    bool known;
} probe;

typedef struct probes {
    probe *v;
    size_t n, cap;
} probes;

typedef struct worker {
    avrr_service *svc;
    const char *tenant;
    const probes *pr;
    size_t first, count, stride; /* probe i = (first + k * stride) % n */
    double *lat_ms;              /* count entries */
    double *cpu_ms;              /* CPU time of the same checks */
    avrr__check_phases *ph;      /* --phases: per check, else NULL */
    size_t hits_known, hits_new, n_known, n_new, hits_total, failed;
    char error[300];
} worker;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* VmRSS / VmHWM of this process in MiB, from /proc/self/status. */
/* CPU time of the calling thread: what a query costs, whatever else the
 * machine runs (wall time is also reported, and is what a caller waits). */
static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void rss_mib(double *rss, double *hwm)
{
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    *rss = *hwm = -1;
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        long kb;
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            *rss = (double)kb / 1024.0;
        else if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            *hwm = (double)kb / 1024.0;
    }
    fclose(f);
}

static int read_probes(const char *path, bool known, probes *pr)
{
    FILE *f = fopen(path, "r");
    avrr_identity_reader *r = NULL;
    avrr_error e;
    avrr_err rc;
    if (!f) {
        fprintf(stderr, "check_bench: %s: %s\n", path, strerror(errno));
        return -1;
    }
    avrr_error_clear(&e);
    if (avrr_identity_reader_open(f, path, &r, &e) != AVRR_OK) {
        fprintf(stderr, "check_bench: %s\n", e.message);
        fclose(f);
        return -1;
    }
    for (;;) {
        avrr_identity id;
        const char *rec_id;
        rc = avrr_identity_reader_next(r, &id, &rec_id, &e);
        if (rc == AVRR_ENOTFOUND)
            break;
        if (rc != AVRR_OK) {
            fprintf(stderr, "check_bench: %s\n", e.message);
            continue;
        }
        if (pr->n == pr->cap) {
            pr->cap = pr->cap ? pr->cap * 2 : 1024;
            pr->v = realloc(pr->v, pr->cap * sizeof *pr->v);
            if (!pr->v) {
                fprintf(stderr, "check_bench: out of memory\n");
                exit(1);
            }
        }
        pr->v[pr->n].id = id;
        pr->v[pr->n].known = known;
        pr->n++;
    }
    avrr_identity_reader_close(r);
    fclose(f);
    return 0;
}

/* Fisher-Yates with a fixed xorshift seed, so every run sends the same
 * probes in the same order. */
static void shuffle(probes *pr)
{
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (size_t i = pr->n; i > 1; i--) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        size_t j = (size_t)(s % i);
        probe t = pr->v[i - 1];
        pr->v[i - 1] = pr->v[j];
        pr->v[j] = t;
    }
}

static void *run_worker(void *arg)
{
    worker *w = arg;
    avrr_actor actor;
    avrr_error e;
    avrr_error_clear(&e);
    if (avrr_service_local_actor(w->svc, w->tenant, AVRR_ROLE_CASEWORKER, &actor, &e) !=
        AVRR_OK) {
        snprintf(w->error, sizeof w->error, "actor: %s", e.message);
        return NULL;
    }
    for (size_t k = 0; k < w->count; k++) {
        const probe *p = &w->pr->v[(w->first + k * w->stride) % w->pr->n];
        /* The service canonicalises the request in place: check a copy. */
        avrr_identity id;
        avrr_check_result res;
        if (avrr_identity_copy(&id, &p->id) != AVRR_OK) {
            snprintf(w->error, sizeof w->error, "out of memory");
            return NULL;
        }
        avrr_check_request req = {.purpose = AVRR_PURPOSE_ASSISTANCE_DECISION,
                                  .identities = &id,
                                  .n_identities = 1};
        if (w->ph) {
            memset(&w->ph[k], 0, sizeof w->ph[k]);
            avrr__check_phases_record(&w->ph[k]);
        }
        double t0 = now_s(), c0 = cpu_s();
        avrr_err rc = avrr_service_check(w->svc, &actor, &req, &res, &e);
        double t1 = now_s(), c1 = cpu_s();
        avrr__check_phases_record(NULL);
        avrr_identity_clear(&id);
        if (w->lat_ms)
            w->lat_ms[k] = (t1 - t0) * 1e3;
        if (w->cpu_ms)
            w->cpu_ms[k] = (c1 - c0) * 1e3;
        if (rc != AVRR_OK) {
            w->failed++;
            if (!w->error[0])
                snprintf(w->error, sizeof w->error, "check: %s", e.message);
            continue;
        }
        if (p->known) {
            w->n_known++;
            w->hits_known += res.n_hits > 0;
        } else {
            w->n_new++;
            w->hits_new += res.n_hits > 0;
        }
        w->hits_total += res.n_hits;
        avrr_check_result_clear(&res);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v. */
static double pct(const double *v, size_t n, double p)
{
    size_t r = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (r < 1)
        r = 1;
    if (r > n)
        r = n;
    return v[r - 1];
}

static bool want_phases;
static bool bg_checkpoints = true;

/* --phases: per phase, the mean, p50 and p99 of its wall and CPU time over
 * all checks, and its mean over the slowest 1 % of checks (by wall time) and
 * over the middle ones (45th to 55th percentile): which phase makes the
 * tail. One line per phase ("phase ..."), then the candidates and persons of
 * the two groups ("phase_groups ..."). */
static void print_phases(const avrr__check_phases *ph, const double *lat_unsorted, size_t n,
                         int nthreads)
{
    size_t *ord = calloc(n, sizeof *ord);
    double *v = calloc(n, sizeof *v);
    if (!ord || !v || n == 0) {
        free(ord);
        free(v);
        return;
    }
    /* check indexes by wall time (a wall time then its index: sorted as
     * pairs of doubles by the first) */
    double (*kv)[2] = calloc(n, sizeof *kv);
    if (!kv) {
        free(ord);
        free(v);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        kv[i][0] = lat_unsorted[i];
        kv[i][1] = (double)i;
    }
    qsort(kv, n, sizeof *kv, cmp_double);
    for (size_t i = 0; i < n; i++)
        ord[i] = (size_t)kv[i][1];
    free(kv);
    size_t tail0 = n - (n + 99) / 100, mid0 = n * 45 / 100, mid1 = n * 55 / 100;
    for (int p = 0; p < AVRR__CP__N; p++) {
        double sw = 0, sc = 0, tw = 0, mw = 0, tc = 0, mc = 0;
        for (size_t i = 0; i < n; i++) {
            sw += ph[i].wall_us[p];
            sc += ph[i].cpu_us[p];
        }
        for (size_t i = tail0; i < n; i++) {
            tw += ph[ord[i]].wall_us[p];
            tc += ph[ord[i]].cpu_us[p];
        }
        for (size_t i = mid0; i < mid1; i++) {
            mw += ph[ord[i]].wall_us[p];
            mc += ph[ord[i]].cpu_us[p];
        }
        for (size_t i = 0; i < n; i++)
            v[i] = ph[i].wall_us[p];
        qsort(v, n, sizeof *v, cmp_double);
        double wp50 = pct(v, n, 50), wp99 = pct(v, n, 99), wmax = v[n - 1];
        for (size_t i = 0; i < n; i++)
            v[i] = ph[i].cpu_us[p];
        qsort(v, n, sizeof *v, cmp_double);
        printf("phase threads=%d name=%s wall_mean_us=%.1f wall_p50_us=%.1f wall_p99_us=%.1f "
               "wall_max_us=%.1f cpu_mean_us=%.1f cpu_p50_us=%.1f cpu_p99_us=%.1f "
               "mid_wall_us=%.1f mid_cpu_us=%.1f tail_wall_us=%.1f tail_cpu_us=%.1f\n",
               nthreads, avrr__cp_names[p], sw / (double)n, wp50, wp99, wmax, sc / (double)n,
               pct(v, n, 50), pct(v, n, 99), mid1 > mid0 ? mw / (double)(mid1 - mid0) : 0,
               mid1 > mid0 ? mc / (double)(mid1 - mid0) : 0, tw / (double)(n - tail0),
               tc / (double)(n - tail0));
    }
    double tcand = 0, mcand = 0, tcomp = 0, mcomp = 0, tpers = 0, mpers = 0, acand = 0;
    for (size_t i = tail0; i < n; i++) {
        tcand += (double)ph[ord[i]].candidates;
        tcomp += (double)ph[ord[i]].compared;
        tpers += (double)ph[ord[i]].persons;
    }
    for (size_t i = mid0; i < mid1; i++) {
        mcand += (double)ph[ord[i]].candidates;
        mcomp += (double)ph[ord[i]].compared;
        mpers += (double)ph[ord[i]].persons;
    }
    for (size_t i = 0; i < n; i++)
        acand += (double)ph[i].candidates;
    for (size_t i = 0; i < n; i++)
        v[i] = (double)ph[i].candidates;
    qsort(v, n, sizeof *v, cmp_double);
    size_t nt = n - tail0, nm = mid1 > mid0 ? mid1 - mid0 : 1;
    printf("phase_groups threads=%d candidates_mean=%.1f candidates_p50=%.0f candidates_p99=%.0f "
           "candidates_max=%.0f mid_candidates=%.1f mid_compared=%.1f mid_persons=%.1f "
           "tail_checks=%zu tail_candidates=%.1f tail_compared=%.1f tail_persons=%.1f\n",
           nthreads, acand / (double)n, pct(v, n, 50), pct(v, n, 99), v[n - 1],
           mcand / (double)nm, mcomp / (double)nm, mpers / (double)nm, nt, tcand / (double)nt,
           tcomp / (double)nt, tpers / (double)nt);
    free(ord);
    free(v);
}

/* Runs `total` checks over `nthreads` threads, each on its own share of the
 * probe order, and prints the results line. */
static int run(avrr_service *svc, const char *tenant, const probes *pr, size_t total,
               size_t offset, int nthreads, const char *label)
{
    worker ws[64];
    pthread_t th[64];
    double *lat = calloc(total ? total : 1, sizeof *lat);
    double *cpu = calloc(total ? total : 1, sizeof *cpu);
    avrr__check_phases *ph =
        want_phases && label ? calloc(total ? total : 1, sizeof *ph) : NULL;
    size_t per = total / (size_t)nthreads;
    if (!lat || !cpu || (want_phases && label && !ph)) {
        free(lat);
        free(cpu);
        free(ph);
        return -1;
    }
    memset(ws, 0, sizeof ws);
    for (int t = 0; t < nthreads; t++) {
        ws[t] = (worker){.svc = svc,
                         .tenant = tenant,
                         .pr = pr,
                         .first = offset + (size_t)t,
                         .stride = (size_t)nthreads,
                         .count = per,
                         .lat_ms = lat + (size_t)t * per,
                         .cpu_ms = cpu + (size_t)t * per,
                         .ph = ph ? ph + (size_t)t * per : NULL};
    }
    double t0 = now_s();
    for (int t = 0; t < nthreads; t++)
        pthread_create(&th[t], NULL, run_worker, &ws[t]);
    for (int t = 0; t < nthreads; t++)
        pthread_join(th[t], NULL);
    double wall = now_s() - t0;
    size_t n = per * (size_t)nthreads, failed = 0, hk = 0, hn = 0, nk = 0, nn = 0, ht = 0;
    for (int t = 0; t < nthreads; t++) {
        if (ws[t].error[0])
            fprintf(stderr, "check_bench: thread %d: %s\n", t, ws[t].error);
        failed += ws[t].failed;
        hk += ws[t].hits_known;
        hn += ws[t].hits_new;
        nk += ws[t].n_known;
        nn += ws[t].n_new;
        ht += ws[t].hits_total;
    }
    if (ph)
        print_phases(ph, lat, n, nthreads);
    free(ph);
    qsort(lat, n, sizeof *lat, cmp_double);
    qsort(cpu, n, sizeof *cpu, cmp_double);
    double sum = 0, csum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += lat[i];
        csum += cpu[i];
    }
    if (label)
        printf("%s threads=%d checks=%zu failed=%zu wall_s=%.3f checks_per_s=%.1f "
               "mean_ms=%.3f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f "
               "cpu_mean_ms=%.3f cpu_p50_ms=%.3f cpu_p99_ms=%.3f "
               "known_hit_rate=%.3f new_hit_rate=%.3f hits_per_check=%.2f\n",
               label, nthreads, n, failed, wall, (double)n / wall, n ? sum / (double)n : 0,
               pct(lat, n, 50), pct(lat, n, 90), pct(lat, n, 99), n ? lat[n - 1] : 0,
               n ? csum / (double)n : 0, pct(cpu, n, 50), pct(cpu, n, 99),
               nk ? (double)hk / (double)nk : 0, nn ? (double)hn / (double)nn : 0,
               n ? (double)ht / (double)n : 0);
    fflush(stdout);
    free(lat);
    free(cpu);
    return failed == n && n ? -1 : 0;
}

/* Threshold and hit cap of a check with the default options: possible
 * threshold 0.5, 20 persons of up to 4 identities (consult.c). */
#define MATCH_THRESHOLD 0.5
#define MATCH_MAX_HITS 80

static int match_only(const char *files, const probes *pr, size_t checks, size_t verify)
{
    avrr_match_index *idx = NULL;
    double rss, hwm;
    if (avrr_match_index_new(NULL, &idx) != AVRR_OK)
        return 1;
    double t0 = now_s();
    int64_t next_id = 1;
    char path[4096];
    for (const char *p = files; *p;) {
        size_t n = strcspn(p, ",");
        snprintf(path, sizeof path, "%.*s", (int)n, p);
        p += n + (p[n] == ',');
        probes reg = {0};
        if (read_probes(path, true, &reg) != 0)
            return 1;
        const char *slash = strrchr(path, '/');
        char tenant[17];
        snprintf(tenant, sizeof tenant, "%.2s", slash ? slash + 1 : path);
        for (size_t i = 0; i < reg.n; i++) {
            int64_t id = next_id++;
            if (avrr_match_index_add(idx, id, id, tenant, &reg.v[i].id) != AVRR_OK) {
                fprintf(stderr, "check_bench: index add failed\n");
                return 1;
            }
            avrr_identity_clear(&reg.v[i].id);
        }
        free(reg.v);
    }
    avrr__match_index_trim(idx); /* as avrr_service_index_load does */
    double load = now_s() - t0;
    rss_mib(&rss, &hwm);
    printf("match_load identities=%zu build_s=%.3f rss_after_mib=%.1f\n",
           avrr_match_index_size(idx), load, rss);
    double *lat = calloc(checks, sizeof *lat), *cpu = calloc(checks, sizeof *cpu);
    size_t hits = 0, postings = 0, cands = 0, compared = 0;
    for (size_t k = 0; k < checks + 1000; k++) { /* 1,000 warm-up queries */
        avrr_match_hit *h = NULL;
        size_t nh = 0;
        avrr__mqstats st = {.exhaustive = false};
        double q0 = now_s(), c0 = cpu_s();
        avrr_err rc = avrr__match_index_query_stats(idx, &pr->v[k % pr->n].id, MATCH_THRESHOLD,
                                                    MATCH_MAX_HITS, &h, &nh, &st);
        double q1 = now_s(), c1 = cpu_s();
        if (rc != AVRR_OK)
            return 1;
        avrr_free(h);
        if (k >= 1000) {
            lat[k - 1000] = (q1 - q0) * 1e3;
            cpu[k - 1000] = (c1 - c0) * 1e3;
            hits += nh;
            postings += st.postings;
            cands += st.candidates;
            compared += st.compared;
        }
    }
    qsort(lat, checks, sizeof *lat, cmp_double);
    qsort(cpu, checks, sizeof *cpu, cmp_double);
    double sum = 0, csum = 0;
    for (size_t i = 0; i < checks; i++) {
        sum += lat[i];
        csum += cpu[i];
    }
    printf("match_query threads=1 queries=%zu mean_ms=%.3f p50_ms=%.3f p90_ms=%.3f "
           "p99_ms=%.3f max_ms=%.3f cpu_mean_ms=%.3f cpu_p50_ms=%.3f cpu_p99_ms=%.3f "
           "identity_hits_per_query=%.2f postings_per_query=%.1f "
           "candidates_per_query=%.1f compared_per_query=%.1f\n",
           checks, sum / (double)checks, pct(lat, checks, 50), pct(lat, checks, 90),
           pct(lat, checks, 99), lat[checks - 1], csum / (double)checks, pct(cpu, checks, 50),
           pct(cpu, checks, 99), (double)hits / (double)checks,
           (double)postings / (double)checks, (double)cands / (double)checks,
           (double)compared / (double)checks);
    /* --verify N: for N probes, the query (bound on, no hit cap) must return
     * exactly what scoring every candidate in full returns; and a scan of
     * every record in the index counts the hits blocking never offers (the
     * same blocking as `avrr link`). */
    size_t vq = 0, vmiss = 0, vextra = 0, vhits = 0, vfull = 0, vunblocked = 0;
    size_t nrec = avrr_match_index_size(idx);
    const avrr_match_rec **recs = verify ? calloc(nrec, sizeof *recs) : NULL;
    int64_t *ids = verify ? calloc(nrec, sizeof *ids) : NULL;
    if (verify)
        nrec = avrr__match_index_records(idx, recs, ids, nrec);
    for (size_t k = 0; k < verify && k < pr->n; k++) {
        avrr_match_hit *a = NULL, *b = NULL;
        size_t na = 0, nb = 0;
        avrr__mqstats sa = {.exhaustive = false}, sb = {.exhaustive = true};
        if (avrr__match_index_query_stats(idx, &pr->v[k].id, MATCH_THRESHOLD, 0, &a, &na, &sa) ||
            avrr__match_index_query_stats(idx, &pr->v[k].id, MATCH_THRESHOLD, 0, &b, &nb, &sb))
            return 1;
        vq++;
        vhits += nb;
        for (size_t i = 0; i < nb; i++) {
            size_t j = 0;
            while (j < na && a[j].identity_id != b[i].identity_id)
                j++;
            vmiss += j == na || a[j].explanation.probability != b[i].explanation.probability;
        }
        vextra += na > nb ? na - nb : 0;
        avrr_match_rec *pr_rec = NULL;
        if (avrr_match_rec_new(&pr->v[k].id, &pr_rec) != AVRR_OK)
            return 1;
        for (size_t r = 0; r < nrec; r++) {
            avrr_match_explanation x;
            avrr_match_compare(avrr__match_index_model(idx), avrr__match_index_tf(idx), pr_rec,
                               recs[r], &x);
            if (x.probability < MATCH_THRESHOLD)
                continue;
            vfull++;
            size_t j = 0;
            while (j < nb && b[j].identity_id != ids[r])
                j++;
            vunblocked += j == nb;
        }
        avrr_match_rec_free(pr_rec);
        avrr_free(a);
        avrr_free(b);
    }
    if (verify)
        printf("match_verify probes=%zu hits_exhaustive=%zu missed_by_bound=%zu extra=%zu "
               "hits_full_scan=%zu full_scan_hits_not_blocked=%zu\n",
               vq, vhits, vmiss, vextra, vfull, vunblocked);
    free(recs);
    free(ids);
    free(cpu);
    free(lat);
    avrr_match_index_free(idx);
    return 0;
}

int main(int argc, char **argv)
{
    const char *db = NULL, *match_files = NULL, *known = NULL, *fresh = NULL, *tenant = "BE", *threads = "1,2";
    long checks = 20000, warmup = 1000, verify = 0;
    static const struct option opts[] = {
        {"db", required_argument, 0, 'd'},     {"known", required_argument, 0, 'k'},
        {"new", required_argument, 0, 'n'},    {"tenant", required_argument, 0, 't'},
        {"checks", required_argument, 0, 'c'}, {"warmup", required_argument, 0, 'w'},
        {"threads", required_argument, 0, 'T'}, {"match-only", required_argument, 0, 'm'},
        {"verify", required_argument, 0, 'v'}, {"phases", no_argument, 0, 'P'},
        {"no-bg-checkpoints", no_argument, 0, 'B'},
        {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': db = optarg; break;
        case 'k': known = optarg; break;
        case 'n': fresh = optarg; break;
        case 't': tenant = optarg; break;
        case 'c': checks = strtol(optarg, NULL, 10); break;
        case 'w': warmup = strtol(optarg, NULL, 10); break;
        case 'T': threads = optarg; break;
        case 'm': match_files = optarg; break;
        case 'v': verify = strtol(optarg, NULL, 10); break;
        case 'P': want_phases = true; break;
        case 'B': bg_checkpoints = false; break;
        default:
            fprintf(stderr, "usage: check_bench --db FILE --known CSV --new CSV [--tenant CODE]"
                            " [--checks N] [--warmup N] [--threads 1,2]\n");
            return 2;
        }
    }
    if ((!db && !match_files) || !known || !fresh || checks <= 0 || warmup < 0 || verify < 0) {
        fprintf(stderr, "check_bench: --db (or --match-only), --known and --new are required\n");
        return 2;
    }

    probes pr = {0};
    if (read_probes(known, true, &pr) != 0 || read_probes(fresh, false, &pr) != 0)
        return 1;
    if (pr.n == 0) {
        fprintf(stderr, "check_bench: no probes\n");
        return 1;
    }
    shuffle(&pr);
    if (match_files)
        return match_only(match_files, &pr, (size_t)checks, (size_t)verify);

    avrr_service *svc = NULL;
    avrr_error e;
    avrr_error_clear(&e);
    double rss0, hwm0, rss1, hwm1;
    rss_mib(&rss0, &hwm0);
    if (avrr_service_open(db, false, &svc, &e) != AVRR_OK) {
        fprintf(stderr, "check_bench: %s: %s\n", db, e.message);
        return 1;
    }
    double t0 = now_s();
    if (avrr_service_index_load(svc, &e) != AVRR_OK) {
        fprintf(stderr, "check_bench: index: %s\n", e.message);
        return 1;
    }
    double load = now_s() - t0;
    /* as `avrr serve` runs: WAL checkpoints on a thread of their own */
    if (bg_checkpoints && avrr_service_background_checkpoints(svc, 200, &e) != AVRR_OK) {
        fprintf(stderr, "check_bench: %s\n", e.message);
        return 1;
    }
    rss_mib(&rss1, &hwm1);
    int64_t n_ids = 0;
    (void)avrr_service_count(svc, "identities", &n_ids, &e);
    printf("load identities=%lld index_load_s=%.3f rss_before_mib=%.1f rss_after_mib=%.1f "
           "hwm_after_mib=%.1f probes=%zu\n",
           (long long)n_ids, load, rss0, rss1, hwm1, pr.n);
    fflush(stdout);

    /* Warm-up: pages of the store and the index into cache, as on a
     * server that has been up for a while. Not reported. */
    if (warmup && run(svc, tenant, &pr, (size_t)warmup, 0, 1, NULL) != 0)
        return 1;
    int rc = 0;
    size_t offset = (size_t)warmup;
    for (const char *p = threads; *p && rc == 0;) {
        char *end;
        long t = strtol(p, &end, 10);
        if (t < 1 || t > 64) {
            fprintf(stderr, "check_bench: bad --threads\n");
            return 2;
        }
        rc = run(svc, tenant, &pr, (size_t)checks, offset, (int)t, "checks");
        offset += (size_t)checks;
        p = *end == ',' ? end + 1 : end;
    }
    rss_mib(&rss1, &hwm1);
    printf("end rss_mib=%.1f hwm_mib=%.1f\n", rss1, hwm1);
    avrr_service_close(svc);
    for (size_t i = 0; i < pr.n; i++)
        avrr_identity_clear(&pr.v[i].id);
    free(pr.v);
    return rc == 0 ? 0 : 1;
}
