/* audit.h: the tamper-evident audit log (DESIGN.md section 6).
 *
 * Every event's hash covers the previous event's hash and the event's own
 * canonical bytes, so that changing, deleting, inserting or reordering an
 * event breaks the chain from that event on. A signed checkpoint (Ed25519)
 * of the head, made with a key kept outside the database, also catches a
 * chain rewritten from scratch or cut off at the end.
 *
 * The store keeps the events (store.h audit_*); this module computes and
 * checks hashes and signatures. Functions are thread-safe; store access
 * follows the store's rules (the caller serialises). */
#ifndef AVRR_AUDIT_H
#define AVRR_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "avrr/core.h"
#include "store/store.h"

/* Computes ev->hash from ev->prev_hash and the event's fields. */
void avrr_audit_chain(avrr_audit_event *ev);

/* Appends ev (ts_ms set to now when 0) through the store, chained. */
avrr_err avrr_audit_append(avrr_store *s, avrr_audit_event *ev, avrr_error *e);

/* Appends n events in array order (ts_ms set to now when 0) through the
 * store's audit_append_many, or one by one when the store has none. The
 * caller holds a transaction when the events must go in all or none. */
avrr_err avrr_audit_append_many(avrr_store *s, avrr_audit_event *evs, size_t n, avrr_error *e);

typedef struct avrr_audit_report {
    int64_t events;        /* events checked */
    int64_t first_seq, last_seq;
    int64_t checkpoints;   /* checkpoints whose signature and hash held */
    int64_t bad_seq;       /* first bad event, 0 when the log verifies */
    char problem[256];     /* what is wrong with it */
} avrr_audit_report;

/* Walks the whole log from the retention anchor. Returns AVRR_OK with
 * r->bad_seq == 0 when every event and checkpoint holds; AVRR_OK with
 * bad_seq and problem set when the log was tampered with; another error
 * when it could not be read. trusted_key (may be NULL) is the public key
 * checkpoints must be signed with. */
avrr_err avrr_audit_verify(avrr_store *s, const uint8_t *trusted_key,
                           avrr_audit_report *r, avrr_error *e);

/* Signing keys: a file with the Ed25519 secret key in hex, readable by its
 * owner only (mode 0600 or stricter; anything looser is refused). */
avrr_err avrr_audit_key_create(const char *path, uint8_t public_key[32], avrr_error *e);
avrr_err avrr_audit_key_load(const char *path, uint8_t secret_key[64], avrr_error *e);

/* Signs the current head and stores the checkpoint; does nothing (and
 * returns AVRR_OK with out->seq == 0) when the log is empty or the head is
 * already checkpointed. */
avrr_err avrr_audit_sign_head(avrr_store *s, const uint8_t secret_key[64],
                               avrr_audit_checkpoint *out, avrr_error *e);

#endif
