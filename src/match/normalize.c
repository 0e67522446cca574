/* normalize.c: names in any script to Latin ASCII tokens and name keys.
 *
 * DESIGN.md 5.1-5.2. ASCII input (most records) takes a table-driven fast
 * path that never touches ICU; anything else goes through one ICU
 * transliterator "NFKC; Any-Latin; Latin-ASCII; Lower", cached per thread
 * because ICU transliterators are not thread-safe. Then particles are dropped,
 * compounds joined, and each token gets a consonant-skeleton key designed for
 * transliteration variants (measured on netranslit, docs/BENCHMARKS.md).
 */
#include <pthread.h>
#include <string.h>

#include <unicode/ustring.h>
#include <unicode/utrans.h>

#include "match_int.h"

uint32_t avrr__hash32(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 16777619u;
    }
    return h ? h : 1; /* 0 means "none" in records */
}

uint64_t avrr__hash64(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ull;
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return h;
}

/* ---- the ICU transliterator, one per thread ------------------------------- */

static pthread_once_t trans_once = PTHREAD_ONCE_INIT;
static pthread_key_t trans_key;

static void trans_destroy(void *p)
{
    utrans_close((UTransliterator *)p);
}

static void trans_key_init(void)
{
    (void)pthread_key_create(&trans_key, trans_destroy);
}

static UTransliterator *trans_get(void)
{
    pthread_once(&trans_once, trans_key_init);
    UTransliterator *t = pthread_getspecific(trans_key);
    if (t)
        return t;
    UErrorCode st = U_ZERO_ERROR;
    static const UChar id[] = u"NFKC; Any-Latin; Latin-ASCII; Lower";
    t = utrans_openU(id, -1, UTRANS_FORWARD, NULL, 0, NULL, &st);
    if (U_FAILURE(st) || !t)
        return NULL;
    if (pthread_setspecific(trans_key, t) != 0) {
        utrans_close(t);
        return NULL;
    }
    return t;
}

/* ---- ASCII cleaning ------------------------------------------------------ */

/* 1: letter kept (lower-cased), 2: dropped without a break (apostrophes),
 * 0: token break. Digits break names. */
static int ascii_class(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    if (c == '\'' || c == '`')
        return 2;
    return 0;
}

/* Appends the cleaned tokens of ASCII s[0..n) to out. */
static size_t ascii_clean(const char *s, size_t n, char *out, size_t cap,
                          size_t len)
{
    bool in_tok = false;
    size_t tok_start = len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int k = c < 0x80 ? ascii_class(c) : 0;
        if (k == 2)
            continue;
        if (k == 1) {
            if (!in_tok) {
                if (len > 0 && len + 1 < cap)
                    out[len++] = ' ';
                tok_start = len;
                in_tok = true;
            }
            if (len + 1 >= cap) { /* cut at the token boundary */
                len = tok_start > 0 ? tok_start - 1 : 0;
                break;
            }
            out[len++] = (char)(c | 0x20);
        } else {
            in_tok = false;
        }
    }
    out[len] = '\0';
    return len;
}

/* Script hints gathered while converting, used for article splitting. */
typedef struct script_info {
    bool arabic;
} script_info;

static avrr_err icu_latin(const char *in, size_t n, char *out, size_t cap,
                          size_t *len, script_info *si)
{
    enum { UCAP = 4 * AVRR_TEXT_MAX + 64 };
    UChar u[UCAP];
    int32_t ulen = 0;
    UErrorCode st = U_ZERO_ERROR;
    if (n > AVRR_TEXT_MAX * 2)
        n = AVRR_TEXT_MAX * 2;
    u_strFromUTF8(u, UCAP / 2, &ulen, in, (int32_t)n, &st);
    if (U_FAILURE(st))
        return st == U_INVALID_CHAR_FOUND || st == U_ILLEGAL_CHAR_FOUND
                   ? AVRR_EINVALID
                   : AVRR_EINTERNAL;
    for (int32_t i = 0; i < ulen; i++) {
        if (u[i] >= 0x0600 && u[i] <= 0x06FF) {
            si->arabic = true;
            /* ta marbuta is a final -a/-ah in every Latin spelling, never
             * the "t" ICU writes (Fatima, Aisha) */
            if (u[i] == 0x0629)
                u[i] = 0x0647;
        }
    }
    UTransliterator *t = trans_get();
    if (!t)
        return AVRR_EINTERNAL;
    int32_t limit = ulen;
    utrans_transUChars(t, u, &ulen, UCAP, 0, &limit, &st);
    if (U_FAILURE(st))
        return AVRR_EINTERNAL;
    char tmp[UCAP];
    int32_t tlen = 0;
    st = U_ZERO_ERROR;
    u_strToUTF8WithSub(tmp, (int32_t)sizeof tmp - 1, &tlen, u, ulen, 0xFFFD,
                       NULL, &st);
    if (U_FAILURE(st))
        return AVRR_EINTERNAL;
    tmp[tlen] = '\0';
    /* Leftover non-ASCII (ayn and hamza marks, unknown symbols) must not break
     * a token: "ʿbd" is one token. Drop modifier letters U+02B0-U+02FF. */
    size_t j = 0;
    for (int32_t i = 0; i < tlen;) {
        unsigned char c = (unsigned char)tmp[i];
        if (c < 0x80) {
            tmp[j++] = (char)c;
            i++;
            continue;
        }
        int cl = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        bool modifier = c == 0xCA || c == 0xCB; /* U+0280-U+02FF */
        if (!modifier)
            tmp[j++] = ' ';
        i += cl;
    }
    *len = ascii_clean(tmp, j, out, cap, *len);
    return AVRR_OK;
}

static avrr_err normalize_si(const char *in, char *out, size_t cap,
                             size_t *out_len, script_info *si)
{
    size_t len = 0;
    if (cap == 0)
        return AVRR_EINVALID;
    out[0] = '\0';
    if (out_len)
        *out_len = 0;
    if (!in)
        return AVRR_OK;
    size_t n = strlen(in);
    bool ascii = true;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)in[i] >= 0x80) {
            ascii = false;
            break;
        }
    if (ascii) {
        len = ascii_clean(in, n, out, cap, 0);
    } else {
        avrr_err r = icu_latin(in, n, out, cap, &len, si);
        if (r != AVRR_OK)
            return r;
    }
    if (out_len)
        *out_len = len;
    return AVRR_OK;
}

avrr_err avrr_match_normalize(const char *in, char *out, size_t cap,
                              size_t *out_len)
{
    script_info si = {0};
    return normalize_si(in, out, cap, out_len, &si);
}

/* ---- particles and compounds ------------------------------------------------ */

/* Dropped: articles and kinship words that registrations write or leave out
 * at will ("Mohammed ben Ali" / "Mohammed Ali", "El Amrani" / "Amrani"). */
static const char *const particles[] = {
    "al", "el", "ul", "ad", "ed", "bin", "ben", "ibn", "bint", "bent",
    "ould", "wuld", "wad", "van", "von", "der", "den", "de", "da", "di",
    "du", "la", "le", "del", "dos", "das", "y", NULL};

/* Dropped too: forms of address, titles and generation marks, which some
 * registrations and most older records put among the names ("Sir Walter
 * Scott", "Mrs. Edith Aitken", "John Smith Jr"). Honorifics that are also
 * names in the origin groups (Haji, Sheikh) are kept. */
static const char *const titles[] = {
    "mr", "mrs", "ms", "miss", "mme", "mlle", "dr", "prof", "sir", "dame",
    "lady", "lord", "rev", "revd", "hon", "rt", "jr", "jnr", "sr", "snr",
    "junior", "senior", "of", NULL};

/* An ordinal written in digits (1st, 2nd, 11th): a generation or a peerage. */
static bool is_ordinal(const char *t, size_t n)
{
    size_t d = 0;
    while (d < n && t[d] >= '0' && t[d] <= '9')
        d++;
    if (d == 0 || d + 2 != n)
        return false;
    return memcmp(t + d, "st", 2) == 0 || memcmp(t + d, "nd", 2) == 0 ||
           memcmp(t + d, "rd", 2) == 0 || memcmp(t + d, "th", 2) == 0;
}

/* Joined with the following token: "abu bakr" is one name. */
static const char *const joiners[] = {"abu", "abou", "abo", "bou", NULL};

static bool in_list(const char *const *list, const char *t, size_t n)
{
    for (size_t i = 0; list[i]; i++)
        if (strlen(list[i]) == n && memcmp(list[i], t, n) == 0)
            return true;
    return false;
}

/* "abd", "abdul", "abdel", "abdal", "abdol", "abdu", "abdou", "abder",
 * "abdur", "abdar", "abdoul", "abdi": the first half of a theophoric compound
 * written apart. */
static bool is_abd(const char *t, size_t n)
{
    static const char *const abd[] = {"abd", "abdul", "abdel", "abdal",
                                      "abdol", "abdu", "abdou", "abder",
                                      "abdur", "abdar", "abdoul", "abdi",
                                      "abdoel", "abdel", NULL};
    return in_list(abd, t, n);
}

/* Canonical form of an abd- compound written as one token: "abd" + name with
 * the linking vowel and article removed, so abdulrahman, abderrahmane,
 * abdalrahman all start "abdrahm". Writes into out; returns length. */
static size_t abd_canon(const char *t, size_t n, char *out, size_t cap)
{
    size_t i = 3, o = 0;
    if (cap < 4)
        return 0;
    memcpy(out, "abd", 3);
    o = 3;
    /* linking vowels */
    while (i < n && (t[i] == 'a' || t[i] == 'e' || t[i] == 'o' ||
                     t[i] == 'u' || t[i] == 'i'))
        i++;
    /* the article's l, or an assimilated sun letter doubled (abderrahmane) */
    if (i + 1 < n && t[i] == 'l')
        i++;
    else if (i + 1 < n && t[i] == t[i + 1])
        i++;
    for (; i < n && o + 1 < cap; i++)
        out[o++] = t[i];
    out[o] = '\0';
    return o;
}

avrr_err avrr_match_name_tokens(const char *in, char *out, size_t cap,
                                size_t *out_len)
{
    char norm[4 * AVRR_NAME_MAX + 64];
    size_t nlen = 0, len = 0;
    script_info si = {0};
    avrr_err r = normalize_si(in, norm, sizeof norm, &nlen, &si);
    if (r != AVRR_OK)
        return r;
    if (cap == 0)
        return AVRR_EINVALID;
    out[0] = '\0';
    /* split */
    const char *tok[64];
    size_t tl[64], nt = 0;
    for (size_t i = 0; i < nlen && nt < 64;) {
        while (i < nlen && norm[i] == ' ')
            i++;
        size_t s = i;
        while (i < nlen && norm[i] != ' ')
            i++;
        if (i > s) {
            tok[nt] = norm + s;
            tl[nt++] = i - s;
        }
    }
    char joined[2 * AVRR__MT_TOKLEN + 8];
    for (size_t k = 0; k < nt; k++) {
        const char *t = tok[k];
        size_t n = tl[k];
        size_t jl = 0;
        if ((in_list(particles, t, n) || in_list(titles, t, n) ||
             is_ordinal(t, n)) &&
            nt > 1)
            continue;
        if ((is_abd(t, n) || in_list(joiners, t, n)) && k + 1 < nt) {
            /* abd [al] rahman, abu [al] bakr */
            size_t k2 = k + 1;
            if (k2 + 1 < nt && in_list(particles, tok[k2], tl[k2]))
                k2++;
            size_t a = n < AVRR__MT_TOKLEN ? n : AVRR__MT_TOKLEN;
            size_t b = tl[k2] < AVRR__MT_TOKLEN ? tl[k2] : AVRR__MT_TOKLEN;
            memcpy(joined, t, a);
            memcpy(joined + a, tok[k2], b);
            jl = a + b;
            joined[jl] = '\0';
            k = k2;
            t = joined;
            n = jl;
        } else if (si.arabic && n >= 5 && t[0] == 'a' && t[1] == 'l') {
            /* the Arabic article written on the word: الرحمن -> alrhmn */
            t += 2;
            n -= 2;
        }
        char canon[2 * AVRR__MT_TOKLEN + 8];
        if (n > 4 && memcmp(t, "abd", 3) == 0) {
            n = abd_canon(t, n, canon, sizeof canon);
            t = canon;
        }
        if (n > AVRR__MT_TOKLEN)
            n = AVRR__MT_TOKLEN;
        if (len + n + 2 > cap)
            break;
        if (len > 0)
            out[len++] = ' ';
        memcpy(out + len, t, n);
        len += n;
        out[len] = '\0';
    }
    if (out_len)
        *out_len = len;
    return AVRR_OK;
}

/* ---- name keys ----------------------------------------------------------------- */

static bool is_vowel(char c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' ||
           c == 'y' || c == 'j' || c == 'w';
}

size_t avrr_match_name_key(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    char last = 0;
    if (cap == 0)
        return 0;
#define EMIT(ch)                                                               \
    do {                                                                       \
        char ch_ = (ch);                                                       \
        if (ch_ != last && o + 1 < cap)                                        \
            out[o++] = ch_;                                                    \
        last = ch_;                                                            \
    } while (0)
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        char nx = i + 1 < n ? s[i + 1] : 0;
        char nx2 = i + 2 < n ? s[i + 2] : 0;
        if (is_vowel(c)) {
            /* a vowel does not separate doubles: Muhammad = Mohamed */
            continue;
        }
        switch (c) {
        case 'c':
            if (nx == 'h') {
                EMIT('S');
                i++;
            } else if (nx == 'k' || nx == 'q') {
                /* ck, cq: the k follows */
            } else if (nx == 'e' || nx == 'i' || nx == 'y') {
                EMIT('S');
            } else {
                EMIT('K');
            }
            break;
        case 's':
            if (nx == 'h') {
                i++;
            } else if (nx == 'c' && nx2 == 'h') {
                i += 2;
            }
            EMIT('S');
            break;
        case 'z':
            if (nx == 'h')
                i++;
            EMIT('S');
            break;
        case 'k':
            if (nx == 'h') {
                i++;
                EMIT('H');
            } else {
                EMIT('K');
            }
            break;
        case 'q':
            EMIT('K');
            break;
        case 'g':
            if (nx == 'h')
                i++;
            EMIT('G');
            break;
        case 'x':
            EMIT('K');
            EMIT('S');
            break;
        case 'p':
            if (nx == 'h')
                i++;
            EMIT(nx == 'h' ? 'F' : 'B');
            break;
        case 'f':
        case 'v':
            EMIT('F');
            break;
        case 't':
            if (nx == 'h')
                i++;
            EMIT('T');
            break;
        case 'd':
            if (nx == 'h') {
                i++;
            } else if (nx == 'j' || nx == 'z') {
                break; /* dj, dz: the j / z follows */
            }
            EMIT('D');
            break;
        case 'h':
            /* a final h after a vowel is not written by everyone (Fatimah) */
            if (i + 1 == n && i > 0 && is_vowel(s[i - 1]))
                break;
            EMIT('H');
            break;
        case 'b':
        case 'l':
        case 'm':
        case 'n':
        case 'r':
            EMIT((char)(c - 32));
            break;
        default:
            break;
        }
    }
#undef EMIT
    if (o == 0 && o + 1 < cap)
        out[o++] = 'A'; /* only vowels: Aya, Eyo */
    out[o] = '\0';
    return o;
}

/* ---- spelling normalisation ------------------------------------------------------ */

static bool vowel5(char c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

size_t avrr__match_spelling(const char *t, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0)
        return 0;
    for (size_t i = 0; i < n && o + 2 < cap; i++) {
        char c = t[i], nx = i + 1 < n ? t[i + 1] : 0;
        char prev = o > 0 ? out[o - 1] : 0;
        char r = c;
        if (c == 'o' && (nx == 'u' || nx == 'e' || nx == 'o')) {
            r = 'u'; /* French ou, Dutch oe, English oo */
            i++;
        } else if (c == 'e' && nx == 'e') {
            r = 'i';
            i++;
        } else if (c == 'd' && nx == 's' && i + 3 < n && t[i + 2] == 'c' &&
                   t[i + 3] == 'h') {
            r = o == 0 && i + 4 < n && vowel5(t[i + 4]) ? 'y' : 'j';
            i += 3; /* German dsch: Dschawad, Dschallow */
        } else if (c == 's' && nx == 'c' && i + 2 < n && t[i + 2] == 'h') {
            out[o++] = 's';
            r = 'h';
            i += 2; /* German sch */
        } else if (c == 's' && nx == 'j' && o > 0) {
            out[o++] = 's';
            r = 'h';
            i++; /* Dutch and Swedish sj */
        } else if (c == 'j' && o == 0 && vowel5(nx)) {
            r = 'y'; /* Dutch and German j, also after a dropped d */
        } else if (c == 'd' && nx == 'j') {
            continue; /* French dj */
        } else if (c == 'p' && nx == 'h') {
            r = 'f';
            i++;
        } else if (c == 'c' && nx == 'h') {
            out[o++] = 's';
            r = 'h';
            i++;
        } else if (c == 'c' && nx == 'k') {
            continue;
        } else if (c == 'c') {
            r = (nx == 'e' || nx == 'i' || nx == 'y') ? 's' : 'k';
        } else if (c == 'q') {
            r = 'k';
        } else if (c == 'x') {
            out[o++] = 'k';
            r = 's';
        } else if (c == 'w' && vowel5(prev)) {
            r = 'u';
        } else if (c == 'e' && i + 1 == n && n > 4 && !vowel5(prev)) {
            continue; /* a mute final e: Abderrahmane, Ousmane */
        }
        if (r == prev && !vowel5(r))
            continue; /* doubles: Youssef, Mohammed */
        out[o++] = r;
    }
    out[o] = '\0';
    return o;
}
