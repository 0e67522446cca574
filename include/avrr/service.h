/* avrr/service.h: the use cases of the registry (DESIGN.md section 4).
 *
 * Every rule about what may be stored and who may do it lives here, once;
 * the `avrr` command and the HTTP server are thin adapters over these
 * functions. A service owns one store and serialises access to it, so its
 * functions may be called from any number of threads.
 *
 * Tenancy: every function that takes an actor acts only on that actor's
 * tenant. Another tenant's record answers AVRR_ENOTFOUND, exactly like a
 * missing one, so that existence does not leak.
 *
 * Ownership: records passed in are validated and canonicalised in place
 * (country codes become alpha-3) and get their ids written back; they stay
 * the caller's. Records and arrays returned through out-parameters belong to
 * the caller: free records with the avrr_*_clear() functions of core.h and
 * arrays with avrr_service_free_*().
 *
 * Errors: functions return an avrr_err and fill *e (which may be NULL) with
 * the offending field and a message for humans.
 */
#ifndef AVRR_SERVICE_H
#define AVRR_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "avrr/core.h"
#include "avrr/match.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct avrr_service avrr_service;

/* Who is acting, as established by avrr_service_authenticate(). */
typedef struct avrr_actor {
    int64_t key_id;
    char tenant[17];
    avrr_role role;
    char request_id[40]; /* set by the adapter; goes into the audit log */
    char purpose[32];    /* declared purpose of the access, "" when none */
} avrr_actor;

/* Opens the registry at db_uri. With create, a missing SQLite file is made
 * and migrated (avrr init); without, a missing registry is AVRR_ENOTFOUND. */
avrr_err avrr_service_open(const char *db_uri, bool create,
                           avrr_service **out, avrr_error *e);
void avrr_service_close(avrr_service *svc);

/* Tunables of consultation; avrr_service_open() starts with the defaults. */
typedef struct avrr_service_options {
    double strong_threshold;   /* a hit at or above is "strong" (default 0.9) */
    double possible_threshold; /* hits below are not reported (default 0.5) */
    int duplicate_window_days; /* assistance this recent makes a strong hit a
                                  double-support warning (default 730) */
    size_t max_hits;           /* persons per check (default 20) */
} avrr_service_options;

/* Defaults: see avrr_service_options. */
void avrr_service_options_default(avrr_service_options *o);
/* Replaces the options; AVRR_EINVALID (naming the option) when a threshold
 * is outside (0, 1], possible > strong, or a count is out of range. */
avrr_err avrr_service_configure(avrr_service *svc, const avrr_service_options *o,
                                avrr_error *e);

/* Pseudonymised index mode (DESIGN.md 5): the match index will hold only
 * keyed encodings of the identities (avrr/pseudo.h), made with the secret
 * in key_file (avrr_pseudo_key_load), which never enters the database.
 * Plaintext probes are encoded on arrival and discarded; pre-encoded probes
 * (avrr_check_request.encoded_identity) are accepted. Call before the index
 * is loaded: AVRR_EEXISTS after. Errors of avrr_pseudo_key_load, with
 * e->field "pseudonym_key_file". */
avrr_err avrr_service_set_pseudonymised(avrr_service *svc, const char *key_file,
                                        avrr_error *e);

/* Scores the match index with the model in the file at path (written by
 * avrr train) instead of the shipped defaults. Call before the index is
 * loaded: AVRR_EEXISTS after. Errors of avrr_match_model_load, with
 * e->field "match_model". */
avrr_err avrr_service_set_match_model(avrr_service *svc, const char *path,
                                      avrr_error *e);

/* The index's mode and counts, for /metrics and the tests: records held and
 * how many of them are plaintext (0 in pseudonymised mode). All 0 / false
 * before the index is loaded. */
void avrr_service_index_info(avrr_service *svc, bool *pseudonymised,
                             size_t *records, size_t *plaintext_records);

/* Builds the in-memory match index from every identity in the store. Until
 * it is loaded, registrations open no links and checks load it on first
 * use; the server loads it at start. Idempotent. */
avrr_err avrr_service_index_load(avrr_service *svc, avrr_error *e);

/* Adds to the index the identities other processes (servers sharing the
 * database) registered since the last call. Identity ids are assigned at
 * insert but become visible at commit, possibly out of order, so each call
 * looks again at the last AVRR_INDEX_SYNC_WINDOW ids. The server calls it
 * several times a second; erasures elsewhere are caught when a hit is
 * shown (an erased person is never a hit). */
#define AVRR_INDEX_SYNC_WINDOW 256
avrr_err avrr_service_index_sync(avrr_service *svc, avrr_error *e);

/* SQLite: checkpoints of the write-ahead log on a thread of their own, a
 * PASSIVE one every interval_ms (1 to 60,000), instead of inside the commit
 * of whichever request takes the log past 1,000 pages (which then waits for
 * the copy and two fsyncs). Once the log holds 8,192 pages (32 MiB) the
 * thread copies the rest under the store lock (the service's writers wait a
 * few ms), so that the log starts again from its beginning even when writes
 * never pause. Durability is unchanged in kind
 * (synchronous=NORMAL: a committed transaction survives a crash of the
 * process; a power loss may lose those since the log was last synced, now
 * at most about one interval); src/service/walckpt.c. The server runs it
 * with 200 ms. A no-op on PostgreSQL, in memory, or when already running;
 * avrr_service_close stops it. */
avrr_err avrr_service_background_checkpoints(avrr_service *svc, unsigned interval_ms,
                                             avrr_error *e);
/* Checkpoints the thread has run (0 when it is off): for tests. */
unsigned long avrr_service_checkpoint_runs(avrr_service *svc);

/* PostgreSQL: checks (and the API key lookup of every request) run on a
 * pool of n store connections of their own
 * (0 to 64; 0, the default, turns it off), opened now on the registry's
 * URI, besides the one the other use cases share under the service's
 * store lock. A check takes a free pooled connection (and waits when none
 * is), runs its whole transaction there (facts, record, hits, links, its
 * audit event, COMMIT) without the store lock, and gives it back, so that
 * concurrent checks overlap their round trips to the server: each pooled
 * connection writes as another server on the same database would (the
 * audit chain's lock, a pair's link opened once). A check made inside a
 * transaction of the service (avrr_service_transaction) joins it on the
 * shared connection instead. On SQLite, whose writers take turns, it does
 * nothing (AVRR_OK, no pool). A pooled connection lost is opened again by
 * the next check that takes it. Call before serving; AVRR_EEXISTS once a
 * pool is set. */
#define AVRR_STORE_POOL_MAX 64
avrr_err avrr_service_store_pool(avrr_service *svc, unsigned n, avrr_error *e);

/* The pool's size and counts since it opened, for /metrics and the tests. */
typedef struct avrr_store_pool_stats {
    unsigned size;          /* pooled connections (0: no pool) */
    unsigned long takes;    /* pooled connections taken: one by each API
                             * key's authentication, one by each check for
                             * its transaction, one more before the match
                             * by a check naming the requester's person */
    unsigned long waits;    /* of them, how many waited for a free one */
    unsigned long reopens;  /* connections opened again after a loss */
    unsigned busy_max;      /* most pooled connections in use at once */
} avrr_store_pool_stats;
void avrr_service_store_pool_stats(avrr_service *svc, avrr_store_pool_stats *out);

/* ---- operator functions (the CLI, run by whoever holds the database) ---- */

avrr_err avrr_service_tenant_add(avrr_service *svc, const char *code,
                                 const char *name, avrr_error *e);
avrr_err avrr_service_tenant_list(avrr_service *svc, avrr_tenant **out,
                                  size_t *n, avrr_error *e);

/* Makes a new API key for a tenant and role. *key_out receives the secret
 * (free with avrr_free); it is shown once and only its hash is stored. */
avrr_err avrr_service_key_create(avrr_service *svc, const char *tenant,
                                 const char *role, const char *label,
                                 char **key_out, int64_t *id_out,
                                 avrr_error *e);
/* Lists the keys (never their secrets) of one tenant, or of all when tenant
 * is NULL. Free *out with avrr_free. */
avrr_err avrr_service_key_list(avrr_service *svc, const char *tenant,
                               avrr_key_info **out, size_t *n,
                               avrr_error *e);
avrr_err avrr_service_key_revoke(avrr_service *svc, int64_t key_id,
                                 avrr_error *e);

/* Establishes the actor behind an API key; AVRR_EUNAUTHORIZED when the key
 * is unknown, malformed or revoked (and an "auth.failed" audit event).
 * out->request_id and out->purpose, when the caller set them, are kept. */
avrr_err avrr_service_authenticate(avrr_service *svc, const char *key,
                                   avrr_actor *out, avrr_error *e);

/* The actor for an operator who works on the registry file directly (the
 * CLI's import and export): acts in `role` for `tenant`, which must exist. */
avrr_err avrr_service_local_actor(avrr_service *svc, const char *tenant,
                                  avrr_role role, avrr_actor *out,
                                  avrr_error *e);

/* ---- registry use cases ---------------------------------------------------- */

/* Registers a person with one or more identities (aliases are further
 * identities). Writes back p->id and each identity's id. */
avrr_err avrr_service_person_register(avrr_service *svc, const avrr_actor *a,
                                      avrr_person *p, avrr_error *e);
/* Registers n persons at once (a bulk import), with the rules of
 * person_register applied to each: row_rc[i] and row_e[i] (n each) get each
 * row's outcome, and a refused row is left out while the others are stored
 * together, with one audit event per row in row order. Returns AVRR_OK when
 * the valid rows were stored (some rows may have been refused); another
 * error when the batch could not be stored, then nothing of it was and
 * every row that passed the rules has that error. Inside
 * avrr_service_transaction it joins that transaction. */
avrr_err avrr_service_person_register_many(avrr_service *svc, const avrr_actor *a,
                                           avrr_person *ps, size_t n, avrr_err *row_rc,
                                           avrr_error *row_e, avrr_error *e);
/* Adds an alias to an existing person. */
avrr_err avrr_service_identity_add(avrr_service *svc, const avrr_actor *a,
                                   int64_t person_id, avrr_identity *id,
                                   avrr_error *e);
avrr_err avrr_service_person_get(avrr_service *svc, const avrr_actor *a,
                                 int64_t person_id, avrr_person *out,
                                 avrr_error *e);

/* One page of a list: items with id > after, at most limit (1..1000, 0
 * means the default of 100). *next is the cursor for the following page, or
 * 0 when this page is the last. */
typedef struct avrr_page {
    int64_t after;
    size_t limit;
} avrr_page;
#define AVRR_PAGE_DEFAULT 100
#define AVRR_PAGE_MAX 1000

avrr_err avrr_service_person_list(avrr_service *svc, const avrr_actor *a,
                                  avrr_page page, avrr_person **out,
                                  size_t *n, int64_t *next, avrr_error *e);

/* Opens a case for a person of the actor's tenant. The status defaults to
 * counselled and opened_on to today when unknown. */
avrr_err avrr_service_case_open(avrr_service *svc, const avrr_actor *a,
                                avrr_case *c, avrr_error *e);
avrr_err avrr_service_case_get(avrr_service *svc, const avrr_actor *a,
                               int64_t case_id, avrr_case *out,
                               avrr_error *e);
/* Cases of the tenant, of one person when person_id > 0. */
avrr_err avrr_service_case_list(avrr_service *svc, const avrr_actor *a,
                                int64_t person_id, avrr_page page,
                                avrr_case **out, size_t *n, int64_t *next,
                                avrr_error *e);
/* Moves a case along its lifecycle (avrr_case_status_can_move); a move the
 * lifecycle does not allow is AVRR_ECONFLICT. *out gets the updated case. */
avrr_err avrr_service_case_set_status(avrr_service *svc, const avrr_actor *a,
                                      int64_t case_id, const char *status,
                                      avrr_case *out, avrr_error *e);

/* What a check (or the double-support guard) found on one person. */
typedef struct avrr_hit_view {
    avrr_check_hit hit;       /* tenant, pseudonymous person_ref, band ... */
    avrr_match_explanation explanation;
    bool own;                 /* a person of the caller's own tenant */
    bool restricted;          /* owner restricted processing: no details */
    bool red_link;            /* a red link exists on this person */
    int64_t link_id;          /* link between the pair, 0 when none */
    avrr_link_status link_status;
    avrr_assistance *assistance; /* assistance already given (own array) */
    size_t n_assistance;
} avrr_hit_view;

typedef struct avrr_check_result {
    int64_t check_id;
    avrr_purpose purpose;
    avrr_hit_view *hits;      /* strongest first */
    size_t n_hits;
    /* The answer as JSON text (avrr_codec_check_result_to_json of this
     * result, serialised plainly), made once by the check for its stored
     * copy and for the caller; NULL if not made. */
    char *response_json;
} avrr_check_result;
void avrr_check_result_clear(avrr_check_result *r);

/* Records one grant of assistance on a case. A case in a final status
 * (completed, withdrawn, absconded) takes no new assistance (ECONFLICT).
 *
 * The guard against paying twice: the case's person (all identities) is
 * matched against other tenants; a strong hit whose person received
 * assistance within the duplicate window becomes a warning in *warnings
 * (may be NULL) and opens a yellow link. Under the tenant's "block" policy
 * the grant is refused with AVRR_ECONFLICT (nothing stored) while such a
 * link is yellow or red; white and green links silence the warning. */
avrr_err avrr_service_assistance_add(avrr_service *svc, const avrr_actor *a,
                                     int64_t case_id, avrr_assistance *as,
                                     avrr_check_result *warnings,
                                     avrr_error *e);
avrr_err avrr_service_assistance_list(avrr_service *svc, const avrr_actor *a,
                                      int64_t case_id, avrr_assistance **out,
                                      size_t *n, avrr_error *e);

/* ---- consultation ------------------------------------------------------------ */

typedef struct avrr_check_request {
    avrr_purpose purpose;
    int64_t person_id;          /* the caller's own person, 0 when none */
    avrr_identity *identities;  /* the details given now, then aliases */
    size_t n_identities;
    const char *request_json;   /* the request as received, kept with the
                                   check record (may be NULL) */
    char *encoded_identity;     /* instead of identities (n_identities 0): an
                                   identity a national node encoded under the
                                   pseudonym key, in the wire form of
                                   avrr_pseudo_to_wire; only when the index is
                                   pseudonymised. Allocated with avrr_malloc
                                   by whoever fills the request and freed
                                   with avrr_free (the codec's
                                   avrr_codec_check_request_clear does) */
} avrr_check_request;

/* Searches every tenant's identities for the person described. Hits on
 * other tenants carry no personal details: tenant, a pseudonymous
 * person_ref (stable per requesting tenant), probability, band,
 * explanation, assistance summary, links. Green links of the caller's
 * person suppress hits; hits on other tenants open yellow links. The check
 * is recorded with actor, tenant and purpose.
 *
 * With req->encoded_identity (and no identities) the check runs on that
 * encoding alone; the plaintext never reaches the service. Errors, all
 * with e->field "encoded_identity": AVRR_EINVALID when it comes with
 * identities or is not a well-formed encoding (avrr_pseudo_decode says
 * why), AVRR_ECONFLICT when the index is not pseudonymised or the encoding
 * was made with another key. Nothing is stored then but the failure's
 * audit event. */
avrr_err avrr_service_check(avrr_service *svc, const avrr_actor *a,
                            avrr_check_request *req, avrr_check_result *out,
                            avrr_error *e);
/* A recorded check of the caller's tenant: its stored answer. */
avrr_err avrr_service_check_get(avrr_service *svc, const avrr_actor *a,
                                int64_t check_id, avrr_check *out,
                                avrr_error *e);

/* The caller's tenant's links (a party on either side), status < 0: any. */
avrr_err avrr_service_link_list(avrr_service *svc, const avrr_actor *a,
                                int status, avrr_page page, avrr_link **out,
                                size_t *n, int64_t *next, avrr_error *e);
avrr_err avrr_service_link_get(avrr_service *svc, const avrr_actor *a,
                               int64_t link_id, avrr_link *out, avrr_error *e);
/* A human's decision on a yellow link: "white", "green" or "red", with a
 * reason. Either party may decide; a decided link is ECONFLICT. */
avrr_err avrr_service_link_resolve(avrr_service *svc, const avrr_actor *a,
                                   int64_t link_id, const char *decision,
                                   const char *reason, avrr_link *out,
                                   avrr_error *e);
/* The pseudonym the caller's tenant sees for a person (link views). */
void avrr_service_person_ref(avrr_service *svc, const char *viewer,
                             int64_t person_id, char out[static 33]);

/* Asks the owner of one hit of the caller's check for its details. */
avrr_err avrr_service_disclosure_request(avrr_service *svc, const avrr_actor *a,
                                         int64_t check_id, const char *person_ref,
                                         const char *reason, avrr_disclosure *out,
                                         avrr_error *e);
/* The owner approves ("approve") or refuses ("refuse"). */
avrr_err avrr_service_disclosure_decide(avrr_service *svc, const avrr_actor *a,
                                        int64_t id, const char *decision,
                                        const char *reason, avrr_disclosure *out,
                                        avrr_error *e);
/* A disclosure the caller is requester or owner of. When the caller is the
 * requester and it was approved, *details receives the person's
 * identities (may be NULL when not wanted); otherwise it stays empty. */
avrr_err avrr_service_disclosure_get(avrr_service *svc, const avrr_actor *a,
                                     int64_t id, avrr_disclosure *out,
                                     avrr_person *details, avrr_error *e);
avrr_err avrr_service_disclosure_list(avrr_service *svc, const avrr_actor *a,
                                      int status, avrr_page page,
                                      avrr_disclosure **out, size_t *n,
                                      int64_t *next, avrr_error *e);

/* Sets a tenant's double-support policy ("warn" or "block"). */
avrr_err avrr_service_tenant_set_policy(avrr_service *svc, const char *code,
                                        const char *policy, avrr_error *e);

/* ---- data-subject rights and retention (GDPR Art. 15-18, 5(1)(e)) ---------------- */

/* Everything held on a person of the caller's tenant, as one JSON text
 * (*json: avrr_free): identities, their earlier versions, cases,
 * assistance, links and disclosures about the person. */
avrr_err avrr_service_person_export(avrr_service *svc, const avrr_actor *a, int64_t person_id,
                                    char **json, avrr_error *e);
/* Rectification: replaces identity identity_id of the person with *id,
 * keeping the earlier version in the history. */
avrr_err avrr_service_identity_rectify(avrr_service *svc, const avrr_actor *a,
                                       int64_t person_id, int64_t identity_id,
                                       avrr_identity *id, avrr_error *e);
/* Erasure: removes names, dates, documents and history of the person (the
 * person row, cases and assistance stay as anonymous statistics), drops
 * it from the match index and makes the database files forget it. */
avrr_err avrr_service_person_erase(avrr_service *svc, const avrr_actor *a, int64_t person_id,
                                   avrr_error *e);
/* Restriction: a restricted person appears in other tenants' checks only
 * as "restricted: contact the owner". */
avrr_err avrr_service_person_restrict(avrr_service *svc, const avrr_actor *a,
                                      int64_t person_id, bool restricted, avrr_error *e);

typedef struct avrr_purge_report {
    int64_t persons_erased;
    int64_t audit_events_removed;
    int64_t checks_forgotten;
} avrr_purge_report;
/* Applies every tenant's retention policy as of `today` ("YYYY-MM-DD";
 * NULL: the current date): erases persons whose cases all closed more
 * than retention_days ago, clears old check requests, removes audit
 * events older than the longest audit_retention_days, then compacts. */
avrr_err avrr_service_purge(avrr_service *svc, const char *today, avrr_purge_report *out,
                            avrr_error *e);
/* Sets a tenant's retention (days; 0 keeps personal data). */
avrr_err avrr_service_tenant_set_retention(avrr_service *svc, const char *code,
                                           int retention_days, int audit_retention_days,
                                           avrr_error *e);

/* ---- statistics ------------------------------------------------------------------- */

/* One cell: how many persons, cases and grants, and how much money, for one
 * value of the dimension. For the statistician role a cell of fewer than
 * AVRR_STATS_MIN_PERSONS persons is suppressed: its counts are -1. */
#define AVRR_STATS_MIN_PERSONS 5
typedef struct avrr_stats_cell {
    char key[64]; /* eurostat keys: "NL,2026-Q1,MAR,voluntary,non_assisted" */
    int64_t persons, cases, assistance, amount_cents;
    bool suppressed;
    /* by=sustainability only: follow-up visits in the quarter and the mean
     * of each score of IOM's reintegration sustainability survey (0..1);
     * -1 when suppressed. */
    int64_t visits;
    double economic, social, psychosocial;
} avrr_stats_cell;

typedef struct avrr_stats {
    char by[16];
    avrr_stats_cell *rows; /* sorted by key */
    size_t n_rows;
    int64_t links[AVRR_LINK__COUNT]; /* links by colour: duplicates detected */
    int64_t red_persons;       /* persons on red links (false identities) */
    int64_t red_amount_cents;  /* assistance those persons received */
    bool red_suppressed;
} avrr_stats;
void avrr_stats_clear(avrr_stats *s);

/* Counts and sums of returns and assistance by one dimension: "tenant"
 * (the reporting state), "destination", "return_type", "kind", "funding",
 * "month", "quarter", or "eurostat" (reporting state, quarter, country of
 * return, return type, assisted or not: persons who departed, the shape of
 * Eurostat's return statistics). from/to ("YYYY-MM", may be NULL) bound the
 * month a case was opened. A statistician sees every tenant with small
 * cells suppressed; caseworkers and dpos see their own tenant in full. */
avrr_err avrr_service_stats(avrr_service *svc, const avrr_actor *a, const char *by,
                            const char *from, const char *to, avrr_stats *out,
                            avrr_error *e);

/* ---- audit ----------------------------------------------------------------------- */

/* Audit events of the caller's tenant (dpo role only), seq > page.after. */
avrr_err avrr_service_audit_list(avrr_service *svc, const avrr_actor *a, avrr_page page,
                                 avrr_audit_event **out, size_t *n, int64_t *next,
                                 avrr_error *e);

typedef struct avrr_audit_summary {
    int64_t events, first_seq, last_seq, checkpoints;
    int64_t bad_seq;       /* 0: the log verifies */
    char problem[256];
} avrr_audit_summary;

/* Verifies the whole audit chain and its signed checkpoints (by
 * trusted_key when not NULL). AVRR_OK with bad_seq 0 when it holds. */
avrr_err avrr_service_audit_verify(avrr_service *svc, const uint8_t *trusted_key,
                                   avrr_audit_summary *out, avrr_error *e);
/* Signs the chain head with the Ed25519 key in key_file (mode 0600) and
 * stores the checkpoint; *seq receives the head signed (0: nothing new). */
avrr_err avrr_service_audit_checkpoint(avrr_service *svc, const char *key_file, int64_t *seq,
                                       avrr_error *e);

/* A consistent copy of the registry into the new file `path` while the
 * registry stays in use (SQLite); recorded in the audit log. */
avrr_err avrr_service_backup(avrr_service *svc, const char *path, avrr_error *e);

/* ---- bulk ----------------------------------------------------------------- */

/* Runs fn inside one store transaction on the actor's behalf: everything fn
 * registers through the service is kept only when fn returns AVRR_OK. Used
 * by `avrr import` so that a file is stored whole or not at all. */
avrr_err avrr_service_transaction(avrr_service *svc,
                                  avrr_err (*fn)(void *arg, avrr_error *e),
                                  void *arg, avrr_error *e);

/* avrr_service_transaction for a bulk load of about `rows` persons (a
 * guess is enough: it only chooses how the store loads them). On
 * PostgreSQL a load of 10,000 persons or more into a registry holding at
 * most twice as many builds the person tables' secondary indexes and
 * foreign keys after the load and locks those tables until it ends (see
 * docs/DEPLOY.md); loads of 10,000 or more are analyzed at the end. */
avrr_err avrr_service_bulk_transaction(avrr_service *svc, int64_t rows,
                                       avrr_err (*fn)(void *arg, avrr_error *e),
                                       void *arg, avrr_error *e);

/* Row counts for metrics and tests: table is one of "persons",
 * "identities", "cases", "assistance", "tenants", "api_keys". */
avrr_err avrr_service_count(avrr_service *svc, const char *table,
                            int64_t *out, avrr_error *e);

void avrr_service_free_persons(avrr_person *p, size_t n);
void avrr_service_free_cases(avrr_case *c, size_t n);
void avrr_service_free_assistance(avrr_assistance *as, size_t n);
void avrr_service_free_tenants(avrr_tenant *t, size_t n);
void avrr_service_free_links(avrr_link *l, size_t n);
void avrr_service_free_disclosures(avrr_disclosure *d, size_t n);

/* ---- the return process (DESIGN.md 3) ---------------------------------- */

/* Who may work on a case: the owner's caseworkers and providers, and the
 * providers of a partner tenant the case was referred to and that
 * accepted (the "referred case" below). For anyone else a case is
 * AVRR_ENOTFOUND, as if it did not exist. The records are the core.h ones;
 * the service fills tenant (the case's owner), recorded_by, case_id, id and
 * the timestamps. Lists are freed with the avrr_service_free_* functions. */

/* Records a counselling session (caseworker or provider; also on a
 * referred case). held_on defaults to today. */
avrr_err avrr_service_counselling_add(avrr_service *svc, const avrr_actor *a,
                                      int64_t case_id, avrr_counselling *c,
                                      avrr_error *e);
avrr_err avrr_service_counselling_list(avrr_service *svc, const avrr_actor *a,
                                       int64_t case_id, avrr_counselling **out,
                                       size_t *n, avrr_error *e);

/* Refers a case of the caller's tenant (caseworker) to the partner tenant
 * `partner` (e.g. "IOM-NL"). AVRR_ENOTFOUND for an unknown partner,
 * AVRR_EINVALID for the caller's own tenant. */
avrr_err avrr_service_referral_create(avrr_service *svc, const avrr_actor *a,
                                      int64_t case_id, const char *partner,
                                      avrr_referral *out, avrr_error *e);
/* The partner's provider accepts ("accept") or declines ("decline", reason
 * required) a pending referral. AVRR_EFORBIDDEN for the referring tenant,
 * AVRR_ECONFLICT when already decided. */
avrr_err avrr_service_referral_decide(avrr_service *svc, const avrr_actor *a,
                                      int64_t referral_id, const char *decision,
                                      const char *reason, avrr_referral *out,
                                      avrr_error *e);
/* Referrals the caller's tenant made or received, with status (< 0: any):
 * for a partner, its work queue. */
avrr_err avrr_service_referral_list(avrr_service *svc, const avrr_actor *a,
                                    int status, avrr_page page,
                                    avrr_referral **out, size_t *n,
                                    int64_t *next, avrr_error *e);

/* Replaces the reintegration plan of a case. p->amounts_json must be the
 * canonical array the codec makes (avrr_codec_plan_from_json). */
avrr_err avrr_service_plan_put(avrr_service *svc, const avrr_actor *a,
                               int64_t case_id, avrr_plan *p, avrr_error *e);
/* The plan of a case; a case without one gives an empty plan (updated_at
 * 0), not an error. */
avrr_err avrr_service_plan_get(avrr_service *svc, const avrr_actor *a,
                               int64_t case_id, avrr_plan *out, avrr_error *e);

/* Records a follow-up visit with its sustainability scores. visited_on
 * defaults to today. */
avrr_err avrr_service_follow_up_add(avrr_service *svc, const avrr_actor *a,
                                    int64_t case_id, avrr_follow_up *f,
                                    avrr_error *e);
avrr_err avrr_service_follow_up_list(avrr_service *svc, const avrr_actor *a,
                                     int64_t case_id, avrr_follow_up **out,
                                     size_t *n, avrr_error *e);

/* Operator: stores the eligibility rules and caps of tenant `code` (JSON,
 * docs/rules/nl.json shows the form; rules.c documents it), or removes
 * them when json is NULL. AVRR_EINVALID names the offending member. */
avrr_err avrr_service_tenant_set_rules(avrr_service *svc, const char *code,
                                       const char *json, avrr_error *e);
/* The stored rules of `code` as a new string (avrr_free); *json is NULL
 * when the tenant has none. */
avrr_err avrr_service_tenant_get_rules(avrr_service *svc, const char *code,
                                       char **json, avrr_error *e);

void avrr_service_free_counselling(avrr_counselling *c, size_t n);
void avrr_service_free_referrals(avrr_referral *r, size_t n);
void avrr_service_free_follow_ups(avrr_follow_up *f, size_t n);

#ifdef __cplusplus
}
#endif
#endif
