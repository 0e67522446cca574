/* subblock.c: how a block too large to score whole is split, shared by the
 * batch (batch.c: dedup, link, train) and the match index (index.c: checks),
 * so that `avrr check` and `avrr link` offer a probe the same candidates
 * (match_int.h: AVRR__SPLIT_CAP, avrr__block_fate). */
#include "match_int.h"

size_t avrr__match_sub_keys(const avrr_match_rec *r, uint64_t *keys)
{
    size_t n = 0;
    for (int k = 0; k < r->n_names; k++)
        for (int i = 0; i < r->name[k].n; i++) {
            const avrr__mtok *t = &r->name[k].t[i];
            if (t->key)
                keys[n++] = (1ull << 32) | t->key;
            if (t->alt_key && t->alt_key != t->key)
                keys[n++] = (1ull << 32) | t->alt_key;
        }
    if (r->precision != AVRR_DATE_UNKNOWN) {
        keys[n++] = (2ull << 32) | (uint16_t)r->year;
        keys[n++] = (2ull << 32) | (uint16_t)(r->year + 1);
    }
    return n;
}
