/* batch.c: blocking, batch dedup / link, training and clustering.
 *
 * DESIGN.md 5.3 and 5.7. Every record gets its blocking keys (the union of
 * rules in avrr__match_block_keys); equal keys form blocks; blocks larger
 * than the cap are split by a second key of their records (sub-blocks, see
 * SPLIT_CAP). A pair that shares several blocks is scored once: only in
 * the first block (lowest id) the two records share, found by merging their
 * sorted block lists, so no global pair set is needed. Worker threads take
 * blocks from a shared counter. With an output threshold a pair whose weight bound from the cheap
 * fields cannot reach it skips the name comparison (weight_bound). Pairs at
 * or above the threshold go to the caller as they are found.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "match_int.h"

/* ---- blocking keys ------------------------------------------------------------ */

/* Address tokens used for blocking: the first six (number, street, town,
 * postcode in most layouts); later ones are mostly region codes that only
 * make large blocks. */
#define ADDR_KEYS 6

static void add_key(uint64_t *keys, size_t *n, size_t cap, uint64_t k)
{
    for (size_t i = 0; i < *n; i++)
        if (keys[i] == k)
            return;
    if (*n < cap)
        keys[(*n)++] = k;
}

static uint64_t mix3(uint64_t tag, uint64_t a, uint64_t b)
{
    uint64_t v[3] = {tag, a, b};
    return avrr__hash64(v, sizeof v, 0x9e3779b97f4a7c15ull);
}

/* Address tokens combined with pairs of initials (rule 11): the first
 * three (number and street, or a postcode's two halves); more would make
 * a long name with a long address run out of keys. */
#define ADDR_INI_KEYS 3

/* Distinct pairs of initials kept per record (rules 10 and 11). */
#define INI_PAIRS 16

/* The first letter of a name token (of its spelling-normalised form, so
 * that Joussef and Youssef begin alike). */
static char tok_initial(const avrr_match_rec *r, const avrr__mtok *t)
{
    return t->sp_len ? r->buf[t->sp_off] : r->buf[t->off];
}

/* The unordered pairs of initials of two tokens of one name representation
 * (Jean Vickers: "jv"; W J Hooker: "hj", "hw", "jw"), at most cap,
 * distinct; 0 for a name of one token. */
static size_t name_initial_pairs(const avrr_match_rec *r, uint64_t *out,
                                 size_t cap)
{
    size_t n = 0;
    for (int k = 0; k < r->n_names; k++) {
        const avrr__mname *nm = &r->name[k];
        for (int i = 0; i < nm->n; i++)
            for (int j = i + 1; j < nm->n; j++) {
                unsigned char a = (unsigned char)tok_initial(r, &nm->t[i]);
                unsigned char b = (unsigned char)tok_initial(r, &nm->t[j]);
                uint64_t v = a < b ? ((uint64_t)a << 8 | b)
                                   : ((uint64_t)b << 8 | a);
                bool seen = false;
                for (size_t q = 0; q < n; q++)
                    seen = seen || out[q] == v;
                if (!seen && n < cap)
                    out[n++] = v;
            }
    }
    return n;
}

size_t avrr__match_block_keys(const avrr_match_rec *r, uint64_t *keys,
                              size_t cap)
{
    size_t n = 0;
    bool year = r->precision != AVRR_DATE_UNKNOWN;
    uint64_t place = r->place_len ? avrr__hash64(r->buf + r->place_off,
                                                 r->place_len, 6)
                                  : 0;
    for (int k = 0; k < r->n_names; k++) {
        const avrr__mname *nm = &r->name[k];
        for (int i = 0; i < nm->n; i++) {
            uint32_t ki[2] = {nm->t[i].key, nm->t[i].alt_key};
            for (int a = 0; a < 2; a++) {
                if (!ki[a])
                    continue;
                /* rule 1: a name key and the birth year, also under the
                 * next year so that years one apart meet */
                if (year) {
                    add_key(keys, &n, cap, mix3(1, ki[a], (uint64_t)r->year));
                    add_key(keys, &n, cap,
                            mix3(1, ki[a], (uint64_t)r->year + 1));
                }
                /* rule 6: a name key and the birth place */
                if (place)
                    add_key(keys, &n, cap, mix3(6, ki[a], place));
                /* rule 7: a name key and an address token (postcode,
                 * street, town) */
                for (int t = 0; t < r->n_addr && t < ADDR_KEYS; t++)
                    add_key(keys, &n, cap, mix3(7, ki[a], r->addr[t]));
                /* rule 2: two name keys, any date (dates wrong or missing) */
                for (int j = 0; j < nm->n; j++) {
                    if (j == i)
                        continue;
                    uint32_t x = ki[a], y = nm->t[j].key;
                    uint64_t lo = x < y ? x : y, hi = x < y ? y : x;
                    add_key(keys, &n, cap, mix3(2, lo, hi));
                    /* rule 8: a name key and the initial of another name
                     * (a typo or a short form in that other name) */
                    char ini = tok_initial(r, &nm->t[j]);
                    add_key(keys, &n, cap, mix3(8, ki[a], (uint64_t)ini));
                }
                /* rule 3: a single-name person without a date */
                if (!year && nm->n == 1)
                    add_key(keys, &n, cap, mix3(3, ki[a], 0));
            }
        }
    }
    /* rule 4: the document number, OCR-canonical */
    const uint16_t off[2] = {r->doc_off, r->doc2_off};
    const uint16_t len[2] = {r->doc_len, r->doc2_len};
    for (int d = 0; d < 2; d++) {
        char c[AVRR_CODE_MAX + 1];
        if (len[d] < 5)
            continue;
        size_t cl = avrr__match_doc_canon(r->buf + off[d], c, sizeof c);
        if (cl >= 5)
            add_key(keys, &n, cap, avrr__hash64(c, cl, 4));
    }
    /* rule 5: a real full birth date and the nationality */
    if (r->precision == AVRR_DATE_DAY && !r->placeholder) {
        uint64_t d = (uint64_t)r->year * 10000 + (uint64_t)r->month * 100 +
                     (uint64_t)r->day;
        uint64_t nat = 0;
        memcpy(&nat, r->nat, 3);
        add_key(keys, &n, cap, mix3(5, d, nat));
    }
    /* rule 9: a full birth date, also a placeholder (then: the year), and
     * the birth place (the names written too differently for any name key
     * to meet) */
    if (r->precision == AVRR_DATE_DAY && place) {
        uint64_t d = (uint64_t)r->year * 10000 + (uint64_t)r->month * 100 +
                     (uint64_t)r->day;
        add_key(keys, &n, cap, mix3(9, d, place));
    }
    /* rules 10 and 11: the initials of two names of one representation
     * (unordered) with the birth place, and with an address token: a
     * person registered once as "W. J. Hooker" and once as "William
     * Jackson Hooker", or with typos in every name, born in one place or
     * living at one address */
    uint64_t ini2[INI_PAIRS];
    size_t n_ini2 = name_initial_pairs(r, ini2, INI_PAIRS);
    for (size_t i = 0; i < n_ini2; i++) {
        if (place)
            add_key(keys, &n, cap, mix3(10, ini2[i], place));
        for (int t = 0; t < r->n_addr && t < ADDR_INI_KEYS; t++)
            add_key(keys, &n, cap, mix3(11, ini2[i], r->addr[t]));
    }
    /* rule 12: the birth place and an address token, any name */
    if (place)
        for (int t = 0; t < r->n_addr && t < ADDR_KEYS; t++)
            add_key(keys, &n, cap, mix3(12, place, r->addr[t]));
    return n;
}

/* ---- candidate pairs ---------------------------------------------------------- */

/* Blocks over the cap are split by a second key (sub-blocks): the cap, the
 * rounds, the second keys and the fate of a run are shared with the match
 * index (match_int.h, subblock.c). */
#define SPLIT_CAP AVRR__SPLIT_CAP
#define MAX_SUBKEYS AVRR__MAX_SUBKEYS

typedef struct kent {
    uint64_t key;
    uint32_t rec;
    uint32_t parent; /* size of the block a sub-block entry was split from */
} kent;

static int kent_cmp(const void *a, const void *b)
{
    const kent *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->rec < y->rec ? -1 : x->rec > y->rec;
}

typedef struct blocking {
    uint32_t *brec;     /* the records of all blocks, block after block */
    size_t n_brec, a_brec;
    size_t *bstart;     /* block b = brec[bstart[b] .. bstart[b]+bsize[b]) */
    uint32_t *bsize;
    size_t n_blocks, a_blocks, n_capped, n_split;
    size_t *roff;       /* record r's block ids: rblk[roff[r] .. roff[r+1]) */
    uint32_t *rblk;
    /* beside brec: a 64-bit filter of the blocks before this one that the
     * entry's record is in (bit blk_bit(id) per block): two records whose
     * filters here share no bit share no earlier block */
    uint64_t *bpre;
} blocking;

static void blocking_free(blocking *b)
{
    avrr_free(b->brec);
    avrr_free(b->bstart);
    avrr_free(b->bsize);
    avrr_free(b->roff);
    avrr_free(b->rblk);
    avrr_free(b->bpre);
    memset(b, 0, sizeof *b);
}

static avrr_err add_block(blocking *b, const kent *e, size_t sz)
{
    if (b->n_blocks == b->a_blocks) {
        size_t na = b->a_blocks ? b->a_blocks * 2 : 1024;
        size_t *ns = avrr_realloc(b->bstart, na * sizeof *ns);
        if (!ns)
            return AVRR_ENOMEM;
        b->bstart = ns;
        uint32_t *nz = avrr_realloc(b->bsize, na * sizeof *nz);
        if (!nz)
            return AVRR_ENOMEM;
        b->bsize = nz;
        b->a_blocks = na;
    }
    if (b->n_brec + sz > b->a_brec) {
        size_t na = b->a_brec * 2 + sz + 1024;
        uint32_t *nr = avrr_realloc(b->brec, na * sizeof *nr);
        if (!nr)
            return AVRR_ENOMEM;
        b->brec = nr;
        b->a_brec = na;
    }
    b->bstart[b->n_blocks] = b->n_brec;
    b->bsize[b->n_blocks] = (uint32_t)sz;
    b->n_blocks++;
    for (size_t q = 0; q < sz; q++)
        b->brec[b->n_brec++] = e[q].rec;
    return AVRR_OK;
}

/* Takes the sorted entries e[0..n) (runs of equal keys): a run with a pair to
 * score becomes a block when it is within the cap, is split by the second
 * keys of its records when it is larger (a sub-block as large as the run it
 * came from says nothing new and is dropped), and is skipped beyond the last
 * round of splitting. */
static avrr_err take_runs(avrr_match_rec *const *recs, size_t n_left,
                          size_t cap, const kent *e, size_t n, int depth,
                          blocking *b)
{
    avrr_err result = AVRR_OK;
    for (size_t s = 0; s < n && result == AVRR_OK;) {
        size_t t = s + 1;
        while (t < n && e[t].key == e[s].key)
            t++;
        size_t sz = t - s;
        avrr__blk_fate fate = avrr__block_fate(sz, e[s].parent, depth, cap);
        if (fate != AVRR__BLK_NONE && n_left > 0 && /* link: both sides present */
            !(e[s].rec < n_left && e[t - 1].rec >= n_left))
            fate = AVRR__BLK_NONE;
        if (fate == AVRR__BLK_TAKE) {
            result = add_block(b, e + s, sz);
        } else if (fate == AVRR__BLK_CAPPED) {
            b->n_capped++;
        } else if (fate == AVRR__BLK_SPLIT) {
            kent *sub = avrr_malloc(sz * MAX_SUBKEYS * sizeof *sub);
            size_t ns = 0;
            if (!sub)
                return AVRR_ENOMEM;
            b->n_split++;
            for (size_t q = s; q < t; q++) {
                uint64_t k[MAX_SUBKEYS];
                size_t nk = avrr__match_sub_keys(recs[e[q].rec], k);
                for (size_t j = 0; j < nk; j++)
                    sub[ns++] = (kent){avrr__match_sub_mix(e[s].key, k[j]),
                                       e[q].rec, (uint32_t)sz};
            }
            qsort(sub, ns, sizeof *sub, kent_cmp);
            /* a record's repeated second keys: once */
            size_t nu = 0;
            for (size_t q = 0; q < ns; q++)
                if (nu == 0 || sub[q].key != sub[nu - 1].key ||
                    sub[q].rec != sub[nu - 1].rec)
                    sub[nu++] = sub[q];
            ns = nu;
            result = take_runs(recs, n_left, cap, sub, ns, depth + 1, b);
            avrr_free(sub);
        }
        s = t;
    }
    return result;
}

/* Sub-blocks of different blocks are often the same records: the records
 * with name keys A and B born in one year are a sub-block of (A, year), of
 * (B, year) and of (A, B). Scoring them once per copy costs a block-list
 * merge per pair and copy; dropping the copies costs one hash per block. */
typedef struct bref {
    uint64_t h;
    uint32_t size;
    uint32_t bl;
} bref;

static int bref_cmp(const void *a, const void *b)
{
    const bref *x = a, *y = b;
    if (x->h != y->h)
        return x->h < y->h ? -1 : 1;
    if (x->size != y->size)
        return x->size < y->size ? -1 : 1;
    return x->bl < y->bl ? -1 : x->bl > y->bl;
}

static avrr_err drop_copies(blocking *b)
{
    bref *r = avrr_malloc((b->n_blocks + 1) * sizeof *r);
    if (!r)
        return AVRR_ENOMEM;
    for (size_t bl = 0; bl < b->n_blocks; bl++)
        r[bl] = (bref){avrr__hash64(b->brec + b->bstart[bl],
                                    b->bsize[bl] * sizeof *b->brec, 9),
                       b->bsize[bl], (uint32_t)bl};
    qsort(r, b->n_blocks, sizeof *r, bref_cmp);
    /* a copy gets size 0; the first of equal blocks stays */
    for (size_t k = 1; k < b->n_blocks; k++) {
        size_t f = k - 1;
        while (f > 0 && b->bsize[r[f].bl] == 0) /* back to the kept one */
            f--;
        if (r[k].h == r[f].h && r[k].size == r[f].size &&
            memcmp(b->brec + b->bstart[r[k].bl], b->brec + b->bstart[r[f].bl],
                   r[k].size * sizeof *b->brec) == 0)
            b->bsize[r[k].bl] = 0;
    }
    avrr_free(r);
    /* compact, in block order */
    size_t nb = 0, ne = 0;
    for (size_t bl = 0; bl < b->n_blocks; bl++) {
        size_t sz = b->bsize[bl], st = b->bstart[bl];
        if (sz == 0)
            continue;
        memmove(b->brec + ne, b->brec + st, sz * sizeof *b->brec);
        b->bstart[nb] = ne;
        b->bsize[nb] = (uint32_t)sz;
        ne += sz;
        nb++;
    }
    b->n_blocks = nb;
    b->n_brec = ne;
    return AVRR_OK;
}

/* The filter bit of block bl (its id mixed: neighbouring ids apart). */
static inline uint64_t blk_bit(uint32_t bl)
{
    return 1ull << ((bl * 0x9e3779b9u) >> 26);
}

/* The key entries of the records lo..hi, sorted: one part of the blocking
 * keys, made by one thread (records are independent). */
typedef struct keys_part {
    avrr_match_rec *const *recs;
    size_t lo, hi;
    kent *ent;
    size_t n;
    avrr_err err;
} keys_part;

static void *keys_part_run(void *arg)
{
    keys_part *p = arg;
    size_t alloc = (p->hi - p->lo) * 8 + 16;
    p->ent = avrr_malloc(alloc * sizeof *p->ent);
    if (!p->ent) {
        p->err = AVRR_ENOMEM;
        return NULL;
    }
    for (size_t i = p->lo; i < p->hi; i++) {
        uint64_t k[AVRR__MAX_BKEYS];
        size_t nk =
            avrr__match_rec_block_keys(p->recs[i], k, AVRR__MAX_BKEYS);
        if (p->n + nk > alloc) {
            size_t na = alloc * 2 + nk;
            kent *ne = avrr_realloc(p->ent, na * sizeof *ne);
            if (!ne) {
                p->err = AVRR_ENOMEM;
                return NULL;
            }
            p->ent = ne;
            alloc = na;
        }
        for (size_t j = 0; j < nk; j++)
            p->ent[p->n++] = (kent){k[j], (uint32_t)i, 0};
    }
    qsort(p->ent, p->n, sizeof *p->ent, kent_cmp);
    return NULL;
}

/* Most threads for the blocking keys (each holds its part until the merge). */
#define KEY_THREADS 8

static int threads_of(int threads)
{
    if (threads <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        threads = c > 0 ? (int)c : 1;
    }
    return threads > 64 ? 64 : threads;
}

/* All key entries of the n records sorted by (key, record), made in parts
 * by up to `threads` threads and merged: the same array as one sort of
 * them all (the order is total: a record has each key once). */
static avrr_err keys_sorted(avrr_match_rec *const *recs, size_t n, int threads,
                            kent **out, size_t *n_out)
{
    keys_part part[KEY_THREADS];
    pthread_t tid[KEY_THREADS];
    bool started[KEY_THREADS] = {false};
    avrr_err result = AVRR_OK;
    int t_n = threads_of(threads);
    if (t_n > KEY_THREADS)
        t_n = KEY_THREADS;
    if ((size_t)t_n > n / 4096 + 1) /* small inputs: one part */
        t_n = (int)(n / 4096 + 1);
    memset(part, 0, sizeof part);
    for (int t = 0; t < t_n; t++)
        part[t] = (keys_part){recs, n * (size_t)t / (size_t)t_n,
                              n * (size_t)(t + 1) / (size_t)t_n, NULL, 0,
                              AVRR_OK};
    for (int t = 1; t < t_n; t++)
        started[t] = pthread_create(&tid[t], NULL, keys_part_run, &part[t]) == 0;
    keys_part_run(&part[0]);
    for (int t = 1; t < t_n; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        else
            keys_part_run(&part[t]);
    }
    size_t total = 0;
    for (int t = 0; t < t_n; t++) {
        if (part[t].err != AVRR_OK)
            result = part[t].err;
        total += part[t].n;
    }
    if (result == AVRR_OK && t_n == 1) {
        *out = part[0].ent;
        *n_out = part[0].n;
        return AVRR_OK;
    }
    kent *ent = result == AVRR_OK ? avrr_malloc((total + 1) * sizeof *ent)
                                  : NULL;
    if (result == AVRR_OK && !ent)
        result = AVRR_ENOMEM;
    if (result == AVRR_OK) {
        size_t pos[KEY_THREADS] = {0};
        for (size_t k = 0; k < total; k++) {
            int best = -1;
            for (int t = 0; t < t_n; t++)
                if (pos[t] < part[t].n &&
                    (best < 0 || kent_cmp(&part[t].ent[pos[t]],
                                          &part[best].ent[pos[best]]) < 0))
                    best = t;
            ent[k] = part[best].ent[pos[best]++];
        }
        *out = ent;
        *n_out = total;
    }
    for (int t = 0; t < t_n; t++)
        avrr_free(part[t].ent);
    return result;
}

static avrr_err blocking_build(avrr_match_rec *const *recs, size_t n,
                               size_t n_left, size_t cap, int threads,
                               blocking *b)
{
    avrr_err result = AVRR_OK;
    size_t n_ent = 0;
    kent *ent = NULL;
    memset(b, 0, sizeof *b);
    result = keys_sorted(recs, n, threads, &ent, &n_ent);
    if (result != AVRR_OK)
        return result;
    result = take_runs(recs, n_left, cap, ent, n_ent, 0, b);
    avrr_free(ent);
    ent = NULL;
    if (result == AVRR_OK)
        result = drop_copies(b);
    if (result != AVRR_OK)
        goto out;
    /* every record's block ids, ascending */
    b->roff = avrr_calloc(n + 1, sizeof *b->roff);
    if (!b->roff) {
        result = AVRR_ENOMEM;
        goto out;
    }
    for (size_t q = 0; q < b->n_brec; q++)
        b->roff[b->brec[q] + 1]++;
    for (size_t i = 0; i < n; i++)
        b->roff[i + 1] += b->roff[i];
    b->rblk = avrr_malloc((b->roff[n] + 1) * sizeof *b->rblk);
    size_t *fill = avrr_malloc((n + 1) * sizeof *fill);
    if (!b->rblk || !fill) {
        avrr_free(fill);
        result = AVRR_ENOMEM;
        goto out;
    }
    memcpy(fill, b->roff, (n + 1) * sizeof *fill);
    for (size_t bl = 0; bl < b->n_blocks; bl++)
        for (size_t q = b->bstart[bl]; q < b->bstart[bl] + b->bsize[bl]; q++)
            b->rblk[fill[b->brec[q]]++] = (uint32_t)bl;
    avrr_free(fill);
    /* the filters of the blocks before each entry's block (blocks in
     * ascending order: a record's filter grows as its blocks pass) */
    uint64_t *acc = avrr_calloc(n + 1, sizeof *acc);
    b->bpre = avrr_malloc((b->n_brec + 1) * sizeof *b->bpre);
    if (!acc || !b->bpre) {
        avrr_free(acc);
        result = AVRR_ENOMEM;
        goto out;
    }
    for (size_t bl = 0; bl < b->n_blocks; bl++)
        for (size_t q = b->bstart[bl]; q < b->bstart[bl] + b->bsize[bl]; q++) {
            b->bpre[q] = acc[b->brec[q]];
            acc[b->brec[q]] |= blk_bit((uint32_t)bl);
        }
    avrr_free(acc);
out:
    avrr_free(ent);
    if (result != AVRR_OK)
        blocking_free(b);
    return result;
}

/* ---- the scoring workers ---------------------------------------------------- */

typedef struct pair_out {
    uint32_t i, j;
    avrr_match_explanation x;
} pair_out;

/* Results are handed over in batches: small enough to keep memory flat,
 * large enough that the lock is taken rarely. */
#define OUT_BATCH 4096

typedef struct run {
    avrr_match_rec *const *recs;
    size_t n, n_left;
    const blocking *b;
    const avrr_match_model *model;
    const avrr_match_tf *tf;
    double threshold;
    const avrr_match_batch_opts *opts;
    /* early exit (only when a threshold is set): per record the best name
     * weight of its pairs (the best name level's, plus for the levels that
     * take it the most its name tokens can add by their frequency), and the
     * weights it needs */
    double *name_w;
    double name_hi, name_lo; /* best name weight with / without the TF term */
    /* With joint cells of the name and the date: per date level (index 0:
     * no date, then the levels) the best name weight with its cell at that
     * date level, over the name levels that take the TF term / over those
     * that do not, and per record the most its names' TF terms can add
     * (name_tf). NULL when no cell raises a date level's best above
     * name_hi / name_lo (the shipped cells lift one token, which stays far
     * below a whole name): then name_w alone bounds the names, as cheaply
     * as without cells. */
    double nd_hi[DL__N + 1], nd_lo[DL__N + 1];
    double *name_tf;
    double need;             /* weight in bits a pair must reach */
    /* the shared counters apart from the fields above, which the workers
     * read for every pair (a heap block is only 16-byte aligned: a cache
     * line of padding) */
    char apart[64];
    atomic_size_t next_block;
    atomic_uint_fast64_t scored;
    atomic_uint_fast64_t bounded;
    atomic_uint_fast64_t out;
    atomic_int stop;
    pthread_mutex_t lock;
    /* training: pattern counts instead of output */
    double *patterns;
    size_t stride; /* pattern runs: only every stride-th block (sampling) */
} run;

/* Mixed-radix index of a level vector, the null level counted as one more. */
static size_t pattern_of(const avrr__mlevels *lv)
{
    size_t p = 0;
    for (int f = 0; f < AVRR_MF__COUNT; f++)
        p = p * (size_t)(avrr__mf_levels[f] + 1) + (size_t)(lv->level[f] + 1);
    return p;
}

static size_t pattern_count(void)
{
    size_t p = 1;
    for (int f = 0; f < AVRR_MF__COUNT; f++)
        p *= (size_t)(avrr__mf_levels[f] + 1);
    return p;
}

/* ---- the early exit ----------------------------------------------------------- */

/* With an output threshold, a pair whose weight cannot reach it need not
 * have its names compared (the Jaro-Winkler kernels are most of the cost).
 * The bound is exact, derived at run time from the model in use: the cheap
 * fields' real weights, plus the best weight any name level has, plus for
 * the levels that take the term-frequency adjustment the most the first
 * record's name tokens can add (the agreeing keys are among its tokens, and
 * only rare ones add; capped at TF_ADJ_MAX as in avrr__match_score). A
 * margin far above rounding keeps floating-point order out of it. */
#define BOUND_MARGIN 1e-6

/* A birth place still AVRR__PL_PENDING (not byte-equal, Jaro-Winkler not
 * yet run) counts with the better of close and different: the bound then
 * stays at or above the one of its real level (same order of the sum). */
static double weight_bound(const run *r, const avrr__mlevels *lv,
                           const avrr_match_rec *a, size_t i)
{
    const avrr_match_model *m = r->model;
    double w = m->prior_w;
    for (int f = 0; f < AVRR_MF__COUNT; f++) {
        int l = lv->level[f];
        if (f == AVRR_MF_NAME || l == AVRR_MATCH_LEVEL_NULL)
            continue;
        if (l == AVRR__PL_PENDING) {
            double c = m->w[f][PL_CLOSE], d = m->w[f][PL_DIFF];
            w += c > d ? c : d;
        } else {
            w += m->w[f][l];
        }
    }
    /* the names (not compared yet) at their best level with its joint cell
     * at the pair's date level; 0 when the other record has no name (no
     * weight, no cell) */
    if (a->n_names > 0 && !r->name_tf) {
        w += r->name_w[i];
    } else if (a->n_names > 0) {
        int d = lv->level[AVRR_MF_BIRTH_DATE] + 1;
        double hi = r->nd_hi[d] + r->name_tf[i];
        hi = hi > r->nd_lo[d] ? hi : r->nd_lo[d];
        w += hi > 0 ? hi : 0;
    }
    return w + BOUND_MARGIN;
}

/* Sets up the early exit of r for its threshold, or leaves it off (no
 * threshold, or one that only a weight of +infinity meets). */
static avrr_err bound_setup(run *r)
{
    const avrr_match_model *m = r->model;
    double t = r->threshold;
    if (!(t > 0 && t < 1) || !r->tf || r->patterns)
        return AVRR_OK;
    /* pseudonymised records get all their levels with the names
     * (avrr__match_levels_other leaves them): no early exit */
    for (size_t i = 0; i < r->n; i++)
        if (r->recs[i]->pz)
            return AVRR_OK;
    r->need = log2(t / (1 - t));
    r->name_hi = r->name_lo = -INFINITY;
    for (int l = 0; l < avrr__mf_levels[AVRR_MF_NAME]; l++) {
        double *x = l <= NL_ONE ? &r->name_hi : &r->name_lo;
        if (m->w[AVRR_MF_NAME][l] > *x)
            *x = m->w[AVRR_MF_NAME][l];
    }
    bool raised = false;
    for (int d = 0; d <= DL__N; d++) {
        r->nd_hi[d] = r->nd_lo[d] = -INFINITY;
        for (int l = 0; l < avrr__mf_levels[AVRR_MF_NAME]; l++) {
            double *x = l <= NL_ONE ? &r->nd_hi[d] : &r->nd_lo[d];
            double v = m->w[AVRR_MF_NAME][l] + (d > 0 ? m->jw[l][d - 1] : 0.0);
            if (v > *x)
                *x = v;
        }
        raised |= r->nd_hi[d] > r->name_hi || r->nd_lo[d] > r->name_lo;
    }
    r->name_w = avrr_malloc((r->n + 1) * sizeof *r->name_w);
    if (!r->name_w)
        return AVRR_ENOMEM;
    if (raised) {
        r->name_tf = avrr_malloc((r->n + 1) * sizeof *r->name_tf);
        if (!r->name_tf)
            return AVRR_ENOMEM;
    }
    double avg = avrr__match_tf_freq(r->tf, 0);
    for (size_t i = 0; i < r->n; i++) {
        const avrr_match_rec *a = r->recs[i];
        double best = 0;
        for (int k = 0; k < a->n_names; k++) {
            double s = 0;
            for (int t2 = 0; t2 < a->name[k].n; t2++) {
                double adj = log2(
                    avg / avrr__match_tf_freq(r->tf, a->name[k].t[t2].key));
                if (adj > 0)
                    s += adj;
            }
            if (s > best)
                best = s;
        }
        best = best < TF_ADJ_MAX ? best : TF_ADJ_MAX;
        double hi = r->name_hi + best;
        r->name_w[i] = hi > r->name_lo ? hi : r->name_lo;
        if (r->name_tf)
            r->name_tf[i] = best;
    }
    return AVRR_OK;
}

static void flush(run *r, pair_out *buf, size_t *nbuf)
{
    if (*nbuf == 0)
        return;
    pthread_mutex_lock(&r->lock);
    for (size_t k = 0; k < *nbuf && !atomic_load(&r->stop); k++)
        if (r->opts->on_pair &&
            r->opts->on_pair(r->opts->ctx, buf[k].i, buf[k].j, &buf[k].x))
            atomic_store(&r->stop, 1);
    pthread_mutex_unlock(&r->lock);
    atomic_fetch_add(&r->out, *nbuf);
    *nbuf = 0;
}

/* True when bl is the first block that records i and j share: a pair in
 * several blocks is scored in that one only. */
static bool first_shared(const blocking *b, uint32_t i, uint32_t j,
                         uint32_t bl)
{
    const uint32_t *x = b->rblk + b->roff[i], *xe = b->rblk + b->roff[i + 1];
    const uint32_t *y = b->rblk + b->roff[j], *ye = b->rblk + b->roff[j + 1];
    while (x < xe && y < ye) {
        if (*x == *y)
            return *x == bl;
        if (*x < *y)
            x++;
        else
            y++;
    }
    return false;
}

/* Blocks of up to this many records find their pairs that share an earlier
 * block all at once (dup_mark) into a bit matrix of size^2 bits (2 MB at
 * most); larger ones (only with a raised --block-cap) test pair by pair. */
#define DUP_MAX 4096

/* A thread's scratch for dup_mark. */
typedef struct dup_scratch {
    uint32_t *ex, *em, *enext; /* entries: block id, member, next of same id */
    size_t a_ent;
    uint32_t *slot_x, *slot_h; /* hash of block ids: id and first entry */
    size_t a_slot;
    uint64_t *bits; /* pair (p, q), p < q: bit p * size + q */
    size_t a_bits;
} dup_scratch;

static void dup_scratch_free(dup_scratch *d)
{
    avrr_free(d->ex);
    avrr_free(d->em);
    avrr_free(d->enext);
    avrr_free(d->slot_x);
    avrr_free(d->slot_h);
    avrr_free(d->bits);
}

static bool grow_u32(uint32_t **p, size_t n)
{
    uint32_t *q = avrr_realloc(*p, n * sizeof *q);
    if (!q)
        return false;
    *p = q;
    return true;
}

/* Marks in d->bits every pair of members of block bl (records e[0..sz),
 * ascending) that also share a block before bl: each member's blocks
 * below bl go into a hash by block id, and a member meets the earlier
 * members under the same id. Those pairs are scored in their first shared
 * block, not here; the others here. False when out of memory. */
static bool dup_mark(const blocking *b, uint32_t bl, const uint32_t *e,
                     size_t sz, dup_scratch *d)
{
    size_t np = 0;
    for (size_t m = 0; m < sz; m++) {
        const uint32_t *x = b->rblk + b->roff[e[m]];
        const uint32_t *xe = b->rblk + b->roff[e[m] + 1];
        while (x < xe && *x < bl)
            x++, np++;
    }
    size_t words = (sz * sz + 63) / 64;
    if (words > d->a_bits) {
        uint64_t *nb = avrr_realloc(d->bits, words * sizeof *nb);
        if (!nb)
            return false;
        d->bits = nb;
        d->a_bits = words;
    }
    memset(d->bits, 0, words * sizeof *d->bits);
    if (np < 2)
        return true;
    if (np > d->a_ent) {
        size_t na = np * 2;
        if (!grow_u32(&d->ex, na) || !grow_u32(&d->em, na) ||
            !grow_u32(&d->enext, na))
            return false;
        d->a_ent = na;
    }
    size_t ns = 16;
    while (ns < np * 2)
        ns *= 2;
    if (ns > d->a_slot) {
        if (!grow_u32(&d->slot_x, ns) || !grow_u32(&d->slot_h, ns))
            return false;
        d->a_slot = ns;
    }
    memset(d->slot_h, 0xff, ns * sizeof *d->slot_h);
    size_t k = 0;
    for (size_t m = 0; m < sz; m++) {
        const uint32_t *x = b->rblk + b->roff[e[m]];
        const uint32_t *xe = b->rblk + b->roff[e[m] + 1];
        for (; x < xe && *x < bl; x++, k++) {
            size_t h = ((uint32_t)(*x * 0x9e3779b9u)) & (ns - 1);
            while (d->slot_h[h] != UINT32_MAX && d->slot_x[h] != *x)
                h = (h + 1) & (ns - 1);
            d->ex[k] = *x;
            d->em[k] = (uint32_t)m;
            d->enext[k] = d->slot_h[h];
            for (uint32_t c = d->slot_h[h]; c != UINT32_MAX; c = d->enext[c]) {
                size_t bit = (size_t)d->em[c] * sz + m; /* em[c] < m */
                d->bits[bit >> 6] |= 1ull << (bit & 63);
            }
            d->slot_x[h] = *x;
            d->slot_h[h] = (uint32_t)k;
        }
    }
    return true;
}

static void *worker(void *arg)
{
    run *r = arg;
    const blocking *b = r->b;
    pair_out *buf = r->patterns ? NULL : avrr_malloc(OUT_BATCH * sizeof *buf);
    double *pat = NULL;
    size_t nbuf = 0;
    uint64_t scored = 0, bounded = 0;
    dup_scratch dup = {0};
    if (r->patterns)
        pat = avrr_calloc(pattern_count(), sizeof *pat);
    if ((!r->patterns && !buf) || (r->patterns && !pat)) {
        atomic_store(&r->stop, 2);
        avrr_free(buf);
        return NULL;
    }
    for (;;) {
        size_t bl = atomic_fetch_add(&r->next_block, 1);
        if (bl >= b->n_blocks || atomic_load(&r->stop))
            break;
        if (r->stride > 1 && bl % r->stride != 0)
            continue;
        const uint32_t *e = b->brec + b->bstart[bl];
        const uint64_t *pre = b->bpre + b->bstart[bl];
        size_t sz = b->bsize[bl];
        size_t split = 0;
        if (r->n_left) /* first right-hand entry */
            while (split < sz && e[split] < r->n_left)
                split++;
        bool marked = sz <= DUP_MAX;
        if (marked && !dup_mark(b, (uint32_t)bl, e, sz, &dup)) {
            atomic_store(&r->stop, 2);
            break;
        }
        for (size_t p = 0; p < sz; p++) {
            size_t q0 = r->n_left ? (p < split ? split : sz) : p + 1;
            const avrr_match_rec *a = r->recs[e[p]];
            for (size_t q = q0; q < sz; q++) {
                uint32_t i = e[p], j = e[q];
                if (marked) {
                    size_t bit = p * sz + q;
                    if (dup.bits[bit >> 6] >> (bit & 63) & 1)
                        continue; /* shares an earlier block */
                } else if ((pre[p] & pre[q]) &&
                           !first_shared(b, i, j, (uint32_t)bl)) {
                    /* no common bit of the filters: no earlier shared
                     * block (no false negatives); else the exact test */
                    continue;
                }
                avrr__mlevels lv;
                scored++;
                if (pat) {
                    avrr__match_levels(a, r->recs[j], &lv);
                    pat[pattern_of(&lv)] += 1;
                    continue;
                }
                const avrr_match_rec *c = r->recs[j];
                lv.level[AVRR_MF_BIRTH_PLACE] = AVRR_MATCH_LEVEL_NULL;
                avrr__match_levels_other_lazy(a, c, &lv);
                bool pending =
                    lv.level[AVRR_MF_BIRTH_PLACE] == AVRR__PL_PENDING;
                if (r->name_w && pending &&
                    weight_bound(r, &lv, a, i) < r->need) {
                    bounded++; /* below even with the better place level */
                    continue;
                }
                if (pending)
                    lv.level[AVRR_MF_BIRTH_PLACE] =
                        (int8_t)avrr__match_place_level(a, c);
                if (r->name_w && weight_bound(r, &lv, a, i) < r->need) {
                    bounded++;
                    continue;
                }
                avrr__match_levels_name(a, r->recs[j], &lv);
                avrr_match_explanation x;
                avrr__match_score(r->model, r->tf, &lv, &x);
                if (x.probability >= r->threshold) {
                    buf[nbuf++] = (pair_out){i, j, x};
                    if (nbuf == OUT_BATCH)
                        flush(r, buf, &nbuf);
                }
            }
        }
        if (r->opts && r->opts->on_progress && (bl & 4095) == 0) {
            pthread_mutex_lock(&r->lock);
            r->opts->on_progress(r->opts->ctx, "scoring", bl, b->n_blocks);
            pthread_mutex_unlock(&r->lock);
        }
    }
    if (buf)
        flush(r, buf, &nbuf);
    avrr_free(buf);
    dup_scratch_free(&dup);
    atomic_fetch_add(&r->scored, scored);
    atomic_fetch_add(&r->bounded, bounded);
    if (pat) {
        pthread_mutex_lock(&r->lock);
        size_t np = pattern_count();
        for (size_t k = 0; k < np; k++)
            r->patterns[k] += pat[k];
        pthread_mutex_unlock(&r->lock);
        avrr_free(pat);
    }
    return NULL;
}

static bool em_session(avrr_match_model *m, const double *patterns, size_t np,
                       bool (*sel)(const int *), const bool *upd,
                       bool upd_prior);
static bool sel_all(const int *lev);
static avrr_err run_all(run *r, int threads);

/* Blocks sampled for the prior of an untrained batch: one in eight keeps the
 * cost near a tenth of the scoring and still sees tens of thousands of pairs
 * on the smallest benchmark. */
#define PRIOR_STRIDE 8
/* Random pairs for u in an untrained batch: 300,000 cost about a tenth of a
 * second and pin the common levels to a few per cent. */
#define BATCH_U_SAMPLES 300000
static void sample_u(avrr_match_rec *const *recs, size_t n, size_t n_left,
                     uint64_t seed, size_t samples, avrr_match_model *m);

/* The share of true pairs among the candidates depends on the data and the
 * blocking, not on how fields err: with m and u fixed, EM over a sample of
 * the candidate pairs estimates it (one parameter, well identified). */
static avrr_err estimate_prior(avrr_match_rec *const *recs, size_t n,
                               size_t n_left, const blocking *b, int threads,
                               const avrr_match_model *start,
                               avrr_match_model **out)
{
    avrr_err result = avrr_match_model_copy(start, out);
    size_t np = pattern_count();
    run *r = NULL;
    if (result != AVRR_OK)
        return result;
    sample_u(recs, n, n_left, 1, BATCH_U_SAMPLES, *out);
    r = avrr_calloc(1, sizeof *r);
    if (r)
        r->patterns = avrr_calloc(np, sizeof *r->patterns);
    if (!r || !r->patterns) {
        result = AVRR_ENOMEM;
        goto out;
    }
    r->recs = recs;
    r->n = n;
    r->n_left = n_left;
    r->b = b;
    r->model = *out;
    r->stride = PRIOR_STRIDE;
    pthread_mutex_init(&r->lock, NULL);
    result = run_all(r, threads);
    pthread_mutex_destroy(&r->lock);
    if (result == AVRR_OK) {
        bool none[AVRR_MF__COUNT] = {false};
        em_session(*out, r->patterns, np, sel_all, none, true);
        /* the prior of these very records: no scaling */
        (*out)->population = (double)n;
        avrr__match_model_set_records(*out, 0);
    }
out:
    if (r)
        avrr_free(r->patterns);
    avrr_free(r);
    if (result != AVRR_OK) {
        avrr_match_model_free(*out);
        *out = NULL;
    }
    return result;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs the workers over the blocks. */
static avrr_err run_all(run *r, int threads)
{
    if (threads <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        threads = c > 0 ? (int)c : 1;
    }
    if (threads > 64)
        threads = 64;
    pthread_t tid[64];
    int started = 0;
    for (int t = 1; t < threads; t++) {
        if (pthread_create(&tid[t], NULL, worker, r) != 0)
            break;
        started = t;
    }
    worker(r);
    for (int t = 1; t <= started; t++)
        pthread_join(tid[t], NULL);
    if (atomic_load(&r->stop) == 2)
        return AVRR_ENOMEM;
    if (atomic_load(&r->stop) == 1)
        return AVRR_ELIMIT;
    return AVRR_OK;
}

static avrr_err tf_from(avrr_match_rec *const *recs, size_t n,
                        avrr_match_tf **out)
{
    avrr_err result = avrr_match_tf_new(out);
    for (size_t i = 0; result == AVRR_OK && i < n; i++)
        result = avrr_match_tf_add(*out, recs[i]);
    if (result != AVRR_OK) {
        avrr_match_tf_free(*out);
        *out = NULL;
    }
    return result;
}

avrr_err avrr_match_batch(avrr_match_rec *const *recs, size_t n,
                          const avrr_match_batch_opts *opts,
                          avrr_match_batch_stats *stats)
{
    avrr_err result = AVRR_OK;
    blocking b = {0};
    avrr_match_tf *own_tf = NULL;
    avrr_match_model *est = NULL, eff;
    run *r = NULL;
    double t0 = now();
    size_t cap = opts->block_cap ? opts->block_cap : SPLIT_CAP;

    if (stats)
        memset(stats, 0, sizeof *stats);
    if (n > UINT32_MAX - 1)
        return AVRR_ETOOLARGE;
    if (opts->on_progress)
        opts->on_progress(opts->ctx, "blocking", 0, n);
    result = blocking_build(recs, n, opts->n_left, cap, opts->threads, &b);
    if (result != AVRR_OK)
        goto out;
    if (!opts->tf) {
        result = tf_from(recs, n, &own_tf);
        if (result != AVRR_OK)
            goto out;
    }
    if (opts->estimate_prior && b.n_blocks > 0) {
        result = estimate_prior(recs, n, opts->n_left, &b, opts->threads,
                                opts->model, &est);
        if (result != AVRR_OK)
            goto out;
    }
    double t1 = now();
    r = avrr_calloc(1, sizeof *r);
    if (!r) {
        result = AVRR_ENOMEM;
        goto out;
    }
    r->recs = recs;
    r->n = n;
    r->n_left = opts->n_left;
    r->b = &b;
    /* The model's prior among this batch's records (a link of left and
     * right is a dedup of their union restricted to pairs across). */
    eff = *(est ? est : opts->model ? opts->model : avrr_match_model_default());
    avrr__match_model_set_records(&eff, (double)n);
    r->model = &eff;
    r->tf = opts->tf ? opts->tf : own_tf;
    r->threshold = opts->threshold;
    r->opts = opts;
    result = bound_setup(r);
    if (result != AVRR_OK)
        goto out;
    pthread_mutex_init(&r->lock, NULL);
    result = run_all(r, opts->threads);
    pthread_mutex_destroy(&r->lock);
    if (stats) {
        stats->records = n;
        stats->blocks = b.n_blocks;
        stats->blocks_capped = b.n_capped;
        stats->blocks_split = b.n_split;
        stats->candidate_pairs = atomic_load(&r->scored);
        stats->pairs_bounded = atomic_load(&r->bounded);
        stats->pairs_out = atomic_load(&r->out);
        stats->seconds_blocking = t1 - t0;
        stats->seconds_scoring = now() - t1;
    }
out:
    if (r) {
        avrr_free(r->name_w);
        avrr_free(r->name_tf);
    }
    avrr_free(r);
    avrr_match_tf_free(own_tf);
    avrr_match_model_free(est);
    blocking_free(&b);
    return result;
}

/* ---- training ---------------------------------------------------------------- */

/* Random pairs for u: a million pins u down to about 1e-6, below which the
 * floor takes over; the cost is about a second. */
#define U_SAMPLES 1000000
/* EM rounds: the estimates settle within a few dozen on every benchmark. */
#define EM_ROUNDS 40

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Random pairs a joint cell of the name and the birth date needs to have its
 * own u (about 20 % error); fewer, and its u is the product of the fields'. */
#define JOINT_MIN_U 25.0

/* u of every field from random pairs: the share of each level among pairs
 * that are almost all of different persons; and u of the model's joint
 * cells. */
static void sample_u(avrr_match_rec *const *recs, size_t n, size_t n_left,
                     uint64_t seed, size_t samples, avrr_match_model *m)
{
    double cnt[AVRR_MF__COUNT][AVRR_MATCH_LEVELS_MAX] = {{0}};
    double jcnt[NL__N][DL__N] = {{0}}, jtot = 0;
    uint64_t s = seed ? seed : 0x5eed;
    for (size_t k = 0; k < samples; k++) {
        size_t i, j;
        if (n_left) {
            i = rng_next(&s) % n_left;
            j = n_left + rng_next(&s) % (n - n_left);
        } else {
            i = rng_next(&s) % n;
            j = rng_next(&s) % n;
            if (i == j)
                continue;
        }
        avrr__mlevels lv;
        avrr__match_levels(recs[i], recs[j], &lv);
        for (int f = 0; f < AVRR_MF__COUNT; f++)
            if (lv.level[f] != AVRR_MATCH_LEVEL_NULL)
                cnt[f][lv.level[f]] += 1;
        int nl = lv.level[AVRR_MF_NAME], dl = lv.level[AVRR_MF_BIRTH_DATE];
        if (nl != AVRR_MATCH_LEVEL_NULL && dl != AVRR_MATCH_LEVEL_NULL) {
            jcnt[nl][dl] += 1;
            jtot += 1;
        }
    }
    for (int f = 0; f < AVRR_MF__COUNT; f++) {
        double tot = 0;
        for (int l = 0; l < avrr__mf_levels[f]; l++)
            tot += cnt[f][l];
        if (tot < 100)
            continue; /* field absent from the data: keep the start value */
        for (int l = 0; l < avrr__mf_levels[f]; l++)
            m->u[f][l] = (cnt[f][l] + 0.5) / (tot + 0.5 * avrr__mf_levels[f]);
    }
    /* u of a joint cell: its share of the random pairs where it was seen
     * often enough to be told from the product of the two fields' u; else
     * that product (two random persons' names and birth dates independent,
     * as they mostly are: a shared family name and a shared full birth
     * date are each rare, both together about 1 in 300,000 pairs) */
    for (int l = 0; l < NL__N; l++)
        for (int d = 0; d < DL__N; d++)
            if (m->jset[l][d])
                m->ju[l][d] = jcnt[l][d] >= JOINT_MIN_U
                                  ? jcnt[l][d] / jtot
                                  : m->u[AVRR_MF_NAME][l] * m->u[AVRR_MF_BIRTH_DATE][d];
    avrr__match_model_derive(m);
}

static void levels_of_pattern(size_t p, int *lev)
{
    for (int f = AVRR_MF__COUNT - 1; f >= 0; f--) {
        size_t rad = (size_t)(avrr__mf_levels[f] + 1);
        lev[f] = (int)(p % rad) - 1;
        p /= rad;
    }
}

static bool sel_strong_id(const int *lev)
{
    /* not the address: a shared town is too common to select on */
    return lev[AVRR_MF_BIRTH_DATE] == DL_EXACT ||
           (lev[AVRR_MF_DOCUMENT] >= 0 && lev[AVRR_MF_DOCUMENT] <= OL_OCR);
}

static bool sel_document(const int *lev)
{
    return lev[AVRR_MF_DOCUMENT] >= 0 && lev[AVRR_MF_DOCUMENT] <= OL_OCR;
}

static bool sel_names(const int *lev)
{
    return lev[AVRR_MF_NAME] >= 0 && lev[AVRR_MF_NAME] <= NL_ALL_CLOSE;
}

static bool sel_all(const int *lev)
{
    (void)lev;
    return true;
}

/* Fewest selected pairs for a session to be trusted; below it the start
 * values stay (EM on a few hundred pairs mostly fits noise). */
#define EM_MIN_PAIRS 1000.0

/* Pairs that agree on the whole name but were born far apart: almost all
 * namesakes, drawn from the same origin groups as the hard non-matches. */
static bool sel_namesakes(const int *lev)
{
    return sel_names(lev) && lev[AVRR_MF_BIRTH_DATE] == DL_FAR;
}

/* u of the fields that go with a name (nationality, birth place) among
 * namesakes rather than among random pairs. Two random persons rarely share
 * a nationality; two Mohammed Alis usually do, so agreement on it says far
 * less than random pairs suggest once the names agree, which is the only
 * case in which it decides anything. Needs EM_MIN_PAIRS such pairs. */
static void namesake_u(avrr_match_model *m, const double *patterns, size_t np)
{
    static const int fields[] = {AVRR_MF_NATIONALITY, AVRR_MF_BIRTH_PLACE};
    for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
        int f = fields[k];
        double cnt[AVRR_MATCH_LEVELS_MAX] = {0}, tot = 0;
        for (size_t p = 0; p < np; p++) {
            int lev[AVRR_MF__COUNT];
            if (patterns[p] == 0)
                continue;
            levels_of_pattern(p, lev);
            if (!sel_namesakes(lev) || lev[f] < 0)
                continue;
            cnt[lev[f]] += patterns[p];
            tot += patterns[p];
        }
        if (tot < EM_MIN_PAIRS)
            continue;
        for (int l = 0; l < avrr__mf_levels[f]; l++)
            m->u[f][l] = (cnt[l] + 0.5) / (tot + 0.5 * avrr__mf_levels[f]);
    }
    avrr__match_model_derive(m);
}


/* One EM session over the patterns that sel accepts, updating m of the
 * fields in upd (and the prior when upd_prior; otherwise the session's own
 * prior is estimated but not kept). False when too few pairs were selected
 * and nothing changed. */
static bool em_session_x(avrr_match_model *m, const double *patterns, size_t np,
                         bool (*sel)(const int *, const void *), const void *ctx,
                         const bool *upd, bool upd_prior);

typedef struct sel_plain {
    bool (*f)(const int *);
} sel_plain;

static bool sel_call(const int *lev, const void *ctx)
{
    return ((const sel_plain *)ctx)->f(lev);
}

static bool em_session(avrr_match_model *m, const double *patterns, size_t np,
                       bool (*sel)(const int *), const bool *upd,
                       bool upd_prior)
{
    sel_plain c = {sel};
    return em_session_x(m, patterns, np, sel_call, &c, upd, upd_prior);
}

static bool em_session_x(avrr_match_model *m, const double *patterns, size_t np,
                         bool (*sel_x)(const int *, const void *), const void *ctx,
                         const bool *upd, bool upd_prior)
{
#define sel(lev) sel_x(lev, ctx)
    double total = 0;
    for (size_t p = 0; p < np; p++) {
        int lev[AVRR_MF__COUNT];
        if (patterns[p] == 0)
            continue;
        levels_of_pattern(p, lev);
        if (sel(lev))
            total += patterns[p];
    }
    if (total < EM_MIN_PAIRS)
        return false;
    double prior = upd_prior ? m->prior : 0.1;
    for (int round = 0; round < EM_ROUNDS; round++) {
        double mc[AVRR_MF__COUNT][AVRR_MATCH_LEVELS_MAX] = {{0}};
        double msum[AVRR_MF__COUNT] = {0};
        double gsum = 0;
        double pw = log2(prior / (1 - prior));
        for (size_t p = 0; p < np; p++) {
            double c = patterns[p];
            if (c == 0)
                continue;
            int lev[AVRR_MF__COUNT];
            levels_of_pattern(p, lev);
            if (!sel(lev))
                continue;
            double w = pw;
            for (int f = 0; f < AVRR_MF__COUNT; f++)
                if (lev[f] >= 0 && (upd[f] || upd_prior))
                    w += m->w[f][lev[f]]; /* selecting fields left out */
            double g = 1.0 / (1.0 + exp2(-w));
            gsum += c * g;
            for (int f = 0; f < AVRR_MF__COUNT; f++)
                if (lev[f] >= 0) {
                    mc[f][lev[f]] += c * g;
                    msum[f] += c * g;
                }
        }
        for (int f = 0; f < AVRR_MF__COUNT; f++) {
            if (!upd[f] || msum[f] < 1e-9)
                continue;
            for (int l = 0; l < avrr__mf_levels[f]; l++) {
                double v = mc[f][l] / msum[f];
                m->m[f][l] = v < 1e-6 ? 1e-6 : v;
            }
        }
        prior = gsum / total;
        if (prior < 1e-6)
            prior = 1e-6;
        if (prior > 1 - 1e-6)
            prior = 1 - 1e-6;
        if (upd_prior)
            m->prior = prior;
        avrr__match_model_derive(m);
    }
    return true;
#undef sel
}

/* Pairs at one birth date level (ctx: the level). */
static bool sel_date(const int *lev, const void *ctx)
{
    return lev[AVRR_MF_BIRTH_DATE] == *(const int *)ctx;
}

/* m of the joint cells of the name and the birth date: for each date level
 * that has cells, the name's m among the pairs at that date level (EM over
 * every other field on the pairs of that level), times the date level's m:
 * P(name level, date level | same person) without assuming the two
 * independent. A date level with too few pairs, or where EM does not favour
 * the name's best level over its worst, keeps for its cells the start
 * model's m of the name at that date level, P(name level | date level, same
 * person), times the trained m of the date level. */
static void joint_m(avrr_match_model *m, const avrr_match_model *st,
                    const double *patterns, size_t np)
{
    bool not_date[AVRR_MF__COUNT];
    for (int f = 0; f < AVRR_MF__COUNT; f++)
        not_date[f] = f != AVRR_MF_BIRTH_DATE;
    for (int d = 0; d < DL__N; d++) {
        bool any = false;
        for (int l = 0; l < NL__N; l++)
            any |= m->jset[l][d];
        if (!any)
            continue;
        /* every field but the date decides which pairs are one person (the
         * name alone would take the many one-token pairs of a date level
         * such as typo_or_swap for the matches); the name's m is kept when
         * it favours its best level over its worst */
        avrr_match_model c = *m;
        const double *cm = c.m[AVRR_MF_NAME];
        if (em_session_x(&c, patterns, np, sel_date, &d, not_date, false) &&
            cm[NL_EXACT] > cm[NL_NONE] && c.w[AVRR_MF_NAME][NL_EXACT] > 0) {
            for (int l = 0; l < NL__N; l++)
                if (m->jset[l][d])
                    m->jm[l][d] = c.m[AVRR_MF_NAME][l] * m->m[AVRR_MF_BIRTH_DATE][d];
            continue;
        }
        for (int l = 0; l < NL__N; l++) {
            if (!m->jset[l][d])
                continue;
            double sd = st->m[AVRR_MF_BIRTH_DATE][d];
            double cond = st->jset[l][d] && sd > 0 ? st->jm[l][d] / sd : m->m[AVRR_MF_NAME][l];
            double v = (cond < 1 ? cond : 1) * m->m[AVRR_MF_BIRTH_DATE][d];
            m->jm[l][d] = v;
        }
    }
    avrr__match_model_derive(m);
}

avrr_err avrr_match_train(avrr_match_rec *const *recs, size_t n,
                          size_t n_left, const avrr_match_model *start,
                          uint64_t seed, avrr_match_model **out)
{
    avrr_err result = AVRR_OK;
    avrr_match_model *m = NULL;
    blocking b = {0};
    run *r = NULL;
    size_t np = pattern_count();

    *out = NULL;
    if (n < 2 || (n_left && (n_left >= n)))
        return AVRR_EINVALID;
    result = avrr_match_model_copy(start, &m);
    if (result != AVRR_OK)
        goto out;
    /* u from random pairs */
    sample_u(recs, n, n_left, seed, U_SAMPLES, m);
    /* m and the prior by EM over the candidate pairs */
    result = blocking_build(recs, n, n_left, SPLIT_CAP, 0, &b);
    if (result != AVRR_OK)
        goto out;
    r = avrr_calloc(1, sizeof *r);
    if (!r) {
        result = AVRR_ENOMEM;
        goto out;
    }
    r->patterns = avrr_calloc(np, sizeof *r->patterns);
    if (!r->patterns) {
        result = AVRR_ENOMEM;
        goto out;
    }
    r->recs = recs;
    r->n = n;
    r->n_left = n_left;
    r->b = &b;
    r->model = m;
    pthread_mutex_init(&r->lock, NULL);
    result = run_all(r, 0);
    pthread_mutex_destroy(&r->lock);
    if (result != AVRR_OK)
        goto out;
    avrr__match_model_derive(m);
    namesake_u(m, r->patterns, np);
    /* Splink's way around EM's label switching: m of the name comparison
     * from the pairs that agree on the birth date or a document, m of every
     * other field from the pairs whose names agree, each session leaving the
     * fields it selects on alone; then the prior over all candidates. */
    bool names_only[AVRR_MF__COUNT] = {true}, not_names[AVRR_MF__COUNT];
    for (int f = 0; f < AVRR_MF__COUNT; f++)
        not_names[f] = f != AVRR_MF_NAME;
    em_session(m, r->patterns, np, sel_strong_id, names_only, false);
    /* Where documents are recorded, pairs that share one are the cleanest
     * anchor for every other field: namesakes rarely share a passport
     * number, while pairs picked by their names are full of namesakes. */
    bool by_doc[AVRR_MF__COUNT];
    for (int f = 0; f < AVRR_MF__COUNT; f++)
        by_doc[f] = f != AVRR_MF_NAME && f != AVRR_MF_DOCUMENT;
    if (em_session(m, r->patterns, np, sel_document, by_doc, false)) {
        bool doc_only[AVRR_MF__COUNT] = {false};
        doc_only[AVRR_MF_DOCUMENT] = true;
        em_session(m, r->patterns, np, sel_names, doc_only, false);
    } else {
        em_session(m, r->patterns, np, sel_names, not_names, false);
    }
    /* EM may still settle on the wrong class (namesakes taken for the
     * matches in a population with few names). A field whose estimate does
     * not favour its best level over its worst one keeps its start value. */
    const avrr_match_model *st = start ? start : avrr_match_model_default();
    for (int f = 0; f < AVRR_MF__COUNT; f++) {
        int last = avrr__mf_levels[f] - 1;
        if (!(m->m[f][0] > m->m[f][last] && m->w[f][0] > 0 &&
              m->w[f][last] < 0))
            memcpy(m->m[f], st->m[f], sizeof m->m[f]);
    }
    avrr__match_model_derive(m);
    /* the joint cells of the start model, on the fields' final m */
    joint_m(m, st, r->patterns, np);
    /* The prior stays the start model's (with its population). EM over
     * the candidates puts it at 0.1-0.2 on the returnee generator, where
     * the true share is about 0.013 (namesakes taken for matches), and the
     * trained weights then called 6 of 7 pairs at the default threshold
     * (F1 0.27-0.46 at 0.9; docs/BENCHMARKS.md, 2026-11-29 16:45). The
     * start prior, scaled to the registry's size, puts the threshold near
     * the best F1 of the trained weights too. */
    avrr__match_model_derive(m);
    *out = m;
    m = NULL;
out:
    if (r)
        avrr_free(r->patterns);
    avrr_free(r);
    blocking_free(&b);
    avrr_match_model_free(m);
    return result;
}

/* ---- clustering --------------------------------------------------------------- */

static uint32_t find(uint32_t *p, uint32_t x)
{
    while (p[x] != x) {
        p[x] = p[p[x]];
        x = p[x];
    }
    return x;
}

avrr_err avrr_match_cluster(size_t n, const uint32_t *pairs, size_t n_pairs,
                            uint32_t *cluster)
{
    for (size_t i = 0; i < n; i++)
        cluster[i] = (uint32_t)i;
    for (size_t k = 0; k < n_pairs; k++) {
        uint32_t a = pairs[2 * k], c = pairs[2 * k + 1];
        if (a >= n || c >= n)
            return AVRR_EINVALID;
        a = find(cluster, a);
        c = find(cluster, c);
        if (a == c)
            continue;
        /* the smaller index becomes the root, so roots are cluster minima */
        if (a < c)
            cluster[c] = a;
        else
            cluster[a] = c;
    }
    for (size_t i = 0; i < n; i++)
        cluster[i] = find(cluster, (uint32_t)i);
    return AVRR_OK;
}
