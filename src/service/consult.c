/* consult.c: consultation across member states (DESIGN.md sections 1, 3, 6).
 *
 * Checks (hit / no-hit with an explanation, before support is granted),
 * links in the manner of the EU Multiple Identity Detector, the two-step
 * disclosure of a hit's details (as in Pruem II), and the guard that warns
 * when assistance may be paid twice. Matching itself is the match layer's
 * in-memory index; this file decides what a tenant may learn from it.
 *
 * What crosses tenants: the owning tenant, a pseudonymous person_ref that is
 * stable per requesting tenant (keyed BLAKE2b of viewer and person id, so
 * two requesters cannot join their refs), probability, band, the per-field
 * explanation, and a summary of assistance. Never names, dates, documents or
 * the owner's internal ids. A hit never refuses support by itself (GDPR
 * Art. 22): it warns and opens a link for a human to decide. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "match/match_int.h" /* avrr__match_index_query_stats, for the phases */
#include "service/check_phases.h"
#include "service/codec.h"
#include "service/service_int.h"

/* Identities a query may return before they are merged into persons: a
 * person has at most AVRR_IDENTITIES_MAX aliases, so this keeps max_hits
 * persons even when every hit person matches on several aliases. */
#define QUERY_HITS_PER_PERSON 4

void avrr_service_options_default(avrr_service_options *o)
{
    /* 0.9 / 0.5: "strong" is where the returnee generator's false-positive
     * rate falls under 1 in 1,000 pairs; "possible" keeps the variants a
     * human should look at without flooding the work queue. */
    o->strong_threshold = 0.9;
    o->possible_threshold = 0.5;
    /* Two years: the reintegration period of EURP and national schemes. */
    o->duplicate_window_days = 730;
    o->max_hits = 20;
}

avrr_err avrr_service_configure(avrr_service *svc, const avrr_service_options *o,
                                avrr_error *e)
{
    if (!(o->strong_threshold > 0.0 && o->strong_threshold <= 1.0))
        return avrr_error_set(e, AVRR_EINVALID, "strong_threshold", "must be in (0, 1]");
    if (!(o->possible_threshold > 0.0 && o->possible_threshold <= o->strong_threshold))
        return avrr_error_set(e, AVRR_EINVALID, "possible_threshold",
                              "must be in (0, strong_threshold]");
    if (o->duplicate_window_days < 0 || o->duplicate_window_days > 36500)
        return avrr_error_set(e, AVRR_EINVALID, "duplicate_window_days", "must be 0..36500");
    if (o->max_hits < 1 || o->max_hits > 200)
        return avrr_error_set(e, AVRR_EINVALID, "max_hits", "must be 1..200");
    lock(svc);
    svc->options = *o;
    unlock(svc);
    return AVRR_OK;
}

/* ---- pseudonyms ------------------------------------------------------------- */

#define PSEUDONYM_META_KEY "pseudonym_key"

avrr_err avrr__consult_init(avrr_service *svc, avrr_error *e)
{
    char *hex = NULL;
    size_t bin_len = 0;
    lock(svc);
    avrr_err result = svc->store->ops->meta_get(svc->store, PSEUDONYM_META_KEY, &hex, e);
    if (result == AVRR_ENOTFOUND) {
        char fresh[2 * sizeof svc->pseudonym_key + 1];
        randombytes_buf(svc->pseudonym_key, sizeof svc->pseudonym_key);
        sodium_bin2hex(fresh, sizeof fresh, svc->pseudonym_key, sizeof svc->pseudonym_key);
        result = svc->store->ops->meta_set(svc->store, PSEUDONYM_META_KEY, fresh, e);
    } else if (result == AVRR_OK) {
        if (sodium_hex2bin(svc->pseudonym_key, sizeof svc->pseudonym_key, hex, strlen(hex),
                           NULL, &bin_len, NULL) != 0 ||
            bin_len != sizeof svc->pseudonym_key)
            result = avrr_error_set(e, AVRR_EDB, NULL, "the registry's pseudonym key is damaged");
    }
    unlock(svc);
    avrr_free(hex);
    return result;
}

void avrr__consult_close(avrr_service *svc)
{
    avrr_match_index_free(svc->index);
    svc->index = NULL;
    avrr_pseudo_key_free(svc->index_key);
    svc->index_key = NULL;
    avrr_match_model_free(svc->index_model);
    svc->index_model = NULL;
    sodium_memzero(svc->pseudonym_key, sizeof svc->pseudonym_key);
}

void avrr_service_person_ref(avrr_service *svc, const char *viewer, int64_t person_id,
                             char out[static 33])
{
    char msg[48];
    uint8_t h[16];
    int n = snprintf(msg, sizeof msg, "%s:%lld", viewer, (long long)person_id);
    crypto_generichash(h, sizeof h, (const unsigned char *)msg, (size_t)n, svc->pseudonym_key,
                       sizeof svc->pseudonym_key);
    sodium_bin2hex(out, 33, h, sizeof h);
}

/* ---- the index ------------------------------------------------------------------ */

/* A batch of identities copied out of the store, so that they can be added
 * to the index without holding the store lock. */
typedef struct scan_copy {
    avrr_identity *ids;
    char (*tenants)[17];
    size_t n, cap;
    int64_t last;
} scan_copy;

/* 4,096 identities a batch: enough to amortise the locks, small enough
 * (a few MB of copies) not to double the memory of a 1M-identity load. */
#define SCAN_BATCH 4096
/* Returned by the scan callback when a batch is full (not an avrr_err). */
#define SCAN_FULL 1

static int copy_identity(void *arg, const char *tenant, const avrr_identity *id)
{
    scan_copy *sc = arg;
    if (sc->n == sc->cap) {
        size_t cap = sc->cap ? sc->cap * 2 : 256;
        avrr_identity *ids = avrr_realloc(sc->ids, cap * sizeof *ids);
        if (!ids)
            return AVRR_ENOMEM;
        sc->ids = ids;
        char(*tenants)[17] = avrr_realloc(sc->tenants, cap * sizeof *tenants);
        if (!tenants)
            return AVRR_ENOMEM;
        sc->tenants = tenants;
        sc->cap = cap;
    }
    if (avrr_identity_copy(&sc->ids[sc->n], id) != AVRR_OK)
        return AVRR_ENOMEM;
    snprintf(sc->tenants[sc->n], 17, "%s", tenant);
    sc->n++;
    sc->last = id->id;
    return sc->n >= SCAN_BATCH ? SCAN_FULL : 0;
}

static void scan_copy_clear(scan_copy *sc)
{
    for (size_t i = 0; i < sc->n; i++)
        avrr_identity_clear(&sc->ids[i]);
    avrr_free(sc->ids);
    avrr_free(sc->tenants);
    memset(sc, 0, sizeof *sc);
}

/* Adds every identity with id > *last to idx, batch by batch, holding the
 * store lock only while reading and (when `live`, idx being the service's
 * index) the index lock only while adding. Advances *last. */
static avrr_err index_fill(avrr_service *svc, avrr_match_index *idx, bool live, int64_t *last,
                           avrr_error *e)
{
    for (;;) {
        scan_copy sc = {0};
        lock(svc);
        int rc = (int)svc->store->ops->identity_scan(svc->store, *last, copy_identity, &sc, e);
        unlock(svc);
        if (rc != 0 && rc != SCAN_FULL) {
            scan_copy_clear(&sc);
            if (rc == AVRR_ENOMEM)
                avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
            return (avrr_err)rc;
        }
        if (live)
            pthread_rwlock_wrlock(&svc->index_lock);
        avrr_err result = AVRR_OK;
        for (size_t i = 0; i < sc.n && result == AVRR_OK; i++) {
            result = avrr_match_index_add(idx, sc.ids[i].id, sc.ids[i].person_id, sc.tenants[i],
                                          &sc.ids[i]);
            if (result == AVRR_EEXISTS) /* added meanwhile by a registration */
                result = AVRR_OK;
        }
        if (live)
            pthread_rwlock_unlock(&svc->index_lock);
        if (sc.n)
            *last = sc.last;
        size_t n = sc.n;
        scan_copy_clear(&sc);
        if (result != AVRR_OK)
            return avrr_error_set(e, result, NULL, "building the match index: %s",
                                  avrr_strerror(result));
        if (rc != SCAN_FULL || n == 0)
            return AVRR_OK;
    }
}

avrr_err avrr_service_index_load(avrr_service *svc, avrr_error *e)
{
    pthread_rwlock_rdlock(&svc->index_lock);
    bool loaded = svc->index != NULL;
    pthread_rwlock_unlock(&svc->index_lock);
    if (loaded)
        return AVRR_OK;

    avrr_match_index *idx = NULL;
    int64_t last = 0;
    avrr_err result = avrr_match_index_new(svc->index_model, &idx);
    if (result != AVRR_OK)
        return avrr_error_set(e, result, NULL, "cannot create the match index");
    if (svc->index_key)
        result = avrr_match_index_set_pseudonym_key(idx, svc->index_key);
    if (result != AVRR_OK) {
        avrr_match_index_free(idx);
        return avrr_error_set(e, result, NULL, "cannot create the match index");
    }
    result = index_fill(svc, idx, false, &last, e);
    if (result != AVRR_OK) {
        avrr_match_index_free(idx);
        return result;
    }
    avrr__match_index_trim(idx);
    pthread_rwlock_wrlock(&svc->index_lock);
    if (svc->index) { /* another thread won the race */
        pthread_rwlock_unlock(&svc->index_lock);
        avrr_match_index_free(idx);
        return AVRR_OK;
    }
    svc->index = idx;
    svc->index_last = last;
    pthread_rwlock_unlock(&svc->index_lock);
    /* Registrations made while the index was built saw no index and added
     * nothing: catch up with them now that they add themselves. */
    return avrr_service_index_sync(svc, e);
}

/* The settings of the index's mode and model take effect when it is built:
 * AVRR_EEXISTS naming the setting once it is. */
static avrr_err index_not_loaded(avrr_service *svc, const char *field,
                                 avrr_error *e)
{
    pthread_rwlock_rdlock(&svc->index_lock);
    bool loaded = svc->index != NULL;
    pthread_rwlock_unlock(&svc->index_lock);
    if (loaded)
        return avrr_error_set(e, AVRR_EEXISTS, field,
                              "the match index is already loaded");
    return AVRR_OK;
}

avrr_err avrr_service_set_pseudonymised(avrr_service *svc, const char *key_file,
                                        avrr_error *e)
{
    avrr_pseudo_key *k = NULL;
    avrr_err result = index_not_loaded(svc, "pseudonym_key_file", e);
    if (result != AVRR_OK)
        return result;
    result = avrr_pseudo_key_load(key_file, &k, e);
    if (result != AVRR_OK) {
        /* The setting the operator has to fix. */
        if (e)
            snprintf(e->field, sizeof e->field, "pseudonym_key_file");
        return result;
    }
    avrr_pseudo_key_free(svc->index_key);
    svc->index_key = k;
    return AVRR_OK;
}

avrr_err avrr_service_set_match_model(avrr_service *svc, const char *path,
                                      avrr_error *e)
{
    avrr_match_model *m = NULL;
    avrr_err result = index_not_loaded(svc, "match_model", e);
    if (result != AVRR_OK)
        return result;
    result = avrr_match_model_load(path, &m, e);
    if (result != AVRR_OK) {
        if (e)
            snprintf(e->field, sizeof e->field, "match_model");
        return result;
    }
    avrr_match_model_free(svc->index_model);
    svc->index_model = m;
    return AVRR_OK;
}

void avrr_service_index_info(avrr_service *svc, bool *pseudonymised,
                             size_t *records, size_t *plaintext_records)
{
    pthread_rwlock_rdlock(&svc->index_lock);
    *pseudonymised = svc->index_key != NULL;
    *records = svc->index ? avrr_match_index_size(svc->index) : 0;
    *plaintext_records = svc->index ? avrr_match_index_plaintext_records(svc->index) : 0;
    pthread_rwlock_unlock(&svc->index_lock);
}

avrr_err avrr_service_index_sync(avrr_service *svc, avrr_error *e)
{
    pthread_rwlock_rdlock(&svc->index_lock);
    avrr_match_index *idx = svc->index;
    int64_t last = svc->index_last;
    pthread_rwlock_unlock(&svc->index_lock);
    if (!idx)
        return AVRR_OK;
    int64_t from = last > AVRR_INDEX_SYNC_WINDOW ? last - AVRR_INDEX_SYNC_WINDOW : 0;
    avrr_err result = index_fill(svc, idx, true, &from, e);
    pthread_rwlock_wrlock(&svc->index_lock);
    if (from > svc->index_last)
        svc->index_last = from;
    pthread_rwlock_unlock(&svc->index_lock);
    return result;
}

/* ---- phases of a check (check_phases.h) ------------------------------------------------- */

const char *const avrr__cp_names[AVRR__CP__N] = {
    "validate", "match", "lock", "views", "json", "row", "links", "audit", "commit", "after"};

static _Thread_local avrr__check_phases *tl_ph;
static _Thread_local double tl_wall, tl_cpu;

void avrr__check_phases_record(avrr__check_phases *p)
{
    tl_ph = p;
}

static double clock_us(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void ph_start(void)
{
    if (!tl_ph)
        return;
    tl_wall = clock_us(CLOCK_MONOTONIC);
    tl_cpu = clock_us(CLOCK_THREAD_CPUTIME_ID);
}

/* The time since the last mark goes to phase ph. */
static void ph_mark(int ph)
{
    if (!tl_ph)
        return;
    double w = clock_us(CLOCK_MONOTONIC), c = clock_us(CLOCK_THREAD_CPUTIME_ID);
    tl_ph->wall_us[ph] += w - tl_wall;
    tl_ph->cpu_us[ph] += c - tl_cpu;
    tl_wall = w;
    tl_cpu = c;
}

/* ---- finding persons -------------------------------------------------------------- */

/* The best hit per person, over all identities of a probe. */
typedef struct person_hit {
    int64_t person_id;
    char tenant[17];
    avrr_match_explanation explanation;
} person_hit;

static int by_probability(const void *a, const void *b)
{
    double pa = ((const person_hit *)a)->explanation.probability;
    double pb = ((const person_hit *)b)->explanation.probability;
    return pa < pb ? 1 : pa > pb ? -1 : 0;
}

/* Queries the index with each identity, or with the one pre-encoded probe
 * enc when it is not NULL (ids and n are then ignored), and merges the hits
 * by person, leaving out exclude_person. *out is sorted strongest first. */
static avrr_err find_persons(avrr_service *svc, const avrr_identity *ids, size_t n,
                             const avrr_match_rec *enc, int64_t exclude_person,
                             double threshold, size_t max_hits, person_hit **out,
                             size_t *n_out, avrr_error *e)
{
    avrr_err result = AVRR_OK;
    person_hit *found = NULL;
    size_t n_found = 0, cap = 0;
    *out = NULL;
    *n_out = 0;
    if (enc)
        n = 1;
    pthread_rwlock_rdlock(&svc->index_lock);
    for (size_t i = 0; i < n && result == AVRR_OK; i++) {
        avrr_match_hit *hits = NULL;
        size_t nh = 0;
        if (enc)
            result = avrr_match_index_query_encoded(svc->index, enc, threshold,
                                                    max_hits * QUERY_HITS_PER_PERSON, &hits,
                                                    &nh);
        else if (tl_ph) {
            avrr__mqstats st = {.exhaustive = false};
            result = avrr__match_index_query_stats(svc->index, &ids[i], threshold,
                                                   max_hits * QUERY_HITS_PER_PERSON, &hits,
                                                   &nh, &st);
            tl_ph->candidates += st.candidates;
            tl_ph->compared += st.compared;
        } else
            result = avrr_match_index_query(svc->index, &ids[i], threshold,
                                            max_hits * QUERY_HITS_PER_PERSON, &hits, &nh);
        for (size_t k = 0; result == AVRR_OK && k < nh; k++) {
            if (hits[k].person_id == exclude_person)
                continue;
            size_t j = 0;
            while (j < n_found && found[j].person_id != hits[k].person_id)
                j++;
            if (j == n_found) {
                if (n_found == cap) {
                    size_t c = cap ? cap * 2 : 16;
                    person_hit *p = avrr_realloc(found, c * sizeof *p);
                    if (!p) {
                        result = AVRR_ENOMEM;
                        break;
                    }
                    found = p;
                    cap = c;
                }
                found[n_found].person_id = hits[k].person_id;
                memcpy(found[n_found].tenant, hits[k].tenant, sizeof found[n_found].tenant);
                found[n_found].explanation = hits[k].explanation;
                n_found++;
            } else if (hits[k].explanation.probability > found[j].explanation.probability) {
                found[j].explanation = hits[k].explanation;
            }
        }
        avrr_free(hits);
    }
    pthread_rwlock_unlock(&svc->index_lock);
    if (result != AVRR_OK) {
        avrr_free(found);
        return avrr_error_set(e, result, NULL, "matching failed: %s", avrr_strerror(result));
    }
    if (n_found > 1)
        qsort(found, n_found, sizeof *found, by_probability);
    *out = found;
    *n_out = n_found < max_hits ? n_found : max_hits;
    return AVRR_OK;
}

static int by_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The link between two persons among `links` (of one of them), or NULL. */
static const avrr_link *pair_link(const avrr_link *links, size_t n, int64_t a, int64_t b)
{
    const avrr_link *best = NULL;
    for (size_t i = 0; i < n; i++) {
        bool pair = (links[i].person_a == a && links[i].person_b == b) ||
                    (links[i].person_a == b && links[i].person_b == a);
        if (pair && (!best || links[i].id > best->id))
            best = &links[i];
    }
    return best;
}

/* Opens a yellow link; store lock held by the caller. */
static void link_fill(avrr_link *out, int64_t person_a, const char *tenant_a, int64_t person_b,
                      const char *tenant_b, int64_t check_id, const char *source,
                      double probability)
{
    memset(out, 0, sizeof *out);
    out->person_a = person_a;
    snprintf(out->tenant_a, sizeof out->tenant_a, "%s", tenant_a);
    out->person_b = person_b;
    snprintf(out->tenant_b, sizeof out->tenant_b, "%s", tenant_b);
    out->check_id = check_id;
    snprintf(out->source, sizeof out->source, "%s", source);
    out->status = AVRR_LINK_YELLOW;
    out->probability = probability;
}

static avrr_err open_link(avrr_service *svc, int64_t person_a, const char *tenant_a,
                          int64_t person_b, const char *tenant_b, int64_t check_id,
                          const char *source, double probability, avrr_link *out, avrr_error *e)
{
    link_fill(out, person_a, tenant_a, person_b, tenant_b, check_id, source, probability);
    return svc->store->ops->link_insert(svc->store, out, e);
}

/* The yellow links a check opens: one per strong hit on another tenant
 * not linked yet, to be stored with the check (check_id is set then). */
typedef struct check_links {
    avrr_link *ls;
    size_t *at; /* ls[k] is the link of out->hits[at[k]] */
    size_t n;
} check_links;

static void check_links_free(check_links *cl)
{
    for (size_t k = 0; k < cl->n; k++)
        avrr_link_clear(&cl->ls[k]);
    avrr_free(cl->ls);
    avrr_free(cl->at);
    memset(cl, 0, sizeof *cl);
}

static avrr_err check_links_plan(const avrr_actor *a, int64_t person_id,
                                 const avrr_check_result *out, check_links *cl,
                                 avrr_error *e)
{
    size_t n = 0;
    memset(cl, 0, sizeof *cl);
    for (size_t i = 0; i < out->n_hits; i++) {
        const avrr_hit_view *v = &out->hits[i];
        n += !(v->own || v->link_id || v->hit.band != AVRR_BAND_STRONG);
    }
    if (n == 0)
        return AVRR_OK;
    cl->ls = avrr_calloc(n, sizeof *cl->ls);
    cl->at = avrr_calloc(n, sizeof *cl->at);
    if (!cl->ls || !cl->at) {
        check_links_free(cl);
        return avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
    }
    for (size_t i = 0; i < out->n_hits; i++) {
        const avrr_hit_view *v = &out->hits[i];
        if (v->own || v->link_id || v->hit.band != AVRR_BAND_STRONG)
            continue;
        link_fill(&cl->ls[cl->n], person_id, a->tenant, v->hit.person_id, v->hit.tenant, 0,
                  "check", v->hit.probability);
        cl->at[cl->n++] = i;
    }
    return AVRR_OK;
}

/* The planned links of a check naming the requester's own person
 * (person_id) that no other check opened meanwhile. The links read before
 * the match may be stale: a concurrent check of the same person (on
 * another pooled connection, another server, or between this check's read
 * and its transaction) may have opened one of them since. So, in the
 * check's transaction, each pair's lock is taken (in one order, so that
 * two checks cannot wait for each other) and the person's links are read
 * again: a pair linked by then keeps its link, shown in the hit, and is
 * not opened twice. */
static avrr_err check_links_settle(avrr_store *st, int64_t person_id, check_links *cl,
                                   avrr_check_result *out, avrr_error *e)
{
    if (!person_id || cl->n == 0)
        return AVRR_OK;
    avrr_err result = AVRR_OK;
    if (st->ops->link_pair_lock) {
        int64_t *others = avrr_calloc(cl->n, sizeof *others);
        if (!others)
            return avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
        for (size_t k = 0; k < cl->n; k++)
            others[k] = cl->ls[k].person_b;
        qsort(others, cl->n, sizeof *others, by_id);
        for (size_t k = 0; k < cl->n && result == AVRR_OK; k++)
            result = st->ops->link_pair_lock(st, person_id, others[k], e);
        avrr_free(others);
    }
    avrr_link *links = NULL;
    size_t n_links = 0;
    if (result == AVRR_OK)
        result = st->ops->links_of_person(st, person_id, &links, &n_links, e);
    size_t kept = 0;
    for (size_t k = 0; k < cl->n && result == AVRR_OK; k++) {
        const avrr_link *l = pair_link(links, n_links, person_id, cl->ls[k].person_b);
        if (l) {
            out->hits[cl->at[k]].link_id = l->id;
            out->hits[cl->at[k]].link_status = l->status;
            avrr_link_clear(&cl->ls[k]);
            continue;
        }
        cl->ls[kept] = cl->ls[k];
        cl->at[kept++] = cl->at[k];
    }
    if (result == AVRR_OK)
        cl->n = kept;
    avrr_store_free_links(links, n_links);
    return result;
}

/* Stores the check with the links it opens (one call when the store can,
 * one round trip to a database server) and shows the links in its hits. */
static avrr_err check_store(avrr_store *st, avrr_check *rec, check_links *cl,
                            avrr_check_result *out, avrr_error *e)
{
    const avrr_store_ops *ops = st->ops;
    avrr_err result;
    if (ops->check_insert_links) {
        result = ops->check_insert_links(st, rec, cl->ls, cl->n, e);
    } else {
        result = ops->check_insert(st, rec, e);
        for (size_t k = 0; k < cl->n; k++)
            cl->ls[k].check_id = rec->id;
        if (result == AVRR_OK)
            result = ops->link_insert_many(st, cl->ls, cl->n, e);
    }
    for (size_t k = 0; k < cl->n && result == AVRR_OK; k++) {
        out->hits[cl->at[k]].link_id = cl->ls[k].id;
        out->hits[cl->at[k]].link_status = AVRR_LINK_YELLOW;
    }
    return result;
}

/* The answer as the caller gets it (out->response_json): the stored copy
 * (stored, the text of resp) was made before the check had its id and
 * before the links it opened; the answer has both, as
 * avrr_codec_check_result_to_json(out) would give them. resp is the tree of
 * the stored copy and is changed. */
static avrr_err final_response(json_object *resp, const char *stored, avrr_check_result *out,
                               avrr_error *e)
{
    static const char zero_id[] = "{\"id\":0,";
    json_object *hits = NULL;
    bool patched = false;
    json_object_object_get_ex(resp, "hits", &hits);
    for (size_t i = 0; i < out->n_hits; i++) {
        const avrr_hit_view *v = &out->hits[i];
        json_object *h = hits ? json_object_array_get_idx(hits, i) : NULL, *l = NULL;
        if (v->restricted || !v->link_id || !h || !json_object_object_get_ex(h, "link", &l) ||
            l)
            continue; /* shown without a link, or with the one it had */
        l = json_object_new_object();
        if (!l || json_object_object_add(l, "id", json_object_new_int64(v->link_id)) != 0 ||
            json_object_object_add(
                l, "status", json_object_new_string(avrr_link_status_name(v->link_status))) !=
                0 ||
            json_object_object_add(h, "link", l) != 0) {
            json_object_put(l);
            return avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
        }
        patched = true;
    }
    size_t z = sizeof zero_id - 1;
    if (!patched && stored && strncmp(stored, zero_id, z) == 0) {
        /* the common case: only the id differs */
        char head[40];
        int hn = snprintf(head, sizeof head, "{\"id\":%lld,", (long long)out->check_id);
        size_t rest = strlen(stored + z);
        out->response_json = avrr_malloc((size_t)hn + rest + 1);
        if (out->response_json) {
            memcpy(out->response_json, head, (size_t)hn);
            memcpy(out->response_json + hn, stored + z, rest + 1);
        }
    } else {
        const char *t = NULL;
        if (json_object_object_add(resp, "id", json_object_new_int64(out->check_id)) == 0)
            t = json_object_to_json_string_ext(
                resp, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        out->response_json = t ? avrr_strdup(t) : NULL;
    }
    return out->response_json ? AVRR_OK : avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
}

/* Fills a hit view for person hit h as the actor may see it; AVRR_ENOTFOUND
 * when the person is gone or erased (skip it). f: the person's facts from
 * person_facts_many (its assistance moves into the view), or NULL to read
 * them here from st, which the caller holds. */
static avrr_err hit_view(avrr_service *svc, avrr_store *st, const avrr_actor *a,
                         const person_hit *h, avrr_person_facts *f, avrr_hit_view *v,
                         avrr_error *e)
{
    const avrr_service_options *o = &svc->options;

    memset(v, 0, sizeof *v);
    v->hit.person_id = h->person_id;
    memcpy(v->hit.tenant, h->tenant, sizeof v->hit.tenant);
    avrr_service_person_ref(svc, a->tenant, h->person_id, v->hit.person_ref);
    v->hit.probability = h->explanation.probability;
    v->hit.band = h->explanation.probability >= o->strong_threshold ? AVRR_BAND_STRONG
                                                                    : AVRR_BAND_POSSIBLE;
    v->explanation = h->explanation;
    v->own = strcmp(h->tenant, a->tenant) == 0;

    bool restricted = false, erased = false;
    avrr_err result = AVRR_OK;
    if (f) {
        if (!f->found)
            return AVRR_ENOTFOUND;
        restricted = f->restricted;
        erased = f->erased;
        v->red_link = f->red_link;
    } else {
        result = st->ops->person_flags(st, h->person_id, &restricted, &erased, &v->red_link,
                                       e);
    }
    /* Another server may have erased the person since this server's index
     * last heard of it: an erased person is never a hit. */
    if (result == AVRR_OK && erased)
        return AVRR_ENOTFOUND;
    v->restricted = restricted && !v->own;
    if (result == AVRR_OK && !v->restricted) {
        if (f) {
            v->assistance = f->assistance;
            v->n_assistance = f->n_assistance;
            f->assistance = NULL;
            f->n_assistance = 0;
        } else {
            result = st->ops->person_assistance(st, h->person_id, &v->assistance,
                                                &v->n_assistance, e);
        }
    }
    return result;
}

/* The facts of every found person in one call to store st (which the
 * caller holds), when it has person_facts_many (*facts stays NULL
 * otherwise: hit_view reads them one by one). */
static avrr_err hit_facts(avrr_store *st, const avrr_actor *a, const person_hit *found,
                          size_t n, avrr_person_facts **facts, avrr_error *e)
{
    *facts = NULL;
    if (!st->ops->person_facts_many || n == 0)
        return AVRR_OK;
    int64_t *ids = avrr_calloc(n, sizeof *ids);
    avrr_person_facts *f = avrr_calloc(n, sizeof *f);
    if (!ids || !f) {
        avrr_free(ids);
        avrr_free(f);
        return avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = found[i].person_id;
    avrr_err result = st->ops->person_facts_many(st, a->tenant, ids, n, f, e);
    avrr_free(ids);
    if (result != AVRR_OK)
        avrr_free(f);
    else
        *facts = f;
    return result;
}

static void hit_facts_free(avrr_person_facts *f, size_t n)
{
    for (size_t i = 0; f && i < n; i++)
        avrr_store_free_assistance(f[i].assistance, f[i].n_assistance);
    avrr_free(f);
}

void avrr_check_result_clear(avrr_check_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_hits; i++)
        avrr_store_free_assistance(r->hits[i].assistance, r->hits[i].n_assistance);
    avrr_free(r->hits);
    avrr_free(r->response_json);
    memset(r, 0, sizeof *r);
}

/* ---- after a registration ---------------------------------------------------------- */

avrr_err avrr__consult_after_register(avrr_service *svc, const avrr_actor *a,
                                      int64_t person_id, const avrr_identity *ids, size_t n,
                                      avrr_error *e)
{
    avrr_err result = AVRR_OK;
    pthread_rwlock_wrlock(&svc->index_lock);
    bool loaded = svc->index != NULL;
    for (size_t i = 0; loaded && i < n && result == AVRR_OK; i++) {
        result = avrr_match_index_add(svc->index, ids[i].id, person_id, a->tenant, &ids[i]);
        if (result == AVRR_EEXISTS)
            result = AVRR_OK;
        if (ids[i].id > svc->index_last)
            svc->index_last = ids[i].id;
    }
    pthread_rwlock_unlock(&svc->index_lock);
    if (!loaded || result != AVRR_OK)
        return result;

    person_hit *hits = NULL;
    size_t n_hits = 0;
    result = find_persons(svc, ids, n, NULL, person_id, svc->options.strong_threshold,
                          svc->options.max_hits, &hits, &n_hits, e);
    if (result != AVRR_OK)
        return result;
    avrr_link *links = NULL;
    size_t n_links = 0;
    lock(svc);
    result = svc->store->ops->links_of_person(svc->store, person_id, &links, &n_links, e);
    for (size_t i = 0; result == AVRR_OK && i < n_hits; i++) {
        if (strcmp(hits[i].tenant, a->tenant) == 0 ||
            pair_link(links, n_links, person_id, hits[i].person_id))
            continue;
        avrr_link l;
        result = open_link(svc, person_id, a->tenant, hits[i].person_id, hits[i].tenant, 0,
                           "registration", hits[i].explanation.probability, &l, e);
        avrr_link_clear(&l);
    }
    unlock(svc);
    avrr_store_free_links(links, n_links);
    avrr_free(hits);
    return result;
}

/* ---- checks ---------------------------------------------------------------------------- */

/* Decodes the pre-encoded identity of a check (DESIGN.md 5: the national
 * node encodes before it sends). A plaintext index cannot compare it (409),
 * a malformed one is refused (400), one of another key cannot be compared
 * either (409). The key is set before the index loads and never changes after, so
 * it is read without the lock. */
static avrr_err decode_probe(avrr_service *svc, const avrr_check_request *req,
                             avrr_match_rec **probe, avrr_error *e)
{
    if (req->n_identities)
        return avrr_error_set(e, AVRR_EINVALID, "encoded_identity",
                              "give identity or encoded_identity, not both");
    if (!svc->index_key)
        return avrr_error_set(e, AVRR_ECONFLICT, "encoded_identity",
                              "this server's match index is not pseudonymised: send "
                              "identity instead");
    avrr_err result = avrr_pseudo_decode(NULL, req->encoded_identity,
                                         strlen(req->encoded_identity), probe, e);
    if (result != AVRR_OK)
        return result;
    if (avrr_pseudo_rec_key_id(*probe) != avrr_pseudo_key_id(svc->index_key))
        result = avrr_error_set(e, AVRR_ECONFLICT, "encoded_identity",
                                "was encoded with another pseudonym key than this "
                                "server's");
    if (result != AVRR_OK) {
        avrr_match_rec_free(*probe);
        *probe = NULL;
    }
    return result;
}

/* The check's writes (its record, the links it opens, its audit event) are
 * one transaction; the matching before them holds no store lock, so checks
 * from many clients match in parallel. With a store pool (pool.c) the
 * transaction runs on a pooled connection, without the store lock, so that
 * checks also overlap their round trips to the database server. */
static avrr_err check_impl(avrr_service *svc, const avrr_actor *a, avrr_check_request *req,
                           avrr_check_result *out, avrr_error *e)
{
    avrr_err result = avrr__service_allow(a, AVRR_ACT_CHECK, e);
    person_hit *found = NULL;
    size_t n_found = 0;
    avrr_link *own_links = NULL;
    size_t n_own_links = 0;
    avrr_check rec = {0};
    avrr_person_facts *facts = NULL;
    json_object *resp = NULL;
    avrr_match_rec *probe = NULL; /* a pre-encoded identity, decoded */
    check_links links = {0};

    memset(out, 0, sizeof *out);
    ph_start();
    if (result != AVRR_OK)
        return result;
    if ((unsigned)req->purpose >= AVRR_PURPOSE__COUNT)
        return avrr_error_set(e, AVRR_EINVALID, "purpose", "unknown purpose");
    if (req->encoded_identity) {
        result = decode_probe(svc, req, &probe, e);
        if (result != AVRR_OK)
            return result;
    } else if (req->n_identities == 0) {
        return avrr_error_set(e, AVRR_EINVALID, "identity", "identity is required");
    }
    if (req->n_identities > AVRR_IDENTITIES_MAX)
        return avrr_error_set(e, AVRR_EINVALID, "aliases", "at most %d identities in a check",
                              AVRR_IDENTITIES_MAX);
    for (size_t i = 0; i < req->n_identities; i++) {
        result = avrr_identity_validate(&req->identities[i], e);
        if (result != AVRR_OK) {
            char prefix[48];
            if (i == 0)
                snprintf(prefix, sizeof prefix, "identity");
            else
                snprintf(prefix, sizeof prefix, "aliases[%zu]", i - 1);
            avrr_error_prefix_field(e, prefix);
            return result;
        }
    }
    if (req->person_id) {
        avrr_person mine = {0};
        avrr_store *st = NULL;
        result = avrr__store_take(svc, &st, e);
        if (result == AVRR_OK) {
            result = st->ops->person_get(st, a->tenant, req->person_id, &mine, e);
            if (result == AVRR_OK)
                result = st->ops->links_of_person(st, req->person_id, &own_links,
                                                  &n_own_links, e);
            avrr__store_give(svc, st, result);
        }
        avrr_person_clear(&mine);
        if (result == AVRR_ENOTFOUND)
            avrr_error_set(e, AVRR_ENOTFOUND, "person_id", "no person %lld",
                           (long long)req->person_id);
        if (result != AVRR_OK)
            goto out;
    }
    result = avrr_service_index_load(svc, e);
    ph_mark(AVRR__CP_VALIDATE);
    if (result == AVRR_OK)
        result = find_persons(svc, req->identities, req->n_identities, probe,
                              req->person_id, svc->options.possible_threshold,
                              svc->options.max_hits, &found, &n_found, e);
    ph_mark(AVRR__CP_MATCH);
    if (tl_ph)
        tl_ph->persons += n_found;
    if (result != AVRR_OK)
        goto out;

    out->purpose = req->purpose;
    out->hits = n_found ? avrr_calloc(n_found, sizeof *out->hits) : NULL;
    rec.hits = n_found ? avrr_calloc(n_found, sizeof *rec.hits) : NULL;
    if (n_found && (!out->hits || !rec.hits)) {
        result = avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
        goto out;
    }
    /* A pooled connection (pool.c), or the shared one under the lock,
     * where a check made inside a transaction of the service joins it. */
    avrr_store *st = NULL;
    result = avrr__store_take(svc, &st, e);
    if (result != AVRR_OK)
        goto out;
    bool shared = st == svc->store;
    bool began = !shared || svc->txn_depth == 0;
    /* Without its transaction the check could be stored without its
     * audit event: then it is not stored at all. */
    if (began && (result = st->ops->begin(st, e)) != AVRR_OK)
        began = false;
    if (shared)
        svc->txn_depth++;
    ph_mark(AVRR__CP_LOCK);
    if (result == AVRR_OK)
        result = hit_facts(st, a, found, n_found, &facts, e);
    for (size_t i = 0; i < n_found && result == AVRR_OK; i++) {
        const avrr_link *l = req->person_id ? pair_link(own_links, n_own_links, req->person_id,
                                                        found[i].person_id)
                                            : NULL;
        if (l && l->status == AVRR_LINK_GREEN)
            continue; /* confirmed different persons: not a hit any more */
        avrr_hit_view *v = &out->hits[out->n_hits];
        result = hit_view(svc, st, a, &found[i], facts ? &facts[i] : NULL, v, e);
        if (result == AVRR_ENOTFOUND) {
            result = AVRR_OK;
            continue;
        }
        if (result != AVRR_OK)
            break;
        if (l) {
            v->link_id = l->id;
            v->link_status = l->status;
        }
        rec.hits[rec.n_hits++] = v->hit;
        out->n_hits++;
    }
    /* The record of the check: who, why, with what, what it found. */
    memcpy(rec.tenant, a->tenant, sizeof rec.tenant);
    rec.key_id = a->key_id;
    rec.purpose = req->purpose;
    rec.person_id = req->person_id;
    rec.request_json = (char *)req->request_json;
    ph_mark(AVRR__CP_VIEWS);
    if (result == AVRR_OK) {
        /* Encoded once: this tree gives the stored copy (without the id and
         * the links the check opens: it is written first) and, changed by
         * final_response, the answer. The stored text is a copy of its own
         * (owned by rec): the tree's buffer is reused for the answer. */
        resp = avrr_codec_check_result_to_json(out);
        const char *t = resp ? json_object_to_json_string_ext(
                                   resp, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                             : NULL;
        rec.response_json = t ? avrr_strdup(t) : NULL;
        if (!rec.response_json)
            result = avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
    }
    ph_mark(AVRR__CP_JSON);
    /* Strong hits on other tenants open yellow links for both to verify;
     * possible hits are shown to the caseworker but would flood the work
     * queues of every namesake's owner. They are stored with the check. */
    if (result == AVRR_OK)
        result = check_links_plan(a, req->person_id, out, &links, e);
    if (result == AVRR_OK)
        result = check_links_settle(st, req->person_id, &links, out, e);
    if (result == AVRR_OK)
        result = check_store(st, &rec, &links, out, e);
    out->check_id = rec.id;
    ph_mark(AVRR__CP_ROW);
    if (result == AVRR_OK)
        result = final_response(resp, rec.response_json, out, e);
    ph_mark(AVRR__CP_LINKS);
    if (result == AVRR_OK)
        result = avrr__audit_event_on(st, a, "check.create", "check", rec.id, AVRR_OK, e);
    ph_mark(AVRR__CP_AUDIT);
    if (shared)
        svc->txn_depth--;
    if (began) {
        if (result == AVRR_OK)
            result = st->ops->commit(st, e);
        if (result != AVRR_OK)
            st->ops->rollback(st);
    }
    ph_mark(AVRR__CP_COMMIT);
    avrr__store_give(svc, st, result);
out:
    rec.request_json = NULL; /* borrowed */
    avrr_check_clear(&rec);
    check_links_free(&links);
    json_object_put(resp);
    avrr_store_free_links(own_links, n_own_links);
    hit_facts_free(facts, n_found);
    avrr_free(found);
    avrr_match_rec_free(probe);
    if (result != AVRR_OK)
        avrr_check_result_clear(out);
    ph_mark(AVRR__CP_AFTER);
    return result;
}

static avrr_err check_get_impl(avrr_service *svc, const avrr_actor *a, int64_t check_id,
                                avrr_check *out, avrr_error *e)
{
    avrr_err result = avrr__service_allow(a, AVRR_ACT_CHECK, e);
    if (result != AVRR_OK)
        return result;
    lock(svc);
    result = svc->store->ops->check_get(svc->store, a->tenant, check_id, out, e);
    unlock(svc);
    return result;
}

avrr_err avrr_service_check(avrr_service *svc, const avrr_actor *a, avrr_check_request *req,
                            avrr_check_result *out, avrr_error *e)
{
    avrr_err result = check_impl(svc, a, req, out, e);
    if (result != AVRR_OK && result != AVRR_ENOMEM)
        avrr__audit_event(svc, a, "check.create", "check", 0, result, NULL);
    return result;
}

avrr_err avrr_service_check_get(avrr_service *svc, const avrr_actor *a, int64_t check_id,
                                avrr_check *out, avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "check.read", "check");
    avrr_err result = sc.error ? sc.error : check_get_impl(svc, a, check_id, out, e);
    return avrr__audit_end(&sc, result, check_id, e);
}

/* ---- the guard against paying twice ------------------------------------------------------ */

static bool within_window(const avrr_assistance *as, const avrr_date *when, int days)
{
    if (as->status == AVRR_ASSIST_CANCELLED)
        return false;
    if (as->granted_on.precision == AVRR_DATE_UNKNOWN || when->precision == AVRR_DATE_UNKNOWN)
        return true; /* unknown dates: assume recent rather than miss it */
    int32_t d = avrr_date_days(&as->granted_on) - avrr_date_days(when);
    return d <= days && d >= -days;
}

avrr_err avrr__consult_guard(avrr_service *svc, const avrr_actor *a, int64_t person_id,
                             const avrr_date *granted_on, avrr_check_result *warnings,
                             avrr_error *e)
{
    avrr_person p = {0};
    avrr_tenant t = {0};
    person_hit *found = NULL;
    size_t n_found = 0;
    avrr_link *links = NULL;
    size_t n_links = 0;
    avrr_check_result local = {0};
    avrr_check_result *w = warnings ? warnings : &local;
    int64_t blocking_link = 0;

    memset(w, 0, sizeof *w);
    avrr_err result = avrr_service_index_load(svc, e);
    if (result != AVRR_OK)
        return result;
    lock(svc);
    result = svc->store->ops->person_get(svc->store, a->tenant, person_id, &p, e);
    if (result == AVRR_OK)
        result = svc->store->ops->tenant_get(svc->store, a->tenant, &t, e);
    unlock(svc);
    if (result == AVRR_OK)
        result = find_persons(svc, p.identities, p.n_identities, NULL, person_id,
                              svc->options.strong_threshold, svc->options.max_hits, &found,
                              &n_found, e);
    if (result != AVRR_OK)
        goto out;
    if (n_found && !(w->hits = avrr_calloc(n_found, sizeof *w->hits))) {
        result = avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
        goto out;
    }
    lock(svc);
    result = svc->store->ops->links_of_person(svc->store, person_id, &links, &n_links, e);
    for (size_t i = 0; result == AVRR_OK && i < n_found; i++) {
        if (strcmp(found[i].tenant, a->tenant) == 0)
            continue;
        const avrr_link *l = pair_link(links, n_links, person_id, found[i].person_id);
        if (l && (l->status == AVRR_LINK_GREEN || l->status == AVRR_LINK_WHITE))
            continue; /* a human decided: different persons, or legitimate */
        avrr_hit_view *v = &w->hits[w->n_hits];
        result = hit_view(svc, svc->store, a, &found[i], NULL, v, e);
        if (result == AVRR_ENOTFOUND) {
            result = AVRR_OK;
            continue;
        }
        if (result != AVRR_OK)
            break;
        bool recent = false;
        for (size_t k = 0; k < v->n_assistance && !recent; k++)
            recent = within_window(&v->assistance[k], granted_on,
                                   svc->options.duplicate_window_days);
        if (!recent && !v->restricted) {
            avrr_store_free_assistance(v->assistance, v->n_assistance);
            memset(v, 0, sizeof *v);
            continue;
        }
        if (l) {
            v->link_id = l->id;
            v->link_status = l->status;
        } else {
            avrr_link nl;
            result = open_link(svc, person_id, a->tenant, found[i].person_id, found[i].tenant, 0,
                               "assistance", found[i].explanation.probability, &nl, e);
            v->link_id = nl.id;
            v->link_status = AVRR_LINK_YELLOW;
            avrr_link_clear(&nl);
        }
        if (!blocking_link)
            blocking_link = v->link_id;
        w->n_hits++;
    }
    unlock(svc);
    if (result == AVRR_OK && blocking_link && t.duplicate_policy == AVRR_DUPLICATE_BLOCK)
        result = avrr_error_set(e, AVRR_ECONFLICT, NULL,
                                "possible double support: this person may have received "
                                "assistance in another member state; link %lld must be "
                                "resolved before assistance is recorded",
                                (long long)blocking_link);
out:
    avrr_store_free_links(links, n_links);
    avrr_free(found);
    avrr_person_clear(&p);
    avrr_tenant_clear(&t);
    if (w == &local || result != AVRR_OK)
        avrr_check_result_clear(w);
    return result;
}

/* ---- links ------------------------------------------------------------------------------- */

static avrr_err link_list_impl(avrr_service *svc, const avrr_actor *a, int status,
                                avrr_page page, avrr_link **out, size_t *n, int64_t *next,
                                avrr_error *e)
{
    avrr_err result = avrr__service_allow(a, AVRR_ACT_LINK_READ, e);
    *out = NULL;
    *n = 0;
    *next = 0;
    if (result == AVRR_OK)
        result = avrr__service_page_check(&page, e);
    if (result != AVRR_OK)
        return result;
    lock(svc);
    result = svc->store->ops->link_list(svc->store, a->tenant, status, page.after,
                                        page.limit + 1, out, n, e);
    unlock(svc);
    if (result == AVRR_OK && *n > page.limit) {
        avrr_link_clear(&(*out)[page.limit]);
        *n = page.limit;
        *next = (*out)[*n - 1].id;
    }
    return result;
}

avrr_err avrr_service_link_list(avrr_service *svc, const avrr_actor *a, int status,
                                avrr_page page, avrr_link **out, size_t *n, int64_t *next,
                                avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "link.list", "link");
    avrr_err result = sc.error ? sc.error : link_list_impl(svc, a, status, page, out, n, next, e);
    return avrr__audit_end(&sc, result, 0, e);
}

static avrr_err link_get_impl(avrr_service *svc, const avrr_actor *a, int64_t link_id,
                               avrr_link *out, avrr_error *e)
{
    avrr_err result = avrr__service_allow(a, AVRR_ACT_LINK_READ, e);
    if (result != AVRR_OK)
        return result;
    lock(svc);
    result = svc->store->ops->link_get(svc->store, a->tenant, link_id, out, e);
    unlock(svc);
    return result;
}

avrr_err avrr_service_link_get(avrr_service *svc, const avrr_actor *a, int64_t link_id,
                               avrr_link *out, avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "link.read", "link");
    avrr_err result = sc.error ? sc.error : link_get_impl(svc, a, link_id, out, e);
    return avrr__audit_end(&sc, result, link_id, e);
}

static avrr_err link_resolve_impl(avrr_service *svc, const avrr_actor *a, int64_t link_id,
                                   const char *decision, const char *reason, avrr_link *out,
                                   avrr_error *e)
{
    avrr_err result = avrr__service_allow(a, AVRR_ACT_LINK_RESOLVE, e);
    if (result != AVRR_OK)
        return result;
    int st = decision ? avrr_link_status_parse(decision) : -1;
    if (st < 0 || st == AVRR_LINK_YELLOW)
        return avrr_error_set(e, AVRR_EINVALID, "decision",
                              "decision must be white (same person, legitimately), green "
                              "(different persons) or red (same person, false identity)");
    if (!reason || !reason[0])
        return avrr_error_set(e, AVRR_EINVALID, "reason", "a decision needs a reason");
    result = avrr_text_check(reason, AVRR_TEXT_MAX, "reason", e);
    if (result != AVRR_OK)
        return result;
    lock(svc);
    result = svc->store->ops->link_get(svc->store, a->tenant, link_id, out, e);
    if (result == AVRR_OK && out->status != AVRR_LINK_YELLOW)
        result = avrr_error_set(e, AVRR_ECONFLICT, "decision", "link %lld was decided already (%s)",
                                (long long)link_id, avrr_link_status_name(out->status));
    if (result == AVRR_OK) {
        out->status = (avrr_link_status)st;
        avrr_free(out->reason);
        out->reason = avrr_strdup(reason);
        memcpy(out->resolved_by, a->tenant, sizeof out->resolved_by);
        out->resolved_key_id = a->key_id;
        result = out->reason ? svc->store->ops->link_resolve(svc->store, out, e)
                             : avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
    }
    unlock(svc);
    if (result != AVRR_OK)
        avrr_link_clear(out);
    return result;
}

avrr_err avrr_service_link_resolve(avrr_service *svc, const avrr_actor *a, int64_t link_id,
                                   const char *decision, const char *reason, avrr_link *out,
                                   avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "link.resolve", "link");
    avrr_err result = sc.error ? sc.error : link_resolve_impl(svc, a, link_id, decision, reason, out, e);
    return avrr__audit_end(&sc, result, link_id, e);
}

/* ---- disclosures --------------------------------------------------------------------------- */

static avrr_err disclosure_request_impl(avrr_service *svc, const avrr_actor *a,
                                         int64_t check_id, const char *person_ref,
                                         const char *reason, avrr_disclosure *out,
                                         avrr_error *e)
{
    avrr_check c = {0};
    avrr_err result = avrr__service_allow(a, AVRR_ACT_DISCLOSURE, e);
    memset(out, 0, sizeof *out);
    if (result != AVRR_OK)
        return result;
    if (!person_ref || !person_ref[0])
        return avrr_error_set(e, AVRR_EINVALID, "person_ref", "person_ref is required");
    if (!reason || !reason[0])
        return avrr_error_set(e, AVRR_EINVALID, "reason", "a request needs a reason");
    if ((result = avrr_text_check(reason, AVRR_TEXT_MAX, "reason", e)) != AVRR_OK)
        return result;
    lock(svc);
    result = svc->store->ops->check_get(svc->store, a->tenant, check_id, &c, e);
    const avrr_check_hit *hit = NULL;
    for (size_t i = 0; result == AVRR_OK && i < c.n_hits && !hit; i++)
        if (strcmp(c.hits[i].person_ref, person_ref) == 0)
            hit = &c.hits[i];
    if (result == AVRR_OK && !hit)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "person_ref", "no such hit in check %lld",
                                (long long)check_id);
    if (result == AVRR_OK && strcmp(hit->tenant, a->tenant) == 0)
        result = avrr_error_set(e, AVRR_EINVALID, "person_ref",
                                "this hit is your own tenant's person: read it directly");
    if (result == AVRR_OK) {
        out->check_id = check_id;
        memcpy(out->requester, a->tenant, sizeof out->requester);
        out->requester_key_id = a->key_id;
        memcpy(out->owner, hit->tenant, sizeof out->owner);
        out->person_id = hit->person_id;
        memcpy(out->person_ref, hit->person_ref, sizeof out->person_ref);
        out->status = AVRR_DISCLOSURE_PENDING;
        out->reason = avrr_strdup(reason);
        result = out->reason ? svc->store->ops->disclosure_insert(svc->store, out, e)
                             : avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
    }
    unlock(svc);
    avrr_check_clear(&c);
    if (result != AVRR_OK)
        avrr_disclosure_clear(out);
    return result;
}

avrr_err avrr_service_disclosure_request(avrr_service *svc, const avrr_actor *a,
                                         int64_t check_id, const char *person_ref,
                                         const char *reason, avrr_disclosure *out,
                                         avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "disclosure.create", "disclosure");
    avrr_err result = sc.error ? sc.error : disclosure_request_impl(svc, a, check_id, person_ref, reason, out, e);
    return avrr__audit_end(&sc, result, out->id, e);
}

static avrr_err disclosure_decide_impl(avrr_service *svc, const avrr_actor *a, int64_t id,
                                        const char *decision, const char *reason,
                                        avrr_disclosure *out, avrr_error *e)
{
    avrr_err result = avrr__service_allow(a, AVRR_ACT_DISCLOSURE, e);
    if (result != AVRR_OK)
        return result;
    avrr_disclosure_status st;
    if (decision && strcmp(decision, "approve") == 0)
        st = AVRR_DISCLOSURE_APPROVED;
    else if (decision && strcmp(decision, "refuse") == 0)
        st = AVRR_DISCLOSURE_REFUSED;
    else
        return avrr_error_set(e, AVRR_EINVALID, "decision", "decision must be approve or refuse");
    if (reason && (result = avrr_text_check(reason, AVRR_TEXT_MAX, "reason", e)) != AVRR_OK)
        return result;
    lock(svc);
    result = svc->store->ops->disclosure_get(svc->store, a->tenant, id, out, e);
    if (result == AVRR_OK && strcmp(out->owner, a->tenant) != 0)
        result = avrr_error_set(e, AVRR_EFORBIDDEN, NULL,
                                "only the owner of the record decides on its disclosure");
    if (result == AVRR_OK && out->status != AVRR_DISCLOSURE_PENDING)
        result = avrr_error_set(e, AVRR_ECONFLICT, "decision", "disclosure %lld was decided already",
                                (long long)id);
    if (result == AVRR_OK) {
        out->status = st;
        avrr_free(out->decision_reason);
        out->decision_reason = reason ? avrr_strdup(reason) : NULL;
        out->decided_key_id = a->key_id;
        result = (!reason || out->decision_reason)
                     ? svc->store->ops->disclosure_decide(svc->store, out, e)
                     : avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
    }
    unlock(svc);
    if (result != AVRR_OK)
        avrr_disclosure_clear(out);
    return result;
}

avrr_err avrr_service_disclosure_decide(avrr_service *svc, const avrr_actor *a, int64_t id,
                                        const char *decision, const char *reason,
                                        avrr_disclosure *out, avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "disclosure.decide", "disclosure");
    avrr_err result = sc.error ? sc.error : disclosure_decide_impl(svc, a, id, decision, reason, out, e);
    return avrr__audit_end(&sc, result, id, e);
}

static avrr_err disclosure_get_impl(avrr_service *svc, const avrr_actor *a, int64_t id,
                                     avrr_disclosure *out, avrr_person *details, avrr_error *e)
{
    avrr_err result = avrr__service_allow(a, AVRR_ACT_DISCLOSURE, e);
    if (result != AVRR_OK)
        return result;
    lock(svc);
    result = svc->store->ops->disclosure_get(svc->store, a->tenant, id, out, e);
    if (result == AVRR_OK && details && out->status == AVRR_DISCLOSURE_APPROVED &&
        strcmp(out->requester, a->tenant) == 0) {
        /* Approved details are read live: an erased person discloses nothing. */
        avrr_err r = svc->store->ops->person_get_any(svc->store, out->person_id, details, NULL);
        if (r != AVRR_OK)
            avrr_person_clear(details);
        if (r != AVRR_OK && r != AVRR_ENOTFOUND)
            result = avrr_error_set(e, r, NULL, "reading the disclosed record failed");
    }
    unlock(svc);
    return result;
}

avrr_err avrr_service_disclosure_get(avrr_service *svc, const avrr_actor *a, int64_t id,
                                     avrr_disclosure *out, avrr_person *details, avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "disclosure.read", "disclosure");
    avrr_err result = sc.error ? sc.error : disclosure_get_impl(svc, a, id, out, details, e);
    return avrr__audit_end(&sc, result, id, e);
}

static avrr_err disclosure_list_impl(avrr_service *svc, const avrr_actor *a, int status,
                                      avrr_page page, avrr_disclosure **out, size_t *n,
                                      int64_t *next, avrr_error *e)
{
    avrr_err result = avrr__service_allow(a, AVRR_ACT_DISCLOSURE, e);
    *out = NULL;
    *n = 0;
    *next = 0;
    if (result == AVRR_OK)
        result = avrr__service_page_check(&page, e);
    if (result != AVRR_OK)
        return result;
    lock(svc);
    result = svc->store->ops->disclosure_list(svc->store, a->tenant, status, page.after,
                                              page.limit + 1, out, n, e);
    unlock(svc);
    if (result == AVRR_OK && *n > page.limit) {
        avrr_disclosure_clear(&(*out)[page.limit]);
        *n = page.limit;
        *next = (*out)[*n - 1].id;
    }
    return result;
}

avrr_err avrr_service_disclosure_list(avrr_service *svc, const avrr_actor *a, int status,
                                      avrr_page page, avrr_disclosure **out, size_t *n,
                                      int64_t *next, avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, a, "disclosure.list", "disclosure");
    avrr_err result = sc.error ? sc.error : disclosure_list_impl(svc, a, status, page, out, n, next, e);
    return avrr__audit_end(&sc, result, 0, e);
}

static avrr_err tenant_set_policy_impl(avrr_service *svc, const char *code, const char *policy,
                                        avrr_error *e)
{
    avrr_tenant t = {0};
    char canon[17];
    int p = policy ? avrr_duplicate_policy_parse(policy) : -1;
    if (p < 0)
        return avrr_error_set(e, AVRR_EINVALID, "duplicate_policy",
                              "duplicate policy must be warn or block");
    avrr_err result = avrr_tenant_code_check(code ? code : "", canon, e);
    if (result != AVRR_OK)
        return result;
    lock(svc);
    result = svc->store->ops->tenant_get(svc->store, canon, &t, e);
    if (result == AVRR_OK) {
        t.duplicate_policy = (avrr_duplicate_policy)p;
        result = svc->store->ops->tenant_update(svc->store, &t, e);
    }
    unlock(svc);
    avrr_tenant_clear(&t);
    return result;
}

avrr_err avrr_service_tenant_set_policy(avrr_service *svc, const char *code, const char *policy,
                                        avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, NULL, "tenant.update", "tenant");
    avrr_err result = sc.error ? sc.error : tenant_set_policy_impl(svc, code, policy, e);
    return avrr__audit_end(&sc, result, 0, e);
}
