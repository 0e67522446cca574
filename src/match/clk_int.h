/* clk_int.h: the tunable inside of the CLK encoder (src/match/clk.c), for
 * the accuracy experiments of bench/clk only. The registry always encodes
 * with the defaults: changing a parameter changes every encoding, so the
 * parameters are part of AVRR_CLK_VERSION, not configuration. */
#ifndef AVRR_CLK_INT_H
#define AVRR_CLK_INT_H

#include <stdbool.h>

/* The fields hashed into the filter, each under its own keyed salt. */
enum {
    AVRR__CLK_F_NAME,     /* bigrams of the normalised name tokens */
    AVRR__CLK_F_NAMEKEY,  /* bigrams of the tokens' transliteration keys */
    AVRR__CLK_F_YEAR,     /* birth year */
    AVRR__CLK_F_YEAR2,    /* two-year buckets (year off by one still agrees) */
    AVRR__CLK_F_MONTH,
    AVRR__CLK_F_DAY,
    AVRR__CLK_F_YM,       /* year-month */
    AVRR__CLK_F_MD,       /* {day, month} unordered (day and month swapped) */
    AVRR__CLK_F_SEX,
    AVRR__CLK_F_DOC,      /* bigrams of OCR-canonical document numbers */
    AVRR__CLK_F_ADDR,     /* bigrams of the normalised address tokens */
    AVRR__CLK_F_NAT,      /* nationality (alpha-3) */
    AVRR__CLK_F_PLACE,    /* bigrams of the normalised birth place */
    AVRR__CLK_F__COUNT
};

typedef struct avrr__clk_params {
    int k[AVRR__CLK_F__COUNT]; /* hash functions per feature of each field */
    bool fold;    /* hash into 2048 bits, XOR-fold to 1024 */
    double blip;  /* keyed randomised response: flip probability per bit */
    bool full_name_always; /* also add full_name tokens when given/surname set */
} avrr__clk_params;

/* The parameters in use. Experiments may change them before encoding (not
 * thread-safe); the registry never does. */
extern avrr__clk_params avrr__clk_params_now;
extern const avrr__clk_params avrr__clk_params_default;

/* The 32-byte root of the per-field pseudonymised encodings (pseudo.c),
 * derived from the same secret as the CLK sub-keys. */
#include <stdint.h>
typedef struct avrr_clk_key avrr_clk_key;
const uint8_t *avrr__clk_key_pseudo(const avrr_clk_key *key);

/* The key file of avrr_clk_key_create / _load, for both the CLK key and
 * the pseudonym key (pseudo.c): errors name `field` and call the file
 * `what` ("the CLK key" / "an avrr CLK key"). create makes the file
 * (O_EXCL, 0600: AVRR_EEXISTS when it exists) with fresh random bytes;
 * read checks owner, mode and form. Both leave the 32 secret bytes in
 * master (wiped on error); the caller wipes them after use. */
#include "avrr/error.h"
avrr_err avrr__key_file_create(const char *path, const char *field, const char *what,
                               uint8_t master[32], avrr_error *e);
avrr_err avrr__key_file_read(const char *path, const char *field, const char *what,
                             uint8_t master[32], avrr_error *e);

#endif
