/* pool.c: the store pool (avrr_service_store_pool): on PostgreSQL, checks
 * run their transactions on connections of their own.
 *
 * Without it every check's transaction holds the service's store lock, and
 * on PostgreSQL that transaction spans three round trips to the server
 * (the hits' facts; record, hits, links and the audit head; the audit
 * event and COMMIT), in which no other check of the server can write: 32
 * clients got no more checks a second than one (docs/BENCHMARKS.md). With
 * it, a check takes a pooled handle, runs everything it stores there, and
 * gives it back; each pooled connection is one more writer on the database,
 * as a second `avrr serve` would be, so the guarantees that hold between
 * servers hold between them: the audit chain's append takes the log's lock
 * and reads its head in the transaction; a link between two persons is
 * opened once (link_pair_lock, consult.c). What stays serial is the part
 * of a check's transaction after the audit lock (its last round trip).
 *
 * So does the API key lookup that starts every request (service.c), one
 * statement that would otherwise queue every request for the shared
 * connection. Use cases other than checks keep the shared store and the
 * lock: they are rare beside checks, and some join a caller's
 * transaction. */
#include <errno.h>
#include <string.h>

#include "service/service_int.h"

avrr_err avrr_service_store_pool(avrr_service *svc, unsigned n, avrr_error *e)
{
    store_pool *p = &svc->pool;
    if (n > AVRR_STORE_POOL_MAX)
        return avrr_error_set(e, AVRR_EINVALID, "store_pool", "must be 0..%d",
                              AVRR_STORE_POOL_MAX);
    if (p->size)
        return avrr_error_set(e, AVRR_EEXISTS, "store_pool", "the store pool is already open");
    if (n == 0 || !svc->store->ops->concurrent_writers)
        return AVRR_OK; /* SQLite: one writer at a time, nothing to overlap */
    avrr_store **slots = avrr_calloc(n, sizeof *slots);
    unsigned *free_slots = avrr_calloc(n, sizeof *free_slots);
    avrr_err result = slots && free_slots ? AVRR_OK : avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
    for (unsigned i = 0; i < n && result == AVRR_OK; i++) {
        result = avrr_store_open(svc->uri, false, &slots[i], e);
        free_slots[i] = i;
    }
    if (result != AVRR_OK) {
        for (unsigned i = 0; slots && i < n; i++)
            avrr_store_close(slots[i]);
        avrr_free(slots);
        avrr_free(free_slots);
        return result;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->slots = slots;
    p->free = free_slots;
    p->n_free = n;
    p->busy = 0;
    memset(&p->stats, 0, sizeof p->stats);
    p->stats.size = n;
    p->size = n;
    return AVRR_OK;
}

void avrr_service_store_pool_stats(avrr_service *svc, avrr_store_pool_stats *out)
{
    store_pool *p = &svc->pool;
    memset(out, 0, sizeof *out);
    if (!p->size)
        return;
    pthread_mutex_lock(&p->mu);
    *out = p->stats;
    pthread_mutex_unlock(&p->mu);
}

void avrr__pool_close(avrr_service *svc)
{
    store_pool *p = &svc->pool;
    if (!p->size)
        return;
    for (unsigned i = 0; i < p->size; i++)
        avrr_store_close(p->slots[i]);
    avrr_free(p->slots);
    avrr_free(p->free);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    memset(p, 0, sizeof *p);
}

/* True when the calling thread is inside a transaction of the service. It
 * then holds `lock` (held from a transaction's BEGIN to its end), which is
 * recursive: the trylock succeeds for its owner only. */
static bool in_transaction(avrr_service *svc)
{
    if (pthread_mutex_trylock(&svc->lock) != 0)
        return false; /* another thread's: not ours */
    bool nested = svc->txn_depth > 0;
    unlock(svc);
    return nested;
}

avrr_err avrr__store_take(avrr_service *svc, avrr_store **out, avrr_error *e)
{
    store_pool *p = &svc->pool;
    if (!p->size || in_transaction(svc)) {
        lock(svc);
        *out = svc->store;
        return AVRR_OK;
    }
    pthread_mutex_lock(&p->mu);
    bool waited = false;
    while (p->n_free == 0) {
        waited = true;
        pthread_cond_wait(&p->cv, &p->mu);
    }
    unsigned slot = p->free[--p->n_free];
    avrr_store *st = p->slots[slot];
    p->busy++;
    if (p->busy > p->stats.busy_max)
        p->stats.busy_max = p->busy;
    p->stats.takes++;
    p->stats.waits += waited;
    pthread_mutex_unlock(&p->mu);
    if (!st) {
        /* Lost earlier: opened again here, outside the pool's mutex (a
         * connection takes a while); the slot is this thread's meanwhile. */
        avrr_err result = avrr_store_open(svc->uri, false, &st, e);
        pthread_mutex_lock(&p->mu);
        if (result == AVRR_OK) {
            p->slots[slot] = st;
            p->stats.reopens++;
        } else {
            p->free[p->n_free++] = slot;
            p->busy--;
            pthread_cond_signal(&p->cv);
        }
        pthread_mutex_unlock(&p->mu);
        if (result != AVRR_OK)
            return result;
    }
    *out = st;
    return AVRR_OK;
}

void avrr__store_give(avrr_service *svc, avrr_store *st, avrr_err result)
{
    store_pool *p = &svc->pool;
    if (st == svc->store) {
        unlock(svc);
        return;
    }
    avrr_store *lost = NULL;
    pthread_mutex_lock(&p->mu);
    unsigned slot = 0;
    while (slot < p->size && p->slots[slot] != st)
        slot++;
    if (result == AVRR_EIO) { /* the connection is gone (or unusable) */
        lost = st;
        p->slots[slot] = NULL;
    }
    p->free[p->n_free++] = slot;
    p->busy--;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    avrr_store_close(lost);
}
