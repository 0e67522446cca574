/* fuzz_normalize.c: name normalisation and keys (include/avrr/match.h) on
 * any bytes, with output buffers of every size from 1 byte up (the first
 * input byte picks it), then the comparison record of an unvalidated
 * identity made of the remaining bytes. Checks what the header promises:
 * output always NUL-terminated within cap, *out_len its length, tokens of
 * a-z separated by single spaces, keys of A-Z, Jaro-Winkler in [0, 1]. */
#include <stdbool.h>

#include "avrr/core.h"
#include "avrr/match.h"
#include "fuzz.h"

/* The largest buffer tried; callers use 256 to 1024. */
#define CAP_MAX 1100

static void check_tokens(avrr_err rc, const char *out, size_t cap, size_t len)
{
    FUZZ_ASSERT(memchr(out, '\0', cap) != NULL);
    if (rc != AVRR_OK) {
        FUZZ_ASSERT(rc == AVRR_EINVALID || rc == AVRR_EINTERNAL || rc == AVRR_ENOMEM);
        return;
    }
    FUZZ_ASSERT(strlen(out) == len && len < cap);
    for (size_t i = 0; i < len; i++)
        FUZZ_ASSERT((out[i] >= 'a' && out[i] <= 'z') || out[i] == ' ');
}

static void keys_of(const char *tokens)
{
    const char *p = tokens;
    while (*p) {
        size_t n = strcspn(p, " ");
        for (size_t cap = 1; cap <= 17; cap += 8) {
            char key[17];
            memset(key, 'x', sizeof key);
            size_t kl = avrr_match_name_key(p, n, key, cap);
            FUZZ_ASSERT(kl < cap && key[kl] == '\0' && strlen(key) == kl);
            for (size_t i = 0; i < kl; i++)
                FUZZ_ASSERT(key[i] >= 'A' && key[i] <= 'Z');
        }
        p += n;
        while (*p == ' ')
            p++;
    }
}

static void record_of(const char *s, size_t size)
{
    /* Up to five NUL-separated fields become an identity without
     * validation: the record builder must refuse bad UTF-8 by itself. */
    const char *parts[5] = {0};
    size_t k = 0, at = 0;
    while (k < 5 && at <= size) {
        parts[k++] = s + at;
        at += strlen(s + at) + 1;
    }
    avrr_identity id = {0};
    id.given_names = (char *)parts[0];
    id.surname = (char *)parts[1];
    id.full_name = (char *)parts[2];
    id.birth_place = (char *)parts[3];
    id.address = (char *)parts[4];
    avrr_match_rec *rec = NULL;
    avrr_err rc = avrr_match_rec_new(&id, &rec);
    FUZZ_ASSERT(rc == AVRR_OK || rc == AVRR_EINVALID || rc == AVRR_EINTERNAL ||
                rc == AVRR_ENOMEM);
    FUZZ_ASSERT((rc == AVRR_OK) == (rec != NULL));
    if (rec) {
        avrr_match_explanation x;
        avrr_match_compare(NULL, NULL, rec, rec, &x);
        FUZZ_ASSERT(x.probability >= 0.0 && x.probability <= 1.0);
    }
    avrr_match_rec_free(rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t cap = 1 + (size_t)data[0] * 4; /* 1 .. 1021 */
    char *s = fuzz_cstr(data + 1, size - 1);
    static char out[CAP_MAX];
    size_t len = 0;

    avrr_err rc = avrr_match_normalize(s, out, cap, &len);
    check_tokens(rc, out, cap, len);
    rc = avrr_match_name_tokens(s, out, cap, &len);
    check_tokens(rc, out, cap, len);
    if (rc == AVRR_OK)
        keys_of(out);

    /* Keys of raw bytes: outside the documented a-z domain, but must stay
     * in bounds. */
    char key[33];
    size_t kl = avrr_match_name_key(s, size - 1, key, sizeof key);
    FUZZ_ASSERT(kl < sizeof key && key[kl] == '\0');

    size_t half = (size - 1) / 2;
    double jw = avrr_match_jaro_winkler(s, half, s + half, size - 1 - half);
    FUZZ_ASSERT(jw >= 0.0 && jw <= 1.0);
    if (half > 0)
        FUZZ_ASSERT(avrr_match_jaro_winkler(s, half, s, half) > 0.999999);

    record_of(s, size - 1);
    free(s);
    return 0;
}
