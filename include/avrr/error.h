/* avrr/error.h: the one error type of libavrr.
 *
 * Every fallible function returns an avrr_err. AVRR_OK is zero; every error is
 * negative. Where a caller needs to know which input field was wrong (the
 * HTTP API names it in its 4xx body, the CLI names file, line and column),
 * functions also take an avrr_error out-parameter that carries the field and
 * a human message. The codes and their names come from one X-macro list so
 * that avrr_strerror() and avrr_errname() can never disagree with the enum.
 */
#ifndef AVRR_ERROR_H
#define AVRR_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X(NAME, wire code, message) */
#define AVRR_ERRNO_MAP(X)                                                     \
    X(NOMEM, "out_of_memory", "out of memory")                                \
    X(INVALID, "invalid", "invalid input")                                    \
    X(NOTFOUND, "not_found", "not found")                                     \
    X(CONFLICT, "conflict", "conflict with the current state")                \
    X(EXISTS, "exists", "already exists")                                     \
    X(IO, "io", "input/output error")                                         \
    X(DB, "database", "database error")                                       \
    X(VERSION, "version", "registry made by a newer version of avrr")         \
    X(UNAUTHORIZED, "unauthorized", "missing or invalid API key")             \
    X(FORBIDDEN, "forbidden", "not allowed for this role")                    \
    X(TOOLARGE, "too_large", "input too large")                               \
    X(LIMIT, "limit", "a limit was reached")                                  \
    X(CRYPTO, "crypto", "cryptographic library failure")                      \
    X(INTERNAL, "internal", "internal error")

typedef enum avrr_err {
    AVRR_OK = 0,
#define AVRR__ERR_ENUM(name, code, msg) AVRR_E##name,
    AVRR__ERR_FIRST = -100,
    AVRR_ERRNO_MAP(AVRR__ERR_ENUM)
#undef AVRR__ERR_ENUM
    AVRR__ERR_LAST
} avrr_err;

/* A static English message for an error code; never NULL. */
const char *avrr_strerror(avrr_err err);

/* The stable snake_case code used on the wire ("invalid", "not_found"...). */
const char *avrr_errname(avrr_err err);

/* Details of a failure: which field, and a message for humans. Fixed-size so
 * that filling it never allocates (it must work when memory is exhausted). */
typedef struct avrr_error {
    avrr_err code;
    char field[96];   /* JSON path or CSV column, "" when not about a field */
    char message[256];
} avrr_error;

/* Resets *e to "no error". Safe with e == NULL. */
void avrr_error_clear(avrr_error *e);

/* Records code, field (may be NULL) and a printf-style message in *e and
 * returns code, so that callers can write `return avrr_error_set(...)`.
 * Safe with e == NULL (then only returns code). */
avrr_err avrr_error_set(avrr_error *e, avrr_err code, const char *field,
                        const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefixes e->field with `prefix` and a dot or bracket as needed, so that
 * nested validators can report "identities[1].birth_date". */
void avrr_error_prefix_field(avrr_error *e, const char *prefix);

#ifdef __cplusplus
}
#endif
#endif
