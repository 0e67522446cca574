/* fuzz_date.c: avrr_date_parse on any text. An accepted date must be in
 * range, its parts consistent with its precision, and it must format to a
 * text that parses back to the same date. */
#include "avrr/core.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    avrr_date d, d2;
    avrr_error e;
    avrr_error_clear(&e);
    if (avrr_date_parse(s, &d, "birth_date", &e) == AVRR_OK) {
        FUZZ_ASSERT(d.precision <= AVRR_DATE_DAY);
        if (d.precision != AVRR_DATE_UNKNOWN)
            FUZZ_ASSERT(d.year >= 1850 && d.year <= 2100);
        FUZZ_ASSERT(d.month >= 0 && d.month <= 12);
        FUZZ_ASSERT(d.day >= 0 && d.day <= 31);
        FUZZ_ASSERT((d.precision >= AVRR_DATE_MONTH) == (d.month != 0));
        FUZZ_ASSERT((d.precision == AVRR_DATE_DAY) == (d.day != 0));
        char buf[11];
        avrr_date_format(&d, buf);
        FUZZ_ASSERT(avrr_date_parse(buf, &d2, "birth_date", &e) == AVRR_OK);
        FUZZ_ASSERT(d2.year == d.year && d2.month == d.month && d2.day == d.day &&
                    d2.precision == d.precision);
        if (d.precision == AVRR_DATE_DAY) {
            /* Days since the epoch are monotonic within a month. */
            (void)avrr_date_days(&d);
        }
    } else {
        FUZZ_ASSERT(e.code != AVRR_OK && strcmp(e.field, "birth_date") == 0);
    }
    free(s);
    return 0;
}
