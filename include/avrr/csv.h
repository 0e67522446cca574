/* avrr/csv.h: reading CSV files of identities (DESIGN.md section 7).
 *
 * Two layers. avrr_csv is an RFC 4180 reader: fields separated by commas,
 * records by LF or CRLF, fields in double quotes may hold commas, line breaks
 * and quotes written twice (""). A UTF-8 byte order mark at the start is
 * skipped; completely empty lines are skipped. Input is untrusted, so a field
 * is at most AVRR_CSV_FIELD_MAX bytes, a record at most AVRR_CSV_RECORD_MAX
 * bytes and AVRR_CSV_FIELDS_MAX fields, and every field must be well-formed
 * UTF-8 without NUL bytes (line breaks and tabs inside quoted fields stay;
 * CRLF inside a quoted field becomes LF). The reader remembers where each
 * field starts (line and column, both 1-based, the column counted in
 * characters of that line, a quoted field starting at its opening quote),
 * so that every error reads "FILE:LINE:COLUMN: message".
 *
 * avrr_identity_reader sits on top: it reads the identity column set
 * `rec_id,given_names,surname,full_name,sex,birth_date,nationality,
 * birth_place,document_no[,address]` (any order, header names in any letter
 * case, extra columns ignored, optional columns may be missing; rec_id and at
 * least one of given_names/surname/full_name are required) and yields one
 * validated avrr_identity per row. `avrr import` and `avrr dedup`/`link` use
 * it.
 *
 * Ownership: the FILE stays the caller's (opened and closed by the caller;
 * the readers only read from it). Pointers returned by accessors point into
 * the reader and stay valid until the next *_next() or *_close() call.
 * Identities filled by avrr_identity_reader_next() are the caller's, freed
 * with avrr_identity_clear(). Readers are not thread-safe; use one per thread.
 *
 * Errors: a malformed file (unterminated quote, stray quote, bad UTF-8, size
 * limits) is fatal: the call returns AVRR_EINVALID or AVRR_ETOOLARGE and every
 * later *_next() returns the same error again (avrr_csv_failed() says so). A
 * bad value in a well-formed row of the identity reader is not fatal: the row
 * is skipped and the next call reads the next row. Typical loop:
 *
 *     while ((rc = avrr_identity_reader_next(r, &id, &rec_id, &e)) !=
 *            AVRR_ENOTFOUND) {
 *         if (rc == AVRR_OK) { use(&id, rec_id); avrr_identity_clear(&id); }
 *         else { fprintf(stderr, "%s\n", e.message);
 *                if (avrr_identity_reader_failed(r)) break; }
 *     }
 */
#ifndef AVRR_CSV_H
#define AVRR_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "avrr/core.h"
#include "avrr/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest field: far above any name or address (AVRR_TEXT_MAX is 500), low
 * enough that a hostile file cannot make us hold much per field. */
#define AVRR_CSV_FIELD_MAX (64 * 1024)
/* Longest record, all fields together. */
#define AVRR_CSV_RECORD_MAX (1024 * 1024)
/* Most fields per record: the column limit of common spreadsheets (16,384),
 * which also bounds the per-record bookkeeping. */
#define AVRR_CSV_FIELDS_MAX 16384

/* ---- plain CSV records ------------------------------------------------- */

typedef struct avrr_csv avrr_csv;

/* Starts reading CSV from f. `filename` (copied; may be NULL, then "-") is
 * only used in messages. Returns AVRR_OK and *out, or AVRR_ENOMEM. */
avrr_err avrr_csv_open(FILE *f, const char *filename, avrr_csv **out);

/* Reads the next record. Returns AVRR_OK with the record available through
 * the accessors below; AVRR_ENOTFOUND at the end of the input; AVRR_EINVALID
 * (malformed, e->message "FILE:LINE:COL: ..."), AVRR_ETOOLARGE (a size limit),
 * AVRR_EIO (read error) or AVRR_ENOMEM. All errors are fatal (sticky). */
avrr_err avrr_csv_next(avrr_csv *c, avrr_error *e);

/* Number of fields of the current record (0 before the first record). */
size_t avrr_csv_count(const avrr_csv *c);
/* Field i of the current record, NUL-terminated, its byte length in *len
 * (len may be NULL). Returns NULL when i is out of range. */
const char *avrr_csv_field(const avrr_csv *c, size_t i, size_t *len);
/* Line and column (1-based) where field i starts; 0 when i is out of range. */
unsigned long avrr_csv_line(const avrr_csv *c, size_t i);
unsigned long avrr_csv_column(const avrr_csv *c, size_t i);
/* The file name given to avrr_csv_open ("-" when none was). */
const char *avrr_csv_filename(const avrr_csv *c);
/* True after a fatal error: *_next() will only repeat it. */
bool avrr_csv_failed(const avrr_csv *c);

/* Writes "FILE:LINE:COL" of field i of the current record into buf (the
 * record's first field when i is out of range). Returns buf. */
char *avrr_csv_where(const avrr_csv *c, size_t i, char *buf, size_t size);

/* Fills e with code, field and the message "FILE:LINE:COL: <fmt...>" about
 * field i of the current record, and returns code, for callers that find a
 * bad value in a well-formed record. Safe with e == NULL. */
avrr_err avrr_csv_error_at(const avrr_csv *c, size_t i, avrr_error *e,
                           avrr_err code, const char *field, const char *fmt,
                           ...) __attribute__((format(printf, 6, 7)));

/* Frees the reader (not the FILE). Safe with NULL. */
void avrr_csv_close(avrr_csv *c);

/* Writes the n bytes of s to f as one CSV field (RFC 4180): as they are,
 * or in double quotes with quotes doubled when they hold a comma, a quote
 * or a line break. Errors show in ferror(f). */
void avrr_csv_put(FILE *f, const char *s, size_t n);

/* ---- identity rows ------------------------------------------------------ */

typedef struct avrr_identity_reader avrr_identity_reader;

/* Starts reading identities from f and reads its header. Returns AVRR_OK
 * and *out; AVRR_EINVALID when the header is malformed, names a column twice
 * or lacks rec_id or every name column (e->field names the missing column,
 * e->message "FILE:1:1: missing column rec_id"); AVRR_ENOTFOUND for an empty
 * file; other codes as avrr_csv_next. */
avrr_err avrr_identity_reader_open(FILE *f, const char *filename,
                                   avrr_identity_reader **out, avrr_error *e);

/* Reads the next row into *out (overwritten; the caller frees it with
 * avrr_identity_clear) and points *rec_id at its rec_id (valid until the next
 * call). The identity is validated with avrr_identity_validate: countries
 * canonical alpha-3, blank optional values NULL, document_no as documents[0]
 * with type "unknown" and no country, line breaks inside an address joined
 * with ", ". Returns AVRR_OK; AVRR_ENOTFOUND at the end; AVRR_EINVALID for a
 * bad value, with e->field the column name and e->message
 * "FILE:LINE:COLUMN: column: reason" (COLUMN where that value starts); the
 * row is then skipped unless avrr_identity_reader_failed() says the file
 * itself is malformed. *out is zeroed on every error. */
avrr_err avrr_identity_reader_next(avrr_identity_reader *r, avrr_identity *out,
                                   const char **rec_id, avrr_error *e);

/* The line where the current row starts (for messages), 0 before the first. */
unsigned long avrr_identity_reader_line(const avrr_identity_reader *r);
/* The underlying CSV reader, e.g. to read extra columns of the current row. */
const avrr_csv *avrr_identity_reader_csv(const avrr_identity_reader *r);
/* Index of a header column (case-insensitive), or -1 when the file lacks it. */
int avrr_identity_reader_column(const avrr_identity_reader *r,
                                const char *name);
/* True after a fatal (malformed file) error. */
bool avrr_identity_reader_failed(const avrr_identity_reader *r);
/* Frees the reader (not the FILE). Safe with NULL. */
void avrr_identity_reader_close(avrr_identity_reader *r);

#ifdef __cplusplus
}
#endif
#endif
