/* error.c: names and messages of avrr_err, and the avrr_error detail record.
 * Both tables come from AVRR_ERRNO_MAP so they cannot drift from the enum. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "avrr/error.h"

#define AVRR__ERR_MSG(name, code, msg) [AVRR_E##name - AVRR__ERR_FIRST] = msg,
#define AVRR__ERR_CODE(name, code, msg) [AVRR_E##name - AVRR__ERR_FIRST] = code,
static const char *const err_messages[] = {AVRR_ERRNO_MAP(AVRR__ERR_MSG)};
static const char *const err_codes[] = {AVRR_ERRNO_MAP(AVRR__ERR_CODE)};
#undef AVRR__ERR_MSG
#undef AVRR__ERR_CODE

static int err_index(avrr_err err)
{
    if (err <= AVRR__ERR_FIRST || err >= AVRR__ERR_LAST)
        return -1;
    return (int)(err - AVRR__ERR_FIRST);
}

const char *avrr_strerror(avrr_err err)
{
    if (err == AVRR_OK)
        return "ok";
    int i = err_index(err);
    return i < 0 ? "unknown error" : err_messages[i];
}

const char *avrr_errname(avrr_err err)
{
    if (err == AVRR_OK)
        return "ok";
    int i = err_index(err);
    return i < 0 ? "unknown" : err_codes[i];
}

void avrr_error_clear(avrr_error *e)
{
    if (!e)
        return;
    e->code = AVRR_OK;
    e->field[0] = '\0';
    e->message[0] = '\0';
}

avrr_err avrr_error_set(avrr_error *e, avrr_err code, const char *field,
                        const char *fmt, ...)
{
    if (!e)
        return code;
    e->code = code;
    snprintf(e->field, sizeof e->field, "%s", field ? field : "");
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->message, sizeof e->message, fmt, ap);
        va_end(ap);
    } else {
        snprintf(e->message, sizeof e->message, "%s", avrr_strerror(code));
    }
    return code;
}

void avrr_error_prefix_field(avrr_error *e, const char *prefix)
{
    if (!e || !prefix || !prefix[0])
        return;
    /* prefix + separator + old field, cut at the buffer's end. */
    char joined[sizeof e->field];
    size_t cap = sizeof joined - 1, n = 0;
    const char *sep = (!e->field[0] || e->field[0] == '[') ? "" : ".";
    const char *parts[3] = {prefix, sep, e->field};
    for (int i = 0; i < 3; i++) {
        size_t len = strlen(parts[i]);
        if (len > cap - n)
            len = cap - n;
        memcpy(joined + n, parts[i], len);
        n += len;
    }
    joined[n] = '\0';
    memcpy(e->field, joined, n + 1);
}
