/* jaro.c: Jaro-Winkler similarity, the string kernel of the name comparator.
 *
 * Bit-parallel: the positions of each character of the shorter string are a
 * 64-bit mask, so finding the first unflagged match inside the window is a
 * few AND / NOT / lowest-bit operations instead of a scan (the idea behind
 * rapidfuzz's cached Jaro). Strings over 64 bytes fall back to the textbook
 * O(n*m) version, which bench/bench_kernels.c also times as the reference.
 */
#include <string.h>

#include "match_int.h"

double avrr__jaro_winkler_ref(const char *a, size_t na, const char *b,
                              size_t nb);

/* Winkler's boost: prefix up to 4 characters, scale 0.1, applied above a Jaro
 * of 0.7, the values of Winkler (1990) that every tool uses. */
static double winkler(double j, const char *a, size_t na, const char *b,
                      size_t nb)
{
    if (j <= 0.7)
        return j;
    size_t l = 0, lim = na < nb ? na : nb;
    if (lim > 4)
        lim = 4;
    while (l < lim && a[l] == b[l])
        l++;
    return j + (double)l * 0.1 * (1.0 - j);
}

double avrr__jaro_winkler_ref(const char *a, size_t na, const char *b,
                              size_t nb)
{
    if (na == 0 && nb == 0)
        return 1.0;
    if (na == 0 || nb == 0)
        return 0.0;
    enum { MAXL = 512 };
    if (na > MAXL)
        na = MAXL;
    if (nb > MAXL)
        nb = MAXL;
    bool fa[MAXL] = {0}, fb[MAXL] = {0};
    size_t win = (na > nb ? na : nb) / 2;
    win = win > 0 ? win - 1 : 0;
    size_t m = 0;
    for (size_t i = 0; i < na; i++) {
        size_t lo = i > win ? i - win : 0;
        size_t hi = i + win + 1 < nb ? i + win + 1 : nb;
        for (size_t j = lo; j < hi; j++) {
            if (!fb[j] && a[i] == b[j]) {
                fa[i] = fb[j] = true;
                m++;
                break;
            }
        }
    }
    if (m == 0)
        return 0.0;
    size_t t = 0, k = 0;
    for (size_t i = 0; i < na; i++) {
        if (!fa[i])
            continue;
        while (!fb[k])
            k++;
        if (a[i] != b[k])
            t++;
        k++;
    }
    double md = (double)m;
    double j = (md / (double)na + md / (double)nb + (md - (double)t / 2) / md) /
               3.0;
    return winkler(j, a, na, b, nb);
}

double avrr_match_jaro_winkler(const char *a, size_t na, const char *b,
                               size_t nb)
{
    if (na == 0 && nb == 0)
        return 1.0;
    if (na == 0 || nb == 0)
        return 0.0;
    if (na > 64 || nb > 64)
        return avrr__jaro_winkler_ref(a, na, b, nb);
    /* pattern: the positions of each byte of a */
    uint64_t pm[256];
    uint64_t present[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < na; i++) {
        unsigned char c = (unsigned char)a[i];
        uint64_t bit = 1ull << (c & 63);
        if (!(present[c >> 6] & bit)) {
            present[c >> 6] |= bit;
            pm[c] = 0;
        }
        pm[c] |= 1ull << i;
    }
    size_t win = (na > nb ? na : nb) / 2;
    win = win > 0 ? win - 1 : 0;
    uint64_t fa = 0, fb = 0;
    unsigned m = 0;
    for (size_t j = 0; j < nb; j++) {
        unsigned char c = (unsigned char)b[j];
        if (!(present[c >> 6] & (1ull << (c & 63))))
            continue;
        size_t lo = j > win ? j - win : 0;
        if (lo >= na)
            continue;
        size_t hi = j + win; /* inclusive */
        if (hi >= na)
            hi = na - 1;
        uint64_t mask = (hi >= 63 ? ~0ull : ((1ull << (hi + 1)) - 1)) &
                        ~((1ull << lo) - 1);
        uint64_t cand = pm[c] & mask & ~fa;
        if (cand) {
            fa |= cand & (~cand + 1);
            fb |= 1ull << j;
            m++;
        }
    }
    if (m == 0)
        return 0.0;
    unsigned t = 0;
    uint64_t x = fa, y = fb;
    while (x) {
        unsigned i = (unsigned)__builtin_ctzll(x);
        unsigned k = (unsigned)__builtin_ctzll(y);
        t += a[i] != b[k];
        x &= x - 1;
        y &= y - 1;
    }
    double md = (double)m;
    double j = (md / (double)na + md / (double)nb + (md - (double)t / 2) / md) /
               3.0;
    return winkler(j, a, na, b, nb);
}

void avrr__chars_of(const char *s, size_t n, avrr__chars *out)
{
    uint8_t cnt[64] = {0};
    unsigned more = 0;
    out->once = out->twice = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned b = (unsigned char)s[i] & 63;
        if (cnt[b] >= 2)
            more++;
        else
            cnt[b]++;
        if (cnt[b] == 1)
            out->once |= 1ull << b;
        else
            out->twice |= 1ull << b;
    }
    out->more = (uint8_t)(more > 255 ? 255 : more);
}

double avrr__jaro_winkler_bound(const char *a, size_t na,
                                const avrr__chars *ca, const char *b,
                                size_t nb, const avrr__chars *cb)
{
    if (na == 0 || nb == 0)
        return na == nb ? 1.0 : 1e-9;
    /* per bit: min(x, y) <= [both >= 1] + [both >= 2] + min(x - 2, y - 2)+,
     * and the last summed over the bits is at most min of the sums; a
     * saturated count (255) stands for any number */
    size_t m = (size_t)avrr__popcount64(ca->once & cb->once) +
               (size_t)avrr__popcount64(ca->twice & cb->twice);
    m += ca->more == 255 || cb->more == 255 ? na + nb
         : ca->more < cb->more            ? ca->more
                                          : cb->more;
    size_t lo = na < nb ? na : nb;
    if (m > lo)
        m = lo;
    if (m == 0)
        return 1e-9;
    double md = (double)m;
    double j = (md / (double)na + md / (double)nb + 1.0) / 3.0;
    size_t l = 0, lim = lo < 4 ? lo : 4;
    while (l < lim && a[l] == b[l])
        l++;
    /* a hair above, so that rounding in another order cannot put the real
     * value over it */
    return j + (double)l * 0.1 * (1.0 - j) + 1e-9;
}
