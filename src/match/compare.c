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
     "year_off_by_one", "different", "far_apart"},
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
#define TOK_CLOSE 0.92
/* Below TOK_CLOSE but at or above this: a related spelling. */
#define TOK_WEAK 0.80
/* Two tokens with the same key and a JW of at least this are taken as the
 * same name spelt another way (on the spelling-normalised forms Joessef and
 * Youssef are both yusef); below it the shared skeleton is a coincidence
 * (Asif/Yusuf 0.63). */
#define KEY_JW_MIN 0.70
#define KEY_LIFT 0.93

static double jw(const char *a, size_t na, const char *b, size_t nb)
{
    return avrr_match_jaro_winkler(a, na, b, nb);
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
    /* a name from Arabic script has no short vowels (ywsf): its key is all
     * there is to compare with a Latin spelling. A one-consonant key (Jawad,
     * Jaiad: "D") says too little to lift anything. */
    if (keq && s < KEY_LIFT && x->key_len >= 2 && y->key_len >= 2 &&
        (s >= KEY_JW_MIN || x->abjad || y->abjad))
        s = KEY_LIFT;
    return s;
}

typedef struct name_cmp {
    int level;
    int n_agree;
    uint32_t keys[AVRR__MT_MAXTOK];
} name_cmp;

static void compare_names(const char *ba, const avrr__mname *a, const char *bb,
                          const avrr__mname *b, name_cmp *out)
{
    double s[AVRR__MT_MAXTOK][AVRR__MT_MAXTOK];
    int na = a->n, nb = b->n;
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++)
            s[i][j] = tok_sim(ba, &a->t[i], bb, &b->t[j]);
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
                              n_close + n_weak == nmin))
        out->level = NL_MOST;
    else if (n_close == 1)
        out->level = NL_ONE;
    else
        out->level = NL_NONE;
}

static void name_level(const avrr_match_rec *a, const avrr_match_rec *b,
                       avrr__mlevels *lv)
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
            compare_names(a->buf, &a->name[i], b->buf, &b->name[j], &c);
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

static int digits_diff(const avrr_match_rec *a, const avrr_match_rec *b)
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

/* Years apart beyond which two dates are not one person's misrecorded date
 * but two people: guessed years of undocumented persons stray by a few
 * years, rarely by more than five. */
#define FAR_YEARS 5

static int date_level(const avrr_match_rec *a, const avrr_match_rec *b)
{
    if (a->precision == AVRR_DATE_UNKNOWN || b->precision == AVRR_DATE_UNKNOWN)
        return AVRR_MATCH_LEVEL_NULL;
    int dy = abs(a->year - b->year);
    bool ph = a->placeholder || b->placeholder;
    if (a->precision == AVRR_DATE_DAY && b->precision == AVRR_DATE_DAY) {
        if (dy == 0 && a->month == b->month && a->day == b->day)
            return ph ? DL_EXACT_PH : DL_EXACT;
        if (dy == 0 && a->month == b->day && a->day == b->month)
            return DL_TYPO;
        if (dy == 1 && (ph || (a->month == b->month && a->day == b->day)))
            return DL_YEAR1;
        if (!ph && digits_diff(a, b) == 1)
            return DL_TYPO;
        if (dy == 0 && ph)
            return DL_YEAR_PH;
        return dy > FAR_YEARS ? DL_FAR : DL_DIFF;
    }
    /* at least one side imprecise (year only, or year and month) */
    if (dy == 0) {
        if (a->precision >= AVRR_DATE_MONTH &&
            b->precision >= AVRR_DATE_MONTH && a->month != b->month &&
            !ph)
            return DL_DIFF;
        return DL_YEAR_PH;
    }
    if (dy == 1)
        return DL_YEAR1;
    return dy > FAR_YEARS ? DL_FAR : DL_DIFF;
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

static int nat_level(const avrr_match_rec *a, const avrr_match_rec *b)
{
    if (!a->nat[0] || !b->nat[0])
        return AVRR_MATCH_LEVEL_NULL;
    if (memcmp(a->nat, b->nat, 3) == 0)
        return CL_SAME;
    if (a->region >= 0 && a->region == b->region)
        return CL_NEIGHBOUR;
    return CL_DIFF;
}

/* ---- documents -------------------------------------------------------------- */

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

static int doc_pair(const char *x, size_t nx, const char *y, size_t ny)
{
    if (nx == ny && memcmp(x, y, nx) == 0)
        return OL_EXACT;
    char cx[AVRR_CODE_MAX + 1], cy[AVRR_CODE_MAX + 1];
    size_t lx = avrr__match_doc_canon(x, cx, sizeof cx);
    size_t ly = avrr__match_doc_canon(y, cy, sizeof cy);
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
    name_level(a, b, lv);
}

void avrr__match_levels_other(const avrr_match_rec *a,
                              const avrr_match_rec *b, avrr__mlevels *lv)
{
    lv->level[AVRR_MF_BIRTH_DATE] = (int8_t)date_level(a, b);
    if (a->sex == AVRR_SEX_UNKNOWN || b->sex == AVRR_SEX_UNKNOWN)
        lv->level[AVRR_MF_SEX] = AVRR_MATCH_LEVEL_NULL;
    else
        lv->level[AVRR_MF_SEX] = a->sex == b->sex ? SL_AGREE : SL_DIFF;
    lv->level[AVRR_MF_NATIONALITY] = (int8_t)nat_level(a, b);
    lv->level[AVRR_MF_BIRTH_PLACE] = (int8_t)place_level(a, b);
    lv->level[AVRR_MF_DOCUMENT] = (int8_t)doc_level(a, b);
    lv->level[AVRR_MF_ADDRESS] = (int8_t)addr_level(a, b);
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
