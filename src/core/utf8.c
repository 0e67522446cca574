/* src/core/utf8.c: UTF-8 validation and text-field checks.
 *
 * Input is untrusted (DESIGN.md section 6): every text field that enters the
 * registry passes avrr_utf8_valid, which follows RFC 3629 / Unicode table 3-7
 * exactly (no overlong forms, no UTF-16 surrogates, nothing above U+10FFFF)
 * and also refuses C0 control bytes other than tab, so that a name can never
 * smuggle a NUL, a newline or an escape sequence into logs and exports.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "avrr/core.h"

/* Length of the sequence that starts with lead byte b, with the allowed range
 * of its second byte (Unicode table 3-7); 0 for a byte that cannot start one. */
static size_t seq_len(unsigned char b, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (b < 0x80)
        return 1;
    if (b >= 0xC2 && b <= 0xDF)
        return 2;
    if (b >= 0xE0 && b <= 0xEF) {
        if (b == 0xE0)
            *lo = 0xA0; /* below is overlong */
        else if (b == 0xED)
            *hi = 0x9F; /* above is a surrogate D800..DFFF */
        return 3;
    }
    if (b >= 0xF0 && b <= 0xF4) {
        if (b == 0xF0)
            *lo = 0x90; /* below is overlong */
        else if (b == 0xF4)
            *hi = 0x8F; /* above is beyond U+10FFFF */
        return 4;
    }
    return 0; /* 80..C1 (continuation or overlong lead), F5..FF */
}

bool avrr_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    if (s == NULL)
        return n == 0;
    while (i < n) {
        unsigned char lo, hi;
        size_t len = seq_len(p[i], &lo, &hi);
        if (len == 0)
            return false;
        if (len == 1) {
            if (p[i] < 0x20 && p[i] != '\t')
                return false;
            i++;
            continue;
        }
        if (n - i < len)
            return false; /* truncated sequence */
        if (p[i + 1] < lo || p[i + 1] > hi)
            return false;
        for (size_t k = 2; k < len; k++)
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
        i += len;
    }
    return true;
}

size_t avrr_utf8_len(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t count = 0;

    if (s == NULL)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            count++;
    return count;
}

avrr_err avrr_text_check(const char *s, size_t max, const char *field,
                         avrr_error *e)
{
    size_t n;
    bool blank = true;

    if (s == NULL)
        return avrr_error_set(e, AVRR_EINVALID, field, "missing");
    n = strnlen(s, max + 1);
    if (n > max)
        return avrr_error_set(e, AVRR_EINVALID, field,
                              "longer than %zu bytes", max);
    if (!avrr_utf8_valid(s, n))
        return avrr_error_set(e, AVRR_EINVALID, field,
                              "not valid UTF-8 text (or a control character)");
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t') {
            blank = false;
            break;
        }
    if (blank)
        return avrr_error_set(e, AVRR_EINVALID, field, "empty");
    return AVRR_OK;
}
