/* src/core/csv.c: an RFC 4180 CSV reader and the identity reader over it.
 *
 * See include/avrr/csv.h for the accepted syntax, the limits and ownership.
 * The reader pulls bytes from a FILE through its own buffer, keeps the
 * current record in one growing buffer (each field NUL-terminated) and
 * tracks the line and column of the next byte, so that every field knows
 * where it started and every error can say "FILE:LINE:COLUMN: ...".
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "avrr/core.h"
#include "avrr/csv.h"
#include "avrr/error.h"

/* Read size: one call to fread per 64 KiB keeps stdio overhead negligible. */
#define IN_BUF_SIZE (64 * 1024)
/* Stamped in open and wiped in close to catch use of a freed reader. */
#define CSV_MAGIC 0x43535652u      /* "CSVR" */
#define IDREADER_MAGIC 0x49444352u /* "IDCR" */

#define CSV_EOF (-1)

struct avrr_csv {
    unsigned magic;
    FILE *f;
    char *filename;
    unsigned char *in; /* IN_BUF_SIZE bytes */
    size_t in_pos, in_len;
    bool in_eof, started, read_error;
    bool quoted0; /* the first field of the record was quoted */
    unsigned long line, col; /* where the next byte sits, 1-based */

    char *rec; /* fields of the current record, each NUL-terminated */
    size_t rec_len, rec_cap;
    size_t n, cap; /* fields in the record, room in the arrays below */
    size_t *off, *len;
    unsigned long *lines, *cols;

    avrr_err failed; /* AVRR_OK, or the fatal error repeated by next() */
    avrr_error err;
};

/* ---- input -------------------------------------------------------------- */

static void fill(avrr_csv *c)
{
    size_t got;

    if (c->in_pos < c->in_len || c->in_eof)
        return;
    c->in_pos = 0;
    c->in_len = 0;
    got = fread(c->in, 1, IN_BUF_SIZE, c->f);
    c->in_len = got;
    if (got == 0) {
        c->in_eof = true;
        c->read_error = ferror(c->f) != 0;
    }
}

static int peek(avrr_csv *c)
{
    fill(c);
    return c->in_pos < c->in_len ? c->in[c->in_pos] : CSV_EOF;
}

/* Consumes one byte and moves the position: a line feed starts a new line,
 * every byte that is not a UTF-8 continuation byte starts a new character. */
static int get(avrr_csv *c)
{
    int b = peek(c);
    if (b == CSV_EOF)
        return b;
    c->in_pos++;
    if (b == '\n') {
        c->line++;
        c->col = 1;
    } else if ((b & 0xC0) != 0x80) {
        c->col++;
    }
    return b;
}

/* Skips a UTF-8 byte order mark at the very start, without counting it. */
static void skip_bom(avrr_csv *c)
{
    static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
    size_t i = 0;

    c->started = true;
    /* The BOM may straddle short reads from a pipe: gather 3 bytes first. */
    fill(c);
    while (c->in_len < 3 && !c->in_eof) {
        size_t got = fread(c->in + c->in_len, 1, 3 - c->in_len, c->f);
        if (got == 0) {
            c->read_error = ferror(c->f) != 0;
            break;
        }
        c->in_len += got;
    }
    for (i = 0; i < 3; i++)
        if (c->in_pos + i >= c->in_len || c->in[c->in_pos + i] != bom[i])
            return;
    c->in_pos += 3;
}

/* ---- errors --------------------------------------------------------------- */

static avrr_err vfail(avrr_csv *c, avrr_err code, unsigned long line,
                      unsigned long col, const char *fmt, va_list ap)
{
    char msg[sizeof c->err.message];
    vsnprintf(msg, sizeof msg, fmt, ap);
    avrr_error_set(&c->err, code, NULL, "%s:%lu:%lu: %s", c->filename, line,
                   col, msg);
    c->failed = code;
    return code;
}

/* Records a fatal error at line:col. */
static avrr_err fail(avrr_csv *c, avrr_err code, unsigned long line,
                     unsigned long col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static avrr_err fail(avrr_csv *c, avrr_err code, unsigned long line,
                     unsigned long col, const char *fmt, ...)
{
    va_list ap;
    avrr_err result;
    va_start(ap, fmt);
    result = vfail(c, code, line, col, fmt, ap);
    va_end(ap);
    return result;
}

/* ---- record building ----------------------------------------------------- */

static avrr_err append(avrr_csv *c, char b)
{
    if (c->rec_len == c->rec_cap) {
        size_t cap = c->rec_cap * 2;
        char *p = avrr_realloc(c->rec, cap);
        if (p == NULL)
            return AVRR_ENOMEM;
        c->rec = p;
        c->rec_cap = cap;
    }
    c->rec[c->rec_len++] = b;
    return AVRR_OK;
}

static avrr_err grow_fields(avrr_csv *c)
{
    size_t cap = c->cap * 2;
    size_t *off, *len;
    unsigned long *lines, *cols;

    if ((off = avrr_realloc(c->off, cap * sizeof *off)) == NULL)
        return AVRR_ENOMEM;
    c->off = off;
    if ((len = avrr_realloc(c->len, cap * sizeof *len)) == NULL)
        return AVRR_ENOMEM;
    c->len = len;
    if ((lines = avrr_realloc(c->lines, cap * sizeof *lines)) == NULL)
        return AVRR_ENOMEM;
    c->lines = lines;
    if ((cols = avrr_realloc(c->cols, cap * sizeof *cols)) == NULL)
        return AVRR_ENOMEM;
    c->cols = cols;
    c->cap = cap;
    return AVRR_OK;
}

/* Well-formed UTF-8 without NUL; line breaks and tabs are allowed (they are
 * legal inside quoted fields), other control characters are not. Multi-byte
 * sequences never contain bytes below 0x80, so checking the pieces between
 * line breaks with avrr_utf8_valid checks the whole. */
static bool field_text_ok(const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '\n' || s[i] == '\r') {
            if (!avrr_utf8_valid(s + start, i - start))
                return false;
            start = i + 1;
        }
    }
    return true;
}

/* Ends the current field: NUL-terminates and checks it. */
static avrr_err end_field(avrr_csv *c, size_t start, unsigned long line,
                          unsigned long col)
{
    avrr_err result;
    size_t n = c->rec_len - start;

    if ((result = append(c, '\0')) != AVRR_OK)
        return result;
    if (!field_text_ok(c->rec + start, n))
        return fail(c, AVRR_EINVALID, line, col,
                    "field is not valid UTF-8 text (or holds a NUL or "
                    "control character)");
    c->off[c->n] = start;
    c->len[c->n] = n;
    c->lines[c->n] = line;
    c->cols[c->n] = col;
    c->n++;
    return AVRR_OK;
}

/* Appends one byte of a field, enforcing the field and record limits. */
static avrr_err put(avrr_csv *c, size_t start, unsigned long line,
                    unsigned long col, int b)
{
    if (c->rec_len - start >= AVRR_CSV_FIELD_MAX)
        return fail(c, AVRR_ETOOLARGE, line, col,
                    "field longer than %d bytes", AVRR_CSV_FIELD_MAX);
    if (c->rec_len >= AVRR_CSV_RECORD_MAX)
        return fail(c, AVRR_ETOOLARGE, c->lines[0], c->cols[0],
                    "record longer than %d bytes", AVRR_CSV_RECORD_MAX);
    return append(c, (char)b);
}

/* After a field: a line end. Returns 1 at the end of the record, 0 when a
 * comma follows (another field), or an error. */
static int after_field(avrr_csv *c, const char *what)
{
    int b = peek(c);
    unsigned long line = c->line, col = c->col;

    if (b == CSV_EOF)
        return 1;
    if (b == ',') {
        get(c);
        return 0;
    }
    if (b == '\n') {
        get(c);
        return 1;
    }
    if (b == '\r') {
        get(c);
        if (peek(c) == '\n') {
            get(c);
            return 1;
        }
        return fail(c, AVRR_EINVALID, line, col,
                    "carriage return not followed by a line feed");
    }
    return fail(c, AVRR_EINVALID, line, col, "%s", what);
}

/* Reads one field into the record. Returns 1 at the end of the record, 0
 * when another field follows, or a negative avrr_err. */
static int read_field(avrr_csv *c)
{
    unsigned long line = c->line, col = c->col;
    size_t start = c->rec_len;
    avrr_err result;
    int b;

    if (c->n == AVRR_CSV_FIELDS_MAX)
        return fail(c, AVRR_ETOOLARGE, line, col, "more than %d fields",
                    AVRR_CSV_FIELDS_MAX);
    if (c->n == c->cap && (result = grow_fields(c)) != AVRR_OK)
        return result;
    /* Field 0 must have its place before put() reports on the record. */
    if (c->n == 0) {
        c->lines[0] = line;
        c->cols[0] = col;
    }

    if (peek(c) == '"') {
        get(c);
        if (c->n == 0)
            c->quoted0 = true;
        for (;;) {
            b = get(c);
            if (b == CSV_EOF)
                return fail(c, AVRR_EINVALID, line, col,
                            "unterminated quoted field");
            if (b == '"') {
                if (peek(c) != '"')
                    break;
                get(c);
            } else if (b == '\r' && peek(c) == '\n') {
                continue; /* CRLF inside quotes becomes LF */
            }
            if ((result = put(c, start, line, col, b)) != AVRR_OK)
                return result;
        }
        if ((result = end_field(c, start, line, col)) != AVRR_OK)
            return result;
        return after_field(c, "unexpected character after a closing quote "
                              "(a quote inside a quoted field is written "
                              "twice)");
    }

    for (;;) {
        b = peek(c);
        if (b == CSV_EOF || b == ',' || b == '\n' || b == '\r')
            break;
        if (b == '"')
            return fail(c, AVRR_EINVALID, c->line, c->col,
                        "quote inside an unquoted field (quote the whole "
                        "field and write the quote twice)");
        get(c);
        if ((result = put(c, start, line, col, b)) != AVRR_OK)
            return result;
    }
    if ((result = end_field(c, start, line, col)) != AVRR_OK)
        return result;
    return after_field(c, "unexpected character");
}

/* ---- public: plain records --------------------------------------------------- */

avrr_err avrr_csv_open(FILE *f, const char *filename, avrr_csv **out)
{
    avrr_err result = AVRR_ENOMEM;
    avrr_csv *c = NULL;

    *out = NULL;
    if (f == NULL)
        return AVRR_EINVALID;
    if ((c = avrr_calloc(1, sizeof *c)) == NULL)
        goto out;
    c->magic = CSV_MAGIC;
    c->f = f;
    c->line = 1;
    c->col = 1;
    c->rec_cap = 256;
    c->cap = 16;
    c->filename = avrr_strdup(filename != NULL ? filename : "-");
    c->in = avrr_malloc(IN_BUF_SIZE);
    c->rec = avrr_malloc(c->rec_cap);
    c->off = avrr_malloc(c->cap * sizeof *c->off);
    c->len = avrr_malloc(c->cap * sizeof *c->len);
    c->lines = avrr_malloc(c->cap * sizeof *c->lines);
    c->cols = avrr_malloc(c->cap * sizeof *c->cols);
    if (c->filename == NULL || c->in == NULL || c->rec == NULL ||
        c->off == NULL || c->len == NULL || c->lines == NULL ||
        c->cols == NULL)
        goto out;
    *out = c;
    c = NULL;
    result = AVRR_OK;
out:
    avrr_csv_close(c);
    return result;
}

avrr_err avrr_csv_next(avrr_csv *c, avrr_error *e)
{
    int rc;

    if (c == NULL || c->magic != CSV_MAGIC)
        return avrr_error_set(e, AVRR_EINVALID, NULL, "no CSV reader");
    if (c->failed != AVRR_OK)
        goto failed;
    if (!c->started)
        skip_bom(c);
    for (;;) {
        c->n = 0;
        c->rec_len = 0;
        c->quoted0 = false;
        if (peek(c) == CSV_EOF) {
            if (c->read_error) {
                fail(c, AVRR_EIO, c->line, c->col, "read error");
                goto failed;
            }
            avrr_error_clear(e);
            return AVRR_ENOTFOUND;
        }
        do
            rc = read_field(c);
        while (rc == 0);
        if (rc < 0) {
            /* Out of memory mid-record: the rest of the record cannot be
             * found again, so this is as fatal as malformed input. */
            if (c->failed == AVRR_OK) {
                avrr_error_set(&c->err, (avrr_err)rc, NULL, "%s",
                               avrr_strerror((avrr_err)rc));
                c->failed = (avrr_err)rc;
            }
            goto failed;
        }
        if (c->read_error) {
            fail(c, AVRR_EIO, c->line, c->col, "read error");
            goto failed;
        }
        /* An empty line reads as one unquoted empty field: skip it. */
        if (c->n == 1 && c->len[0] == 0 && !c->quoted0)
            continue;
        avrr_error_clear(e);
        return AVRR_OK;
    }
failed:
    if (e != NULL)
        *e = c->err;
    return c->failed;
}

size_t avrr_csv_count(const avrr_csv *c)
{
    return c != NULL ? c->n : 0;
}

const char *avrr_csv_field(const avrr_csv *c, size_t i, size_t *len)
{
    if (c == NULL || i >= c->n) {
        if (len != NULL)
            *len = 0;
        return NULL;
    }
    if (len != NULL)
        *len = c->len[i];
    return c->rec + c->off[i];
}

unsigned long avrr_csv_line(const avrr_csv *c, size_t i)
{
    return c != NULL && i < c->n ? c->lines[i] : 0;
}

unsigned long avrr_csv_column(const avrr_csv *c, size_t i)
{
    return c != NULL && i < c->n ? c->cols[i] : 0;
}

const char *avrr_csv_filename(const avrr_csv *c)
{
    return c != NULL ? c->filename : "-";
}

bool avrr_csv_failed(const avrr_csv *c)
{
    return c == NULL || c->failed != AVRR_OK;
}

/* Position of field i, or of the record (field 0) when i is out of range,
 * or where the reader stands when there is no record. */
static void where(const avrr_csv *c, size_t i, unsigned long *line,
                  unsigned long *col)
{
    if (i >= c->n)
        i = 0;
    if (i < c->n) {
        *line = c->lines[i];
        *col = c->cols[i];
    } else {
        *line = c->line;
        *col = c->col;
    }
}

char *avrr_csv_where(const avrr_csv *c, size_t i, char *buf, size_t size)
{
    unsigned long line, col;

    if (size == 0)
        return buf;
    if (c == NULL) {
        snprintf(buf, size, "-");
        return buf;
    }
    where(c, i, &line, &col);
    snprintf(buf, size, "%s:%lu:%lu", c->filename, line, col);
    return buf;
}

avrr_err avrr_csv_error_at(const avrr_csv *c, size_t i, avrr_error *e,
                           avrr_err code, const char *field, const char *fmt,
                           ...)
{
    char msg[sizeof e->message];
    char at[sizeof e->message];
    va_list ap;

    if (e == NULL)
        return code;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    avrr_csv_where(c, i, at, sizeof at);
    return avrr_error_set(e, code, field, "%s: %s", at, msg);
}

void avrr_csv_put(FILE *f, const char *s, size_t n)
{
    if (!memchr(s, ',', n) && !memchr(s, '"', n) && !memchr(s, '\n', n) &&
        !memchr(s, '\r', n)) {
        fwrite(s, 1, n, f);
        return;
    }
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            fputc('"', f);
        fputc(s[i], f);
    }
    fputc('"', f);
}

void avrr_csv_close(avrr_csv *c)
{
    if (c == NULL)
        return;
    c->magic = 0;
    avrr_free(c->filename);
    avrr_free(c->in);
    avrr_free(c->rec);
    avrr_free(c->off);
    avrr_free(c->len);
    avrr_free(c->lines);
    avrr_free(c->cols);
    avrr_free(c);
}

/* ---- identity rows ----------------------------------------------------------- */

/* The identity column set of DESIGN.md section 7. */
#define ID_COLUMNS(X)                                                         \
    X(COL_REC_ID, "rec_id")                                                   \
    X(COL_GIVEN_NAMES, "given_names")                                         \
    X(COL_SURNAME, "surname")                                                 \
    X(COL_FULL_NAME, "full_name")                                             \
    X(COL_SEX, "sex")                                                         \
    X(COL_BIRTH_DATE, "birth_date")                                           \
    X(COL_NATIONALITY, "nationality")                                         \
    X(COL_BIRTH_PLACE, "birth_place")                                         \
    X(COL_DOCUMENT_NO, "document_no")                                         \
    X(COL_ADDRESS, "address")

enum id_column {
#define COL_ENUM(id, name) id,
    ID_COLUMNS(COL_ENUM)
#undef COL_ENUM
        N_ID_COLUMNS
};

static const char *const id_column_names[N_ID_COLUMNS] = {
#define COL_NAME(id, name) [id] = name,
    ID_COLUMNS(COL_NAME)
#undef COL_NAME
};

struct avrr_identity_reader {
    unsigned magic;
    avrr_csv *csv;
    int col[N_ID_COLUMNS]; /* field index of each identity column, or -1 */
    char **header;         /* trimmed header names */
    size_t n_header;
    unsigned long line; /* where the current row starts */
};

static bool blank(const char *s)
{
    for (; *s != '\0'; s++)
        if (*s != ' ' && *s != '\t')
            return false;
    return true;
}

/* Copies a header name without surrounding blanks. */
static char *trimmed_copy(const char *s, size_t n)
{
    char *copy;
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if ((copy = avrr_malloc(n + 1)) == NULL)
        return NULL;
    memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

static avrr_err read_header(avrr_identity_reader *r, avrr_error *e)
{
    avrr_err result;
    size_t n;

    if ((result = avrr_csv_next(r->csv, e)) != AVRR_OK) {
        if (result == AVRR_ENOTFOUND)
            avrr_error_set(e, result, NULL, "%s: empty file, no header",
                           avrr_csv_filename(r->csv));
        return result;
    }
    n = avrr_csv_count(r->csv);
    if ((r->header = avrr_calloc(n, sizeof *r->header)) == NULL)
        return avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
    r->n_header = n;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *name = avrr_csv_field(r->csv, i, &len);
        if ((r->header[i] = trimmed_copy(name, len)) == NULL)
            return avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
        for (int k = 0; k < N_ID_COLUMNS; k++) {
            if (strcasecmp(r->header[i], id_column_names[k]) != 0)
                continue;
            if (r->col[k] >= 0)
                return avrr_csv_error_at(r->csv, i, e, AVRR_EINVALID,
                                         id_column_names[k],
                                         "column %s appears twice",
                                         id_column_names[k]);
            r->col[k] = (int)i;
        }
    }
    if (r->col[COL_REC_ID] < 0)
        return avrr_csv_error_at(r->csv, 0, e, AVRR_EINVALID, "rec_id",
                                 "missing column rec_id");
    if (r->col[COL_GIVEN_NAMES] < 0 && r->col[COL_SURNAME] < 0 &&
        r->col[COL_FULL_NAME] < 0)
        return avrr_csv_error_at(r->csv, 0, e, AVRR_EINVALID, "given_names",
                                 "missing name column: need at least one of "
                                 "given_names, surname, full_name");
    return AVRR_OK;
}

avrr_err avrr_identity_reader_open(FILE *f, const char *filename,
                                   avrr_identity_reader **out, avrr_error *e)
{
    avrr_err result;
    avrr_identity_reader *r = NULL;

    *out = NULL;
    if ((r = avrr_calloc(1, sizeof *r)) == NULL) {
        result = avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
        goto out;
    }
    r->magic = IDREADER_MAGIC;
    for (int k = 0; k < N_ID_COLUMNS; k++)
        r->col[k] = -1;
    if ((result = avrr_csv_open(f, filename, &r->csv)) != AVRR_OK) {
        avrr_error_set(e, result, NULL, "%s", avrr_strerror(result));
        goto out;
    }
    if ((result = read_header(r, e)) != AVRR_OK)
        goto out;
    *out = r;
    r = NULL;
out:
    avrr_identity_reader_close(r);
    return result;
}

/* The value of identity column k in the current row, or NULL when the file
 * has no such column. */
static const char *value(const avrr_identity_reader *r, int k)
{
    return r->col[k] < 0 ? NULL
                         : avrr_csv_field(r->csv, (size_t)r->col[k], NULL);
}

/* Reports a bad value of column k at the place where the value starts (the
 * row start when the file lacks the column). */
static avrr_err bad_value(const avrr_identity_reader *r, int k, avrr_error *e,
                          avrr_err code, const char *reason)
{
    size_t at = r->col[k] >= 0 ? (size_t)r->col[k] : 0;
    return avrr_csv_error_at(r->csv, at, e, code, id_column_names[k], "%s: %s",
                             id_column_names[k], reason);
}

/* Copy of an optional text value; blank values stay NULL. */
static avrr_err take_text(const avrr_identity_reader *r, int k, char **dst)
{
    const char *v = value(r, k);
    if (v == NULL || blank(v))
        return AVRR_OK;
    return (*dst = avrr_strdup(v)) != NULL ? AVRR_OK : AVRR_ENOMEM;
}

/* Address with its line breaks (legal inside a quoted CSV field, not in a
 * registry text field) joined by ", ". */
static avrr_err take_address(const avrr_identity_reader *r, char **dst)
{
    const char *v = value(r, COL_ADDRESS);
    size_t n = 0, breaks = 0, j = 0;
    char *copy;

    if (v == NULL || blank(v))
        return AVRR_OK;
    for (; v[n] != '\0'; n++)
        breaks += v[n] == '\n';
    if ((copy = avrr_malloc(n + breaks + 1)) == NULL)
        return AVRR_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '\n') {
            copy[j++] = ',';
            copy[j++] = ' ';
        } else {
            copy[j++] = v[i];
        }
    }
    copy[j] = '\0';
    *dst = copy;
    return AVRR_OK;
}

/* Which column a field named by avrr_identity_validate belongs to. */
static int column_of(const avrr_identity_reader *r, const char *field)
{
    if (strncmp(field, "documents", 9) == 0)
        return COL_DOCUMENT_NO;
    for (int k = 0; k < N_ID_COLUMNS; k++)
        if (strcmp(field, id_column_names[k]) == 0) {
            /* "No name at all" is reported on given_names: point at the first
             * name column the file has. */
            if (k == COL_GIVEN_NAMES && r->col[k] < 0)
                return r->col[COL_SURNAME] >= 0 ? COL_SURNAME : COL_FULL_NAME;
            return k;
        }
    return COL_REC_ID;
}

/* Fills *id from the current row. Returns AVRR_OK, AVRR_ENOMEM, or
 * AVRR_EINVALID with e filled. */
static avrr_err fill_identity(const avrr_identity_reader *r, avrr_identity *id,
                              avrr_error *e)
{
    avrr_err result;
    avrr_error why;
    const char *v;
    int sex;

    avrr_error_clear(&why);
    if ((result = take_text(r, COL_GIVEN_NAMES, &id->given_names)) != AVRR_OK ||
        (result = take_text(r, COL_SURNAME, &id->surname)) != AVRR_OK ||
        (result = take_text(r, COL_FULL_NAME, &id->full_name)) != AVRR_OK ||
        (result = take_text(r, COL_BIRTH_PLACE, &id->birth_place)) !=
            AVRR_OK ||
        (result = take_address(r, &id->address)) != AVRR_OK)
        return avrr_error_set(e, result, NULL, "out of memory");

    v = value(r, COL_SEX);
    if (v != NULL && !blank(v)) {
        if ((sex = avrr_sex_parse(v)) < 0)
            return bad_value(r, COL_SEX, e, AVRR_EINVALID,
                             "not one of f, m, x, u (or female, male, "
                             "other, unknown)");
        id->sex = (avrr_sex)sex;
    }

    v = value(r, COL_BIRTH_DATE);
    if (v != NULL && !blank(v) &&
        avrr_date_parse(v, &id->birth_date, "birth_date", &why) != AVRR_OK)
        return bad_value(r, COL_BIRTH_DATE, e, AVRR_EINVALID, why.message);

    v = value(r, COL_NATIONALITY);
    if (v != NULL && !blank(v)) {
        size_t n = strlen(v);
        if (n > 3)
            return bad_value(r, COL_NATIONALITY, e, AVRR_EINVALID,
                             "not an ISO 3166-1 alpha-2 or alpha-3 code");
        memcpy(id->nationality, v, n + 1);
    }

    v = value(r, COL_DOCUMENT_NO);
    if (v != NULL && !blank(v)) {
        if ((id->documents = avrr_calloc(1, sizeof *id->documents)) == NULL)
            return avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
        id->n_documents = 1;
        id->documents[0].type = avrr_strdup("unknown");
        id->documents[0].number = avrr_strdup(v);
        if (id->documents[0].type == NULL || id->documents[0].number == NULL)
            return avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
    }

    if (avrr_identity_validate(id, &why) != AVRR_OK)
        return bad_value(r, column_of(r, why.field), e, why.code,
                         why.message);
    return AVRR_OK;
}

avrr_err avrr_identity_reader_next(avrr_identity_reader *r, avrr_identity *out,
                                   const char **rec_id, avrr_error *e)
{
    avrr_err result;
    const char *id_value;
    size_t n;
    avrr_error why;

    memset(out, 0, sizeof *out);
    *rec_id = NULL;
    if (r == NULL || r->magic != IDREADER_MAGIC)
        return avrr_error_set(e, AVRR_EINVALID, NULL, "no identity reader");
    r->line = 0;
    if ((result = avrr_csv_next(r->csv, e)) != AVRR_OK)
        return result;
    r->line = avrr_csv_line(r->csv, 0);

    n = avrr_csv_count(r->csv);
    if (n != r->n_header)
        return avrr_csv_error_at(r->csv, 0, e, AVRR_EINVALID, "",
                                 "expected %zu fields as in the header, "
                                 "found %zu",
                                 r->n_header, n);
    id_value = value(r, COL_REC_ID);
    if (id_value == NULL || blank(id_value))
        return bad_value(r, COL_REC_ID, e, AVRR_EINVALID, "missing");
    if (avrr_text_check(id_value, AVRR_CODE_MAX, "rec_id", &why) != AVRR_OK)
        return bad_value(r, COL_REC_ID, e, AVRR_EINVALID, why.message);

    if ((result = fill_identity(r, out, e)) != AVRR_OK) {
        avrr_identity_clear(out);
        memset(out, 0, sizeof *out);
        return result;
    }
    *rec_id = id_value;
    avrr_error_clear(e);
    return AVRR_OK;
}

unsigned long avrr_identity_reader_line(const avrr_identity_reader *r)
{
    return r != NULL ? r->line : 0;
}

const avrr_csv *avrr_identity_reader_csv(const avrr_identity_reader *r)
{
    return r != NULL ? r->csv : NULL;
}

int avrr_identity_reader_column(const avrr_identity_reader *r,
                                const char *name)
{
    if (r == NULL || name == NULL)
        return -1;
    for (size_t i = 0; i < r->n_header; i++)
        if (strcasecmp(r->header[i], name) == 0)
            return (int)i;
    return -1;
}

bool avrr_identity_reader_failed(const avrr_identity_reader *r)
{
    return r == NULL || avrr_csv_failed(r->csv);
}

void avrr_identity_reader_close(avrr_identity_reader *r)
{
    if (r == NULL)
        return;
    r->magic = 0;
    avrr_csv_close(r->csv);
    for (size_t i = 0; i < r->n_header; i++)
        avrr_free(r->header[i]);
    avrr_free(r->header);
    avrr_free(r);
}
