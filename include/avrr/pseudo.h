/* avrr/pseudo.h: per-field keyed encodings of identities for the
 * pseudonymised index (DESIGN.md section 5, "Pseudonymised mode").
 *
 * A whole-record CLK (avrr/clk.h) gives one Dice score per pair, which
 * cannot tell namesakes, siblings and placeholder-date records apart. A
 * pseudonymised record instead keeps, field by field, just enough keyed
 * material for the plaintext comparator's levels to be computed again:
 *
 *   name token   keyed Bloom filter (256 bits) of the bigrams of its
 *                spelling-normalised form, and of its glued-article-stripped
 *                alternative; keyed 32-bit hashes of the token, of its name
 *                key and of the alternative's key
 *   whole name   keyed hash of the sorted token keys
 *   birth date   precision and placeholder flag; keyed hashes of the year and
 *                of year+1 .. year+5, of year-month, month-day, the full date,
 *                the day/month-swapped date, the date with each of its eight
 *                digits masked and with each adjacent digit pair sorted
 *   sex, nationality, nationality's region group: keyed hashes
 *   birth place  keyed hash and keyed bigram Bloom filter (256 bits)
 *   documents    keyed hashes of the cleaned and the OCR-canonical number and
 *                of the canonical number with each character deleted
 *   address      keyed hashes of its tokens
 *   blocking     keyed 64-bit hashes of the plaintext blocking keys
 *
 * Equal keyed hashes stand for equal plaintext, Dice of the filters for
 * Jaro-Winkler of the tokens; the same Fellegi-Sunter model scores the levels
 * (avrr_match_compare, avrr_match_batch and the match index accept such
 * records). Every hash is SipHash-2-4 (libsodium crypto_shorthash) under a
 * 128-bit sub-key of its own field, derived from the secret key file of
 * avrr/clk.h; the secret never enters the database. docs/PRIVACY.md says what
 * the encoding still reveals and to whom.
 *
 * Ownership: a key from avrr_pseudo_key_load / _from_bytes is freed (wiped)
 * with avrr_pseudo_key_free. Records from avrr_pseudo_encode and
 * avrr_pseudo_decode are avrr_match_rec values freed with
 * avrr_match_rec_free. A wire string from avrr_pseudo_to_wire is freed with
 * avrr_free.
 *
 * Thread-safety: a key is immutable and may be shared; the functions keep no
 * shared mutable state.
 */
#ifndef AVRR_PSEUDO_H
#define AVRR_PSEUDO_H

#include <stddef.h>
#include <stdint.h>

#include "avrr/core.h"
#include "avrr/error.h"
#include "avrr/match.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the per-field encoding; part of the wire form. */
#define AVRR_PSEUDO_VERSION 1
/* Longest wire form (base64 text, without the terminating NUL): a record
 * with every field, 12 tokens with alternatives and 160 blocking keys. */
#define AVRR_PSEUDO_WIRE_MAX 8192

typedef struct avrr_pseudo_key avrr_pseudo_key;

/* Loads the secret key file (the format of avrr_clk_key_create: 64 hex
 * digits, mode 0600 or 0400, owned by the caller, not a symbolic link).
 * Errors as avrr_clk_key_load, with e->field "pseudonym_key". Free *out
 * with avrr_pseudo_key_free. */
avrr_err avrr_pseudo_key_load(const char *path, avrr_pseudo_key **out,
                              avrr_error *e);

/* Creates a new key file at path: 32 bytes from libsodium's randombytes as
 * 64 hex digits, mode 0600; never overwrites (AVRR_EEXISTS when path
 * exists, symbolic links included). When out is not NULL the key is also
 * returned (free with avrr_pseudo_key_free). Errors, with e->field
 * "pseudonym_key": AVRR_EEXISTS, AVRR_EIO, AVRR_ENOMEM, AVRR_ECRYPTO. */
avrr_err avrr_pseudo_key_create(const char *path, avrr_pseudo_key **out,
                                avrr_error *e);

/* Makes a key from raw secret bytes (at least 32), for tests and secret
 * managers. AVRR_EINVALID when too short, AVRR_ENOMEM, AVRR_ECRYPTO. */
avrr_err avrr_pseudo_key_from_bytes(const uint8_t *bytes, size_t n,
                                    avrr_pseudo_key **out);

/* Wipes and frees. Safe with NULL. */
void avrr_pseudo_key_free(avrr_pseudo_key *key);

/* A public 64-bit tag of the key (a keyed hash of a constant), carried by
 * every record so that records of different keys are never compared. */
uint64_t avrr_pseudo_key_id(const avrr_pseudo_key *key);

/* Encodes id under key into a pseudonymised comparison record that holds no
 * plaintext (the intermediate plaintext record is wiped). Deterministic.
 * Errors: those of avrr_match_rec_new (AVRR_EINVALID, AVRR_ETOOLARGE,
 * AVRR_EINTERNAL), AVRR_ENOMEM. */
avrr_err avrr_pseudo_encode(const avrr_pseudo_key *key, const avrr_identity *id,
                            avrr_match_rec **out);

/* True when r is a pseudonymised record. */
bool avrr_match_rec_is_pseudo(const avrr_match_rec *r);

/* The key tag of a pseudonymised record (0 for a plaintext one). */
uint64_t avrr_pseudo_rec_key_id(const avrr_match_rec *r);

/* The wire form of a pseudonymised record: base64 (RFC 4648 with padding)
 * of a versioned binary layout, NUL-terminated, at most AVRR_PSEUDO_WIRE_MAX
 * characters. AVRR_EINVALID for a plaintext record, AVRR_ENOMEM. */
avrr_err avrr_pseudo_to_wire(const avrr_match_rec *r, char **out);

/* Decodes a wire form of n bytes. When key is not NULL the record must have
 * been made with it. Every count and flag is checked and the whole input
 * must be used: AVRR_EINVALID (e says what is wrong), AVRR_ENOMEM. e may be
 * NULL. */
avrr_err avrr_pseudo_decode(const avrr_pseudo_key *key, const char *wire,
                            size_t n, avrr_match_rec **out, avrr_error *e);

/* ---- the match index in pseudonymised mode ----------------------------------------- */

/* Puts an empty index into pseudonymised mode: from then on
 * avrr_match_index_add and avrr_match_index_query encode each identity under
 * key and keep or compare only the encoding; the plaintext is wiped at once.
 * The key is borrowed: it must outlive the index. AVRR_EINVALID when the
 * index already holds records. */
avrr_err avrr_match_index_set_pseudonym_key(avrr_match_index *idx,
                                            const avrr_pseudo_key *key);

/* True when the index is in pseudonymised mode. */
bool avrr_match_index_is_pseudonymised(const avrr_match_index *idx);

/* Number of records in the index that are not pseudonymised (0 in
 * pseudonymised mode: what tests check). */
size_t avrr_match_index_plaintext_records(const avrr_match_index *idx);

/* avrr_match_index_query with a probe already encoded (a record from
 * avrr_pseudo_decode of what a national node sent). The probe must come
 * from the index's key: AVRR_EINVALID otherwise, or when the index is not
 * in pseudonymised mode. */
avrr_err avrr_match_index_query_encoded(const avrr_match_index *idx,
                                        const avrr_match_rec *probe,
                                        double threshold, size_t max_hits,
                                        avrr_match_hit **hits, size_t *n_hits);

#ifdef __cplusplus
}
#endif
#endif
