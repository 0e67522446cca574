/* avrr/clk.h: keyed Bloom-filter encodings of identities for the
 * pseudonymised index (DESIGN.md section 5, "Pseudonymised mode").
 *
 * A national node turns each identity into a cryptographic long-term key
 * (CLK): a 1024-bit Bloom filter into which the character bigrams of the
 * normalised name tokens, the bigrams of their transliteration keys, the
 * parts of the birth date and the sex are hashed with a secret key that the
 * member states hold outside the database. Similar identities give similar
 * bit patterns; the central index compares them by the Dice coefficient
 * 2|a AND b| / (|a| + |b|) and never sees a name. Keyed 64-bit HMACs of the
 * blocking keys (name key + birth year, full birth date, document number)
 * let the index block without plaintext. docs/PRIVACY.md describes the
 * encoding, the known attacks on it and the hardening chosen.
 *
 * Ownership: a key made by avrr_clk_key_create / _load / _from_bytes is
 * freed (and wiped) with avrr_clk_key_free. An avrr_clk is a plain value.
 * An avrr_clk_array owns its storage; free it with avrr_clk_array_free.
 *
 * Thread-safety: a key is immutable once made and may be shared by any
 * number of threads; encoding and comparison keep no shared mutable state.
 * An avrr_clk_array may be read by many threads but appended to by one at a
 * time with no concurrent readers.
 */
#ifndef AVRR_CLK_H
#define AVRR_CLK_H

#include <stddef.h>
#include <stdint.h>

#include "avrr/core.h"
#include "avrr/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Length of an encoding: 1024 bits, the length clkhash and anonlink use and
 * the one their published FEBRL4 accuracy was measured at; 128 bytes are
 * two cache lines. */
#define AVRR_CLK_BITS 1024
#define AVRR_CLK_WORDS (AVRR_CLK_BITS / 64)
/* Blocking HMACs per encoding: up to 4 name keys with the birth year, the
 * full birth date, two document numbers, and the sorted pair of the first
 * two name keys. */
#define AVRR_CLK_BLOCKS 8
/* Secret key length in bytes (256 bits). */
#define AVRR_CLK_KEY_BYTES 32
/* Version of the encoding scheme; encodings of different versions (or of
 * different keys) are unrelated and must never be compared. */
#define AVRR_CLK_VERSION 1

/* The member states' shared secret, with the sub-keys derived from it. */
typedef struct avrr_clk_key avrr_clk_key;

/* One encoded identity. bits is the Bloom filter, popcount its number of
 * set bits, block[0..n_blocks) the keyed 64-bit blocking hashes (distinct,
 * in no particular order). */
typedef struct avrr_clk {
    _Alignas(64) uint64_t bits[AVRR_CLK_WORDS];
    uint16_t popcount;
    uint8_t version;   /* AVRR_CLK_VERSION */
    uint8_t n_blocks;
    uint64_t block[AVRR_CLK_BLOCKS];
} avrr_clk;

/* ---- keys ------------------------------------------------------------------- */

/* Makes a fresh random key and writes it to path (hex, created with mode
 * 0600; an existing file is never overwritten: AVRR_EEXISTS). *out may be
 * NULL when only the file is wanted; otherwise the caller frees it with
 * avrr_clk_key_free. Errors: AVRR_EEXISTS, AVRR_EIO, AVRR_ENOMEM, AVRR_ECRYPTO
 * (libsodium cannot start). e may be NULL. */
avrr_err avrr_clk_key_create(const char *path, avrr_clk_key **out, avrr_error *e);

/* Loads a key file written by avrr_clk_key_create. Refuses (AVRR_EINVALID)
 * a file that is not a regular file owned by the current user with no
 * permission bits for group or others (mode 0600 or 0400), a symbolic link,
 * or anything but 64 hex digits (optionally followed by a newline).
 * AVRR_EIO when it cannot be read, AVRR_ENOMEM. The caller frees *out with
 * avrr_clk_key_free. */
avrr_err avrr_clk_key_load(const char *path, avrr_clk_key **out, avrr_error *e);

/* Makes a key from raw bytes (at least AVRR_CLK_KEY_BYTES; longer secrets
 * are compressed with BLAKE2b). For tests and for keys kept in an HSM or a
 * secret manager. AVRR_EINVALID when n is too short, AVRR_ENOMEM. */
avrr_err avrr_clk_key_from_bytes(const uint8_t *bytes, size_t n, avrr_clk_key **out);

/* Wipes and frees a key. Safe with NULL. */
void avrr_clk_key_free(avrr_clk_key *key);

/* ---- encoding ---------------------------------------------------------------- */

/* Encodes id under key into *out. Names come from given_names + surname
 * (full_name when both are empty), normalised and transliterated by
 * avrr_match_name_tokens so that scripts and spellings meet. Deterministic:
 * one identity and one key always give the same encoding. An identity with
 * no name, no birth date and no sex gives an empty filter (popcount 0),
 * which matches nothing. Errors: AVRR_EINVALID (malformed UTF-8),
 * AVRR_EINTERNAL (ICU), AVRR_ENOMEM. Thread-safe. */
avrr_err avrr_clk_encode(const avrr_clk_key *key, const avrr_identity *id,
                         avrr_clk *out);

/* ---- comparison ---------------------------------------------------------------- */

/* Dice coefficient of two encodings in [0, 1]; 0 when both are empty. */
double avrr_clk_dice(const avrr_clk *a, const avrr_clk *b);

/* Number of blocking hashes a and b have in common (0 to AVRR_CLK_BLOCKS). */
int avrr_clk_blocks_shared(const avrr_clk *a, const avrr_clk *b);

/* Encodings laid out for streaming: the filters back to back, 64-byte
 * aligned (128 bytes each, nothing else between them, so that a scan reads
 * only filter bits), and their popcounts in a separate array (2 bytes each,
 * so that the popcount bound rejects without touching the filter). */
typedef struct avrr_clk_array {
    uint64_t *bits;    /* n * AVRR_CLK_WORDS words, 64-byte aligned */
    uint16_t *pop;     /* n popcounts */
    size_t n, cap;
    void *raw_;        /* the allocation bits points into */
} avrr_clk_array;

/* Makes an empty array with room for cap encodings (grows on append).
 * AVRR_ENOMEM. Free with avrr_clk_array_free. */
avrr_err avrr_clk_array_init(avrr_clk_array *a, size_t cap);
/* Appends the filter and popcount of c. AVRR_ENOMEM (a unchanged). */
avrr_err avrr_clk_array_push(avrr_clk_array *a, const avrr_clk *c);
/* Frees the storage and empties a. Safe on a zeroed array. */
void avrr_clk_array_free(avrr_clk_array *a);

/* Called for every encoding at or above the threshold, in index order.
 * i indexes the array, dice is avrr_clk_dice of the pair (bit-identical).
 * Return non-zero to stop the scan. */
typedef int (*avrr_clk_hit_fn)(void *ctx, size_t i, double dice);

/* Compares probe with the n encodings bits[0..n) (n * AVRR_CLK_WORDS words;
 * 64-byte alignment is fastest but not required) whose popcounts are
 * pop[0..n), and calls fn for each with Dice >= threshold. Encodings whose
 * popcount alone bounds their Dice below the threshold
 * (Dice <= 2 min(|a|,|b|) / (|a|+|b|)) are rejected without reading their
 * bits. Uses AVX-512 VPOPCNTDQ, else the POPCNT instruction, else portable
 * code, chosen once at run time. Returns AVRR_OK, or AVRR_ELIMIT when fn
 * stopped the scan. No allocation; thread-safe. */
avrr_err avrr_clk_dice_many(const avrr_clk *probe, const uint64_t *bits,
                            const uint16_t *pop, size_t n, double threshold,
                            avrr_clk_hit_fn fn, void *ctx);

/* Called for every (probe, encoding) pair at or above the threshold; q
 * indexes probes, i the array. Non-zero stops. */
typedef int (*avrr_clk_pair_fn)(void *ctx, size_t q, size_t i, double dice);

/* Compares n_probes probes with the same n encodings, reading the array
 * from memory once per group of probes rather than once per probe (tiles
 * that stay in cache), for batch linkage and for queued index queries. Pairs
 * are reported tile by tile: in increasing i within one probe. Same results
 * as n_probes calls of avrr_clk_dice_many. AVRR_ELIMIT when fn stopped. */
avrr_err avrr_clk_dice_batch(const avrr_clk *probes, size_t n_probes,
                             const uint64_t *bits, const uint16_t *pop, size_t n,
                             double threshold, avrr_clk_pair_fn fn, void *ctx);

/* Name of the comparison kernel in use: "avx512-vpopcntdq", "popcnt" or
 * "portable". Static string. */
const char *avrr_clk_kernel_name(void);

#ifdef __cplusplus
}
#endif
#endif
