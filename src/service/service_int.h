/* service_int.h: the inside of avrr_service, shared by the files of the
 * service layer (service.c: registry use cases; consult.c: checks, links,
 * disclosures and the double-support guard). Not for other layers.
 *
 * Locking: `lock` (recursive) serialises the store; `index_lock` guards the
 * match index (readers: queries; writer: adds). No function holds both at
 * once, so they cannot deadlock. A check on a pooled connection (pool.c)
 * holds neither `lock` nor the shared store: only its pooled handle, taken
 * and given back under `pool.mu`, which is held for nothing else. */
#ifndef AVRR_SERVICE_INT_H
#define AVRR_SERVICE_INT_H

#include <pthread.h>
#include <stdbool.h>

#include "avrr/match.h"
#include "avrr/pseudo.h"
#include "avrr/service.h"
#include "privacy/policy.h"
#include "store/store.h"

#define SERVICE_MAGIC 0x5e41cee5u

/* The store pool (pool.c, avrr_service_store_pool): `size` slots, each a
 * handle on the registry or NULL (not open: lost, and opened again when
 * taken). free[0..n_free) are the slots not in use. */
typedef struct store_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned size, n_free, busy;
    avrr_store **slots;
    unsigned *free;
    avrr_store_pool_stats stats; /* under mu */
} store_pool;

struct avrr_service {
    unsigned magic;
    avrr_store *store;
    char *uri;                 /* the registry's, for the pool's handles */
    pthread_mutex_t lock;
    store_pool pool;           /* size 0: checks share `store` */
    avrr_service_options options;
    uint8_t pseudonym_key[32]; /* keys person_ref; kept in avrr_meta */
    pthread_rwlock_t index_lock;
    avrr_match_index *index;   /* NULL until avrr_service_index_load */
    int64_t index_last;        /* highest identity id the index has seen */
    avrr_pseudo_key *index_key; /* pseudonymised index mode: its secret, from
                                   a key file outside the database; NULL in
                                   plaintext mode */
    avrr_match_model *index_model; /* the match index's model (match_model
                                      in the serve config); NULL: defaults */
    int txn_depth;             /* open audit scopes (under lock) */
    /* background WAL checkpoints (walckpt.c); ckpt_db NULL when off */
    void *ckpt_db;             /* sqlite3 *: the checkpointer's connection */
    pthread_t ckpt_thread;
    pthread_mutex_t ckpt_mu;
    pthread_cond_t ckpt_cv;
    bool ckpt_stop;
    unsigned ckpt_interval_ms;
    _Atomic unsigned long ckpt_runs;
    /* a log of this many frames is copied to its end under `lock`, so the
     * next writer starts it again (0 at start: WALCKPT_RESTART_FRAMES; a
     * test may set it before avrr_service_background_checkpoints) */
    unsigned ckpt_restart_frames;
    _Atomic unsigned long ckpt_restarts; /* of those catch-ups, completed */
};

/* Stops the checkpoint thread, if any (avrr_service_close). */
void avrr__walckpt_stop(avrr_service *svc);

/* An audited use case: audit_begin takes the store lock and opens a
 * transaction (or joins the one open); audit_end appends the event in that
 * transaction when the use case succeeded, commits or rolls back, releases
 * the lock, and records a failed attempt in an event of its own. So a write
 * is stored with its audit event or not at all. */
typedef struct audit_scope {
    avrr_service *svc;
    const avrr_actor *actor;
    const char *action;
    const char *target_type;
    bool began;
    avrr_err error; /* the transaction could not begin: the use case must not run */
} audit_scope;
void avrr__audit_begin(audit_scope *sc, avrr_service *svc, const avrr_actor *a,
                       const char *action, const char *target_type);
avrr_err avrr__audit_end(audit_scope *sc, avrr_err result, int64_t target_id, avrr_error *e);
/* Appends one event now (store lock held by the caller or not). */
avrr_err avrr__audit_event(avrr_service *svc, const avrr_actor *a, const char *action,
                           const char *target_type, int64_t target_id, avrr_err outcome,
                           avrr_error *e);
/* The same on store st, which the caller holds (the shared store under the
 * lock, or a pooled handle). */
avrr_err avrr__audit_event_on(avrr_store *st, const avrr_actor *a, const char *action,
                              const char *target_type, int64_t target_id, avrr_err outcome,
                              avrr_error *e);

/* The store that a check's statements, and a request's authentication,
 * go to (pool.c): a pooled handle when the
 * service has a pool and the calling thread is not inside one of the
 * service's transactions, else the shared store with `lock` held. Give it
 * back with the check's result: a pooled handle whose connection was lost
 * (AVRR_EIO) is closed, and opened again by the next taker. */
avrr_err avrr__store_take(avrr_service *svc, avrr_store **out, avrr_error *e);
void avrr__store_give(avrr_service *svc, avrr_store *st, avrr_err result);
/* Closes the pool's handles (avrr_service_close; none in use). */
void avrr__pool_close(avrr_service *svc);

static inline void lock(avrr_service *svc) { pthread_mutex_lock(&svc->lock); }
static inline void unlock(avrr_service *svc) { pthread_mutex_unlock(&svc->lock); }

/* Role check shared by the use cases: AVRR_EFORBIDDEN when the actor's
 * role may not take the action. */
avrr_err avrr__service_allow(const avrr_actor *a, avrr_action act, avrr_error *e);

/* Fills in the default page size; AVRR_EINVALID for a limit over
 * AVRR_PAGE_MAX or a negative cursor. */
avrr_err avrr__service_page_check(avrr_page *page, avrr_error *e);

/* Called after a person's identities were stored: adds them to the index
 * (when loaded) and opens yellow links to strong hits on other
 * tenants. Failures here never undo the registration; they are returned
 * for logging. */
avrr_err avrr__consult_after_register(avrr_service *svc, const avrr_actor *a,
                                      int64_t person_id, const avrr_identity *ids,
                                      size_t n, avrr_error *e);

/* The guard against paying twice (see avrr_service_assistance_add). Called
 * with the case known to be the actor's; fills *warnings and returns
 * AVRR_ECONFLICT when the tenant's policy blocks the grant. */
avrr_err avrr__consult_guard(avrr_service *svc, const avrr_actor *a,
                             int64_t person_id, const avrr_date *granted_on,
                             avrr_check_result *warnings, avrr_error *e);

/* The case `case_id` as the actor may work on it (store lock held): its
 * own tenant's, or for a provider one referred to its tenant and accepted.
 * AVRR_ENOTFOUND otherwise, with the message a missing case gives. */
avrr_err avrr__case_access(avrr_service *svc, const avrr_actor *a, int64_t case_id,
                           avrr_case *out, avrr_error *e);

/* Applies the eligibility rules and caps of the case's owner (if it has
 * any) to a new grant (store lock held): AVRR_ECONFLICT naming the field and
 * the rule when the grant is refused. */
avrr_err avrr__rules_check(avrr_service *svc, const avrr_case *c, const avrr_assistance *as,
                           avrr_error *e);

/* Loads or creates the pseudonym key (at open). */
avrr_err avrr__consult_init(avrr_service *svc, avrr_error *e);
void avrr__consult_close(avrr_service *svc);

#endif
