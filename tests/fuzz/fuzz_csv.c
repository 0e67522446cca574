/* fuzz_csv.c: a CSV file for `avrr import` / `avrr dedup`, through
 * fmemopen: first the plain RFC 4180 reader (every field must come back
 * NUL-free valid UTF-8 within the size limits, errors must be sticky), then
 * the identity reader on the same bytes. */
#include <stdbool.h>

#include "avrr/core.h"
#include "avrr/csv.h"
#include "fuzz.h"

/* Records read per input: enough to cover every state of the reader, few
 * enough that a file of empty lines does not slow the fuzzer down. */
#define MAX_RECORDS 256

static void plain(const uint8_t *data, size_t size)
{
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f)
        return;
    avrr_csv *c = NULL;
    avrr_error e;
    avrr_error_clear(&e);
    if (avrr_csv_open(f, "fuzz.csv", &c) != AVRR_OK) {
        fclose(f);
        return;
    }
    avrr_err rc = AVRR_OK;
    for (int i = 0; i < MAX_RECORDS; i++) {
        rc = avrr_csv_next(c, &e);
        if (rc != AVRR_OK)
            break;
        size_t n = avrr_csv_count(c), total = 0;
        FUZZ_ASSERT(n >= 1 && n <= AVRR_CSV_FIELDS_MAX);
        for (size_t k = 0; k < n; k++) {
            size_t len = 0;
            const char *s = avrr_csv_field(c, k, &len);
            FUZZ_ASSERT(s != NULL && strlen(s) == len);
            FUZZ_ASSERT(len <= AVRR_CSV_FIELD_MAX);
            /* Quoted fields keep tabs and line breaks; nothing else below
             * 0x20 and no malformed sequence gets through. */
            for (size_t j = 0; j < len; j++)
                FUZZ_ASSERT((unsigned char)s[j] >= 0x20 || s[j] == '\t' || s[j] == '\n' ||
                            s[j] == '\r');
            FUZZ_ASSERT(avrr_csv_line(c, k) >= 1 && avrr_csv_column(c, k) >= 1);
            total += len;
            char where[64];
            avrr_csv_where(c, k, where, sizeof where);
        }
        FUZZ_ASSERT(total <= AVRR_CSV_RECORD_MAX);
        FUZZ_ASSERT(avrr_csv_field(c, n, NULL) == NULL);
    }
    if (rc != AVRR_OK && rc != AVRR_ENOTFOUND) {
        /* Fatal errors are sticky. */
        FUZZ_ASSERT(avrr_csv_failed(c));
        FUZZ_ASSERT(avrr_csv_next(c, &e) == rc);
    }
    avrr_csv_close(c);
    fclose(f);
}

static void identities(const uint8_t *data, size_t size)
{
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f)
        return;
    avrr_identity_reader *r = NULL;
    avrr_error e;
    avrr_error_clear(&e);
    if (avrr_identity_reader_open(f, "fuzz.csv", &r, &e) == AVRR_OK) {
        avrr_identity id;
        const char *rec_id = NULL;
        avrr_err rc;
        for (int i = 0; i < MAX_RECORDS; i++) {
            rc = avrr_identity_reader_next(r, &id, &rec_id, &e);
            if (rc == AVRR_ENOTFOUND)
                break;
            if (rc == AVRR_OK) {
                FUZZ_ASSERT(rec_id != NULL);
                /* A row the reader passed is valid: validating it again
                 * must agree. */
                FUZZ_ASSERT(avrr_identity_validate(&id, &e) == AVRR_OK);
                avrr_identity_clear(&id);
            } else if (avrr_identity_reader_failed(r)) {
                break;
            }
        }
    }
    avrr_identity_reader_close(r);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* fmemopen with size 0 fails on some libcs; an empty file is the
     * reader's own case, so give it one byte-less buffer of size 1 then. */
    if (size == 0)
        return 0;
    plain(data, size);
    identities(data, size);
    return 0;
}
