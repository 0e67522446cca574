/* compare.c: field comparators with levels and the Fellegi-Sunter score.
 *
 * DESIGN.md 5.4-5.6. Each field of a pair is put into a level (strongest
 * agreement first, or null when either side lacks it); the model turns each
 * level into a weight log2(m/u), names adjusted by how common the agreeing
 * names are, and the sum with the prior into a probability. The levels follow
 * what registrations really do to a person's details; the EU MID delegated
 * acts (2023/332, 2023/333) were the checklist.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "match_int.h"

const int avrr__mf_levels[AVRR_MF__COUNT] = {NL__N, DL__N, SL__N, CL__N,
                                             PL__N, OL__N, AL__N};

static const char *const field_names[AVRR_MF__COUNT] = {
    "name", "birth_date", "sex", "nationality", "birth_place", "document",
    "address"};

static const char *const level_names[AVRR_MF__COUNT][AVRR_MATCH_LEVELS_MAX] = {
    {"exact", "all_close", "subset", "most", "one_token", "different"},
    {"exact", "exact_placeholder", "typo_or_swap", "same_year_imprecise",
     "year_off_by_one", "year_off_by_one_imprecise", "different",
     "far_apart"},
    {"agree", "different"},
    {"same", "neighbour", "different"},
    {"exact", "close", "different"},
    {"exact", "ocr_confusion", "typo", "different"},
    {"high", "medium", "low", "different"},
};

const char *avrr_match_field_name(int field)
{
    return field >= 0 && field < AVRR_MF__COUNT ? field_names[field] : NULL;
}

int avrr_match_field_levels(int field)
{
    return field >= 0 && field < AVRR_MF__COUNT ? avrr__mf_levels[field] : 0;
}

const char *avrr_match_level_name(int field, int level)
{
    if (field < 0 || field >= AVRR_MF__COUNT)
        return NULL;
    if (level == AVRR_MATCH_LEVEL_NULL)
        return "null";
    if (level < 0 || level >= avrr__mf_levels[field])
        return NULL;
    return level_names[field][level];
}

/* ---- names ------------------------------------------------------------------ */

/* A token pair at or above this similarity agrees (JW 0.92: one typo in a
 * six-letter name, or a transliteration variant lifted by its key). */
#define TOK_CLOSE AVRR__TOK_CLOSE
/* Below TOK_CLOSE but at or above this: a related spelling. */
#define TOK_WEAK AVRR__TOK_WEAK
/* Two tokens with the same key and a JW of at least this are taken as the
 * same name spelt another way (on the spelling-normalised forms Joessef and
 * Youssef are both yusef); below it the shared skeleton is a coincidence
 * (Asif/Yusuf 0.63). */
#define KEY_JW_MIN AVRR__KEY_SIM_MIN
#define KEY_LIFT AVRR__KEY_LIFT

static double jw(const char *a, size_t na, const char *b, size_t nb)
{
    return avrr_match_jaro_winkler(a, na, b, nb);
}

static bool within_one_edit(const char *x, size_t nx, const char *y, size_t ny)
{
    if (nx > ny + 1 || ny > nx + 1)
        return false;
    size_t i = 0, j = 0;
    int edits = 0;
    while (i < nx && j < ny) {
        if (x[i] == y[j]) {
            i++;
            j++;
            continue;
        }
        if (++edits > 1)
            return false;
        if (nx == ny) {
            if (i + 1 < nx && x[i] == y[j + 1] && x[i + 1] == y[j]) {
                i += 2; /* adjacent transposition */
                j += 2;
                continue;
            }
            i++;
            j++;
        } else if (nx > ny) {
            i++;
        } else {
            j++;
        }
    }
    edits += (int)(nx - i) + (int)(ny - j);
    return edits <= 1;
}

/* One slip of the pen in a name long enough that one letter cannot make
 * another name: a letter dropped, added or two swapped (Tekle/Teke,
 * Jallow/Jalow) from 4 letters on, a letter replaced from 6 on (Amir/Amin,
 * Omar/Amar stay apart). */
static bool name_slip(const char *x, size_t nx, const char *y, size_t ny)
{
    size_t lo = nx < ny ? nx : ny;
    if (lo < 4 || !within_one_edit(x, nx, y, ny))
        return false;
    if (nx != ny)
        return true;
    size_t diff = 0;
    for (size_t i = 0; i < nx; i++)
        diff += x[i] != y[i];
    return diff == 2 || lo >= 6; /* 2: adjacent letters swapped */
}

static double tok_sim(const char *ba, const avrr__mtok *x, const char *bb,
                      const avrr__mtok *y)
{
    if (x->hash == y->hash && x->len == y->len &&
        memcmp(ba + x->off, bb + y->off, x->len) == 0)
        return 1.0;
    bool keq = x->key == y->key;
    double s = 0;
    /* The spelling-normalised forms carry the raw forms' similarity and
     * more (yusef = yusef); one kernel call instead of two. Pairs whose
     * lengths already rule out a weak agreement are not compared at all,
     * unless their keys agree. */
    if (keq || x->alt_len || y->alt_len ||
        avrr__jaro_winkler_bound(ba + x->sp_off, x->sp_len, &x->sp_chars,
                                 bb + y->sp_off, y->sp_len,
                                 &y->sp_chars) >= TOK_WEAK)
        s = jw(ba + x->sp_off, x->sp_len, bb + y->sp_off, y->sp_len);
    if (x->alt_len && s < TOK_CLOSE) {
        double t = jw(ba + x->alt_off, x->alt_len, bb + y->off, y->len);
        s = t > s ? t : s;
        keq |= x->alt_key == y->key;
    }
    if (y->alt_len && s < TOK_CLOSE) {
        double t = jw(ba + x->off, x->len, bb + y->alt_off, y->alt_len);
        s = t > s ? t : s;
        keq |= y->alt_key == x->key;
    }
    /* a short form and its formal name (Bill, William), or two short forms
     * of one name (Bill, Billy): a close spelling, not the same one */
    if (s < KEY_LIFT &&
        ((x->nick && (x->alt_key == y->key ||
                      (y->nick && x->alt_key == y->alt_key))) ||
         (y->nick && y->alt_key == x->key)))
        return KEY_LIFT;
    if (s < TOK_CLOSE && s >= TOK_WEAK &&
        (name_slip(ba + x->sp_off, x->sp_len, bb + y->sp_off, y->sp_len) ||
         name_slip(ba + x->off, x->len, bb + y->off, y->len)))
        s = TOK_CLOSE;
    return avrr__match_key_lift(s, keq, x, y);
}

double avrr__match_key_lift(double s, bool keq, const avrr__mtok *x,
                            const avrr__mtok *y)
{
    /* a name from Arabic script has no short vowels (ywsf): its key is all
     * there is to compare with a Latin spelling. A one-consonant key (Jawad,
     * Jaiad: "D") says too little to lift anything. */
    if (keq && s < KEY_LIFT && x->key_len >= 2 && y->key_len >= 2 &&
        (s >= KEY_JW_MIN || x->abjad || y->abjad))
        s = KEY_LIFT;
    return s;
}

static void plain_fill(const avrr_match_rec *a, int ia, const avrr_match_rec *b,
                       int ib, double s[AVRR__MT_MAXTOK][AVRR__MT_MAXTOK])
{
    const avrr__mname *x = &a->name[ia], *y = &b->name[ib];
    for (int i = 0; i < x->n; i++)
        for (int j = 0; j < y->n; j++)
            s[i][j] = tok_sim(a->buf, &x->t[i], b->buf, &y->t[j]);
}

typedef struct name_cmp {
    int level;
    int n_agree;
    uint32_t keys[AVRR__MT_MAXTOK];
} name_cmp;

static void compare_names(const avrr__mname *a, const avrr__mname *b,
                          double s[AVRR__MT_MAXTOK][AVRR__MT_MAXTOK],
                          name_cmp *out)
{
    int na = a->n, nb = b->n;
    /* greedy alignment, best pair first (n <= 6: exact enough, tiny) */
    bool ua[AVRR__MT_MAXTOK] = {0}, ub[AVRR__MT_MAXTOK] = {0};
    int nmin = na < nb ? na : nb;
    int n_exact = 0, n_close = 0, n_weak = 0;
    out->n_agree = 0;
    for (int k = 0; k < nmin; k++) {
        double best = -1;
        int bi = -1, bj = -1;
        for (int i = 0; i < na; i++) {
            if (ua[i])
                continue;
            for (int j = 0; j < nb; j++)
                if (!ub[j] && s[i][j] > best) {
                    best = s[i][j];
                    bi = i;
                    bj = j;
                }
        }
        if (bi < 0)
            break;
        ua[bi] = ub[bj] = true;
        if (best >= 1.0)
            n_exact++;
        if (best >= TOK_CLOSE) {
            n_close++;
            out->keys[out->n_agree++] = a->t[bi].key;
        } else if (best >= TOK_WEAK) {
            n_weak++;
        }
    }
    if (na == nb && n_exact == na)
        out->level = NL_EXACT;
    else if (na == nb && n_close == na)
        out->level = NL_ALL_CLOSE;
    else if (nmin >= 2 && n_close == nmin)
        out->level = NL_SUBSET;
    else if (n_close >= 2 || (nmin >= 2 && n_close >= 1 &&
                              n_close + n_weak == nmin) ||
             (nmin == 1 && n_close == 1))
        out->level = NL_MOST;
    else if (n_close == 1)
        out->level = NL_ONE;
    else
        out->level = NL_NONE;
}

void avrr__match_name_level(const avrr_match_rec *a, const avrr_match_rec *b,
                            avrr__tok_sim_fill fill, avrr__mlevels *lv)
{
    if (a->n_names == 0 || b->n_names == 0) {
        lv->level[AVRR_MF_NAME] = AVRR_MATCH_LEVEL_NULL;
        lv->n_agree = 0;
        return;
    }
    name_cmp best = {.level = NL__N, .n_agree = 0};
    for (int i = 0; i < a->n_names; i++)
        for (int j = 0; j < b->n_names; j++) {
            name_cmp c;
            double sm[AVRR__MT_MAXTOK][AVRR__MT_MAXTOK];
            fill(a, i, b, j, sm);
            compare_names(&a->name[i], &b->name[j], sm, &c);
            if (c.level < best.level ||
                (c.level == best.level && c.n_agree > best.n_agree)) {
                best = c;
                lv->sig_a = a->name[i].sig;
                lv->sig_b = b->name[j].sig;
            }
            if (best.level == NL_EXACT)
                goto done;
        }
done:
    lv->level[AVRR_MF_NAME] = (int8_t)best.level;
    lv->n_agree = (uint8_t)best.n_agree;
    memcpy(lv->agree_key, best.keys, sizeof(uint32_t) * (size_t)best.n_agree);
}

/* ---- dates ------------------------------------------------------------------ */

/* A date as the date level reads it: of a record, or of an index's bound
 * record (avrr__mbrec). */
typedef struct dval {
    int year, month, day, precision;
    bool placeholder;
} dval;

static dval dval_of(const avrr_match_rec *r)
{
    return (dval){r->year, r->month, r->day, r->precision, r->placeholder};
}

/* The eight digits of a date (yyyymmdd) as nibbles, the year's first;
 * false when a value does not fit its digits (then the slow path). */
static bool date_nibbles(const dval *r, uint32_t *out)
{
    int y = r->year, m = r->month, d = r->day;
    if (y < 0 || y > 9999 || m < 0 || m > 99 || d < 0 || d > 99)
        return false;
    *out = (uint32_t)(y / 1000) << 28 | (uint32_t)(y / 100 % 10) << 24 |
           (uint32_t)(y / 10 % 10) << 20 | (uint32_t)(y % 10) << 16 |
           (uint32_t)(m / 10) << 12 | (uint32_t)(m % 10) << 8 |
           (uint32_t)(d / 10) << 4 | (uint32_t)(d % 10);
    return true;
}

static int digits_diff_slow(const dval *a, const dval *b);

static int digits_diff(const dval *a, const dval *b)
{
    uint32_t x, y;
    if (!date_nibbles(a, &x) || !date_nibbles(b, &y))
        return digits_diff_slow(a, b);
    uint32_t d = x ^ y;
    if (d == 0)
        return 0;
    /* one bit per differing nibble */
    uint32_t nz = (d | d >> 1 | d >> 2 | d >> 3) & 0x11111111u;
    int diff = (int)((nz * 0x11111111u) >> 28); /* sum of the 8 flags */
    if (diff == 2) {
        int first = __builtin_clz(d) / 4; /* digit index from the left */
        if (first < 7) {
            int sh = 28 - 4 * first;
            uint32_t x0 = x >> sh & 15, x1 = x >> (sh - 4) & 15;
            uint32_t y0 = y >> sh & 15, y1 = y >> (sh - 4) & 15;
            if (x0 == y1 && x1 == y0)
                return 1; /* two adjacent digits transposed: one slip */
        }
    }
    return diff;
}

static int digits_diff_slow(const dval *a, const dval *b)
{
    char x[9], y[9];
    int vx[3] = {a->year, a->month, a->day}, vy[3] = {b->year, b->month, b->day};
    int w[3] = {4, 2, 2}, p = 0;
    for (int k = 0; k < 3; k++) {
        int dx = vx[k], dy = vy[k];
        for (int d = w[k] - 1; d >= 0; d--) {
            x[p + d] = (char)('0' + dx % 10);
            y[p + d] = (char)('0' + dy % 10);
            dx /= 10;
            dy /= 10;
        }
        p += w[k];
    }
    int diff = 0, first = -1;
    for (int i = 0; i < 8; i++)
        if (x[i] != y[i]) {
            if (first < 0)
                first = i;
            diff++;
        }
    /* two adjacent digits transposed count as one slip */
    if (diff == 2 && first < 7 && x[first] == y[first + 1] &&
        x[first + 1] == y[first])
        return 1;
    return diff;
}

static bool plain_one_digit(const void *ctx)
{
    const dval *const *p = ctx;
    return digits_diff(p[0], p[1]) == 1;
}

int avrr__match_date_level(const avrr__date_facts *f,
                           bool (*one_digit)(const void *ctx), const void *ctx)
{
    int dy = f->dy;
    bool ph = f->ph;
    if (f->prec_a == AVRR_DATE_DAY && f->prec_b == AVRR_DATE_DAY) {
        if (f->full_eq)
            return ph ? DL_EXACT_PH : DL_EXACT;
        if (f->swap_eq)
            return DL_TYPO;
        if (dy == 1 && (ph || f->md_eq))
            return ph ? DL_YEAR1_PH : DL_YEAR1;
        if (!ph && one_digit(ctx))
            return DL_TYPO;
        if (dy == 0 && ph)
            return DL_YEAR_PH;
        return dy > AVRR__FAR_YEARS ? DL_FAR : DL_DIFF;
    }
    /* at least one side imprecise (year only, or year and month) */
    if (dy == 0) {
        if (f->prec_a >= AVRR_DATE_MONTH && f->prec_b >= AVRR_DATE_MONTH &&
            !f->month_eq && !ph)
            return DL_DIFF;
        return DL_YEAR_PH;
    }
    if (dy == 1)
        return DL_YEAR1_PH;
    return dy > AVRR__FAR_YEARS ? DL_FAR : DL_DIFF;
}

static int date_level_v(const dval *a, const dval *b)
{
    if (a->precision == AVRR_DATE_UNKNOWN || b->precision == AVRR_DATE_UNKNOWN)
        return AVRR_MATCH_LEVEL_NULL;
    int dy = abs(a->year - b->year);
    avrr__date_facts f = {
        .prec_a = a->precision,
        .prec_b = b->precision,
        .ph = a->placeholder || b->placeholder,
        .dy = dy,
        .full_eq = dy == 0 && a->month == b->month && a->day == b->day,
        .swap_eq = dy == 0 && a->month == b->day && a->day == b->month,
        .md_eq = a->month == b->month && a->day == b->day,
        .month_eq = a->month == b->month,
    };
    const dval *pair[2] = {a, b};
    return avrr__match_date_level(&f, plain_one_digit, pair);
}

static int date_level(const avrr_match_rec *a, const avrr_match_rec *b)
{
    dval x = dval_of(a), y = dval_of(b);
    return date_level_v(&x, &y);
}

/* ---- nationality ------------------------------------------------------------ */

/* Regions within which a claimed nationality is often a neighbour's: the
 * origin groups of returnees (a Moroccan registering as Algerian, an Eritrean
 * as Ethiopian). */
int avrr__match_region(const char *c)
{
    static const char *const regions[] = {
        "MAR DZA TUN LBY MRT ESH EGY",
        "SYR IRQ LBN JOR PSE ISR KWT SAU YEM",
        "AFG IRN PAK",
        "ERI ETH SOM SDN SSD DJI",
        "GIN SEN MLI CIV GMB GNB SLE LBR NGA GHA BFA NER TGO BEN CMR",
        "ALB SRB XKX MKD BIH MNE HRV",
        "RUS UKR BLR GEO ARM AZE MDA KAZ UZB TJK KGZ TKM",
        "IND BGD LKA NPL",
        "COD COG CAF TCD AGO",
        NULL};
    for (int r = 0; regions[r]; r++)
        for (const char *p = regions[r]; *p; p += p[3] ? 4 : 3)
            if (memcmp(p, c, 3) == 0)
                return r;
    return -1;
}

static int nat_level_v(const char *na, int ra, const char *nb, int rb)
{
    if (!na[0] || !nb[0])
        return AVRR_MATCH_LEVEL_NULL;
    if (memcmp(na, nb, 3) == 0)
        return CL_SAME;
    if (ra >= 0 && ra == rb)
        return CL_NEIGHBOUR;
    return CL_DIFF;
}

static int nat_level(const avrr_match_rec *a, const avrr_match_rec *b)
{
    return nat_level_v(a->nat, a->region, b->nat, b->region);
}

/* ---- documents -------------------------------------------------------------- */

/* avrr__match_doc_canon of a stored number (already [0-9A-Z], at most
 * AVRR_CODE_MAX long: record.c cleans it) by a table; anything else takes
 * the general function. */
static size_t doc_canon_fast(const char *s, size_t n, char *out)
{
    static const char az[] = "A8C0EF6H1JK1MN0P0R51UVWXY2";
    if (n > AVRR_CODE_MAX)
        return avrr__match_doc_canon(s, out, AVRR_CODE_MAX + 1);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            out[i] = az[c - 'A'];
        else if (c >= '0' && c <= '9')
            out[i] = c;
        else
            return avrr__match_doc_canon(s, out, AVRR_CODE_MAX + 1);
    }
    out[n] = '\0';
    return n;
}

static int doc_pair(const char *x, size_t nx, const char *y, size_t ny)
{
    if (nx == ny && memcmp(x, y, nx) == 0)
        return OL_EXACT;
    char cx[AVRR_CODE_MAX + 1], cy[AVRR_CODE_MAX + 1];
    size_t lx = doc_canon_fast(x, nx, cx), ly = doc_canon_fast(y, ny, cy);
    if (lx == ly && memcmp(cx, cy, lx) == 0)
        return OL_OCR;
    /* one edit is a typo only when the numbers are long enough to be unlikely
     * to meet by chance (6+ characters) */
    if (lx >= 6 && ly >= 6 && within_one_edit(cx, lx, cy, ly))
        return OL_TYPO;
    return OL_DIFF;
}

static int doc_level(const avrr_match_rec *a, const avrr_match_rec *b)
{
    if (!a->doc_len || !b->doc_len)
        return AVRR_MATCH_LEVEL_NULL;
    int best = doc_pair(a->buf + a->doc_off, a->doc_len, b->buf + b->doc_off,
                        b->doc_len);
    if (best != OL_EXACT && a->doc2_len) {
        int l = doc_pair(a->buf + a->doc2_off, a->doc2_len, b->buf + b->doc_off,
                         b->doc_len);
        best = l < best ? l : best;
    }
    if (best != OL_EXACT && b->doc2_len) {
        int l = doc_pair(a->buf + a->doc_off, a->doc_len, b->buf + b->doc2_off,
                         b->doc2_len);
        best = l < best ? l : best;
    }
    return best;
}

/* ---- place and address ------------------------------------------------------- */

static int place_level(const avrr_match_rec *a, const avrr_match_rec *b)
{
    if (!a->place_len || !b->place_len)
        return AVRR_MATCH_LEVEL_NULL;
    const char *x = a->buf + a->place_off, *y = b->buf + b->place_off;
    if (a->place_len == b->place_len && memcmp(x, y, a->place_len) == 0)
        return PL_EXACT;
    /* Places are compared on their first 64 bytes. */
    size_t nx = a->place_len > 64 ? 64 : a->place_len;
    size_t ny = b->place_len > 64 ? 64 : b->place_len;
    return avrr_match_jaro_winkler(x, nx, y, ny) >= 0.88 ? PL_CLOSE : PL_DIFF;
}

static int addr_level(const avrr_match_rec *a, const avrr_match_rec *b)
{
    if (!a->n_addr || !b->n_addr)
        return AVRR_MATCH_LEVEL_NULL;
    int shared = 0;
    for (int i = 0; i < a->n_addr; i++)
        for (int j = 0; j < b->n_addr; j++)
            shared += a->addr[i] == b->addr[j];
    /* Dice coefficient of the token sets */
    double d = 2.0 * shared / (double)(a->n_addr + b->n_addr);
    if (d >= 0.8)
        return AL_HIGH;
    if (d >= 0.5)
        return AL_MID;
    if (d >= 0.25)
        return AL_LOW;
    return AL_DIFF;
}

void avrr__match_levels_name(const avrr_match_rec *a, const avrr_match_rec *b,
                             avrr__mlevels *lv)
{
    if (a->pz || b->pz) {
        /* the pseudonymised comparator gives every level at once (the
         * other fields' too; avrr__match_levels_other leaves them); keyed
         * address hashes keep their equalities: addr_level serves */
        avrr__pseudo_levels(a, b, lv);
        if (a->pz && b->pz)
            lv->level[AVRR_MF_ADDRESS] = (int8_t)addr_level(a, b);
        return;
    }
    avrr__match_name_level(a, b, plain_fill, lv);
}

void avrr__match_levels_other_lazy(const avrr_match_rec *a,
                                   const avrr_match_rec *b, avrr__mlevels *lv)
{
    if (a->pz || b->pz)
        return;
    lv->level[AVRR_MF_BIRTH_DATE] = (int8_t)date_level(a, b);
    if (a->sex == AVRR_SEX_UNKNOWN || b->sex == AVRR_SEX_UNKNOWN)
        lv->level[AVRR_MF_SEX] = AVRR_MATCH_LEVEL_NULL;
    else
        lv->level[AVRR_MF_SEX] = a->sex == b->sex ? SL_AGREE : SL_DIFF;
    lv->level[AVRR_MF_NATIONALITY] = (int8_t)nat_level(a, b);
    if (!a->place_len || !b->place_len)
        lv->level[AVRR_MF_BIRTH_PLACE] = AVRR_MATCH_LEVEL_NULL;
    else if (a->place_len == b->place_len &&
             memcmp(a->buf + a->place_off, b->buf + b->place_off,
                    a->place_len) == 0)
        lv->level[AVRR_MF_BIRTH_PLACE] = PL_EXACT;
    else
        lv->level[AVRR_MF_BIRTH_PLACE] = AVRR__PL_PENDING;
    lv->level[AVRR_MF_DOCUMENT] = (int8_t)doc_level(a, b);
    lv->level[AVRR_MF_ADDRESS] = (int8_t)addr_level(a, b);
}

int avrr__match_place_level(const avrr_match_rec *a, const avrr_match_rec *b)
{
    return place_level(a, b);
}

void avrr__match_levels_other(const avrr_match_rec *a,
                              const avrr_match_rec *b, avrr__mlevels *lv)
{
    avrr__match_levels_other_lazy(a, b, lv);
    if (!a->pz && !b->pz &&
        lv->level[AVRR_MF_BIRTH_PLACE] == AVRR__PL_PENDING)
        lv->level[AVRR_MF_BIRTH_PLACE] = (int8_t)place_level(a, b);
}

void avrr__match_levels(const avrr_match_rec *a, const avrr_match_rec *b,
                        avrr__mlevels *lv)
{
    avrr__match_levels_name(a, b, lv);
    avrr__match_levels_other(a, b, lv);
}

/* ---- scoring ---------------------------------------------------------------- */

void avrr__match_score(const avrr_match_model *m, const avrr_match_tf *tf,
                       const avrr__mlevels *lv, avrr_match_explanation *out)
{
    double total = m->prior_w;
    for (int f = 0; f < AVRR_MF__COUNT; f++) {
        int l = lv->level[f];
        double w = 0;
        if (l != AVRR_MATCH_LEVEL_NULL)
            w = m->w[f][l];
        if (f == AVRR_MF_NAME && l != AVRR_MATCH_LEVEL_NULL && l <= NL_ONE &&
            tf && lv->n_agree > 0) {
            /* per agreeing name: log2(how often two random names agree /
             * how often they agree on this one), Splink's u_tf */
            double adj = 0, avg = avrr__match_tf_freq(tf, 0);
            for (int k = 0; k < lv->n_agree; k++)
                adj += log2(avg / avrr__match_tf_freq(tf, lv->agree_key[k]));
            /* names are not independent (Mariama goes with Diallo): where
             * the whole name agrees, its own frequency may say it is more
             * common than its parts suggest */
            if (l <= NL_ALL_CLOSE) {
                double s = avrr__match_tf_sig_adj(tf, lv->sig_a, lv->sig_b);
                if (s < adj)
                    adj = s;
            }
            if (adj > TF_ADJ_MAX)
                adj = TF_ADJ_MAX;
            if (adj < TF_ADJ_MIN)
                adj = TF_ADJ_MIN;
            w += adj;
        }
        out->field[f].level = (int8_t)l;
        out->field[f].weight = (float)w;
        total += w;
    }
    /* the name and the birth date together, where the model has a joint
     * cell for their levels */
    double jw = avrr__match_joint_w(m, lv->level[AVRR_MF_NAME], lv->level[AVRR_MF_BIRTH_DATE]);
    out->name_x_birth_date_weight = (float)jw;
    total += jw;
    out->prior_weight = m->prior_w;
    out->weight = total;
    out->probability = 1.0 / (1.0 + exp2(-total));
}

void avrr_match_compare(const avrr_match_model *m, const avrr_match_tf *tf,
                        const avrr_match_rec *a, const avrr_match_rec *b,
                        avrr_match_explanation *out)
{
    avrr__mlevels lv;
    if (!m)
        m = avrr_match_model_default();
    if (!tf)
        tf = avrr_match_tf_builtin();
    avrr__match_levels(a, b, &lv);
    avrr__match_score(m, tf, &lv, out);
}

/* ---- upper bounds, for the index's cheap rejection ------------------------------ */

/* The index rejects a candidate before the full comparison when an upper
 * bound of its weight cannot reach the query's threshold. The bound lives
 * here, beside what it bounds: a change to tok_sim, compare_names, a level
 * function or avrr__match_score must keep it >= what those compute
 * (tests/unit/test_match.c compares it with the score on generated pairs,
 * and the index query with scoring every candidate). It reads the weights
 * from the model at run time, never constants, so it stays exact when the
 * weights change.
 *
 * Names are bounded from the real token similarities, remembered per query
 * for each distinct candidate token: a query's candidates share their names
 * (that is why they are candidates), and a token seen before costs one
 * table look-up. */

/* Slack against rounding: the bound sums in another order than the score. */
#define BOUND_EPS 1e-6

/* What a token pair's similarity counts as in compare_names. */
enum { TS_NONE, TS_WEAK, TS_CLOSE, TS_EXACT };

static uint8_t tok_class(double s)
{
    return s >= 1.0 ? TS_EXACT : s >= TOK_CLOSE ? TS_CLOSE : s >= TOK_WEAK ? TS_WEAK : TS_NONE;
}

struct avrr__mmemo {
    const char *buf; /* NULL: empty entry */
    const avrr__mtok *t;
    uint8_t cls[2][AVRR__MT_MAXTOK]; /* against each token of the probe */
};

/* Everything tok_sim reads of its second token is equal in x and y. */
static bool tok_same(const char *bx, const avrr__mtok *x, const char *by, const avrr__mtok *y)
{
    return avrr__match_tok_same(bx, x, by, y);
}

bool avrr__match_tok_same(const char *bx, const avrr__mtok *x, const char *by,
                          const avrr__mtok *y)
{
    return x->hash == y->hash && x->len == y->len && x->key == y->key &&
           x->alt_key == y->alt_key && x->alt_len == y->alt_len && x->sp_len == y->sp_len &&
           x->key_len == y->key_len && x->abjad == y->abjad && x->nick == y->nick &&
           x->sp_chars.once == y->sp_chars.once && x->sp_chars.twice == y->sp_chars.twice &&
           x->sp_chars.more == y->sp_chars.more &&
           memcmp(bx + x->off, by + y->off, x->len) == 0 &&
           memcmp(bx + x->sp_off, by + y->sp_off, x->sp_len) == 0 &&
           memcmp(bx + x->alt_off, by + y->alt_off, x->alt_len) == 0;
}

static void tok_classes(const avrr__mbound *p, const char *bb, const avrr__mtok *y,
                        uint8_t cls[2][AVRR__MT_MAXTOK])
{
    const avrr_match_rec *a = p->probe;
    for (int k = 0; k < a->n_names; k++)
        for (int i = 0; i < a->name[k].n; i++)
            cls[k][i] = tok_class(tok_sim(a->buf, &a->name[k].t[i], bb, y));
}

/* First size of the memo (entries; it doubles when half full): small, so
 * that the tests' populations make it grow. */
#define MEMO_FIRST 64

/* Makes room for `more` tokens at most half full. Called before a
 * candidate's tokens are looked up, never during: the pointers classes_of
 * returns for one candidate must stay valid together. */
static void memo_reserve(avrr__mbound *p, size_t more)
{
    if ((p->memo_n + more) * 2 <= p->memo_mask + 1 && p->memo)
        return;
    size_t cap = p->memo ? 2 * (p->memo_mask + 1) : MEMO_FIRST;
    while ((p->memo_n + more) * 2 > cap)
        cap *= 2;
    avrr__mmemo *nm = avrr_calloc(cap, sizeof *nm);
    if (!nm)
        return; /* the bound goes on without remembering */
    for (size_t i = 0; p->memo && i <= p->memo_mask; i++)
        if (p->memo[i].buf) {
            size_t s = (p->memo[i].t->hash * 0x9e3779b1u) & (cap - 1);
            while (nm[s].buf)
                s = (s + 1) & (cap - 1);
            nm[s] = p->memo[i];
        }
    avrr_free(p->memo);
    p->memo = nm;
    p->memo_mask = cap - 1;
}

/* The classes of token y of a candidate against every token of the probe:
 * remembered when memo_reserve made room, else computed into tmp. */
static const uint8_t (*classes_of(avrr__mbound *p, const char *bb, const avrr__mtok *y,
                                  uint8_t tmp[2][AVRR__MT_MAXTOK]))[AVRR__MT_MAXTOK]
{
    if (!p->memo || (p->memo_n + 1) * 2 > p->memo_mask + 1) {
        tok_classes(p, bb, y, tmp);
        return (const uint8_t(*)[AVRR__MT_MAXTOK])tmp;
    }
    size_t s = (y->hash * 0x9e3779b1u) & p->memo_mask;
    while (p->memo[s].buf) {
        if (tok_same(p->memo[s].buf, p->memo[s].t, bb, y))
            return (const uint8_t(*)[AVRR__MT_MAXTOK])p->memo[s].cls;
        s = (s + 1) & p->memo_mask;
    }
    p->memo[s].buf = bb;
    p->memo[s].t = y;
    tok_classes(p, bb, y, p->memo[s].cls);
    p->memo_n++;
    return (const uint8_t(*)[AVRR__MT_MAXTOK])p->memo[s].cls;
}

/* The strongest level compare_names can give to probe name k against b,
 * from the classes of the token pairs: each count of its greedy alignment (a
 * matching) is at most the number of rows, and of columns, that have a pair
 * of that class or better, and the level tests only grow with the counts.
 * *adj bounds the TF adjustment: 1 to n_close of the probe's tokens agree
 * (none only when a name has no tokens), among the rows that can be close. */
static int name_level_upper(const avrr__mbound *p, int k, const avrr__mname *b,
                            const uint8_t (*const *cls)[AVRR__MT_MAXTOK], double *adj)
{
    int na = p->probe->name[k].n, nb = b->n, nmin = na < nb ? na : nb;
    unsigned r[4] = {0}, c[4] = {0};
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++) {
            int x = cls[j][k][i];
            for (int q = TS_WEAK; q <= x; q++) {
                r[q] |= 1u << i;
                c[q] |= 1u << j;
            }
        }
    int cnt[4];
    for (int q = TS_WEAK; q <= TS_EXACT; q++) {
        int x = (int)avrr__popcount64(r[q]), y = (int)avrr__popcount64(c[q]);
        cnt[q] = x < y ? x : y;
    }
    int n_exact = cnt[TS_EXACT], n_close = cnt[TS_CLOSE], n_cw = cnt[TS_WEAK];
    /* between 1 and n_close terms of rows that can be close: the best one,
     * plus the positive ones among the next best */
    double top[AVRR__MT_MAXTOK];
    int nt = 0;
    for (int i = 0; i < na; i++)
        if (r[TS_CLOSE] & (1u << i)) {
            double t = p->tf_term[k][i];
            int q = nt++;
            while (q > 0 && top[q - 1] < t) {
                top[q] = top[q - 1];
                q--;
            }
            top[q] = t;
        }
    *adj = 0;
    for (int q = 0; q < n_close; q++)
        *adj += q == 0 || top[q] > 0 ? top[q] : 0;
    if (*adj > TF_ADJ_MAX)
        *adj = TF_ADJ_MAX;
    if (*adj < TF_ADJ_MIN)
        *adj = TF_ADJ_MIN;
    if (n_close == 0)
        *adj = 0; /* no agreeing name, no adjustment */
    if (na == nb && n_exact >= na)
        return NL_EXACT;
    if (na == nb && n_close >= na)
        return NL_ALL_CLOSE;
    if (nmin >= 2 && n_close >= nmin)
        return NL_SUBSET;
    if (n_close >= 2 || (nmin >= 2 && n_close >= 1 && n_cw >= nmin) ||
        (nmin == 1 && n_close >= 1))
        return NL_MOST;
    if (n_close >= 1)
        return NL_ONE;
    return NL_NONE;
}

void avrr__match_bound_prepare(const avrr_match_model *m, const avrr_match_tf *tf,
                               const avrr_match_rec *a, double threshold,
                               avrr__mbound *out)
{
    memset(out, 0, sizeof *out);
    if (!m)
        m = avrr_match_model_default();
    if (!tf)
        tf = avrr_match_tf_builtin();
    out->model = m;
    out->probe = a;
    if (a->place_len && !a->pz)
        out->place_hash = avrr__hash32(a->buf + a->place_off, a->place_len);
    /* The TF adjustment sums log2(avg / freq) over the agreeing names of a
     * (the first record of the pair), then may only be lowered, and is
     * clamped: the terms of a's tokens bound it. */
    double avg = avrr__match_tf_freq(tf, 0);
    for (int k = 0; k < a->n_names; k++)
        for (int i = 0; i < a->name[k].n; i++)
            out->tf_term[k][i] = log2(avg / avrr__match_tf_freq(tf, a->name[k].t[i].key));
    /* best name weight at level l or any weaker one that has a TF term
     * (weights need not fall with the level in a trained model), and the
     * best of the levels without one; each with the joint cell of the name
     * level and the pair's date level (index 0: no date, no cell) */
    for (int d = 0; d <= DL__N; d++) {
        double best = -INFINITY;
        for (int l = NL_ONE; l >= 0; l--) {
            double v = m->w[AVRR_MF_NAME][l] + (d > 0 ? m->jw[l][d - 1] : 0.0);
            best = v > best ? v : best;
            out->name_w[d][l] = best;
        }
        best = -INFINITY;
        for (int l = NL_ONE + 1; l < NL__N; l++) {
            double v = m->w[AVRR_MF_NAME][l] + (d > 0 ? m->jw[l][d - 1] : 0.0);
            best = v > best ? v : best;
        }
        out->name_w_rest[d] = best;
    }
    double best = -INFINITY;
    for (int l = 0; l < OL__N; l++)
        best = m->w[AVRR_MF_DOCUMENT][l] > best ? m->w[AVRR_MF_DOCUMENT][l] : best;
    out->doc_w_max = best;
    best = -INFINITY;
    for (int l = 0; l < AL__N; l++)
        best = m->w[AVRR_MF_ADDRESS][l] > best ? m->w[AVRR_MF_ADDRESS][l] : best;
    out->addr_w_max = best;
    /* probability >= threshold needs weight >= log2(t / (1 - t)) */
    if (threshold > 0 && threshold < 1)
        out->need = log2(threshold / (1.0 - threshold)) - BOUND_EPS;
    else
        out->need = threshold >= 1 ? INFINITY : -INFINITY;
}

void avrr__match_bound_clear(avrr__mbound *p)
{
    avrr_free(p->memo);
    p->memo = NULL;
    p->memo_mask = p->memo_n = 0;
    avrr_free(p->imemo);
    p->imemo = NULL;
    p->imemo_mask = p->imemo_n = 0;
}

static double field_w(const avrr_match_model *m, int f, int level)
{
    return level == AVRR_MATCH_LEVEL_NULL ? 0.0 : m->w[f][level];
}

double avrr__match_bound(avrr__mbound *p, const avrr_match_rec *b)
{
    const avrr_match_model *m = p->model;
    const avrr_match_rec *a = p->probe;
    /* the cheap fields at their real levels */
    int dl = date_level(a, b);
    double w = m->prior_w + field_w(m, AVRR_MF_BIRTH_DATE, dl);
    if (a->sex != AVRR_SEX_UNKNOWN && b->sex != AVRR_SEX_UNKNOWN)
        w += m->w[AVRR_MF_SEX][a->sex == b->sex ? SL_AGREE : SL_DIFF];
    w += field_w(m, AVRR_MF_NATIONALITY, nat_level(a, b));
    w += field_w(m, AVRR_MF_ADDRESS, addr_level(a, b));
    /* places: exact when equal or missing, else at the better of close and
     * different until the rest leaves the candidate in the race */
    bool place_open = false;
    if (a->place_len && b->place_len) {
        if (a->place_len == b->place_len &&
            memcmp(a->buf + a->place_off, b->buf + b->place_off, a->place_len) == 0) {
            w += m->w[AVRR_MF_BIRTH_PLACE][PL_EXACT];
        } else {
            w += fmax(m->w[AVRR_MF_BIRTH_PLACE][PL_CLOSE], m->w[AVRR_MF_BIRTH_PLACE][PL_DIFF]);
            place_open = true;
        }
    }
    /* documents at their best weight until the names leave the candidate
     * in the race, then at their level */
    bool docs = a->doc_len && b->doc_len;
    if (a->n_names == 0 || b->n_names == 0)
        return w + (docs ? field_w(m, AVRR_MF_DOCUMENT, doc_level(a, b)) : 0) + BOUND_EPS;
    double wd = docs ? p->doc_w_max : 0;
    /* names with the joint cell of their level and the pair's date level */
    const double *nw = p->name_w[dl + 1];
    double wn = fmax(nw[NL_EXACT] + TF_ADJ_MAX, p->name_w_rest[dl + 1]);
    if (w + wd + wn < p->need)
        return w + wd + wn + BOUND_EPS;
    if (docs) {
        wd = field_w(m, AVRR_MF_DOCUMENT, doc_level(a, b));
        if (w + wd + wn < p->need)
            return w + wd + wn + BOUND_EPS;
    }
    wn = p->name_w_rest[dl + 1];
    for (int j = 0; j < b->n_names; j++) {
        const avrr__mname *nb = &b->name[j];
        uint8_t tmp[AVRR__MT_MAXTOK][2][AVRR__MT_MAXTOK];
        const uint8_t (*cls[AVRR__MT_MAXTOK])[AVRR__MT_MAXTOK];
        memo_reserve(p, nb->n);
        for (int t = 0; t < nb->n; t++)
            cls[t] = classes_of(p, b->buf, &nb->t[t], tmp[t]);
        for (int k = 0; k < a->n_names; k++) {
            double adj;
            int l = name_level_upper(p, k, nb, cls, &adj);
            if (l <= NL_ONE && nw[l] + adj > wn)
                wn = nw[l] + adj;
        }
    }
    if (place_open && w + wd + wn >= p->need) {
        w -= fmax(m->w[AVRR_MF_BIRTH_PLACE][PL_CLOSE], m->w[AVRR_MF_BIRTH_PLACE][PL_DIFF]);
        w += m->w[AVRR_MF_BIRTH_PLACE][place_level(a, b)];
    }
    return w + wd + wn + BOUND_EPS;
}

/* ---- the bound from an index's bound record --------------------------------------- */

/* The document number of r packed as avrr__mbrec holds it; false when it
 * does not fit (longer, or a character outside [0-9A-Z]). */
static bool doc_pack(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > AVRR__BR_DOC_CHARS)
        return false;
    uint64_t v = (uint64_t)n << 60;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'A' && c <= 'Z')
            d = 10u + (unsigned)(c - 'A');
        else
            return false;
        v |= (uint64_t)d << (6 * i);
    }
    *out = v;
    return true;
}

static size_t doc_unpack(uint64_t v, char *out)
{
    size_t n = (size_t)(v >> 60);
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(v >> (6 * i)) & 63;
        out[i] = (char)(d < 10 ? '0' + d : 'A' + (d - 10));
    }
    out[n] = '\0';
    return n;
}

void avrr__match_brec_fill(const avrr_match_rec *r, const uint32_t tok[2][AVRR__MT_MAXTOK],
                           uint32_t id_mask, avrr__mbrec *out)
{
    memset(out, 0, sizeof *out);
    bool full = false;
    for (int j = 0; j < 2; j++)
        for (int i = 0; i < AVRR__MT_MAXTOK; i++) {
            uint32_t id = tok[j][i] & id_mask; /* cut as 24 bits would cut it */
            full |= tok[j][i] > id_mask;
            out->tok[j][i][0] = (uint8_t)id;
            out->tok[j][i][1] = (uint8_t)(id >> 8);
            out->tok[j][i][2] = (uint8_t)(id >> 16);
        }
    out->year = r->year;
    out->month = r->month;
    out->day = r->day;
    out->precision = r->precision;
    out->sex = r->sex;
    out->region = r->region;
    memcpy(out->nat, r->nat, 3);
    out->flags = AVRR__BR_LIVE | (r->placeholder ? AVRR__BR_PH : 0) |
                 (r->place_len ? AVRR__BR_PLACE : 0) | (r->doc_len ? AVRR__BR_DOC : 0) |
                 (r->n_addr ? AVRR__BR_ADDR : 0) | (full ? AVRR__BR_FULL : 0);
    if (r->doc_len && (r->doc2_len || !doc_pack(r->buf + r->doc_off, r->doc_len, &out->doc)))
        out->flags |= AVRR__BR_DOC_FULL;
    if (r->place_len)
        out->place_hash = avrr__hash32(r->buf + r->place_off, r->place_len);
    out->names = (uint8_t)(r->n_names << 6 | (r->n_names > 1 ? r->name[1].n : 0) << 3 |
                           (r->n_names > 0 ? r->name[0].n : 0));
}

/* doc_level(a, b) for b's packed document (no second one). */
static int doc_level_packed(const avrr_match_rec *a, uint64_t doc)
{
    char y[AVRR__BR_DOC_CHARS + 1];
    size_t ny = doc_unpack(doc, y);
    int best = doc_pair(a->buf + a->doc_off, a->doc_len, y, ny);
    if (best != OL_EXACT && a->doc2_len) {
        int l = doc_pair(a->buf + a->doc2_off, a->doc2_len, y, ny);
        best = l < best ? l : best;
    }
    return best;
}

/* The classes of the probe's tokens against an interned token, remembered
 * by its id (as classes_of; the probe must not change). */
struct avrr__imemo {
    uint32_t id; /* 0: empty entry */
    uint8_t cls[2][AVRR__MT_MAXTOK];
};

static void imemo_reserve(avrr__mbound *p, size_t more)
{
    if ((p->imemo_n + more) * 2 <= p->imemo_mask + 1 && p->imemo)
        return;
    size_t cap = p->imemo ? 2 * (p->imemo_mask + 1) : MEMO_FIRST;
    while ((p->imemo_n + more) * 2 > cap)
        cap *= 2;
    avrr__imemo *nm = avrr_calloc(cap, sizeof *nm);
    if (!nm)
        return; /* the bound goes on without remembering */
    for (size_t i = 0; p->imemo && i <= p->imemo_mask; i++)
        if (p->imemo[i].id) {
            size_t s = (p->imemo[i].id * 0x9e3779b1u) & (cap - 1);
            while (nm[s].id)
                s = (s + 1) & (cap - 1);
            nm[s] = p->imemo[i];
        }
    avrr_free(p->imemo);
    p->imemo = nm;
    p->imemo_mask = cap - 1;
}

static const uint8_t (*classes_by_id(avrr__mbound *p, const avrr__itok *toks, uint32_t id,
                                     uint8_t tmp[2][AVRR__MT_MAXTOK]))[AVRR__MT_MAXTOK]
{
    if (!p->imemo || (p->imemo_n + 1) * 2 > p->imemo_mask + 1) {
        tok_classes(p, toks[id].buf, &toks[id].t, tmp);
        return (const uint8_t(*)[AVRR__MT_MAXTOK])tmp;
    }
    size_t s = (id * 0x9e3779b1u) & p->imemo_mask;
    while (p->imemo[s].id) {
        if (p->imemo[s].id == id)
            return (const uint8_t(*)[AVRR__MT_MAXTOK])p->imemo[s].cls;
        s = (s + 1) & p->imemo_mask;
    }
    p->imemo[s].id = id;
    tok_classes(p, toks[id].buf, &toks[id].t, p->imemo[s].cls);
    p->imemo_n++;
    return (const uint8_t(*)[AVRR__MT_MAXTOK])p->imemo[s].cls;
}

double avrr__match_bound_brec(avrr__mbound *p, const avrr__mbrec *b, const avrr__itok *toks,
                              const avrr_match_rec *(*rec)(const void *ctx, uint32_t s),
                              const void *ctx, uint32_t s)
{
    const avrr_match_model *m = p->model;
    const avrr_match_rec *a = p->probe;
    const avrr_match_rec *full = NULL;
    if (b->flags & AVRR__BR_FULL)
        return avrr__match_bound(p, rec(ctx, s));
    /* the cheap fields at their real levels */
    dval da = dval_of(a), db = {b->year, b->month, b->day, b->precision,
                                (b->flags & AVRR__BR_PH) != 0};
    int dl = date_level_v(&da, &db);
    double w = m->prior_w + field_w(m, AVRR_MF_BIRTH_DATE, dl);
    if (a->sex != AVRR_SEX_UNKNOWN && b->sex != AVRR_SEX_UNKNOWN)
        w += m->w[AVRR_MF_SEX][a->sex == b->sex ? SL_AGREE : SL_DIFF];
    w += field_w(m, AVRR_MF_NATIONALITY, nat_level_v(a->nat, a->region, b->nat, b->region));
    /* places: a different hash is a different place (close or different,
     * the better until the rest leaves the candidate in the race); the
     * same hash may be the same place, or not */
    const double *wp = m->w[AVRR_MF_BIRTH_PLACE];
    double place_ub = 0;
    bool place_open = false;
    if (a->place_len && (b->flags & AVRR__BR_PLACE)) {
        place_ub = fmax(wp[PL_CLOSE], wp[PL_DIFF]);
        if (b->place_hash == p->place_hash)
            place_ub = fmax(place_ub, wp[PL_EXACT]);
        place_open = true;
    }
    w += place_ub;
    /* documents at their level when packed, else at their best weight until
     * the names leave the candidate in the race */
    bool docs = a->doc_len && (b->flags & AVRR__BR_DOC);
    bool doc_open = docs && (b->flags & AVRR__BR_DOC_FULL);
    double wd = !docs ? 0 : doc_open ? p->doc_w_max
                                     : field_w(m, AVRR_MF_DOCUMENT, doc_level_packed(a, b->doc));
    int bn = b->names >> 6;
    const double *nw = p->name_w[dl + 1];
    double wn = a->n_names == 0 || bn == 0 ? 0 : fmax(nw[NL_EXACT] + TF_ADJ_MAX,
                                                       p->name_w_rest[dl + 1]);
    /* addresses (from the record) */
    bool addr_open = a->n_addr && (b->flags & AVRR__BR_ADDR);
    double wa = addr_open ? p->addr_w_max : 0;
    if (w + wd + wn + wa < p->need)
        return w + wd + wn + wa + BOUND_EPS;
    if (a->n_names && bn) {
        wn = p->name_w_rest[dl + 1];
        for (int j = 0; j < bn; j++) {
            int nt = (b->names >> (3 * j)) & 7;
            avrr__mname nb; /* only n is read */
            nb.n = (uint8_t)nt;
            uint8_t tmp[AVRR__MT_MAXTOK][2][AVRR__MT_MAXTOK];
            const uint8_t (*cls[AVRR__MT_MAXTOK])[AVRR__MT_MAXTOK];
            imemo_reserve(p, (size_t)nt);
            for (int t = 0; t < nt; t++)
                cls[t] = classes_by_id(p, toks, avrr__brec_tok(b, j, t), tmp[t]);
            for (int k = 0; k < a->n_names; k++) {
                double adj;
                int l = name_level_upper(p, k, &nb, cls, &adj);
                if (l <= NL_ONE && nw[l] + adj > wn)
                    wn = nw[l] + adj;
            }
        }
        if (w + wd + wn + wa < p->need)
            return w + wd + wn + wa + BOUND_EPS;
    }
    if (addr_open) {
        full = rec(ctx, s);
        wa = field_w(m, AVRR_MF_ADDRESS, addr_level(a, full));
        if (w + wd + wn + wa < p->need)
            return w + wd + wn + wa + BOUND_EPS;
    }
    if (doc_open) {
        if (!full)
            full = rec(ctx, s);
        wd = field_w(m, AVRR_MF_DOCUMENT, doc_level(a, full));
        if (w + wd + wn + wa < p->need)
            return w + wd + wn + wa + BOUND_EPS;
    }
    if (place_open) {
        if (!full)
            full = rec(ctx, s);
        w += field_w(m, AVRR_MF_BIRTH_PLACE, place_level(a, full)) - place_ub;
    }
    return w + wd + wn + wa + BOUND_EPS;
}
