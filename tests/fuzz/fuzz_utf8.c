/* fuzz_utf8.c: avrr_utf8_valid against an independent decoder written from
 * RFC 3629 (decode each code point, then refuse overlongs, surrogates,
 * values above U+10FFFF and C0 controls other than tab), plus
 * avrr_utf8_len and avrr_text_check on the same bytes. */
#include <stdbool.h>

#include "avrr/core.h"
#include "fuzz.h"

/* The reference: decodes by arithmetic rather than by table, so that a
 * mistake in one is unlikely to be repeated in the other. Counts code
 * points in *count. */
static bool reference_valid(const uint8_t *p, size_t n, size_t *count)
{
    size_t i = 0;
    *count = 0;
    while (i < n) {
        uint32_t cp;
        size_t len;
        uint8_t b = p[i];
        if (b < 0x80) {
            cp = b;
            len = 1;
        } else if ((b & 0xE0) == 0xC0) {
            cp = b & 0x1F;
            len = 2;
        } else if ((b & 0xF0) == 0xE0) {
            cp = b & 0x0F;
            len = 3;
        } else if ((b & 0xF8) == 0xF0) {
            cp = b & 0x07;
            len = 4;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        static const uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        if (cp < 0x20 && cp != '\t')
            return false;
        i += len;
        (*count)++;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so that ASan sees any read past the end. */
    char *s = malloc(size ? size : 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    size_t count;
    bool want = reference_valid(data, size, &count);
    bool got = avrr_utf8_valid(s, size);
    FUZZ_ASSERT(want == got);
    if (got)
        FUZZ_ASSERT(avrr_utf8_len(s, size) == count);
    free(s);

    char *z = fuzz_cstr(data, size);
    avrr_error e;
    avrr_error_clear(&e);
    avrr_err rc = avrr_text_check(z, AVRR_NAME_MAX, "surname", &e);
    if (rc == AVRR_OK) {
        size_t n = strlen(z);
        FUZZ_ASSERT(n <= AVRR_NAME_MAX && avrr_utf8_valid(z, n));
    }
    free(z);
    return 0;
}
