/* store.h: the one storage interface of avrr (DESIGN.md section 4).
 *
 * A backend is a table of operations (avrr_store_ops) behind an avrr_store
 * handle. Callers (the service layer, tests) use only the avrr_store_*
 * wrappers below; what one backend needs on its own stays in its file
 * (sqlite.c, later postgres.c). avrr_store_open() picks the backend from the
 * URI: "postgresql://..." for PostgreSQL, anything else is an SQLite file.
 *
 * Tenancy: every read that takes a tenant returns only that tenant's rows;
 * another tenant's row is AVRR_ENOTFOUND, exactly like a missing one, so that
 * existence does not leak.
 *
 * Ownership: records passed in are only read (except that ids and
 * created_at are written back). Records returned through out-parameters
 * belong to the caller, who frees them with the avrr_*_clear() functions of
 * core.h and, for arrays, avrr_store_free_*().
 *
 * Thread-safety: a handle is used by one thread at a time. The service layer
 * serialises access.
 */
#ifndef AVRR_STORE_H
#define AVRR_STORE_H

#include <stdint.h>

#include "avrr/core.h"

/* The schema version this build creates and understands. A registry with a
 * higher version was made by a newer avrr and is refused (AVRR_EVERSION). */
#define AVRR_SCHEMA_VERSION 5

typedef struct avrr_store avrr_store;

/* The most rows one list call returns: a page of the service (1,000, its
 * AVRR_PAGE_MAX) plus the one row that tells whether another page follows.
 * Capping lists at the page size itself would end every listing of more
 * than 1,000 records after the first page. */
#define AVRR_STORE_LIST_MAX 1001


/* Called once per identity by identity_scan; a non-zero return stops the
 * scan and is returned by it. The identity is only lent for the call. */
typedef int (*avrr_identity_cb)(void *arg, const char *tenant,
                                const avrr_identity *id);

/* One row of the statistics scan: a case with one of its grants (a case
 * without assistance gives one row with kind -1). No personal data. */
typedef struct avrr_stats_row {
    char tenant[17];
    int64_t person_id;
    int64_t case_id;
    char destination[4];
    avrr_return_type return_type;
    avrr_case_status status;
    avrr_date opened_on;
    int kind;            /* avrr_assistance_kind, -1: no assistance */
    int64_t amount_cents;
    bool cash;
    int funding;         /* avrr_funding, -1 with no assistance */
    avrr_date granted_on;
    int assistance_status; /* avrr_assistance_status, -1 with none */
} avrr_stats_row;

/* What a check shows of a person it found (person_facts_many). */
typedef struct avrr_person_facts {
    bool found, restricted, erased, red_link;
    avrr_assistance *assistance; /* as person_assistance */
    size_t n_assistance;
} avrr_person_facts;

typedef struct avrr_store_ops {
    const char *name;
    /* Transactions on several handles of one registry run at once
     * (PostgreSQL): a service may then give its checks handles of their
     * own (service_int.h, the store pool). False where writers take turns
     * (SQLite: one writer at a time, so more handles would only queue). */
    bool concurrent_writers;
    void (*close)(avrr_store *s);

    avrr_err (*begin)(avrr_store *s, avrr_error *e);
    avrr_err (*commit)(avrr_store *s, avrr_error *e);
    void (*rollback)(avrr_store *s);

    avrr_err (*tenant_insert)(avrr_store *s, avrr_tenant *t, avrr_error *e);
    avrr_err (*tenant_get)(avrr_store *s, const char *code, avrr_tenant *out,
                           avrr_error *e);
    avrr_err (*tenant_list)(avrr_store *s, avrr_tenant **out, size_t *n,
                            avrr_error *e);

    avrr_err (*key_insert)(avrr_store *s, const char *tenant, avrr_role role,
                           const uint8_t hash[32], const char *label,
                           int64_t *id_out, avrr_error *e);
    /* Finds a key that is not revoked by the hash of its secret. */
    avrr_err (*key_find)(avrr_store *s, const uint8_t hash[32],
                         avrr_key_info *out, avrr_error *e);
    avrr_err (*key_revoke)(avrr_store *s, int64_t id, avrr_error *e);
    avrr_err (*key_list)(avrr_store *s, const char *tenant /* NULL: all */,
                         avrr_key_info **out, size_t *n, avrr_error *e);

    /* Inserts the person and all its identities and documents; writes back
     * p->id, p->created_at and each identity's id and person_id. */
    avrr_err (*person_insert)(avrr_store *s, avrr_person *p, avrr_error *e);
    /* person_insert for n persons at once (a bulk import): all or nothing,
     * in the caller's transaction when there is one. May be NULL: callers
     * then call person_insert per person. */
    avrr_err (*person_insert_many)(avrr_store *s, avrr_person **ps, size_t n,
                                   avrr_error *e);
    /* About `rows` persons follow in the caller's transaction (a bulk
     * import): the store may prepare for them (PostgreSQL, for a load at
     * least half the size of the registry: secondary indexes and foreign
     * keys of the person tables built after the load, under table locks
     * until COMMIT; see postgres.c). bulk_end, before COMMIT, finishes what
     * bulk_begin started; on failure the caller rolls back, which undoes
     * both. May be NULL (SQLite). */
    avrr_err (*bulk_begin)(avrr_store *s, int64_t rows, avrr_error *e);
    avrr_err (*bulk_end)(avrr_store *s, avrr_error *e);
    /* Adds one identity (an alias) to an existing person of `tenant`. */
    avrr_err (*identity_insert)(avrr_store *s, const char *tenant,
                                avrr_identity *id, avrr_error *e);
    avrr_err (*person_get)(avrr_store *s, const char *tenant, int64_t id,
                           avrr_person *out, avrr_error *e);
    /* Persons of `tenant` with id > after, ascending, at most limit. */
    avrr_err (*person_list)(avrr_store *s, const char *tenant, int64_t after,
                            size_t limit, avrr_person **out, size_t *n,
                            avrr_error *e);

    avrr_err (*case_insert)(avrr_store *s, avrr_case *c, avrr_error *e);
    avrr_err (*case_get)(avrr_store *s, const char *tenant, int64_t id,
                         avrr_case *out, avrr_error *e);
    /* Cases of `tenant` (of one person when person_id > 0) with id > after. */
    avrr_err (*case_list)(avrr_store *s, const char *tenant, int64_t person_id,
                          int64_t after, size_t limit, avrr_case **out,
                          size_t *n, avrr_error *e);
    /* Writes status, closed_on and updated_at of an existing case. */
    avrr_err (*case_update)(avrr_store *s, avrr_case *c, avrr_error *e);

    avrr_err (*assistance_insert)(avrr_store *s, avrr_assistance *a,
                                  avrr_error *e);
    /* Assistance of one case of `tenant`, ascending by id. */
    avrr_err (*assistance_list)(avrr_store *s, const char *tenant,
                                int64_t case_id, avrr_assistance **out,
                                size_t *n, avrr_error *e);

    /* Every identity of every tenant with id > after_id, ascending; used to
     * build the in-memory match index. */
    avrr_err (*identity_scan)(avrr_store *s, int64_t after_id,
                              avrr_identity_cb cb, void *arg, avrr_error *e);

    /* ---- settings and consultation (schema version 2) ---- */

    /* Writes name, duplicate_policy, retention_days and
     * audit_retention_days of an existing tenant. (tenant_insert stores the
     * record's retention values as given, 0 included: defaults are the
     * service's.) */
    avrr_err (*tenant_update)(avrr_store *s, const avrr_tenant *t,
                              avrr_error *e);
    /* avrr_meta key/value: *value is a new string (avrr_free); ENOTFOUND
     * when the key is absent. meta_set inserts or replaces. */
    avrr_err (*meta_get)(avrr_store *s, const char *key, char **value,
                         avrr_error *e);
    avrr_err (*meta_set)(avrr_store *s, const char *key, const char *value,
                         avrr_error *e);
    /* A person of any tenant with identities (internal use by the service:
     * matching, guards, approved disclosures; never handed out as is). */
    avrr_err (*person_get_any)(avrr_store *s, int64_t id, avrr_person *out,
                               avrr_error *e);
    /* Every assistance on every case of a person (any tenant), with
     * programme filled from the case, ascending by id. */
    avrr_err (*person_assistance)(avrr_store *s, int64_t person_id,
                                  avrr_assistance **out, size_t *n,
                                  avrr_error *e);

    /* Stores a check with its hits; writes back c->id and created_at. */
    avrr_err (*check_insert)(avrr_store *s, avrr_check *c, avrr_error *e);
    /* A check of `tenant` (the requester), with its hits. */
    avrr_err (*check_get)(avrr_store *s, const char *tenant, int64_t id,
                          avrr_check *out, avrr_error *e);

    /* Stores a link; writes back id and created_at. */
    avrr_err (*link_insert)(avrr_store *s, avrr_link *l, avrr_error *e);
    /* link_insert for n links at once (those a check opens): all or
     * nothing; writes back each id and created_at (0 on failure). */
    avrr_err (*link_insert_many)(avrr_store *s, avrr_link *ls, size_t n,
                                 avrr_error *e);
    /* check_insert, then link_insert_many of the links the check opens
     * (each link's check_id is set to the check's new id), as one write:
     * all or nothing, in one round trip to a database server. In the
     * caller's transaction the store may also take the audit log's lock and
     * read its head now, for the event the caller appends next in the
     * transaction (a check's own), which then costs no read. May be NULL:
     * callers then call check_insert and link_insert_many. */
    avrr_err (*check_insert_links)(avrr_store *s, avrr_check *c,
                                   avrr_link *ls, size_t n, avrr_error *e);
    /* A link that `tenant` is a party to (tenant_a or tenant_b). */
    avrr_err (*link_get)(avrr_store *s, const char *tenant, int64_t id,
                         avrr_link *out, avrr_error *e);
    /* Links `tenant` is a party to, with status (status < 0: any), id >
     * after, ascending, at most limit. */
    avrr_err (*link_list)(avrr_store *s, const char *tenant, int status,
                          int64_t after, size_t limit, avrr_link **out,
                          size_t *n, avrr_error *e);
    /* Every link with person_id on either side (any status, any tenant). */
    avrr_err (*links_of_person)(avrr_store *s, int64_t person_id,
                                avrr_link **out, size_t *n, avrr_error *e);
    /* In the caller's transaction: waits for, then holds until the
     * transaction ends, the lock of the pair of persons a and b (either
     * order) that every connection's check takes before it opens their
     * link. A check that takes it, then reads links_of_person, sees the
     * link of a concurrent check that took it first (committed by then),
     * and so does not open a second one. Pipelined where the store can (it
     * rides with the next statement). NULL where writers take turns
     * (SQLite: the write transaction itself serialises). */
    avrr_err (*link_pair_lock)(avrr_store *s, int64_t a, int64_t b,
                               avrr_error *e);
    /* Moves a yellow link to l->status with reason, resolved_by,
     * resolved_key_id and resolved_at (set by the store); ECONFLICT when
     * the link is no longer yellow. */
    avrr_err (*link_resolve)(avrr_store *s, avrr_link *l, avrr_error *e);

    avrr_err (*disclosure_insert)(avrr_store *s, avrr_disclosure *d,
                                  avrr_error *e);
    /* A disclosure `tenant` is requester or owner of. */
    avrr_err (*disclosure_get)(avrr_store *s, const char *tenant, int64_t id,
                               avrr_disclosure *out, avrr_error *e);
    /* Disclosures `tenant` is requester or owner of, with status (< 0:
     * any), id > after, ascending, at most limit. */
    avrr_err (*disclosure_list)(avrr_store *s, const char *tenant, int status,
                                int64_t after, size_t limit,
                                avrr_disclosure **out, size_t *n,
                                avrr_error *e);
    /* Moves a pending disclosure to d->status with decision_reason,
     * decided_key_id, decided_at (set by the store); ECONFLICT when it is
     * no longer pending. */
    avrr_err (*disclosure_decide)(avrr_store *s, avrr_disclosure *d,
                                  avrr_error *e);

    /* ---- privacy (schema version 3) ---- */

    /* Appends an audit event atomically with respect to other writers:
     * sets ev->seq to the head's seq + 1 and ev->prev_hash to the head's
     * hash (or the retention anchor's when no event is left, zeros at
     * first), calls chain(ev) to compute ev->hash, inserts. */
    avrr_err (*audit_append)(avrr_store *s, avrr_audit_event *ev,
                             void (*chain)(avrr_audit_event *ev),
                             avrr_error *e);
    /* audit_append for n events, chained in array order (each event's
     * prev_hash is the hash of the one before it); all or nothing. May be
     * NULL: callers then call audit_append per event. */
    avrr_err (*audit_append_many)(avrr_store *s, avrr_audit_event *evs,
                                  size_t n,
                                  void (*chain)(avrr_audit_event *ev),
                                  avrr_error *e);
    /* Every event with seq > after, ascending; cb as identity_scan's. */
    avrr_err (*audit_scan)(avrr_store *s, int64_t after,
                           int (*cb)(void *arg, const avrr_audit_event *ev),
                           void *arg, avrr_error *e);
    /* Events of `tenant` (NULL: all) with seq > after, ascending. */
    avrr_err (*audit_list)(avrr_store *s, const char *tenant, int64_t after,
                           size_t limit, avrr_audit_event **out, size_t *n,
                           avrr_error *e);
    /* Where the kept chain starts: the seq and hash of the last event that
     * retention removed (0 and zeros when none was). */
    avrr_err (*audit_anchor)(avrr_store *s, int64_t *seq, uint8_t hash[32],
                             avrr_error *e);
    /* Removes the oldest events with ts_ms < before_ts_ms (a prefix of the
     * chain) and moves the anchor to the last one removed, in one
     * transaction. */
    avrr_err (*audit_purge)(avrr_store *s, int64_t before_ts_ms,
                            int64_t *n_removed, avrr_error *e);
    avrr_err (*audit_checkpoint_insert)(avrr_store *s,
                                        const avrr_audit_checkpoint *c,
                                        avrr_error *e);
    /* All checkpoints, ascending by seq. Free *out with avrr_free. */
    avrr_err (*audit_checkpoint_list)(avrr_store *s,
                                      avrr_audit_checkpoint **out, size_t *n,
                                      avrr_error *e);

    /* Rectification with history: stores old_json as the identity's
     * previous version, then overwrites the identity's fields and
     * documents with `id` (id->id and id->person_id name it; the person
     * must be `tenant`'s). */
    avrr_err (*identity_rectify)(avrr_store *s, const char *tenant,
                                 const avrr_identity *id, const char *old_json,
                                 int64_t key_id, avrr_error *e);
    /* Earlier versions of a person's identities, ascending. */
    avrr_err (*identity_history)(avrr_store *s, const char *tenant,
                                 int64_t person_id, avrr_identity_change **out,
                                 size_t *n, avrr_error *e);
    /* Erasure: deletes the person's identities, documents and identity
     * history and sets erased_at; the person row, cases and assistance stay
     * as anonymous statistics. ENOTFOUND for another tenant's person. */
    avrr_err (*person_erase)(avrr_store *s, const char *tenant,
                             int64_t person_id, avrr_error *e);
    avrr_err (*person_set_restricted)(avrr_store *s, const char *tenant,
                                      int64_t person_id, bool restricted,
                                      avrr_error *e);
    /* Persons of `tenant`, not erased, that have cases and whose every case
     * is in a final status with closed_on before `closed_before`
     * ("YYYY-MM-DD"). Free *ids with avrr_free. */
    avrr_err (*persons_due)(avrr_store *s, const char *tenant,
                            const char *closed_before, int64_t **ids,
                            size_t *n, avrr_error *e);
    /* Clears request_json of checks older than before (unix seconds): the
     * details a requester sent are personal data too. */
    avrr_err (*checks_forget)(avrr_store *s, int64_t before,
                              int64_t *n_cleared, avrr_error *e);
    /* Makes erased data unrecoverable from the files: checkpoints the WAL
     * into the database and truncates it (secure_delete already zeroes
     * freed pages). */
    avrr_err (*compact)(avrr_store *s, avrr_error *e);

    /* Counts rows of a table ("persons", "identities", "cases",
     * "assistance", "tenants", "api_keys", "checks", "links",
     * "disclosures", "audit_events", "identity_history"); for tests and
     * metrics. */
    avrr_err (*count)(avrr_store *s, const char *table, int64_t *out,
                      avrr_error *e);

    /* ---- encryption at rest (crypt.h) ---- */

    /* Re-seals every personal value under the data key in new_key_path
     * (or seals a plain registry's for the first time) and records the new
     * key id, in one transaction; then rewrites the file (VACUUM) and
     * truncates the WAL so that the old ciphertexts (or plaintexts) leave
     * the files. Afterwards only the new key opens the registry. Must run
     * outside a transaction; *n_values (may be NULL) counts the values
     * sealed. AVRR_EINVALID when the new key is the one in use. */
    avrr_err (*rekey)(avrr_store *s, const char *new_key_path,
                      int64_t *n_values, avrr_error *e);

    /* ---- statistics and cheap flags ---- */

    /* Every case of `tenant` (NULL: all) with each of its grants, ordered
     * by case id; cb as identity_scan's. */
    avrr_err (*stats_scan)(avrr_store *s, const char *tenant,
                           int (*cb)(void *arg, const avrr_stats_row *r),
                           void *arg, avrr_error *e);
    /* Links by status where `tenant` (NULL: any) is a party; *red_persons
     * and *red_amount_cents: the persons on red links and the assistance
     * (not cancelled) they received. */
    avrr_err (*link_stats)(avrr_store *s, const char *tenant,
                           int64_t counts[AVRR_LINK__COUNT],
                           int64_t *red_persons, int64_t *red_amount_cents,
                           avrr_error *e);
    /* Flags of a person of any tenant, without loading it: restricted,
     * erased, and whether a red link names it. ENOTFOUND when it does not
     * exist. */
    avrr_err (*person_flags)(avrr_store *s, int64_t person_id,
                             bool *restricted, bool *erased, bool *red_link,
                             avrr_error *e);
    /* person_flags and person_assistance for n persons at once (the hits
     * of a check, in one round trip to a database server): out[i] for
     * ids[i]. out[i].found is false for a person that does not exist;
     * out[i].assistance is left NULL for an erased person and for a
     * restricted person not of `tenant`, who would not be shown it. The
     * caller frees each out[i].assistance with avrr_store_free_assistance.
     * May be NULL: callers then call person_flags and person_assistance
     * per person. */
    avrr_err (*person_facts_many)(avrr_store *s, const char *tenant,
                                  const int64_t *ids, size_t n,
                                  avrr_person_facts *out, avrr_error *e);
    /* Round trips to a database server since the store was opened (each
     * statement or pipeline of statements waited for; COPY and migrations
     * not counted), for tests and benches. May be NULL (an embedded
     * database: none). */
    uint64_t (*round_trips)(avrr_store *s);

    /* A consistent copy of the whole registry into a new file at path,
     * while others go on reading and writing (SQLite's online backup).
     * AVRR_EEXISTS when path exists; AVRR_EINVALID on a backend whose own
     * tools do this (PostgreSQL: pg_dump). */
    avrr_err (*backup)(avrr_store *s, const char *path, avrr_error *e);

    /* ---- the return process (schema version 4) ---- */

    /* Each insert names the case's owner in ->tenant (ENOTFOUND when the
     * case is not that tenant's) and writes back id and created_at. */
    avrr_err (*counselling_insert)(avrr_store *s, avrr_counselling *c,
                                   avrr_error *e);
    /* Sessions of one case of `tenant` (the owner), ascending by id. */
    avrr_err (*counselling_list)(avrr_store *s, const char *tenant,
                                 int64_t case_id, avrr_counselling **out,
                                 size_t *n, avrr_error *e);
    /* r->partner must be an existing tenant (ENOTFOUND otherwise). */
    avrr_err (*referral_insert)(avrr_store *s, avrr_referral *r,
                                avrr_error *e);
    /* A referral `tenant` is referrer or partner of. */
    avrr_err (*referral_get)(avrr_store *s, const char *tenant, int64_t id,
                             avrr_referral *out, avrr_error *e);
    /* Referrals `tenant` is referrer or partner of, with status (< 0:
     * any), id > after, ascending, at most limit. */
    avrr_err (*referral_list)(avrr_store *s, const char *tenant, int status,
                              int64_t after, size_t limit,
                              avrr_referral **out, size_t *n, avrr_error *e);
    /* Moves a pending referral to r->status with reason, decided_key_id
     * and decided_at (set by the store); ECONFLICT when no longer
     * pending. */
    avrr_err (*referral_decide)(avrr_store *s, avrr_referral *r,
                                avrr_error *e);
    /* The owner of a case referred to `partner` and accepted: of case
     * case_id (> 0), or of any case of person person_id (> 0). ENOTFOUND
     * when there is none. */
    avrr_err (*referral_access)(avrr_store *s, const char *partner,
                                int64_t case_id, int64_t person_id,
                                char owner[static 17], avrr_error *e);
    /* Inserts or replaces the plan of case p->case_id of p->tenant; sets
     * updated_at. */
    avrr_err (*plan_put)(avrr_store *s, avrr_plan *p, avrr_error *e);
    /* ENOTFOUND when the case has no plan (or is not tenant's). */
    avrr_err (*plan_get)(avrr_store *s, const char *tenant, int64_t case_id,
                         avrr_plan *out, avrr_error *e);
    avrr_err (*follow_up_insert)(avrr_store *s, avrr_follow_up *f,
                                 avrr_error *e);
    /* Follow-ups of one case of `tenant`, ascending by id. */
    avrr_err (*follow_up_list)(avrr_store *s, const char *tenant,
                               int64_t case_id, avrr_follow_up **out,
                               size_t *n, avrr_error *e);
    /* Every follow-up of `tenant`'s cases (NULL: all), by case, with the
     * case's person (for distinct counts); the note is not read. cb as
     * identity_scan's. */
    avrr_err (*follow_up_scan)(avrr_store *s, const char *tenant,
                               int (*cb)(void *arg, int64_t person_id,
                                         const avrr_follow_up *f),
                               void *arg, avrr_error *e);
} avrr_store_ops;

/* The handle every backend's struct starts with. */
struct avrr_store {
    const avrr_store_ops *ops;
    unsigned magic; /* AVRR_STORE_MAGIC while open */
};
#define AVRR_STORE_MAGIC 0x5a7e5a7eu

/* How to open a registry (avrr_store_open_ex). Zero-initialise, then set
 * what you need. */
typedef struct avrr_store_options {
    /* Create the registry when it does not exist. */
    bool create;
    /* Path of the data key file (crypt.h), NULL or "" for none.
     *  - An encrypted registry opens only with its key: without one, or
     *    with another, the open fails (AVRR_EINVALID, field "data_key",
     *    the message naming AVRR_DATA_KEY).
     *  - A registry created by this open with a key is encrypted with it.
     *  - An existing plain registry with a key given is refused
     *    (AVRR_EINVALID): the caller believes the data encrypted and it is
     *    not; `avrr rekey` encrypts it. */
    const char *data_key;
} avrr_store_options;

/* Opens (creating when opt->create is true and it does not exist) the
 * registry at uri and applies pending migrations. Refuses a registry whose
 * schema is newer than AVRR_SCHEMA_VERSION with AVRR_EVERSION. */
avrr_err avrr_store_open_ex(const char *uri, const avrr_store_options *opt,
                            avrr_store **out, avrr_error *e);

/* avrr_store_open_ex with the data key named by the environment variable
 * AVRR_DATA_KEY (unset or empty: none), so that every program and command
 * finds the key the same way. */
avrr_err avrr_store_open(const char *uri, bool create, avrr_store **out,
                         avrr_error *e);
void avrr_store_close(avrr_store *s);

/* Opens the registry at uri with old_key_path (NULL: a plain registry),
 * calls ops->rekey with new_key_path, and closes it. */
avrr_err avrr_store_rekey(const char *uri, const char *old_key_path,
                          const char *new_key_path, int64_t *n_values,
                          avrr_error *e);

/* True when the open registry seals personal fields. */
bool avrr_store_encrypted(avrr_store *s);

/* Backend constructors; avrr_store_open_ex() chooses. */
avrr_err avrr__sqlite_open(const char *path, const avrr_store_options *opt,
                           avrr_store **out, avrr_error *e);
avrr_err avrr__postgres_open(const char *uri, const avrr_store_options *opt,
                             avrr_store **out, avrr_error *e);
bool avrr__sqlite_encrypted(avrr_store *s);

/* The sqlite3 * connection behind an SQLite store, for tests and
 * diagnostics (PRAGMA checks); NULL for a store of another backend. Typed
 * void * so that this header does not need sqlite3.h. */
void *avrr__sqlite_db(avrr_store *s);

/* Array frees for list results (each element cleared, then the array). */
void avrr_store_free_persons(avrr_person *p, size_t n);
void avrr_store_free_cases(avrr_case *c, size_t n);
void avrr_store_free_assistance(avrr_assistance *a, size_t n);
void avrr_store_free_tenants(avrr_tenant *t, size_t n);
void avrr_store_free_links(avrr_link *l, size_t n);
void avrr_store_free_disclosures(avrr_disclosure *d, size_t n);
void avrr_store_free_counselling(avrr_counselling *c, size_t n);
void avrr_store_free_referrals(avrr_referral *r, size_t n);
void avrr_store_free_follow_ups(avrr_follow_up *f, size_t n);

/* Callers go through the table directly: s->ops->person_get(s, ...). The
 * table is the interface; there is no second layer of wrappers to keep in
 * step with it. */

#endif
