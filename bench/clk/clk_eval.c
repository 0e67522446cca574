/* clk_eval.c: what privacy costs. Encodes identity CSVs (bench/convert.py,
 * bench/gen_returnees.py: an `entity` column holds the truth) as CLKs,
 * compares all pairs (link: every left record with every right one; dedup:
 * every pair of one file) with the Dice kernel, and prints precision,
 * recall and F1 at the threshold and the best F1 over all thresholds, both
 * for every pair above the threshold and, for link, after a greedy
 * one-to-one assignment (anonlink's solver, which clkhash's published
 * FEBRL4 figures use).
 *
 * Usage: clk_eval [--threshold T] [--min M] [--k FIELD=K]... [--fold 0|1]
 *                 [--blip P] [--full 0|1] [--blocked] LEFT.csv [RIGHT.csv]
 * FIELD is one of name name_key year year2 month day year_month month_day
 * sex document. --blocked keeps only pairs sharing a blocking HMAC.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "avrr/clk.h"
#include "avrr/csv.h"
#include "match/clk_int.h"

static const char *const fields[AVRR__CLK_F__COUNT] = {
    "name", "name_key", "year", "year2", "month", "day",
    "year_month", "month_day", "sex", "document", "address",
    "nationality", "birth_place",
};

typedef struct set {
    avrr_clk *c;
    char **ent;
    size_t n, cap;
    avrr_clk_array arr;
} set;

typedef struct pr {
    float d;
    uint32_t i, j;
    uint8_t truth;
} pr;

typedef struct col {
    pr *v;
    size_t n, cap;
    set *l, *r;
    bool dedup, blocked;
    double min;
} col;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int load(const char *path, const avrr_clk_key *key, set *s)
{
    FILE *f = fopen(path, "r");
    avrr_identity_reader *r = NULL;
    avrr_error e;
    if (!f || avrr_identity_reader_open(f, path, &r, &e) != AVRR_OK) {
        fprintf(stderr, "clk_eval: cannot read %s\n", path);
        return -1;
    }
    int ecol = avrr_identity_reader_column(r, "entity");
    for (;;) {
        avrr_identity id;
        const char *rid;
        avrr_err err = avrr_identity_reader_next(r, &id, &rid, &e);
        if (err == AVRR_ENOTFOUND)
            break;
        if (err != AVRR_OK) {
            fprintf(stderr, "clk_eval: %s (skipped)\n", e.message);
            if (avrr_identity_reader_failed(r))
                return -1;
            continue;
        }
        if (s->n == s->cap) {
            s->cap = s->cap ? 2 * s->cap : 4096;
            s->c = realloc(s->c, s->cap * sizeof *s->c);
            s->ent = realloc(s->ent, s->cap * sizeof *s->ent);
            if (!s->c || !s->ent)
                abort();
        }
        const char *ent = ecol >= 0 ? avrr_csv_field(avrr_identity_reader_csv(r), (size_t)ecol, NULL)
                                    : rid;
        s->ent[s->n] = strdup(ent ? ent : "");
        if (avrr_clk_encode(key, &id, &s->c[s->n]) != AVRR_OK) {
            fprintf(stderr, "clk_eval: encode failed\n");
            return -1;
        }
        avrr_identity_clear(&id);
        s->n++;
    }
    avrr_identity_reader_close(r);
    fclose(f);
    if (avrr_clk_array_init(&s->arr, s->n) != AVRR_OK)
        return -1;
    for (size_t i = 0; i < s->n; i++)
        avrr_clk_array_push(&s->arr, &s->c[i]);
    return 0;
}

static int on_pair(void *ctx, size_t q, size_t i, double d)
{
    col *c = ctx;
    if (c->dedup && i <= q)
        return 0;
    if (c->blocked && avrr_clk_blocks_shared(&c->l->c[q], &c->r->c[i]) == 0)
        return 0;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 1 << 16;
        c->v = realloc(c->v, c->cap * sizeof *c->v);
        if (!c->v)
            abort();
    }
    c->v[c->n++] = (pr){(float)d, (uint32_t)q, (uint32_t)i,
                        (uint8_t)(strcmp(c->l->ent[q], c->r->ent[i]) == 0)};
    return 0;
}

static int by_dice(const void *a, const void *b)
{
    const pr *x = a, *y = b;
    return x->d < y->d ? 1 : x->d > y->d ? -1 : 0;
}

static int by_ent(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Number of true pairs: link, entities present on both sides; dedup, pairs
 * within an entity. */
static double true_pairs(const set *l, const set *r, bool dedup)
{
    size_t nl = l->n, nr = dedup ? 0 : r->n;
    char **a = malloc((nl + nr) * sizeof *a);
    memcpy(a, l->ent, nl * sizeof *a);
    qsort(a, nl, sizeof *a, by_ent);
    double t = 0;
    if (dedup) {
        for (size_t i = 0; i < nl;) {
            size_t j = i;
            while (j < nl && strcmp(a[i], a[j]) == 0)
                j++;
            t += (double)(j - i) * (double)(j - i - 1) / 2;
            i = j;
        }
    } else {
        for (size_t i = 0; i < r->n; i++)
            if (bsearch(&r->ent[i], a, nl, sizeof *a, by_ent)) {
                /* count every left record of that entity */
                char **p = bsearch(&r->ent[i], a, nl, sizeof *a, by_ent);
                while (p > a && strcmp(p[-1], r->ent[i]) == 0)
                    p--;
                while (p < a + nl && strcmp(*p, r->ent[i]) == 0) {
                    t++;
                    p++;
                }
            }
    }
    free(a);
    return t;
}

static void report(const char *label, const pr *v, size_t n, double truth, double thr)
{
    double tp = 0, best = 0, bt = 0, bp = 0, br = 0, tpt = 0, fpt = 0;
    for (size_t i = 0; i < n; i++) {
        tp += v[i].truth;
        if (v[i].d >= thr) {
            tpt += v[i].truth;
            fpt += !v[i].truth;
        }
        if (i + 1 < n && v[i + 1].d == v[i].d)
            continue;
        double p = tp / (double)(i + 1), r = tp / truth, f = p + r > 0 ? 2 * p * r / (p + r) : 0;
        if (f > best) {
            best = f;
            bt = v[i].d;
            bp = p;
            br = r;
        }
    }
    double p = tpt + fpt > 0 ? tpt / (tpt + fpt) : 1, r = tpt / truth;
    printf("%-10s t=%.2f: precision %.4f recall %.4f F1 %.4f | best F1 %.4f at t=%.3f "
           "(P %.4f R %.4f) | true pairs %.0f, scored above min %zu\n",
           label, thr, p, r, p + r > 0 ? 2 * p * r / (p + r) : 0, best, bt, bp, br, truth, n);
}

int main(int argc, char **argv)
{
    double thr = 0.8, min = 0.4;
    bool blocked = false;
    int a = 1;
    for (; a < argc && strncmp(argv[a], "--", 2) == 0; a++) {
        if (strcmp(argv[a], "--threshold") == 0)
            thr = strtod(argv[++a], NULL);
        else if (strcmp(argv[a], "--min") == 0)
            min = strtod(argv[++a], NULL);
        else if (strcmp(argv[a], "--fold") == 0)
            avrr__clk_params_now.fold = atoi(argv[++a]) != 0;
        else if (strcmp(argv[a], "--blip") == 0)
            avrr__clk_params_now.blip = strtod(argv[++a], NULL);
        else if (strcmp(argv[a], "--full") == 0)
            avrr__clk_params_now.full_name_always = atoi(argv[++a]) != 0;
        else if (strcmp(argv[a], "--blocked") == 0)
            blocked = true;
        else if (strcmp(argv[a], "--k") == 0) {
            char *eq = strchr(argv[++a], '=');
            int f = 0;
            while (eq && f < AVRR__CLK_F__COUNT &&
                   (strlen(fields[f]) != (size_t)(eq - argv[a]) ||
                    strncmp(fields[f], argv[a], (size_t)(eq - argv[a])) != 0))
                f++;
            if (!eq || f == AVRR__CLK_F__COUNT) {
                fprintf(stderr, "clk_eval: bad --k %s\n", argv[a]);
                return 2;
            }
            avrr__clk_params_now.k[f] = atoi(eq + 1);
        } else {
            fprintf(stderr, "clk_eval: unknown option %s\n", argv[a]);
            return 2;
        }
    }
    if (argc - a < 1 || argc - a > 2) {
        fputs("usage: clk_eval [OPTIONS] LEFT.csv [RIGHT.csv]\n", stderr);
        return 2;
    }
    uint8_t kb[AVRR_CLK_KEY_BYTES];
    for (unsigned i = 0; i < sizeof kb; i++)
        kb[i] = (uint8_t)(i * 37 + 11);
    avrr_clk_key *key;
    if (avrr_clk_key_from_bytes(kb, sizeof kb, &key) != AVRR_OK)
        return 1;
    set l = {0}, r = {0};
    double t0 = now();
    if (load(argv[a], key, &l) != 0 || (argc - a == 2 && load(argv[a + 1], key, &r) != 0))
        return 1;
    bool dedup = argc - a == 1;
    set *rs = dedup ? &l : &r;
    double t1 = now();
    double fill = 0;
    for (size_t i = 0; i < l.n; i++)
        fill += l.c[i].popcount;
    col c = {.l = &l, .r = rs, .dedup = dedup, .blocked = blocked, .min = min};
    avrr_clk_dice_batch(l.c, l.n, rs->arr.bits, rs->arr.pop, rs->n, min, on_pair, &c);
    double t2 = now();
    double pairs = dedup ? (double)l.n * (double)(l.n - 1) / 2 : (double)l.n * (double)rs->n;
    printf("records %zu + %zu, encoded in %.2f s (%.1f us each), mean popcount %.0f of 1024; "
           "%.0f pairs compared in %.3f s (%.0f M/s, 1 thread, kernel %s)\n",
           l.n, dedup ? 0 : r.n, t1 - t0, (t1 - t0) * 1e6 / (double)(l.n + r.n),
           fill / (double)l.n, pairs, t2 - t1, pairs / (t2 - t1) / 1e6, avrr_clk_kernel_name());
    double truth = true_pairs(&l, rs, dedup);
    qsort(c.v, c.n, sizeof *c.v, by_dice);
    report("all-pairs", c.v, c.n, truth, thr);
    if (!dedup) {
        /* greedy 1:1 */
        uint8_t *ul = calloc(l.n, 1), *ur = calloc(rs->n, 1);
        size_t m = 0;
        for (size_t i = 0; i < c.n; i++)
            if (!ul[c.v[i].i] && !ur[c.v[i].j]) {
                ul[c.v[i].i] = ur[c.v[i].j] = 1;
                c.v[m++] = c.v[i];
            }
        report("greedy1:1", c.v, m, truth, thr);
    }
    avrr_clk_key_free(key);
    return 0;
}
