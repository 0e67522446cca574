/* match_int.h: the private inside of the match layer, shared by its files.
 *
 * The compact comparison record, the model tables, the level enumerations
 * and the helpers that the comparators, the batch and the index share.
 */
#ifndef AVRR_MATCH_INT_H
#define AVRR_MATCH_INT_H

#include <stdint.h>

#include "avrr/match.h"

/* Tokens kept per name representation: the longest real names (Spanish,
 * Arabic with nasab chains) have 5 or 6 parts; more adds cost, not signal. */
#define AVRR__MT_MAXTOK 6
/* Longest token kept (bytes); longer ones are cut. */
#define AVRR__MT_TOKLEN 40
/* Address tokens kept (hashes). */
#define AVRR__MT_MAXADDR 12

/* The letters of a string as a multiset, coarsely: bit (c & 63) set in
 * once when the string has at least one such byte, in twice when at least
 * two; more counts the bytes beyond the second of their bit. Enough to bound
 * the characters two strings can have in common without looking at them. */
typedef struct avrr__chars {
    uint64_t once, twice;
    uint8_t more;
} avrr__chars;

void avrr__chars_of(const char *s, size_t n, avrr__chars *out);

/* An upper bound of avrr_match_jaro_winkler(a, na, b, nb) from the strings'
 * lengths, letter multisets and common prefix: the Jaro of as many matches
 * as the multisets allow with no transposition, plus Winkler's boost for
 * the real prefix. Never below the real value (the filter that lets the
 * name comparator skip the kernel for unrelated tokens). */
double avrr__jaro_winkler_bound(const char *a, size_t na,
                                const avrr__chars *ca, const char *b,
                                size_t nb, const avrr__chars *cb);

typedef struct avrr__mtok {
    uint16_t off, len;         /* the token in rec->buf */
    uint16_t alt_off, alt_len; /* glued article stripped (elamrani ->
                                  amrani); alt_len 0 when none */
    uint32_t hash;             /* of the token text */
    uint32_t key;              /* hash of the name key */
    uint32_t alt_key;          /* key of the alternative, or 0 */
    uint16_t sp_off, sp_len;   /* spelling-normalised form (oe/ou -> u,
                                  initial j -> y, doubles single, ...) */
    uint8_t abjad;             /* from a script that writes no short vowels */
    uint8_t key_len;           /* consonants in the key */
    avrr__chars sp_chars;      /* letters of the spelling-normalised form */
} avrr__mtok;

typedef struct avrr__mname {
    uint8_t n;
    uint32_t sig; /* the whole name: hash of its sorted token keys */
    avrr__mtok t[AVRR__MT_MAXTOK];
} avrr__mname;

#define AVRR__MREC_MAGIC 0x6d726563u

struct avrr_match_rec {
    uint32_t magic;
    uint8_t n_names;          /* 0, 1 or 2 representations */
    avrr__mname name[2];      /* [0] given + surname, [1] full_name */
    int16_t year;
    int8_t month, day;
    uint8_t precision;
    bool placeholder;
    uint8_t sex;              /* avrr_sex */
    char nat[4];
    int8_t region;            /* neighbour group of nat, -1 when none */
    uint16_t place_off, place_len; /* normalised birth place */
    uint16_t doc_off, doc_len;     /* OCR-canonical first document */
    uint16_t doc2_off, doc2_len;   /* second document, when any */
    uint8_t n_addr;
    uint32_t addr[AVRR__MT_MAXADDR];
    uint32_t buf_len;
    char *buf;                /* all strings, owned */
};

/* Levels, strongest first. */
enum { NL_EXACT, NL_ALL_CLOSE, NL_SUBSET, NL_MOST, NL_ONE, NL_NONE, NL__N };
enum { DL_EXACT, DL_EXACT_PH, DL_TYPO, DL_YEAR_PH, DL_YEAR1, DL_DIFF, DL_FAR,
       DL__N };
enum { SL_AGREE, SL_DIFF, SL__N };
enum { CL_SAME, CL_NEIGHBOUR, CL_DIFF, CL__N };
enum { PL_EXACT, PL_CLOSE, PL_DIFF, PL__N };
enum { OL_EXACT, OL_OCR, OL_TYPO, OL_DIFF, OL__N };
enum { AL_HIGH, AL_MID, AL_LOW, AL_DIFF, AL__N };

extern const int avrr__mf_levels[AVRR_MF__COUNT];

#define AVRR__MODEL_MAGIC 0x6d6f646cu

struct avrr_match_model {
    uint32_t magic;
    double prior;                 /* P(match) among blocked candidate pairs */
    double m[AVRR_MF__COUNT][AVRR_MATCH_LEVELS_MAX];
    double u[AVRR_MF__COUNT][AVRR_MATCH_LEVELS_MAX];
    /* derived: log2(m/u) per level, log2 prior odds, log2 u */
    double w[AVRR_MF__COUNT][AVRR_MATCH_LEVELS_MAX];
    double lu[AVRR_MF__COUNT][AVRR_MATCH_LEVELS_MAX];
    double prior_w;
};

/* Recomputes the derived weights after m, u or prior changed. */
void avrr__match_model_derive(avrr_match_model *m);

/* Levels of every field of a pair (AVRR_MATCH_LEVEL_NULL when missing), and
 * for names the key hashes of the agreeing tokens (for the TF adjustment). */
typedef struct avrr__mlevels {
    int8_t level[AVRR_MF__COUNT];
    uint8_t n_agree;
    uint32_t agree_key[AVRR__MT_MAXTOK];
    uint32_t sig_a, sig_b; /* whole-name keys of the compared names */
} avrr__mlevels;

void avrr__match_levels(const avrr_match_rec *a, const avrr_match_rec *b,
                        avrr__mlevels *out);
/* The two halves of avrr__match_levels: the name (the costly one: string
 * kernels over token pairs) and every other field (cheap), so that a batch
 * can bound a pair's weight from the other fields before comparing names. */
void avrr__match_levels_name(const avrr_match_rec *a, const avrr_match_rec *b,
                             avrr__mlevels *out);
void avrr__match_levels_other(const avrr_match_rec *a,
                              const avrr_match_rec *b, avrr__mlevels *out);

/* Bounds of the term-frequency adjustment in bits: a very rare name may add
 * at most 5 bits (so that a rare shared surname alone cannot make siblings
 * one person), a very common one may take away at most 8 (agreeing on
 * Mohammed and Ali, each 3 to 7 times the average name frequency, is worth
 * about 4 bits less than agreeing on two average names). The batch's early
 * exit bounds the adjustment with them too. */
#define TF_ADJ_MAX 5.0
#define TF_ADJ_MIN (-8.0)
void avrr__match_score(const avrr_match_model *m, const avrr_match_tf *tf,
                       const avrr__mlevels *lv, avrr_match_explanation *out);

/* Frequency of a name key among all name tokens; for key 0, or a key the
 * table does not know, the chance that two random name tokens agree
 * (sum of squared frequencies), so that an unknown name adjusts nothing. */
double avrr__match_tf_freq(const avrr_match_tf *tf, uint32_t key);

/* Spelling-normalised form of a token for string similarity: the
 * orthographies of Dutch, French, German and English written alike
 * (joessef, youssef, jussuf -> yusef, yusef, yusuf). Returns the length. */
size_t avrr__match_spelling(const char *t, size_t n, char *out, size_t cap);

/* The neighbour group of an alpha-3 nationality, -1 when it has none. */
int avrr__match_region(const char *alpha3);

/* log2(how often two random records share a whole name / how often they
 * share this one), from the whole-name counts of a data table; 0 when the
 * table has none (the built-in one) or too few records to tell. */
double avrr__match_tf_sig_adj(const avrr_match_tf *tf, uint32_t sig_a,
                              uint32_t sig_b);

/* 32- and 64-bit FNV-1a. */
uint32_t avrr__hash32(const void *p, size_t n);
uint64_t avrr__hash64(const void *p, size_t n, uint64_t seed);

/* Blocking keys of a record (64-bit hashes, deduplicated); returns the number
 * written, at most cap. */
size_t avrr__match_block_keys(const avrr_match_rec *r, uint64_t *keys,
                              size_t cap);
#define AVRR__MAX_BKEYS 160

/* Canonical document number for OCR-tolerant comparison: upper case
 * alphanumerics only, with O->0, I/L->1, S->5, B->8, Z->2, G->6. */
size_t avrr__match_doc_canon(const char *s, char *out, size_t cap);

#endif
