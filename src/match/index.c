/* index.c: the in-memory match index for consultations (DESIGN.md 4, 5).
 *
 * Holds a comparison record per identity of the store and, per blocking key,
 * the identities that have it; a query computes the probe's keys, gathers
 * the identities that share one, scores each with the model and the index's
 * own name frequencies, and returns the hits above the threshold with their
 * explanations. Updated on every write (add / remove). Not locked inside:
 * queries only read, so they may run together; writers need exclusivity.
 *
 * Blocks as the batch does (match_int.h, subblock.c): a key whose block,
 * the probe counted, is over the cap (500) is split by a second key of its
 * records (name key, birth year), and a sub-block still over it once more;
 * so a probe meets exactly the candidates `avrr link` would pair it with.
 * For that, a list that reaches the cap keeps its sub-lists (one per second
 * key of its members, in the map of the next depth) from then on.
 *
 * A query bounds each candidate's weight before comparing it in full, and
 * most candidates end there. The bound reads a bound record per slot
 * (avrr__mbrec, one cache line in a dense array in huge pages: dates, sex,
 * nationality, place hash, packed document, the interned ids of the name
 * tokens; the similarity classes of a token are remembered per query by
 * id), not the slot, the comparison record and its strings: at 1M
 * identities that was a cache and TLB miss chain per candidate over 1.5
 * GiB (docs/BENCHMARKS.md, "Check latency"). In the pseudonymised mode
 * there is no bound and no bound record; every candidate is compared.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "avrr/pseudo.h"
#include "match_int.h"

#define IDX_MAGIC 0x6d696478u
#define EMPTY_KEY 0
#define GONE UINT32_MAX

typedef struct slot {
    int64_t identity_id; /* 0: free slot */
    int64_t person_id;
    char tenant[17];
    avrr_match_rec *rec;
} slot;

typedef struct plist {
    uint32_t *v;
    uint32_t n, cap; /* cap's top bit: the list is split (keeps sub-lists) */
} plist;

#define LIST_SPLIT 0x80000000u
#define DEPTHS (AVRR__SPLIT_DEPTH + 1)
/* At the last depth the bit means "counted only": a list that reached the
 * cap there can only ever be skipped while it stays over it (no further
 * split), so it keeps its count and drops its members (a third of all the
 * postings at 1M). Should removals bring it back within the cap, a query
 * takes its members from the list one depth up (gather). */
#define LIST_COUNTED LIST_SPLIT
#define LAST (DEPTHS - 1)

/* u64 -> u32 open addressing; key 0 is empty (keys are hashed / ids > 0) */
typedef struct map {
    uint64_t *k;
    uint32_t *v;
    size_t cap, used;
} map;

struct avrr_match_index {
    uint32_t magic;
    avrr_match_model *model;
    avrr_match_tf *tf;
    slot *slots;
    size_t n_slots, cap_slots, live;
    uint32_t *free_slots;
    size_t n_free, cap_free;
    map ids;     /* identity id -> slot, GONE when removed */
    map keys[DEPTHS]; /* blocking key (depth 0), sub-block key (1, 2) ->
                         index into lists */
    plist *lists;
    size_t n_lists, cap_lists;
    size_t block_cap; /* AVRR__SPLIT_CAP unless a test sets it */
    const avrr_pseudo_key *pk; /* pseudonymised mode: borrowed key */
    /* Plaintext mode: what the weight bound reads of each slot's record,
     * dense (cap_slots entries; flags 0 when the slot is free), and the
     * name tokens of the records, interned (ids from 1; tmap: open
     * addressing by token hash, 0 empty). */
    avrr__mbrec *bnd;
    void *bnd_raw; /* bnd's allocation (bnd is aligned in it) */
    avrr__itok *toks;
    size_t n_toks, cap_toks;
    uint32_t *tok_free; /* free ids: room for every id (cap_toks) */
    size_t n_tok_free;
    uint32_t *tmap;
    size_t tmap_mask, tmap_used;
    uint32_t tok_id_max; /* AVRR__BR_TOK_MAX unless a test lowers it */
};

/* The model's prior follows the number of identities a probe is checked
 * against (match_int.h, population); derived again when that number moved
 * by more than 1 %, a change of 0.014 bits. Add and remove exclude queries,
 * so the model never changes under one. */
static void population_changed(avrr_match_index *idx)
{
    double n = (double)idx->live, was = idx->model->records;
    if (n > was * 1.01 || n < was * 0.99)
        avrr__match_model_set_records(idx->model, n);
}

/* The comparison record of an identity in the index's mode. */
static avrr_err rec_of(const avrr_match_index *idx, const avrr_identity *id,
                       avrr_match_rec **out)
{
    return idx->pk ? avrr_pseudo_encode(idx->pk, id, out)
                   : avrr_match_rec_new(id, out);
}

avrr_err avrr_match_index_set_pseudonym_key(avrr_match_index *idx,
                                            const avrr_pseudo_key *key)
{
    if (!key || idx->n_slots > 0)
        return AVRR_EINVALID;
    idx->pk = key;
    return AVRR_OK;
}

bool avrr_match_index_is_pseudonymised(const avrr_match_index *idx)
{
    return idx->pk != NULL;
}

size_t avrr_match_index_plaintext_records(const avrr_match_index *idx)
{
    size_t n = 0;
    for (size_t i = 0; i < idx->n_slots; i++)
        n += idx->slots[i].rec && !avrr_match_rec_is_pseudo(idx->slots[i].rec);
    return n;
}

static size_t map_find(const map *m, uint64_t k)
{
    size_t mask = m->cap - 1, i = (size_t)(k * 0x9e3779b97f4a7c15ull >> 20) & mask;
    while (m->k[i] != EMPTY_KEY && m->k[i] != k)
        i = (i + 1) & mask;
    return i;
}

static avrr_err map_grow(map *m)
{
    map n = {0};
    n.cap = m->cap ? m->cap * 2 : 1024;
    n.k = avrr_calloc(n.cap, sizeof *n.k);
    n.v = avrr_calloc(n.cap, sizeof *n.v);
    if (!n.k || !n.v) {
        avrr_free(n.k);
        avrr_free(n.v);
        return AVRR_ENOMEM;
    }

    for (size_t i = 0; i < m->cap; i++)
        if (m->k[i] != EMPTY_KEY) {
            size_t s = map_find(&n, m->k[i]);
            n.k[s] = m->k[i];
            n.v[s] = m->v[i];
            n.used++;
        }
    avrr_free(m->k);
    avrr_free(m->v);
    *m = n;
    return AVRR_OK;
}

/* Sets k -> v; *slot_out gets the table position. */
static avrr_err map_put(map *m, uint64_t k, uint32_t v)
{
    if ((m->used + 1) * 2 > m->cap) {
        avrr_err r = map_grow(m);
        if (r != AVRR_OK)
            return r;
    }
    size_t s = map_find(m, k);
    if (m->k[s] == EMPTY_KEY) {
        m->k[s] = k;
        m->used++;
    }
    m->v[s] = v;
    return AVRR_OK;
}

static bool map_get(const map *m, uint64_t k, uint32_t *v)
{
    if (!m->cap)
        return false;
    size_t s = map_find(m, k);
    if (m->k[s] != k)
        return false;
    *v = m->v[s];
    return true;
}

avrr_err avrr_match_index_new(const avrr_match_model *model,
                              avrr_match_index **out)
{
    avrr_err result = AVRR_OK;
    avrr_match_index *idx = avrr_calloc(1, sizeof *idx);
    *out = NULL;
    if (!idx)
        return AVRR_ENOMEM;
    idx->magic = IDX_MAGIC;
    result = avrr_match_model_copy(model, &idx->model);
    if (result == AVRR_OK)
        result = avrr_match_tf_new(&idx->tf);
    if (result == AVRR_OK)
        result = map_grow(&idx->ids);
    for (int d = 0; d < DEPTHS && result == AVRR_OK; d++)
        result = map_grow(&idx->keys[d]);
    idx->block_cap = AVRR__SPLIT_CAP;
    idx->tok_id_max = AVRR__BR_TOK_MAX;
    if (result != AVRR_OK) {
        avrr_match_index_free(idx);
        return result;
    }
    *out = idx;
    return AVRR_OK;
}

void avrr_match_index_free(avrr_match_index *idx)
{
    if (!idx)
        return;
    for (size_t i = 0; i < idx->n_slots; i++)
        avrr_match_rec_free(idx->slots[i].rec);
    for (size_t i = 0; i < idx->n_lists; i++)
        avrr_free(idx->lists[i].v);
    avrr_free(idx->lists);
    avrr_free(idx->slots);
    avrr_free(idx->bnd_raw);
    for (size_t i = 0; i < idx->n_toks; i++)
        avrr_free(idx->toks[i].buf);
    avrr_free(idx->toks);
    avrr_free(idx->tok_free);
    avrr_free(idx->tmap);
    avrr_free(idx->free_slots);
    avrr_free(idx->ids.k);
    avrr_free(idx->ids.v);
    for (int d = 0; d < DEPTHS; d++) {
        avrr_free(idx->keys[d].k);
        avrr_free(idx->keys[d].v);
    }
    avrr_match_tf_free(idx->tf);
    avrr_match_model_free(idx->model);
    idx->magic = 0;
    avrr_free(idx);
}

size_t avrr_match_index_size(const avrr_match_index *idx)
{
    return idx->live;
}

avrr_err avrr__match_index_set_block_cap(avrr_match_index *idx, size_t cap)
{
    if (cap < 2 || cap >= LIST_SPLIT || idx->n_slots > 0)
        return AVRR_EINVALID;
    idx->block_cap = cap;
    return AVRR_OK;
}

/* Adds slot s to the list of key at depth d; *li gets the list. */
static avrr_err list_add(avrr_match_index *idx, int d, uint64_t key, uint32_t s, uint32_t *li)
{
    if (!map_get(&idx->keys[d], key, li)) {
        if (idx->n_lists == idx->cap_lists) {
            size_t nc = idx->cap_lists ? idx->cap_lists * 2 : 1024;
            plist *nl = avrr_realloc(idx->lists, nc * sizeof *nl);
            if (!nl)
                return AVRR_ENOMEM;
            idx->lists = nl;
            idx->cap_lists = nc;
        }
        *li = (uint32_t)idx->n_lists;
        avrr_err r = map_put(&idx->keys[d], key, *li);
        if (r != AVRR_OK)
            return r;
        idx->lists[idx->n_lists++] = (plist){0};
    }
    plist *l = &idx->lists[*li];
    if (d == LAST && (l->cap & LIST_COUNTED)) {
        l->n++;
        return AVRR_OK;
    }
    uint32_t cap = l->cap & ~LIST_SPLIT;
    if (l->n == cap) {
        uint32_t nc = cap ? cap * 2 : 4;
        uint32_t *nv = avrr_realloc(l->v, nc * sizeof *nv);
        if (!nv || nc >= LIST_SPLIT) {
            avrr_free(nv == l->v ? NULL : nv);
            return AVRR_ENOMEM;
        }
        l->v = nv;
        l->cap = nc | (l->cap & LIST_SPLIT);
    }
    l->v[l->n++] = s;
    if (d == LAST && l->n >= idx->block_cap) {
        avrr_free(l->v);
        l->v = NULL;
        l->cap = LIST_COUNTED;
    }
    return AVRR_OK;
}

/* Removes slot s from the list of key at depth d (where it must be: a
 * counted list only counts); returns the list or NULL. */
static plist *list_remove(avrr_match_index *idx, int d, uint64_t key, uint32_t s)
{
    uint32_t li;
    if (!map_get(&idx->keys[d], key, &li))
        return NULL;
    plist *l = &idx->lists[li];
    if (d == LAST && (l->cap & LIST_COUNTED)) {
        l->n -= l->n > 0;
        return l;
    }
    for (uint32_t i = 0; i < l->n; i++)
        if (l->v[i] == s) {
            l->v[i] = l->v[--l->n];
            break;
        }
    return l;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The distinct second keys of a record (avrr__match_sub_keys without its
 * repeats), at most AVRR__MAX_SUBKEYS. */
static size_t sub_keys_of(const avrr_match_rec *r, uint64_t *k)
{
    size_t n = avrr__match_sub_keys(r, k), u = 0;
    qsort(k, n, sizeof *k, u64_cmp);
    for (size_t i = 0; i < n; i++)
        if (u == 0 || k[i] != k[u - 1])
            k[u++] = k[i];
    return u;
}

/* Takes slot s (second keys sk) out of the list of key at depth d and
 * out of the sub-lists of that key. */
static void unpost(avrr_match_index *idx, int d, uint64_t key, uint32_t s, const uint64_t *sk,
                   size_t nsk)
{
    plist *l = list_remove(idx, d, key, s);
    if (l && (l->cap & LIST_SPLIT) && d + 1 < DEPTHS)
        for (size_t j = 0; j < nsk; j++)
            unpost(idx, d + 1, avrr__match_sub_mix(key, sk[j]), s, sk, nsk);
}

/* Takes slot s out of the sub-lists of key at depth d+1 for its first nj
 * second keys (an addition that failed there). */
static void unpost_subs(avrr_match_index *idx, int d, uint64_t key, uint32_t s,
                        const uint64_t *sk, size_t nsk, size_t nj)
{
    for (size_t j = 0; j < nj; j++)
        unpost(idx, d + 1, avrr__match_sub_mix(key, sk[j]), s, sk, nsk);
}

/* Posts slot s (second keys sk) under key at depth d, and under the
 * sub-blocks of that key when its list keeps them; a list that reaches the
 * cap starts keeping them, for all its members. On failure, s is in no list
 * of this key or under it, and the list is as it was. */
static avrr_err post(avrr_match_index *idx, int d, uint64_t key, uint32_t s, const uint64_t *sk,
                     size_t nsk)
{
    uint32_t li;
    avrr_err r = list_add(idx, d, key, s, &li);
    if (r != AVRR_OK || d + 1 >= DEPTHS)
        return r;
    if (idx->lists[li].cap & LIST_SPLIT) {
        size_t j = 0;
        for (; j < nsk; j++) {
            r = post(idx, d + 1, avrr__match_sub_mix(key, sk[j]), s, sk, nsk);
            if (r != AVRR_OK)
                break;
        }
        if (r != AVRR_OK) { /* the failed post left nothing under sk[j] */
            unpost_subs(idx, d, key, s, sk, nsk, j);
            list_remove(idx, d, key, s);
        }
        return r;
    }
    if (idx->lists[li].n < idx->block_cap)
        return AVRR_OK;
    /* reached the cap: every member into its sub-blocks (the list itself
     * does not move while its sub-lists grow; idx->lists may) */
    uint32_t n = idx->lists[li].n;
    const uint32_t *v = idx->lists[li].v;
    uint32_t q = 0;
    size_t j = 0;
    for (; q < n; q++) {
        uint64_t mk[AVRR__MAX_SUBKEYS];
        const uint64_t *k = v[q] == s ? sk : mk;
        size_t nm = v[q] == s ? nsk : sub_keys_of(idx->slots[v[q]].rec, mk);
        for (j = 0; j < nm; j++) {
            r = post(idx, d + 1, avrr__match_sub_mix(key, k[j]), v[q], k, nm);
            if (r != AVRR_OK)
                break;
        }
        if (r != AVRR_OK) { /* undo: the sub-lists as they were */
            unpost_subs(idx, d, key, v[q], k, nm, j);
            break;
        }
    }
    if (r == AVRR_OK) {
        idx->lists[li].cap |= LIST_SPLIT;
        return AVRR_OK;
    }
    for (uint32_t p = 0; p < q; p++) {
        uint64_t mk[AVRR__MAX_SUBKEYS];
        const uint64_t *k = v[p] == s ? sk : mk;
        size_t nm = v[p] == s ? nsk : sub_keys_of(idx->slots[v[p]].rec, mk);
        unpost_subs(idx, d, key, v[p], k, nm, nm);
    }
    list_remove(idx, d, key, s);
    return r;
}

/* Room for nc bound records, the n_slots there are copied. Aligned to 64
 * bytes (a record a cache line), or when large to 2 MiB and advised into
 * transparent huge pages before it is written: the records of a query's
 * candidates are scattered over the array, and with 4 KiB pages each of
 * them also costs a TLB miss (a page walk, two-dimensional in a VM). */
static avrr_err bnd_grow(avrr_match_index *idx, size_t nc)
{
    void *r;
    avrr__mbrec *a = avrr_malloc_huge(nc * sizeof(avrr__mbrec), (size_t)16 << 20, &r);
    if (!a)
        return AVRR_ENOMEM;
    if (idx->n_slots)
        memcpy(a, idx->bnd, idx->n_slots * sizeof(avrr__mbrec));
    avrr_free(idx->bnd_raw);
    idx->bnd_raw = r;
    idx->bnd = a;
    return AVRR_OK;
}

/* ---- interned name tokens (plaintext mode) ------------------------------------------ */

static size_t tmap_home(const avrr_match_index *idx, const avrr__mtok *t)
{
    return (size_t)(t->hash * 0x9e3779b1u) & idx->tmap_mask;
}

static avrr_err tmap_grow(avrr_match_index *idx)
{
    size_t cap = idx->tmap ? 2 * (idx->tmap_mask + 1) : 1024;
    uint32_t *nm = avrr_calloc(cap, sizeof *nm);
    if (!nm)
        return AVRR_ENOMEM;
    uint32_t *old = idx->tmap;
    size_t old_cap = old ? idx->tmap_mask + 1 : 0;
    idx->tmap = nm;
    idx->tmap_mask = cap - 1;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i]) {
            size_t h = tmap_home(idx, &idx->toks[old[i]].t);
            while (nm[h])
                h = (h + 1) & idx->tmap_mask;
            nm[h] = old[i];
        }
    avrr_free(old);
    return AVRR_OK;
}

/* The id of token t of a record (strings in buf), interned when new;
 * counts one more reference. */
static avrr_err tok_intern(avrr_match_index *idx, const char *buf, const avrr__mtok *t,
                           uint32_t *id)
{
    if (!idx->tmap || (idx->tmap_used + 1) * 2 > idx->tmap_mask + 1) {
        avrr_err r = tmap_grow(idx);
        if (r != AVRR_OK)
            return r;
    }
    size_t h = tmap_home(idx, t);
    while (idx->tmap[h]) {
        avrr__itok *x = &idx->toks[idx->tmap[h]];
        if (avrr__match_tok_same(x->buf, &x->t, buf, t)) {
            x->refs++;
            *id = idx->tmap[h];
            return AVRR_OK;
        }
        h = (h + 1) & idx->tmap_mask;
    }
    uint32_t nid;
    if (idx->n_tok_free > 0) {
        nid = idx->tok_free[idx->n_tok_free - 1];
    } else {
        if (idx->n_toks >= GONE - 1)
            return AVRR_ELIMIT;
        if (idx->n_toks + 1 >= idx->cap_toks) {
            size_t nc = idx->cap_toks ? idx->cap_toks * 2 : 1024;
            avrr__itok *nt = avrr_realloc(idx->toks, nc * sizeof *nt);
            if (!nt)
                return AVRR_ENOMEM;
            idx->toks = nt;
            uint32_t *nf = avrr_realloc(idx->tok_free, nc * sizeof *nf);
            if (!nf)
                return AVRR_ENOMEM; /* toks keeps its larger room */
            idx->tok_free = nf;
            idx->cap_toks = nc;
        }
        if (idx->n_toks == 0) { /* id 0: none */
            idx->toks[0] = (avrr__itok){0};
            idx->n_toks = 1;
        }
        nid = (uint32_t)idx->n_toks;
        idx->toks[nid].buf = NULL;
    }
    size_t n = (size_t)t->len + t->sp_len + t->alt_len;
    char *b = avrr_malloc(n ? n : 1);
    if (!b)
        return AVRR_ENOMEM;
    avrr__itok *x = &idx->toks[nid];
    x->t = *t;
    memcpy(b, buf + t->off, t->len);
    x->t.off = 0;
    memcpy(b + t->len, buf + t->sp_off, t->sp_len);
    x->t.sp_off = t->len;
    memcpy(b + t->len + t->sp_len, buf + t->alt_off, t->alt_len);
    x->t.alt_off = (uint16_t)(t->len + t->sp_len);
    x->buf = b;
    x->refs = 1;
    if (idx->n_tok_free > 0)
        idx->n_tok_free--;
    else
        idx->n_toks++;
    idx->tmap[h] = nid;
    idx->tmap_used++;
    *id = nid;
    return AVRR_OK;
}

/* One reference fewer to token id; the last one frees it. */
static void tok_release(avrr_match_index *idx, uint32_t id)
{
    avrr__itok *x = &idx->toks[id];
    if (--x->refs > 0)
        return;
    size_t h = tmap_home(idx, &x->t);
    while (idx->tmap[h] != id)
        h = (h + 1) & idx->tmap_mask;
    /* backward-shift deletion: no tombstones */
    size_t i = h;
    for (;;) {
        idx->tmap[i] = 0;
        size_t j = i;
        for (;;) {
            j = (j + 1) & idx->tmap_mask;
            if (!idx->tmap[j])
                goto done;
            size_t home = tmap_home(idx, &idx->toks[idx->tmap[j]].t);
            /* j's entry may move to i when i lies cyclically in [home, j) */
            if (((j - home) & idx->tmap_mask) >= ((j - i) & idx->tmap_mask))
                break;
        }
        idx->tmap[i] = idx->tmap[j];
        i = j;
    }
done:
    idx->tmap_used--;
    avrr_free(x->buf);
    x->buf = NULL;
    idx->tok_free[idx->n_tok_free++] = id;
}

/* The id of a token that is interned (it must be). */
static uint32_t tok_find(const avrr_match_index *idx, const char *buf, const avrr__mtok *t)
{
    size_t h = tmap_home(idx, t);
    for (;;) {
        const avrr__itok *x = &idx->toks[idx->tmap[h]];
        if (avrr__match_tok_same(x->buf, &x->t, buf, t))
            return idx->tmap[h];
        h = (h + 1) & idx->tmap_mask;
    }
}

/* The references of rec's name tokens (interned by brec_make) given back. */
static void brec_release(avrr_match_index *idx, const avrr_match_rec *rec)
{
    for (int j = 0; j < rec->n_names; j++)
        for (int t = 0; t < rec->name[j].n; t++)
            tok_release(idx, tok_find(idx, rec->buf, &rec->name[j].t[t]));
}

/* The bound record of slot s for rec, its tokens interned; on failure no
 * token keeps a reference of it. */
static avrr_err brec_make(avrr_match_index *idx, const avrr_match_rec *rec, uint32_t s)
{
    uint32_t tok[2][AVRR__MT_MAXTOK] = {{0}};
    avrr_err r = AVRR_OK;
    int j = 0, t = 0;
    for (; j < rec->n_names && r == AVRR_OK; j++)
        for (t = 0; t < rec->name[j].n; t++) {
            r = tok_intern(idx, rec->buf, &rec->name[j].t[t], &tok[j][t]);
            if (r != AVRR_OK)
                break;
        }
    if (r != AVRR_OK) {
        j--; /* the name that failed, its first t tokens interned */
        for (int q = 0; q < t; q++)
            tok_release(idx, tok[j][q]);
        for (int k = 0; k < j; k++)
            for (int q = 0; q < rec->name[k].n; q++)
                tok_release(idx, tok[k][q]);
        return r;
    }
    avrr__match_brec_fill(rec, (const uint32_t(*)[AVRR__MT_MAXTOK])tok, idx->tok_id_max,
                          &idx->bnd[s]);
    return AVRR_OK;
}

avrr_err avrr_match_index_add(avrr_match_index *idx, int64_t identity_id,
                              int64_t person_id, const char *tenant,
                              const avrr_identity *id)
{
    avrr_err result = AVRR_OK;
    avrr_match_rec *rec = NULL;
    uint32_t s, old;
    uint64_t keys[AVRR__MAX_BKEYS], sk[AVRR__MAX_SUBKEYS];
    size_t nk, nsk, added = 0;

    if (identity_id <= 0 || !tenant || strlen(tenant) > 16)
        return AVRR_EINVALID;
    if (map_get(&idx->ids, (uint64_t)identity_id, &old) && old != GONE)
        return AVRR_EEXISTS;
    result = rec_of(idx, id, &rec);
    if (result != AVRR_OK)
        return result;
    if (idx->n_free > 0) {
        s = idx->free_slots[--idx->n_free];
    } else {
        if (idx->n_slots == idx->cap_slots) {
            size_t nc = idx->cap_slots ? idx->cap_slots * 2 : 1024;
            slot *ns = avrr_realloc(idx->slots, nc * sizeof *ns);
            if (!ns) {
                result = AVRR_ENOMEM;
                goto out;
            }
            idx->slots = ns;
            if (!idx->pk) {
                result = bnd_grow(idx, nc);
                if (result != AVRR_OK)
                    goto out;
            }
            idx->cap_slots = nc;
        }
        if (idx->n_slots >= GONE - 1) {
            result = AVRR_ELIMIT;
            goto out;
        }
        s = (uint32_t)idx->n_slots++;
        memset(&idx->slots[s], 0, sizeof idx->slots[s]);
    }
    /* the slot first: a list that reaches the cap reads its members'
     * records, this one's too */
    slot *sl = &idx->slots[s];
    sl->identity_id = identity_id;
    sl->person_id = person_id;
    memcpy(sl->tenant, tenant, strlen(tenant) + 1);
    sl->rec = rec;
    if (!idx->pk) {
        result = brec_make(idx, rec, s);
        if (result != AVRR_OK) {
            memset(sl, 0, sizeof *sl);
            if (s + 1 == idx->n_slots)
                idx->n_slots--;
            else if (idx->n_free < idx->cap_free)
                idx->free_slots[idx->n_free++] = s;
            goto out;
        }
    }
    nk = avrr__match_rec_block_keys(rec, keys, AVRR__MAX_BKEYS);
    nsk = sub_keys_of(rec, sk);
    for (; added < nk; added++) {
        result = post(idx, 0, keys[added], s, sk, nsk);
        if (result != AVRR_OK)
            break;
    }
    if (result == AVRR_OK)
        result = map_put(&idx->ids, (uint64_t)identity_id, s);
    if (result == AVRR_OK)
        result = avrr_match_tf_add(idx->tf, rec);
    if (result != AVRR_OK) {
        for (size_t k = 0; k < added; k++)
            unpost(idx, 0, keys[k], s, sk, nsk);
        if (!idx->pk) {
            brec_release(idx, rec);
            idx->bnd[s].flags = 0;
        }
        memset(sl, 0, sizeof *sl);
        if (s + 1 == idx->n_slots)
            idx->n_slots--;
        else if (idx->n_free < idx->cap_free)
            idx->free_slots[idx->n_free++] = s;
        goto out;
    }
    rec = NULL;
    idx->live++;
    population_changed(idx);
out:
    avrr_match_rec_free(rec);
    return result;
}

avrr_err avrr_match_index_remove(avrr_match_index *idx, int64_t identity_id)
{
    uint32_t s;
    if (!map_get(&idx->ids, (uint64_t)identity_id, &s) || s == GONE)
        return AVRR_ENOTFOUND;
    if (idx->n_free == idx->cap_free) {
        size_t nc = idx->cap_free ? idx->cap_free * 2 : 256;
        uint32_t *nf = avrr_realloc(idx->free_slots, nc * sizeof *nf);
        if (!nf)
            return AVRR_ENOMEM;
        idx->free_slots = nf;
        idx->cap_free = nc;
    }
    slot *sl = &idx->slots[s];
    uint64_t keys[AVRR__MAX_BKEYS], sk[AVRR__MAX_SUBKEYS];
    size_t nk = avrr__match_rec_block_keys(sl->rec, keys, AVRR__MAX_BKEYS);
    size_t nsk = sub_keys_of(sl->rec, sk);
    for (size_t k = 0; k < nk; k++)
        unpost(idx, 0, keys[k], s, sk, nsk);
    avrr_match_tf_remove(idx->tf, sl->rec);
    if (!idx->pk) {
        brec_release(idx, sl->rec);
        idx->bnd[s].flags = 0;
    }
    avrr_match_rec_free(sl->rec);
    memset(sl, 0, sizeof *sl);
    (void)map_put(&idx->ids, (uint64_t)identity_id, GONE); /* slot exists */
    idx->free_slots[idx->n_free++] = s;
    idx->live--;
    population_changed(idx);
    return AVRR_OK;
}

static int hit_cmp(const void *a, const void *b)
{
    const avrr_match_hit *x = a, *y = b;
    if (x->explanation.probability != y->explanation.probability)
        return x->explanation.probability > y->explanation.probability ? -1
                                                                        : 1;
    return x->identity_id < y->identity_id ? -1 : 1;
}

/* Candidates ahead of the current one whose slot, record and strings are
 * prefetched: far enough for a miss to complete, near enough to stay cached.
 * On the 100k registry of bench/check_latency (check_bench --match-only, CPU
 * time a query, 2026-11-29, load about 10): no prefetch 0.745 ms, 12/6/3
 * 0.508 ms, 24/12/6 0.498 ms. */
#define PF_SLOT 12
#define PF_REC 6
#define PF_BUF 3
/* Candidates ahead whose bound record is prefetched. */
#define PF_BND 16

/* Up to this weight (bits) two weights 1e-6 apart still give probabilities
 * many ulps apart (p(1 - p) > 2^-26), so the order by probability, with its
 * ties broken by identity id, is the order by weight; above it the top-k cut
 * stops. */
#define KTH_WEIGHT_MAX 25.0

/* Sorts the n slot numbers of v (all below limit) and drops the repeats:
 * the distinct candidates of a query, in the order of their bound records
 * in memory. LSD radix sort by 11-bit digits through tmp (n entries);
 * returns the number left. */
#define RADIX_BITS 11
static size_t distinct_sorted(uint32_t *v, uint32_t *tmp, size_t n, size_t limit)
{
    uint32_t *src = v, *dst = tmp;
    for (unsigned sh = 0; sh < 32 && (limit - 1) >> sh; sh += RADIX_BITS) {
        size_t count[1u << RADIX_BITS] = {0};
        for (size_t i = 0; i < n; i++)
            count[src[i] >> sh & ((1u << RADIX_BITS) - 1)]++;
        size_t sum = 0;
        for (size_t d = 0; d < (1u << RADIX_BITS); d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[count[src[i] >> sh & ((1u << RADIX_BITS) - 1)]++] = src[i];
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || src[i] != v[u - 1])
            v[u++] = src[i];
    return u;
}

/* Keeps the k largest weights in the min-heap h of *n entries; returns the
 * weight a candidate must reach to displace one once the heap is full (a
 * little below the least, against rounding), else -INFINITY. */
static double keep_best(double *h, size_t *n, size_t k, double w)
{
    size_t i;
    if (*n < k) {
        i = (*n)++;
        while (i > 0 && h[(i - 1) / 2] > w) {
            h[i] = h[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        h[i] = w;
    } else if (w > h[0]) {
        i = 0;
        for (;;) {
            size_t c = 2 * i + 1;
            if (c >= k)
                break;
            if (c + 1 < k && h[c + 1] < h[c])
                c++;
            if (h[c] >= w)
                break;
            h[i] = h[c];
            i = c;
        }
        h[i] = w;
    }
    if (*n < k || h[0] > KTH_WEIGHT_MAX)
        return -INFINITY;
    return h[0] - 1e-6;
}

/* The blocks a probe is in: the lists a query reads. */
typedef struct blocks {
    const plist **v;
    size_t n, cap, total; /* total: postings */
    plist **own;          /* members gathered for counted lists (freed) */
    size_t n_own;
} blocks;

static void blocks_free(blocks *b)
{
    for (size_t i = 0; i < b->n_own; i++) {
        avrr_free(b->own[i]->v);
        avrr_free(b->own[i]);
    }
    avrr_free(b->own);
    avrr_free(b->v);
}

/* The members of a counted list that removals brought back within the cap:
 * the members of the list one depth up (up) that have its second key k. */
static avrr_err members_from_up(const avrr_match_index *idx, const plist *up, uint64_t k,
                                blocks *b, const plist **out)
{
    plist *m = avrr_calloc(1, sizeof *m);
    plist **no = avrr_realloc(b->own, (b->n_own + 1) * sizeof *no);
    if (!m || !no) {
        avrr_free(m);
        if (no)
            b->own = no;
        return AVRR_ENOMEM;
    }
    b->own = no;
    b->own[b->n_own++] = m;
    m->v = avrr_malloc((up->n ? up->n : 1) * sizeof *m->v);
    if (!m->v)
        return AVRR_ENOMEM;
    for (uint32_t i = 0; i < up->n; i++) {
        const avrr_match_rec *r = idx->slots[up->v[i]].rec;
        uint64_t sk[AVRR__MAX_SUBKEYS];
        size_t ns = r ? sub_keys_of(r, sk) : 0;
        for (size_t j = 0; j < ns; j++)
            if (sk[j] == k) {
                m->v[m->n++] = up->v[i];
                break;
            }
    }
    *out = m;
    return AVRR_OK;
}

/* The block of key at depth d with the probe counted (parent: the size of
 * the block it was split from, probe counted; 0 at depth 0), as the batch
 * would take it (avrr__block_fate): whole, split by the probe's second keys
 * psk, or not at all. */
static avrr_err gather(const avrr_match_index *idx, int d, uint64_t key, size_t parent,
                       const plist *up, uint64_t k, const uint64_t *psk, size_t npsk,
                       blocks *b)
{
    uint32_t li;
    if (!map_get(&idx->keys[d], key, &li))
        return AVRR_OK;
    const plist *l = &idx->lists[li];
    size_t size = (size_t)l->n + 1;
    switch (avrr__block_fate(size, parent, d, idx->block_cap)) {
    case AVRR__BLK_TAKE:
        if (d == LAST && (l->cap & LIST_COUNTED)) {
            avrr_err r = members_from_up(idx, up, k, b, &l);
            if (r != AVRR_OK)
                return r;
        }
        if (b->n == b->cap) {
            size_t nc = b->cap ? b->cap * 2 : 64;
            const plist **nv = avrr_realloc(b->v, nc * sizeof *nv);
            if (!nv)
                return AVRR_ENOMEM;
            b->v = nv;
            b->cap = nc;
        }
        b->v[b->n++] = l;
        b->total += l->n;
        return AVRR_OK;
    case AVRR__BLK_SPLIT:
        /* a list over the cap keeps its sub-lists (post) */
        if (!(l->cap & LIST_SPLIT) || d + 1 >= DEPTHS)
            return AVRR_EINTERNAL;
        for (size_t j = 0; j < npsk; j++) {
            avrr_err r = gather(idx, d + 1, avrr__match_sub_mix(key, psk[j]), size, l, psk[j],
                                psk, npsk, b);
            if (r != AVRR_OK)
                return r;
        }
        return AVRR_OK;
    default:
        return AVRR_OK; /* no pair, nothing new, or still over the cap */
    }
}

/* The record of slot s (for the bound, when its bound record does not
 * tell enough). */
static const avrr_match_rec *slot_rec(const void *ctx, uint32_t s)
{
    return ((const avrr_match_index *)ctx)->slots[s].rec;
}

/* Appends a hit of slot sl. */
static avrr_err hit_add(avrr_match_hit **out, size_t *nh, size_t *cap, const slot *sl,
                        const avrr_match_explanation *x)
{
    if (*nh == *cap) {
        size_t ncap = *cap ? *cap * 2 : 32;
        avrr_match_hit *no = avrr_realloc(*out, ncap * sizeof *no);
        if (!no)
            return AVRR_ENOMEM;
        *out = no;
        *cap = ncap;
    }
    avrr_match_hit *h = &(*out)[(*nh)++];
    h->identity_id = sl->identity_id;
    h->person_id = sl->person_id;
    memcpy(h->tenant, sl->tenant, sizeof h->tenant);
    h->explanation = *x;
    return AVRR_OK;
}

/* The query of a record made by rec_of (or a pre-encoded probe): rec stays
 * the caller's. */
static avrr_err query_rec(const avrr_match_index *idx,
                          const avrr_match_rec *rec, double threshold,
                          size_t max_hits, avrr_match_hit **hits,
                          size_t *n_hits, avrr__mqstats *st)
{
    avrr_err result = AVRR_OK;
    avrr_match_hit *out = NULL;
    uint32_t *tmp = NULL;
    avrr__mbound bound = {0};
    uint32_t *cand = NULL;
    size_t total = 0, nh = 0, cap = 0, nc = 0, nk_best = 0;
    /* the weights of the max_hits best hits so far (a min-heap): once there
     * are that many, a candidate whose bound is below the least of them
     * cannot be among the hits returned */
    double *best = NULL, kth_need = -INFINITY;
    uint64_t keys[AVRR__MAX_BKEYS], psk[AVRR__MAX_SUBKEYS];
    blocks bl = {0};
    avrr__mqstats local = {0};

    if (!st)
        st = &local;
    bool exhaustive = st->exhaustive;
    memset(st, 0, sizeof *st);
    st->exhaustive = exhaustive;
    /* The weight bound reads the plaintext tokens of both records; an
     * encoded record has none, so in the pseudonymised mode every
     * candidate is compared in full. */
    if (avrr_match_rec_is_pseudo(rec))
        exhaustive = true;
    *hits = NULL;
    *n_hits = 0;
    size_t nk = avrr__match_rec_block_keys(rec, keys, AVRR__MAX_BKEYS);
    size_t npsk = sub_keys_of(rec, psk);
    for (size_t k = 0; k < nk && result == AVRR_OK; k++)
        result = gather(idx, 0, keys[k], 0, NULL, 0, psk, npsk, &bl);
    if (result != AVRR_OK)
        goto out;
    total = bl.total;
    st->postings = total;
    if (total == 0)
        goto out;
    tmp = avrr_malloc(total * sizeof *tmp);
    cand = avrr_malloc(total * sizeof *cand);
    if (!tmp || !cand) {
        result = AVRR_ENOMEM;
        goto out;
    }
    if (max_hits && max_hits < total) {
        best = avrr_malloc(max_hits * sizeof *best);
        if (!best) {
            result = AVRR_ENOMEM;
            goto out;
        }
    }
    /* Every candidate's weight is bounded first (the cheap fields at their
     * levels, names from the similarity classes of their tokens, remembered
     * per distinct token for the whole query); only those whose bound
     * reaches the threshold are compared in full. A block of a common name
     * in a common year so costs little and still yields all that scoring
     * every member would (tests/unit/test_match.c, check_bench --verify). */
    if (!exhaustive)
        avrr__match_bound_prepare(idx->model, idx->tf, rec, threshold, &bound);
    for (size_t k = 0; k < bl.n; k++) {
        const plist *l = bl.v[k];
        memcpy(cand + nc, l->v, l->n * sizeof *cand);
        nc += l->n;
    }
    nc = distinct_sorted(cand, tmp, nc, idx->n_slots);
    /* Candidates are scattered over the index. The bound reads one dense
     * bound record of each (a cache line; its name tokens by interned id, from
     * the memo), prefetched a few candidates ahead; the slot and the record
     * only for what it cannot tell from that, and for a full comparison. */
    for (size_t k = 0; k < nc && !exhaustive; k++) {
        if (k + PF_BND < nc)
            __builtin_prefetch(&idx->bnd[cand[k + PF_BND]]);
        const avrr__mbrec *b = &idx->bnd[cand[k]];
        if (!(b->flags & AVRR__BR_LIVE))
            continue;
        st->candidates++;
        double ub = avrr__match_bound_brec(&bound, b, idx->toks, slot_rec, idx, cand[k]);
        if (ub < bound.need || (nk_best == max_hits && max_hits && ub < kth_need))
            continue;
        const slot *sl = &idx->slots[cand[k]];
        st->compared++;
        avrr_match_explanation x;
        avrr_match_compare(idx->model, idx->tf, rec, sl->rec, &x);
        if (x.probability < threshold)
            continue;
        result = hit_add(&out, &nh, &cap, sl, &x);
        if (result != AVRR_OK)
            goto out;
        if (best)
            kth_need = keep_best(best, &nk_best, max_hits, x.weight);
    }
    /* Exhaustive (the pseudonymised mode, and the reference of the tests):
     * every candidate's slot, record and strings, prefetched ahead. */
    for (size_t k = 0; k < nc && exhaustive; k++) {
        if (k + PF_SLOT < nc)
            __builtin_prefetch(&idx->slots[cand[k + PF_SLOT]]);
        if (k + PF_REC < nc) {
            const char *r = (const char *)idx->slots[cand[k + PF_REC]].rec;
            if (r)
                for (size_t o = 0; o < sizeof(avrr_match_rec); o += 64)
                    __builtin_prefetch(r + o);
        }
        if (k + PF_BUF < nc) {
            const avrr_match_rec *r = idx->slots[cand[k + PF_BUF]].rec;
            if (r)
                __builtin_prefetch(r->buf);
        }
        const slot *sl = &idx->slots[cand[k]];
        if (!sl->rec)
            continue;
        st->candidates++;
        st->compared++;
        avrr_match_explanation x;
        avrr_match_compare(idx->model, idx->tf, rec, sl->rec, &x);
        if (x.probability < threshold)
            continue;
        result = hit_add(&out, &nh, &cap, sl, &x);
        if (result != AVRR_OK)
            goto out;
    }
    st->hits = nh;
    if (nh == 0)
        goto out;
    qsort(out, nh, sizeof *out, hit_cmp);
    if (max_hits && nh > max_hits)
        nh = max_hits;
    *hits = out;
    *n_hits = nh;
    out = NULL;
out:
    avrr_free(out);
    avrr_free(tmp);
    avrr_free(cand);
    blocks_free(&bl);
    avrr_free(best);
    avrr__match_bound_clear(&bound);
    return result;
}

avrr_err avrr__match_index_query_stats(const avrr_match_index *idx,
                                       const avrr_identity *probe,
                                       double threshold, size_t max_hits,
                                       avrr_match_hit **hits, size_t *n_hits,
                                       avrr__mqstats *st)
{
    avrr_match_rec *rec = NULL;
    *hits = NULL;
    *n_hits = 0;
    avrr_err result = rec_of(idx, probe, &rec);
    if (result != AVRR_OK)
        return result;
    result = query_rec(idx, rec, threshold, max_hits, hits, n_hits, st);
    avrr_match_rec_free(rec);
    return result;
}

avrr_err avrr_match_index_query(const avrr_match_index *idx,
                                const avrr_identity *probe, double threshold,
                                size_t max_hits, avrr_match_hit **hits,
                                size_t *n_hits)
{
    return avrr__match_index_query_stats(idx, probe, threshold, max_hits, hits,
                                         n_hits, NULL);
}

avrr_err avrr_match_index_query_encoded(const avrr_match_index *idx,
                                        const avrr_match_rec *probe,
                                        double threshold, size_t max_hits,
                                        avrr_match_hit **hits, size_t *n_hits)
{
    *hits = NULL;
    *n_hits = 0;
    if (!idx->pk || !avrr_match_rec_is_pseudo(probe) ||
        avrr_pseudo_rec_key_id(probe) != avrr_pseudo_key_id(idx->pk))
        return AVRR_EINVALID;
    return query_rec(idx, probe, threshold, max_hits, hits, n_hits, NULL);
}

void avrr__match_index_trim(avrr_match_index *idx)
{
    for (size_t i = 0; i < idx->n_lists; i++) {
        plist *l = &idx->lists[i];
        uint32_t cap = l->cap & ~LIST_SPLIT;
        if (!l->v || cap <= l->n)
            continue;
        if (l->n == 0) {
            avrr_free(l->v);
            l->v = NULL;
            l->cap &= LIST_SPLIT;
            continue;
        }
        uint32_t *nv = avrr_realloc(l->v, l->n * sizeof *nv);
        if (nv) {
            l->v = nv;
            l->cap = l->n | (l->cap & LIST_SPLIT);
        }
    }
}

/* Every live identity, for tests that compare a query with a full scan. */
size_t avrr__match_index_records(const avrr_match_index *idx,
                                 const avrr_match_rec **recs, int64_t *ids,
                                 size_t cap)
{
    size_t n = 0;
    for (size_t s = 0; s < idx->n_slots && n < cap; s++)
        if (idx->slots[s].rec) {
            recs[n] = idx->slots[s].rec;
            ids[n++] = idx->slots[s].identity_id;
        }
    return n;
}

const avrr_match_model *avrr__match_index_model(const avrr_match_index *idx)
{
    return idx->model;
}

const avrr_match_tf *avrr__match_index_tf(const avrr_match_index *idx)
{
    return idx->tf;
}

size_t avrr__match_index_tokens(const avrr_match_index *idx, size_t *refs)
{
    size_t n = 0, r = 0;
    for (size_t i = 1; i < idx->n_toks; i++)
        if (idx->toks[i].buf) {
            n++;
            r += idx->toks[i].refs;
        }
    *refs = r;
    return n == idx->tmap_used ? n : SIZE_MAX; /* the map holds every one */
}

avrr_err avrr__match_index_set_tok_id_max(avrr_match_index *idx, uint32_t max)
{
    if (max == 0 || max > AVRR__BR_TOK_MAX || (max & (max + 1)) || idx->n_slots > 0)
        return AVRR_EINVALID;
    idx->tok_id_max = max;
    return AVRR_OK;
}

avrr_err avrr__match_index_bound_of(const avrr_match_index *idx, avrr__mbound *b,
                                    int64_t identity_id, double *ub)
{
    uint32_t s;
    if (idx->pk)
        return AVRR_EINVALID;
    if (!map_get(&idx->ids, (uint64_t)identity_id, &s) || s == GONE)
        return AVRR_ENOTFOUND;
    *ub = avrr__match_bound_brec(b, &idx->bnd[s], idx->toks, slot_rec, idx, s);
    return AVRR_OK;
}
