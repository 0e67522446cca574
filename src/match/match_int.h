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

/* Set bits of x. The baseline x86-64 that Debian builds for has no POPCNT
 * instruction, so there __builtin_popcountll is a call into libgcc
 * (__popcountdi2, 1.5 % of a check's CPU at 1M, from the weight bound of
 * every candidate): the same sum of bit fields inline instead. A build for a
 * CPU that has the instruction (-mpopcnt, -march=x86-64-v2 or later), and
 * other architectures, use the builtin. */
static inline unsigned avrr__popcount64(uint64_t x)
{
#if defined(__x86_64__) && !defined(__POPCNT__)
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (unsigned)((x * 0x0101010101010101ull) >> 56);
#else
    return (unsigned)__builtin_popcountll(x);
#endif
}

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
    uint8_t nick;              /* a short form (Tom, Bill): alt_key is the
                                  key of its formal name, alt_len is 0 */
    uint8_t key_len;           /* consonants in the key */
    avrr__chars sp_chars;      /* letters of the spelling-normalised form */
} avrr__mtok;

typedef struct avrr__mname {
    uint8_t n;
    uint32_t sig; /* the whole name: hash of its sorted token keys */
    avrr__mtok t[AVRR__MT_MAXTOK];
} avrr__mname;

#define AVRR__MREC_MAGIC 0x6d726563u

/* The keyed encodings of a pseudonymised record (src/match/pseudo.c). */
typedef struct avrr__pseudo avrr__pseudo;

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
    /* Pseudonymised record (avrr_pseudo_encode): NULL for plaintext. Then
     * buf is empty, every string offset and length is 0 (alt_len is 1 when
     * a token has an alternative form), year, month, day and nat are zero,
     * sex is AVRR_SEX_UNKNOWN or 1 (known), region is 0 or -1, and hash,
     * key, alt_key, sig and addr hold keyed hashes of the plaintext values,
     * which keep the plaintext's equalities. Owned (same allocation). */
    avrr__pseudo *pz;
};

/* Levels, strongest first. */
enum { NL_EXACT, NL_ALL_CLOSE, NL_SUBSET, NL_MOST, NL_ONE, NL_NONE, NL__N };
/* DL_YEAR1: two full dates a year apart with the same day and month (a slip
 * in the year, or an age counted from the wrong year); DL_YEAR1_PH: a year
 * apart with a placeholder or a year-only date on either side (an estimated
 * age). */
enum { DL_EXACT, DL_EXACT_PH, DL_TYPO, DL_YEAR_PH, DL_YEAR1, DL_YEAR1_PH,
       DL_DIFF, DL_FAR, DL__N };
enum { SL_AGREE, SL_DIFF, SL__N };
enum { CL_SAME, CL_NEIGHBOUR, CL_DIFF, CL__N };
enum { PL_EXACT, PL_CLOSE, PL_DIFF, PL__N };
enum { OL_EXACT, OL_OCR, OL_TYPO, OL_DIFF, OL__N };
enum { AL_HIGH, AL_MID, AL_LOW, AL_DIFF, AL__N };

extern const int avrr__mf_levels[AVRR_MF__COUNT];

#define AVRR__MODEL_MAGIC 0x6d6f646cu

struct avrr_match_model {
    uint32_t magic;
    double prior;                 /* P(match) among blocked candidate pairs
                                     of a file of `population` records */
    /* The chance that a candidate is the same person falls as the
     * population grows: a name shared by 0.2 other persons among 10,000
     * records is shared by 20 among a million, each with the same weights.
     * A model's prior holds for `population` records (0: for any number);
     * scored among `records` > population, its prior odds are scaled by
     * population / records (avrr__match_model_set_records). Smaller files
     * keep the prior: a person checked against a small registry is mostly
     * not in it at all. */
    double population;
    double records;
    double m[AVRR_MF__COUNT][AVRR_MATCH_LEVELS_MAX];
    double u[AVRR_MF__COUNT][AVRR_MATCH_LEVELS_MAX];
    /* derived: log2(m/u) per level, log2 prior odds, log2 u */
    double w[AVRR_MF__COUNT][AVRR_MATCH_LEVELS_MAX];
    double lu[AVRR_MF__COUNT][AVRR_MATCH_LEVELS_MAX];
    double prior_w;
    /* Joint cells of the name and the birth date: for a chosen (name level,
     * date level) the pair's evidence from the two fields together,
     * jm = P(both levels | same person) and ju = P(both | different
     * persons), instead of the product of the two fields' own m and u
     * (which assumes them independent). One agreeing name token means
     * little alone (a shared family name among relatives), but with the
     * same full birth date it is mostly one person whose father's name was
     * taken for the family name. jset[l][d] says the cell is used;
     * estimated by avrr train, shipped defaults in model.c. */
    bool jset[NL__N][DL__N];
    double jm[NL__N][DL__N], ju[NL__N][DL__N];
    /* derived: what the cell adds to the two fields' weights,
     * log2(jm / ju) - w[name][l] - w[birth_date][d] (0 where not set) */
    double jw[NL__N][DL__N];
};

/* Name levels and date levels of the joint cells (the enumerations above). */
#define AVRR__JOINT_NAME_LEVELS NL__N
#define AVRR__JOINT_DATE_LEVELS DL__N
/* What the joint cell of a pair's name level nl and date level dl adds to
 * the sum of the two fields' weights (0 when either is null or the cell is
 * not set). */
static inline double avrr__match_joint_w(const avrr_match_model *m, int nl, int dl)
{
    return nl < 0 || dl < 0 ? 0.0 : m->jw[nl][dl];
}

/* Recomputes the derived weights after m, u, prior, population or records
 * changed. */
void avrr__match_model_derive(avrr_match_model *m);

/* Sets the number of records the model scores among and derives the prior
 * weight again; cheap (no logarithm but the prior's) when only that
 * changed. */
void avrr__match_model_set_records(avrr_match_model *m, double records);

/* The reference population of the shipped default model (records). */
#define AVRR__DEF_POPULATION 10000.0

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

/* ---- shared by the plaintext and the pseudonymised comparators ------------ */

/* Token similarity on the Jaro-Winkler scale of the plaintext comparator:
 * 1.0 only for identical tokens; the alignment thresholds below apply. */
#define AVRR__TOK_CLOSE 0.92
#define AVRR__TOK_WEAK 0.80
#define AVRR__KEY_SIM_MIN 0.70
#define AVRR__KEY_LIFT 0.93

/* Fills s[i][j] with the similarity of token i of name representation ia of
 * a and token j of representation ib of b. */
typedef void (*avrr__tok_sim_fill)(const avrr_match_rec *a, int ia,
                                   const avrr_match_rec *b, int ib,
                                   double s[AVRR__MT_MAXTOK][AVRR__MT_MAXTOK]);

/* The key-equality lift: two tokens whose name keys agree are the same name
 * spelt another way when their similarity s is at least
 * AVRR__KEY_SIM_MIN (or either comes from a script without short vowels). */
double avrr__match_key_lift(double s, bool keq, const avrr__mtok *x,
                            const avrr__mtok *y);

/* The name level of a pair by greedy token alignment over every pair of
 * representations, the similarities coming from fill. */
void avrr__match_name_level(const avrr_match_rec *a, const avrr_match_rec *b,
                            avrr__tok_sim_fill fill, avrr__mlevels *lv);

/* What the date comparator needs to know of a pair of dates; both the
 * plaintext values and the keyed hashes of a pseudonymised record answer it.
 * one_digit is only asked for when both dates are full and neither is a
 * placeholder. */
typedef struct avrr__date_facts {
    uint8_t prec_a, prec_b;
    bool ph;          /* either is a placeholder */
    int dy;           /* years apart: 0, 1, 2 (2 to FAR), FAR + 1 beyond */
    bool full_eq;     /* same year, month and day */
    bool swap_eq;     /* same year, day and month swapped */
    bool md_eq;       /* same month and day */
    bool month_eq;    /* same month (asked when dy == 0) */
} avrr__date_facts;

/* Years apart beyond which two dates are two people's. */
#define AVRR__FAR_YEARS 5

/* The date level from the facts; one_digit(ctx) says whether the two full
 * dates differ in one digit or one adjacent transposition. */
int avrr__match_date_level(const avrr__date_facts *f,
                           bool (*one_digit)(const void *ctx), const void *ctx);

/* The document level of a pair from its best document pair's facts. */
#define AVRR__DOC_TYPO_MIN 6

/* Levels of a pair of pseudonymised records (pseudo.c); both must come from
 * one key (else every field is different). */
void avrr__pseudo_levels(const avrr_match_rec *a, const avrr_match_rec *b,
                         avrr__mlevels *out);

/* The Dice-to-similarity map of pseudonymised tokens and its knots (for the
 * calibration in bench/clk/pseudo_calib.c; the registry never changes them:
 * they are part of AVRR_PSEUDO_VERSION). */
extern double avrr__pseudo_dice_min, avrr__pseudo_dice_weak,
    avrr__pseudo_dice_close, avrr__pseudo_dice_place;
double avrr__pseudo_dice_scale(double dice);
/* Dice of the filters of token i of representation ia of a and token j of
 * representation ib of b (both pseudonymised). */
double avrr__pseudo_tok_dice(const avrr_match_rec *a, int ia, int i,
                             const avrr_match_rec *b, int ib, int j);

/* Short forms of given names (nick.c). */
typedef struct avrr__nick {
    const char *short_form, *formal;
} avrr__nick;
/* The formal name a token of n bytes is a short form of, or NULL. */
const char *avrr__nick_formal(const char *t, size_t n);
/* The whole table, sorted by short form (for tests). */
const avrr__nick *avrr__nick_table(size_t *n);

/* The blocking keys of any record: plaintext keys, or the keyed ones a
 * pseudonymised record carries. */
size_t avrr__match_rec_block_keys(const avrr_match_rec *r, uint64_t *keys,
                                  size_t cap);

/* The two halves of avrr__match_levels: the name (the costly one: string
 * kernels over token pairs) and every other field (cheap), so that a batch
 * can bound a pair's weight from the other fields before comparing names.
 * For pseudonymised records the name half gives every level and the other
 * half none (avrr__pseudo_levels computes them together). */
void avrr__match_levels_name(const avrr_match_rec *a, const avrr_match_rec *b,
                             avrr__mlevels *out);
void avrr__match_levels_other(const avrr_match_rec *a,
                              const avrr_match_rec *b, avrr__mlevels *out);
/* avrr__match_levels_other but for the birth place's Jaro-Winkler: two
 * places that are not byte-equal get AVRR__PL_PENDING (close or different),
 * to be finished by avrr__match_place_level when the pair is still wanted
 * (a batch bounds its weight first). */
#define AVRR__PL_PENDING (-2)
void avrr__match_levels_other_lazy(const avrr_match_rec *a,
                                   const avrr_match_rec *b, avrr__mlevels *out);
int avrr__match_place_level(const avrr_match_rec *a, const avrr_match_rec *b);

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

/* An upper bound of a pair's weight, for rejecting index candidates before
 * the full comparison (compare.c). Prepared once per probe, from the model
 * and name frequencies of that moment; avrr__match_bound(p, b) is >= the
 * weight avrr__match_score gives to avrr__match_levels(probe, b), so it is
 * below p->need only when the pair's probability is below the threshold.
 * It remembers the similarity classes of the candidates' name tokens while
 * the query runs (the records must stay alive and unchanged until
 * avrr__match_bound_clear); one thread at a time. It never fails: without
 * memory to remember, it computes again. */
typedef struct avrr__mmemo avrr__mmemo;
typedef struct avrr__imemo avrr__imemo;
typedef struct avrr__mbound {
    const avrr_match_model *model;
    const avrr_match_rec *probe;
    double need;                       /* weight the threshold asks for */
    /* per date level of the pair (index 0: no date, then the levels):
     * best name weight with the joint cell of the name and that date level
     * at a name level >= l that has a TF adjustment, and the best of the
     * levels below NL_ONE */
    double name_w[DL__N + 1][NL_ONE + 1];
    double name_w_rest[DL__N + 1];
    double doc_w_max;                  /* best document weight */
    double addr_w_max;                 /* best address weight */
    double tf_term[2][AVRR__MT_MAXTOK]; /* TF term of each name token of
                                           the probe */
    avrr__mmemo *memo;
    size_t memo_mask, memo_n;
    uint32_t place_hash;               /* avrr__hash32 of the probe's place */
    avrr__imemo *imemo;                /* the same by interned token id */
    size_t imemo_mask, imemo_n;
} avrr__mbound;

void avrr__match_bound_prepare(const avrr_match_model *m, const avrr_match_tf *tf,
                               const avrr_match_rec *probe, double threshold,
                               avrr__mbound *out);
double avrr__match_bound(avrr__mbound *p, const avrr_match_rec *b);
void avrr__match_bound_clear(avrr__mbound *p);

/* A name token of the match index, interned: one copy per distinct token
 * (everything the token comparator reads of it equal), its strings in buf
 * (the offsets of t are into buf; NULL: a free id), and the number of
 * indexed name tokens that are it. */
typedef struct avrr__itok {
    char *buf;
    avrr__mtok t;
    uint32_t refs;
} avrr__itok;

/* Everything tok_sim reads of a token is equal in x and y (compare.c). */
bool avrr__match_tok_same(const char *bx, const avrr__mtok *x, const char *by,
                          const avrr__mtok *y);

/* What the weight bound reads of an indexed plaintext record, in one cache
 * line (index.c keeps one per slot in a dense array): the dates, sex and
 * nationality as the record has them, the interned ids of its name tokens,
 * a hash of its birth place and its document number packed (up to 10
 * characters of [0-9A-Z], 6 bits each). Parts of the bound that need more
 * (a place's Jaro-Winkler, addresses, a longer or second document, token
 * ids beyond 24 bits) read the full record, and the first three only when
 * the rest leaves the candidate in the race. */
enum {
    AVRR__BR_LIVE = 1,     /* the slot holds a plaintext record */
    AVRR__BR_PH = 2,       /* placeholder date */
    AVRR__BR_PLACE = 4,    /* has a birth place */
    AVRR__BR_DOC = 8,      /* has a document */
    AVRR__BR_ADDR = 16,    /* has address tokens */
    AVRR__BR_DOC_FULL = 32, /* the document is not packed: read the record */
    AVRR__BR_FULL = 64,    /* no token ids: the bound reads the record */
};
#define AVRR__BR_TOK_MAX 0xffffffu /* largest token id a bound record holds */
#define AVRR__BR_DOC_CHARS 10
typedef struct avrr__mbrec {
    uint8_t tok[2][AVRR__MT_MAXTOK][3]; /* ids of rec->name[j].t[i], 24 bits */
    uint32_t place_hash;                /* avrr__hash32 of the place's bytes */
    uint64_t doc; /* length << 60 | characters (digit value 0-35) << 6 i */
    int16_t year;
    int8_t month, day;
    uint8_t precision;
    uint8_t flags; /* AVRR__BR_* */
    uint8_t sex;
    int8_t region;
    char nat[3];
    uint8_t names; /* n_names << 6 | name[1].n << 3 | name[0].n */
} avrr__mbrec;

/* The bound record of a plaintext record whose name tokens have the ids
 * tok (as in avrr__mbrec); ids above id_mask (AVRR__BR_TOK_MAX, or less in
 * tests: 2^k - 1) are held cut to its bits, and the record is marked
 * AVRR__BR_FULL. */
void avrr__match_brec_fill(const avrr_match_rec *r, const uint32_t tok[2][AVRR__MT_MAXTOK],
                           uint32_t id_mask, avrr__mbrec *out);

static inline uint32_t avrr__brec_tok(const avrr__mbrec *b, int j, int i)
{
    const uint8_t *t = b->tok[j][i];
    return (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16;
}

/* avrr__match_bound of the record that b was made from, reading b and the
 * interned tokens toks; rec(ctx) gives the full record, called only when the
 * bound needs it. Never below the weight, as avrr__match_bound; may differ
 * from it (other early exits). */
double avrr__match_bound_brec(avrr__mbound *p, const avrr__mbrec *b, const avrr__itok *toks,
                              const avrr_match_rec *(*rec)(const void *ctx, uint32_t s),
                              const void *ctx, uint32_t s);

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

/* ---- sub-blocks (subblock.c): shared by the batch and the index ------------ */

/* Blocks larger than this are not scored whole but split by a second key
 * (sub-blocks): a common name key with a birth year (Mohammed, 1990) holds
 * thousands of records in a million, and scoring all their pairs costs
 * quadratic time for a handful of true pairs that share more than the one
 * key. 500 keeps every block of the returnee generator's 40,000 records and
 * of historical_50k whole but for a few dozen (blocking recall unchanged to
 * 0.1 point, docs/BENCHMARKS.md) and bounds the pairs a record meets at a
 * million records. The batch's default (`avrr dedup/link --block-cap`) and
 * the match index's cap: a check offers a probe the candidates `avrr link`
 * offers it. */
#define AVRR__SPLIT_CAP 500
/* Rounds of splitting: a block, then a sub-block of it, then one more. What
 * is still larger than the cap after that is skipped, as blocks over the cap
 * were before sub-blocks existed. */
#define AVRR__SPLIT_DEPTH 2
/* Second keys per record: name keys (two representations of up to six
 * tokens, each with its alternative) and two years. */
#define AVRR__MAX_SUBKEYS (4 * AVRR__MT_MAXTOK + 2)

/* The second keys of a record, by which a block too large to score whole is
 * split: each name key (a pair then shares two name keys, the sub-block of
 * "both name keys") and the birth year and the next one (name key and year;
 * years one apart meet). May repeat a key (callers drop the repeats).
 * Writes at most AVRR__MAX_SUBKEYS; returns the number written. */
size_t avrr__match_sub_keys(const avrr_match_rec *r, uint64_t *keys);

/* The key of a sub-block: its parent's key and a second key, mixed
 * (splitmix64's finaliser; cheaper than hashing the bytes). */
static inline uint64_t avrr__match_sub_mix(uint64_t parent, uint64_t k)
{
    uint64_t z = parent ^ (k * 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* What becomes of the records sharing a key (or a sub-block's keys) at a
 * round of splitting (depth 0: a blocking key): fewer than two, or as many
 * as the block it was split from (it says nothing new), is no block; within
 * the cap, a block whose pairs are candidates; larger, split again by the
 * second keys, or after the last round, skipped. size and parent count every
 * record of the batch, both sides of a link (parent 0 at depth 0). */
typedef enum { AVRR__BLK_NONE, AVRR__BLK_TAKE, AVRR__BLK_SPLIT, AVRR__BLK_CAPPED } avrr__blk_fate;
static inline avrr__blk_fate avrr__block_fate(size_t size, size_t parent, int depth, size_t cap)
{
    if (size < 2 || size == parent)
        return AVRR__BLK_NONE;
    if (size <= cap)
        return AVRR__BLK_TAKE;
    return depth >= AVRR__SPLIT_DEPTH ? AVRR__BLK_CAPPED : AVRR__BLK_SPLIT;
}

/* Canonical document number for OCR-tolerant comparison: upper case
 * alphanumerics only, with O->0, I/L->1, S->5, B->8, Z->2, G->6. */
size_t avrr__match_doc_canon(const char *s, char *out, size_t cap);

/* What one index query did: postings read, distinct candidates, candidates
 * compared in full (the others were rejected by their bound), hits. With
 * `exhaustive` set by the caller, every candidate is compared in full (the
 * reference the bound is tested against). */
typedef struct avrr__mqstats {
    bool exhaustive;
    size_t postings, candidates, compared, hits;
} avrr__mqstats;

/* avrr_match_index_query, telling what it did in *st (may be NULL). */
avrr_err avrr__match_index_query_stats(const avrr_match_index *idx,
                                       const avrr_identity *probe,
                                       double threshold, size_t max_hits,
                                       avrr_match_hit **hits, size_t *n_hits,
                                       avrr__mqstats *st);
/* For tests: the live records of an index with their identity ids (at most
 * cap), and the model and name frequencies its queries use. */
size_t avrr__match_index_records(const avrr_match_index *idx,
                                 const avrr_match_rec **recs, int64_t *ids,
                                 size_t cap);
const avrr_match_model *avrr__match_index_model(const avrr_match_index *idx);
/* Gives back the room the lists grew into (they double as they grow): at
 * 1M identities about a third of the postings' memory. For after a bulk
 * load; later additions grow the lists again. */
void avrr__match_index_trim(avrr_match_index *idx);
/* For tests: the block cap of an empty index (default AVRR__SPLIT_CAP, the
 * batch's default), so that a small population has split blocks.
 * AVRR_EINVALID once it holds records or for a cap below 2. */
avrr_err avrr__match_index_set_block_cap(avrr_match_index *idx, size_t cap);
const avrr_match_tf *avrr__match_index_tf(const avrr_match_index *idx);
/* For tests: the distinct name tokens the index holds interned (0 in the
 * pseudonymised mode), and in *refs the references to them (the name tokens
 * of its live records). */
size_t avrr__match_index_tokens(const avrr_match_index *idx, size_t *refs);
/* For tests: the bound a query gives identity_id, from its bound record
 * (b prepared for the probe); AVRR_ENOTFOUND when it is not in the index,
 * AVRR_EINVALID in the pseudonymised mode (no bound records). */
avrr_err avrr__match_index_bound_of(const avrr_match_index *idx, avrr__mbound *b,
                                    int64_t identity_id, double *ub);
/* For tests: the largest token id an empty index's bound records hold
 * (default AVRR__BR_TOK_MAX; 2^k - 1); a record with a larger one is
 * bounded from its full record. AVRR_EINVALID once it holds records, for 0,
 * a larger value or one not of that form. */
avrr_err avrr__match_index_set_tok_id_max(avrr_match_index *idx, uint32_t max);

#endif
