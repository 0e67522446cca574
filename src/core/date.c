/* src/core/date.c: dates with a precision.
 *
 * Birth dates of returnees are often partly unknown: only the year, or a year
 * and month, or a "01-01" that a registration office filled in for an
 * unknown day. We keep what is known (the precision) and flag likely
 * placeholders, because the matcher must treat "1990-01-01" as weak evidence
 * against "1990-07-23" (DESIGN.md section 5, step 4). Accepted text:
 * "YYYY-MM-DD", "YYYY-MM", "YYYY", "YYYY-00", "YYYY-00-00", "YYYY-MM-00" and
 * "" (unknown). Everything else is refused with a message naming the field.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "avrr/core.h"

/* Years outside this window are typing errors in this registry: nobody alive
 * was born before 1850, and 2100 leaves room for case dates far ahead. */
#define YEAR_MIN 1850
#define YEAR_MAX 2100

#define FORMAT_HINT "expected YYYY-MM-DD, YYYY-MM or YYYY (00 for unknown parts)"

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Reads exactly `width` ASCII digits at s; returns -1 if any is not one. */
static int digits(const char *s, int width)
{
    int v = 0;
    for (int i = 0; i < width; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

avrr_err avrr_date_parse(const char *s, avrr_date *out, const char *field,
                         avrr_error *e)
{
    avrr_date d = {0};
    size_t n;
    int year, month = 0, day = 0;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (s == NULL || s[0] == '\0')
        return AVRR_OK; /* unknown */
    n = strnlen(s, 11);
    if (n != 4 && n != 7 && n != 10)
        return avrr_error_set(e, AVRR_EINVALID, field, FORMAT_HINT);
    year = digits(s, 4);
    if (year < 0)
        return avrr_error_set(e, AVRR_EINVALID, field, FORMAT_HINT);
    if (n >= 7) {
        if (s[4] != '-' || (month = digits(s + 5, 2)) < 0)
            return avrr_error_set(e, AVRR_EINVALID, field, FORMAT_HINT);
    }
    if (n == 10) {
        if (s[7] != '-' || (day = digits(s + 8, 2)) < 0)
            return avrr_error_set(e, AVRR_EINVALID, field, FORMAT_HINT);
    }
    if (year < YEAR_MIN || year > YEAR_MAX)
        return avrr_error_set(e, AVRR_EINVALID, field,
                              "year %d outside %d..%d", year, YEAR_MIN,
                              YEAR_MAX);
    if (month > 12)
        return avrr_error_set(e, AVRR_EINVALID, field,
                              "month %02d does not exist", month);
    if (month == 0 && day != 0)
        return avrr_error_set(e, AVRR_EINVALID, field,
                              "day %02d given with an unknown month", day);
    if (month != 0 && day > days_in_month(year, month))
        return avrr_error_set(e, AVRR_EINVALID, field,
                              "day %02d does not exist in %04d-%02d", day,
                              year, month);

    d.year = (int16_t)year;
    d.month = (int8_t)month;
    d.day = (int8_t)day;
    if (day != 0) {
        d.precision = AVRR_DATE_DAY;
        d.placeholder = month == 1 && day == 1;
    } else if (month != 0) {
        d.precision = AVRR_DATE_MONTH;
        d.placeholder = n == 10; /* YYYY-MM-00 */
    } else {
        d.precision = AVRR_DATE_YEAR;
        d.placeholder = n > 4; /* YYYY-00 or YYYY-00-00 */
    }
    if (out != NULL)
        *out = d;
    return AVRR_OK;
}

char *avrr_date_format(const avrr_date *d, char buf[static 11])
{
    unsigned y, m, dd;

    buf[0] = '\0';
    if (d == NULL || d->year < YEAR_MIN || d->year > YEAR_MAX ||
        d->month < 0 || d->month > 12 || d->day < 0 || d->day > 31)
        return buf; /* unknown or not a date this module made */
    /* The modulos only tell the compiler the widths; values are in range. */
    y = (unsigned)d->year % 10000u;
    m = (unsigned)d->month % 100u;
    dd = (unsigned)d->day % 100u;
    switch (d->precision) {
    case AVRR_DATE_DAY:
        snprintf(buf, 11, "%04u-%02u-%02u", y, m, dd);
        break;
    case AVRR_DATE_MONTH:
        snprintf(buf, 11, "%04u-%02u", y, m);
        break;
    case AVRR_DATE_YEAR:
        snprintf(buf, 11, "%04u", y);
        break;
    default:
        break;
    }
    return buf;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil). */
static int32_t days_from_civil(int y, int m, int d)
{
    int era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + doe - 719468);
}

int32_t avrr_date_days(const avrr_date *d)
{
    if (d == NULL || d->precision == AVRR_DATE_UNKNOWN)
        return INT32_MIN;
    return days_from_civil(d->year, d->month > 0 ? d->month : 1,
                           d->precision == AVRR_DATE_DAY ? d->day : 1);
}
