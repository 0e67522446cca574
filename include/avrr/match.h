/* avrr/match.h: identity matching (DESIGN.md section 5).
 *
 * Finds the same person behind different personal details: normalisation of
 * names in any script to Latin ASCII tokens, transliteration-tolerant name
 * keys, comparison of two identities field by field into levels, a
 * Fellegi-Sunter model that turns the levels into a match probability with
 * an explanation, batch dedup / link with blocking, and an in-memory match
 * index for consultations.
 *
 * Ownership: objects made by *_new / *_load are freed by the matching
 * *_free; functions copy what they keep from their arguments (an identity
 * passed to avrr_match_rec_new or avrr_match_index_add may be freed right
 * after the call).
 *
 * Thread-safety: normalisation, keys, comparison and scoring keep no shared
 * mutable state (the ICU transliterator is cached per thread) and may run on
 * any number of threads. A model or a frequency table may be shared by
 * threads once built. The match index is not internally locked: concurrent
 * avrr_match_index_query calls are safe with each other, but add / remove
 * need exclusive access (a read/write lock in the caller).
 */
#ifndef AVRR_MATCH_H
#define AVRR_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "avrr/core.h"
#include "avrr/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- normalisation and keys ---------------------------------------------- */

/* Normalises a name in any script: NFKC, any script to Latin ASCII (ICU;
 * ASCII input skips ICU), lower case, apostrophes removed, other punctuation
 * and digits to spaces. Writes space-separated tokens into out (cap bytes,
 * always NUL-terminated, truncated at a token boundary) and their length in
 * *out_len (may be NULL). Particles and compounds are kept as written; see
 * avrr_match_name_tokens. Returns AVRR_EINVALID for malformed UTF-8,
 * AVRR_EINTERNAL when ICU fails, AVRR_ENOMEM. */
avrr_err avrr_match_normalize(const char *in, char *out, size_t cap,
                              size_t *out_len);

/* Normalises like avrr_match_normalize, then drops particles (al, el, bin,
 * ben, ibn, ould, wad, van, de, ...) and joins compounds (abd al rahman,
 * abdul rahman, abderrahmane -> abdrahman; abu bakr -> abubakr). */
avrr_err avrr_match_name_tokens(const char *in, char *out, size_t cap,
                                size_t *out_len);

/* The transliteration-tolerant key of one normalised token (a-z only): a
 * consonant skeleton after rewriting spelling variants into one class
 * (kh/ch/sh/sch, c/k/q, z/s, v/f/ph, x -> ks, y/j/w as vowels, doubles
 * collapsed, final h dropped). Mohammed, Muhammad, Mohamed and Mouhamed all
 * give "MHMD". Writes at most cap-1 characters plus NUL; returns the length. */
size_t avrr_match_name_key(const char *tok, size_t n, char *out, size_t cap);

/* Jaro-Winkler similarity in [0, 1] of two byte strings (bit-parallel when
 * the shorter is at most 64 bytes). Thread-safe, no allocation. */
double avrr_match_jaro_winkler(const char *a, size_t na, const char *b,
                               size_t nb);

/* ---- comparison and explanation -------------------------------------------- */

typedef enum avrr_match_field {
    AVRR_MF_NAME,
    AVRR_MF_BIRTH_DATE,
    AVRR_MF_SEX,
    AVRR_MF_NATIONALITY,
    AVRR_MF_BIRTH_PLACE,
    AVRR_MF_DOCUMENT,
    AVRR_MF_ADDRESS,
    AVRR_MF__COUNT
} avrr_match_field;

/* Largest number of levels of any field (the null level excluded). */
#define AVRR_MATCH_LEVELS_MAX 8
/* The level of a field that is missing on either side; weight 0. */
#define AVRR_MATCH_LEVEL_NULL (-1)

/* Why two identities score what they score. Levels count from 0 (the
 * strongest agreement) up; names come from avrr_match_level_name. */
typedef struct avrr_match_explanation {
    double probability;   /* posterior match probability in [0, 1] */
    double weight;        /* total match weight in bits, prior included */
    double prior_weight;  /* log2 prior odds of the model */
    struct {
        int8_t level;     /* AVRR_MATCH_LEVEL_NULL when missing */
        float weight;     /* log2(m/u), term-frequency adjusted for names */
    } field[AVRR_MF__COUNT];
    /* What the name and the birth date weigh together beyond the sum of
     * their own weights (the model's joint cell of the two levels: its
     * log2(m/u) less the two fields' weights); 0 when the model has no cell
     * for these levels or either field is missing. Included in weight. */
    float name_x_birth_date_weight;
} avrr_match_explanation;

/* "name", "birth_date", "sex", ... or NULL when out of range. */
const char *avrr_match_field_name(int field);
/* Number of levels of a field (null excluded), 0 when out of range. */
int avrr_match_field_levels(int field);
/* "exact", "all_close", "day_month_swapped", ..., "null" for
 * AVRR_MATCH_LEVEL_NULL; NULL when out of range. Static strings. */
const char *avrr_match_level_name(int field, int level);

/* ---- compact comparison records --------------------------------------------- */

/* What the comparators need of one identity, normalised once: name tokens
 * and keys (from given_names + surname and, when different, full_name),
 * birth date, sex, nationality, birth place, OCR-canonical document
 * numbers, address tokens. Immutable after creation. */
typedef struct avrr_match_rec avrr_match_rec;

/* Builds the comparison record of id (copied; id may be freed after).
 * Returns AVRR_ENOMEM, AVRR_EINVALID (malformed UTF-8), AVRR_EINTERNAL (ICU).
 * The caller frees *out with avrr_match_rec_free. */
avrr_err avrr_match_rec_new(const avrr_identity *id, avrr_match_rec **out);
void avrr_match_rec_free(avrr_match_rec *r);

/* ---- name frequencies (term-frequency adjustment) ------------------------------ */

/* How common each name key is. Agreeing on a common name ("Mohammed") says
 * less than agreeing on a rare one ("Tesfamariam"). */
typedef struct avrr_match_tf avrr_match_tf;

avrr_err avrr_match_tf_new(avrr_match_tf **out);
void avrr_match_tf_free(avrr_match_tf *tf);
/* Counts the name keys of r (add) or uncounts them (remove). */
avrr_err avrr_match_tf_add(avrr_match_tf *tf, const avrr_match_rec *r);
void avrr_match_tf_remove(avrr_match_tf *tf, const avrr_match_rec *r);
/* The built-in table of common names of the returnee origin countries,
 * used when no table is given (static; never freed). */
const avrr_match_tf *avrr_match_tf_builtin(void);

/* ---- the Fellegi-Sunter model -------------------------------------------------- */

typedef struct avrr_match_model avrr_match_model;

/* The shipped defaults, so that matching works untrained (static). */
const avrr_match_model *avrr_match_model_default(void);
/* Copies a model; caller frees with avrr_match_model_free. */
avrr_err avrr_match_model_copy(const avrr_match_model *m,
                               avrr_match_model **out);
void avrr_match_model_free(avrr_match_model *m);
/* Reads / writes the JSON model file written by `avrr train`. Errors name the
 * file in e (AVRR_EIO, AVRR_EINVALID, AVRR_ENOMEM). */
avrr_err avrr_match_model_load(const char *path, avrr_match_model **out,
                               avrr_error *e);
avrr_err avrr_match_model_save(const avrr_match_model *m, const char *path,
                               avrr_error *e);

/* Compares a and b and scores the levels with model m (NULL: defaults) and
 * name frequencies tf (NULL: the built-in table). Fills *out. Thread-safe. */
void avrr_match_compare(const avrr_match_model *m, const avrr_match_tf *tf,
                        const avrr_match_rec *a, const avrr_match_rec *b,
                        avrr_match_explanation *out);

/* ---- batch dedup and link ---------------------------------------------------- */

typedef struct avrr_match_batch_stats {
    size_t records;
    size_t blocks;            /* distinct blocking keys shared by >= 2 records */
    size_t blocks_capped;     /* blocks skipped: still over the cap after
                                 the last round of splitting */
    size_t blocks_split;      /* blocks over the cap split into sub-blocks
                                 by a second key (name key, birth year) */
    uint64_t candidate_pairs; /* distinct pairs scored */
    uint64_t pairs_bounded;   /* of them, pairs whose weight bound (from the
                                 fields other than the name) could not reach
                                 the threshold: names not compared */
    uint64_t pairs_out;       /* pairs at or above the threshold */
    double seconds_blocking;
    double seconds_scoring;
} avrr_match_batch_stats;

/* Called for every pair at or above the threshold, from one thread at a time
 * (the batch serialises calls). i < j are indexes into recs; for link, i is
 * on the left (i < n_left) and j on the right. Return non-zero to stop. */
typedef int (*avrr_match_pair_fn)(void *ctx, size_t i, size_t j,
                                  const avrr_match_explanation *x);
/* Progress: done of total units of work; called from one thread. */
typedef void (*avrr_match_progress_fn)(void *ctx, const char *stage,
                                       uint64_t done, uint64_t total);

typedef struct avrr_match_batch_opts {
    const avrr_match_model *model; /* NULL: defaults */
    const avrr_match_tf *tf;       /* NULL: computed from the records */
    double threshold;              /* report pairs with probability >= this */
    size_t n_left;                 /* link: recs[0..n_left) vs the rest; 0: dedup */
    int threads;                   /* 0: number of online CPUs */
    size_t block_cap;              /* larger blocks are split by a second
                                      key; 0: the batch's default (500) */
    bool estimate_prior;           /* re-estimate the model's prior (share of
                                      true pairs among the candidates) on a
                                      sample of this batch's blocks by EM */
    avrr_match_pair_fn on_pair;
    avrr_match_progress_fn on_progress;
    void *ctx;
} avrr_match_batch_opts;

/* Blocks recs with the union of rules, scores every distinct candidate pair
 * once and reports pairs at or above the threshold. recs stay owned by the
 * caller. Returns AVRR_ENOMEM, AVRR_EINTERNAL (thread creation), or
 * AVRR_ELIMIT when on_pair asked to stop. stats may be NULL. */
avrr_err avrr_match_batch(avrr_match_rec *const *recs, size_t n,
                          const avrr_match_batch_opts *opts,
                          avrr_match_batch_stats *stats);

/* Estimates a model from the records themselves: u from random pairs,
 * m and the prior by expectation-maximisation over the blocked candidate
 * pairs, starting from start (NULL: defaults). n_left as in the batch
 * options. *out is freed by the caller with avrr_match_model_free. */
avrr_err avrr_match_train(avrr_match_rec *const *recs, size_t n,
                          size_t n_left, const avrr_match_model *start,
                          uint64_t seed, avrr_match_model **out);

/* Clusters pairs of n records into persons (union-find, transitive).
 * pairs holds n_pairs pairs flattened: pairs[2k], pairs[2k+1]. On success
 * cluster[k] holds, for every record k, the smallest record index of its
 * cluster. cluster has n entries, caller-owned. AVRR_EINVALID for an index
 * >= n. No allocation. */
avrr_err avrr_match_cluster(size_t n, const uint32_t *pairs, size_t n_pairs,
                            uint32_t *cluster);

/* ---- the in-memory match index ------------------------------------------------- */

/* All identities of the store, blocked by name keys (with and without birth
 * year), document numbers and full birth date with nationality, each with its
 * comparison record. Blocks as the batch does with its default cap: a block
 * over 500 records (the probe counted) is split by a second key, so a query
 * offers a probe the candidates `avrr link` would pair it with. Built at server start, updated on every write.
 * Thread-safety: queries may run concurrently with each other; add and
 * remove must exclude queries (caller's read/write lock). */
typedef struct avrr_match_index avrr_match_index;

/* model may be NULL (defaults); it is copied. */
avrr_err avrr_match_index_new(const avrr_match_model *model,
                              avrr_match_index **out);
void avrr_match_index_free(avrr_match_index *idx);

/* Adds an identity (copies what it needs). AVRR_EEXISTS when identity_id is
 * already present; AVRR_EINVALID for a bad tenant code or malformed text. */
avrr_err avrr_match_index_add(avrr_match_index *idx, int64_t identity_id,
                              int64_t person_id, const char *tenant,
                              const avrr_identity *id);
/* Removes an identity. AVRR_ENOTFOUND when absent. */
avrr_err avrr_match_index_remove(avrr_match_index *idx, int64_t identity_id);
/* Number of identities held. */
size_t avrr_match_index_size(const avrr_match_index *idx);

typedef struct avrr_match_hit {
    int64_t identity_id;
    int64_t person_id;
    char tenant[17];
    avrr_match_explanation explanation;
} avrr_match_hit;

/* Finds identities that may be the probe, with probability >= threshold,
 * sorted by probability (highest first), at most max_hits. *hits is an array
 * allocated with avrr_malloc (caller frees with avrr_free; NULL when none);
 * *n_hits its length. */
avrr_err avrr_match_index_query(const avrr_match_index *idx,
                                const avrr_identity *probe, double threshold,
                                size_t max_hits, avrr_match_hit **hits,
                                size_t *n_hits);

#ifdef __cplusplus
}
#endif
#endif
