/* tests/unit/test_csv.c: unit tests of the CSV reader (RFC 4180 syntax,
 * positions in error messages, limits, allocation failures) and of the
 * identity reader used by `avrr import` and `avrr dedup`/`link`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "avrr/core.h"
#include "avrr/csv.h"

/* A FILE over a copy of n bytes of text (fmemopen needs a writable buffer
 * for "r" on some libcs, and the copy lets text hold NUL bytes). */
typedef struct input {
    char *buf;
    FILE *f;
} input;

static input open_bytes(const char *text, size_t n)
{
    input in;
    in.buf = malloc(n + 1);
    assert_non_null(in.buf);
    memcpy(in.buf, text, n);
    in.buf[n] = '\0';
    in.f = fmemopen(in.buf, n > 0 ? n : 1, "r");
    assert_non_null(in.f);
    if (n == 0)
        fgetc(in.f); /* fmemopen cannot make an empty stream: eat the NUL */
    return in;
}

static input open_text(const char *text)
{
    return open_bytes(text, strlen(text));
}

static void close_input(input *in)
{
    fclose(in->f);
    free(in->buf);
}

static void expect_field(const avrr_csv *c, size_t i, const char *text,
                         unsigned long line, unsigned long col)
{
    size_t len;
    const char *f = avrr_csv_field(c, i, &len);
    assert_non_null(f);
    assert_string_equal(f, text);
    assert_int_equal(len, strlen(text));
    assert_int_equal(avrr_csv_line(c, i), line);
    assert_int_equal(avrr_csv_column(c, i), col);
}

/* Reads the one error the text must produce, checking code and message. */
static void expect_error(const char *text, size_t n, avrr_err code,
                         const char *message)
{
    input in = open_bytes(text, n);
    avrr_csv *c;
    avrr_error e;
    avrr_err rc;

    assert_int_equal(avrr_csv_open(in.f, "people.csv", &c), AVRR_OK);
    while ((rc = avrr_csv_next(c, &e)) == AVRR_OK)
        ;
    if (rc != code)
        fail_msg("expected %s, got %s (%s)", avrr_errname(code),
                 avrr_errname(rc), e.message);
    assert_string_equal(e.message, message);
    assert_true(avrr_csv_failed(c));
    /* Sticky: the same error again. */
    assert_int_equal(avrr_csv_next(c, &e), code);
    assert_string_equal(e.message, message);
    avrr_csv_close(c);
    close_input(&in);
}

static void test_plain_records(void **state)
{
    input in = open_text("a,b,c\n1,,3\n");
    avrr_csv *c;
    avrr_error e;
    (void)state;

    assert_int_equal(avrr_csv_open(in.f, "people.csv", &c), AVRR_OK);
    assert_int_equal(avrr_csv_count(c), 0);
    assert_int_equal(avrr_csv_next(c, &e), AVRR_OK);
    assert_int_equal(avrr_csv_count(c), 3);
    expect_field(c, 0, "a", 1, 1);
    expect_field(c, 1, "b", 1, 3);
    expect_field(c, 2, "c", 1, 5);
    assert_null(avrr_csv_field(c, 3, NULL));
    assert_int_equal(avrr_csv_line(c, 3), 0);
    assert_int_equal(avrr_csv_next(c, &e), AVRR_OK);
    expect_field(c, 0, "1", 2, 1);
    expect_field(c, 1, "", 2, 3);
    expect_field(c, 2, "3", 2, 4);
    assert_int_equal(avrr_csv_next(c, &e), AVRR_ENOTFOUND);
    assert_int_equal(avrr_csv_next(c, &e), AVRR_ENOTFOUND);
    assert_false(avrr_csv_failed(c));
    assert_string_equal(avrr_csv_filename(c), "people.csv");
    avrr_csv_close(c);
    close_input(&in);
}

static void test_quoting(void **state)
{
    input in = open_text("\"a,b\",\"say \"\"hi\"\"\",plain,\"\"\n"
                         "x,\n"
                         "last,line");
    avrr_csv *c;
    avrr_error e;
    (void)state;

    assert_int_equal(avrr_csv_open(in.f, NULL, &c), AVRR_OK);
    assert_int_equal(avrr_csv_next(c, &e), AVRR_OK);
    assert_int_equal(avrr_csv_count(c), 4);
    expect_field(c, 0, "a,b", 1, 1);
    expect_field(c, 1, "say \"hi\"", 1, 7);
    expect_field(c, 2, "plain", 1, 20);
    expect_field(c, 3, "", 1, 26);
    /* A trailing comma means a last empty field. */
    assert_int_equal(avrr_csv_next(c, &e), AVRR_OK);
    assert_int_equal(avrr_csv_count(c), 2);
    expect_field(c, 1, "", 2, 3);
    /* No newline at the end of the file. */
    assert_int_equal(avrr_csv_next(c, &e), AVRR_OK);
    expect_field(c, 1, "line", 3, 6);
    assert_int_equal(avrr_csv_next(c, &e), AVRR_ENOTFOUND);
    assert_string_equal(avrr_csv_filename(c), "-");
    avrr_csv_close(c);
    close_input(&in);
}

static void test_crlf_bom_blank_lines(void **state)
{
    input in = open_text("\xef\xbb\xbf" "id,name\r\n"
                         "\r\n"
                         "1,\"two\r\nlines\"\r\n"
                         "\n"
                         "\"\"\r\n"
                         "2,x\r\n");
    avrr_csv *c;
    avrr_error e;
    (void)state;

    assert_int_equal(avrr_csv_open(in.f, "f.csv", &c), AVRR_OK);
    assert_int_equal(avrr_csv_next(c, &e), AVRR_OK);
    expect_field(c, 0, "id", 1, 1); /* the BOM is not a character of it */
    expect_field(c, 1, "name", 1, 4);
    assert_int_equal(avrr_csv_next(c, &e), AVRR_OK); /* blank line skipped */
    expect_field(c, 0, "1", 3, 1);
    expect_field(c, 1, "two\nlines", 3, 3); /* CRLF inside quotes -> LF */
    /* A quoted empty field is a record, an empty line is not. */
    assert_int_equal(avrr_csv_next(c, &e), AVRR_OK);
    assert_int_equal(avrr_csv_count(c), 1);
    expect_field(c, 0, "", 6, 1);
    assert_int_equal(avrr_csv_next(c, &e), AVRR_OK);
    expect_field(c, 0, "2", 7, 1);
    expect_field(c, 1, "x", 7, 3);
    assert_int_equal(avrr_csv_next(c, &e), AVRR_ENOTFOUND);
    avrr_csv_close(c);
    close_input(&in);
}

static void test_embedded_newlines_and_columns(void **state)
{
    /* Columns count characters: the Arabic name is 4 characters, 8 bytes. */
    input in = open_text("\"first\nsecond\",after\n"
                         "\xd9\x85\xd8\xad\xd9\x85\xd8\xaf,x,\"\xe1\x89\xb0\"\n");
    avrr_csv *c;
    avrr_error e;
    char where[64];
    (void)state;

    assert_int_equal(avrr_csv_open(in.f, "people.csv", &c), AVRR_OK);
    assert_int_equal(avrr_csv_next(c, &e), AVRR_OK);
    expect_field(c, 0, "first\nsecond", 1, 1);
    expect_field(c, 1, "after", 2, 9);
    assert_int_equal(avrr_csv_next(c, &e), AVRR_OK);
    expect_field(c, 0, "\xd9\x85\xd8\xad\xd9\x85\xd8\xaf", 3, 1);
    expect_field(c, 1, "x", 3, 6);
    expect_field(c, 2, "\xe1\x89\xb0", 3, 8);
    assert_string_equal(avrr_csv_where(c, 1, where, sizeof where),
                        "people.csv:3:6");
    assert_int_equal(avrr_csv_error_at(c, 2, &e, AVRR_EINVALID, "sex",
                                       "sex: '%s' unknown", "q"),
                     AVRR_EINVALID);
    assert_string_equal(e.message, "people.csv:3:8: sex: 'q' unknown");
    assert_string_equal(e.field, "sex");
    avrr_csv_close(c);
    close_input(&in);
}

/* A string literal and its length, NUL bytes included. */
#define LIT(s) s, sizeof(s) - 1

static void test_malformed(void **state)
{
    char *big;
    size_t n;
    (void)state;

    expect_error(LIT("a,b\nc,\"open\nstill open"), AVRR_EINVALID,
                 "people.csv:2:3: unterminated quoted field");
    expect_error(LIT("ab\"c\n"), AVRR_EINVALID,
                 "people.csv:1:3: quote inside an unquoted field (quote the "
                 "whole field and write the quote twice)");
    expect_error(LIT("x,\"a\"b\n"), AVRR_EINVALID,
                 "people.csv:1:6: unexpected character after a closing quote "
                 "(a quote inside a quoted field is written twice)");
    expect_error(LIT("a\rb\n"), AVRR_EINVALID,
                 "people.csv:1:2: carriage return not followed by a line "
                 "feed");
    expect_error(LIT("ok\nx,ab\xc0\xaf\n"), AVRR_EINVALID,
                 "people.csv:2:3: field is not valid UTF-8 text (or holds a "
                 "NUL or control character)");
    expect_error(LIT("a,b\x00" "c\n"), AVRR_EINVALID,
                 "people.csv:1:3: field is not valid UTF-8 text (or holds a "
                 "NUL or control character)");
    expect_error(LIT("\"trunc\xe1\x89\"\n"), AVRR_EINVALID,
                 "people.csv:1:1: field is not valid UTF-8 text (or holds a "
                 "NUL or control character)");

    /* One field one byte over the limit, after a good first line. */
    n = 4 + AVRR_CSV_FIELD_MAX + 1;
    big = malloc(n + 1);
    assert_non_null(big);
    memcpy(big, "ok\n,", 4);
    memset(big + 4, 'x', AVRR_CSV_FIELD_MAX + 1);
    big[n] = '\0';
    expect_error(big, n, AVRR_ETOOLARGE,
                 "people.csv:2:2: field longer than 65536 bytes");
    /* Exactly at the limit is fine. */
    {
        input in = open_bytes(big, n - 1);
        avrr_csv *c;
        avrr_error e;
        assert_int_equal(avrr_csv_open(in.f, "p", &c), AVRR_OK);
        assert_int_equal(avrr_csv_next(c, &e), AVRR_OK);
        assert_int_equal(avrr_csv_next(c, &e), AVRR_OK);
        size_t len;
        assert_non_null(avrr_csv_field(c, 1, &len));
        assert_int_equal(len, AVRR_CSV_FIELD_MAX);
        avrr_csv_close(c);
        close_input(&in);
    }
    free(big);

    /* A record over 1 MiB made of many fields within the field limit. */
    n = 20 * (60000 + 1);
    big = malloc(n + 1);
    assert_non_null(big);
    for (size_t i = 0; i < 20; i++) {
        memset(big + i * 60001, 'y', 60000);
        big[i * 60001 + 60000] = ',';
    }
    big[n - 1] = '\n';
    big[n] = '\0';
    expect_error(big, n, AVRR_ETOOLARGE,
                 "people.csv:1:1: record longer than 1048576 bytes");
    free(big);
}

static void test_empty_input(void **state)
{
    input in = open_bytes("", 0);
    avrr_csv *c;
    avrr_error e;
    (void)state;
    assert_int_equal(avrr_csv_open(in.f, "empty.csv", &c), AVRR_OK);
    assert_int_equal(avrr_csv_next(c, &e), AVRR_ENOTFOUND);
    avrr_csv_close(c);
    close_input(&in);

    in = open_text("\xef\xbb\xbf\n\n");
    assert_int_equal(avrr_csv_open(in.f, "empty.csv", &c), AVRR_OK);
    assert_int_equal(avrr_csv_next(c, &e), AVRR_ENOTFOUND);
    avrr_csv_close(c);
    close_input(&in);
    avrr_csv_close(NULL);
}

/* ---- identity reader -------------------------------------------------------- */

static char tmpdir[64];

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/avrr-test-csv-XXXXXX");
    return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    return rmdir(tmpdir);
}

/* Writes text to tmpdir/name and opens it for reading. */
static FILE *temp_file(const char *name, const char *text, char *path,
                       size_t size)
{
    FILE *f;
    snprintf(path, size, "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    f = fopen(path, "r");
    assert_non_null(f);
    return f;
}

static void test_identity_reader(void **state)
{
    char path[128];
    FILE *f = temp_file(
        "people.csv",
        "Rec_ID, Surname ,given_names,SEX,birth_date,nationality,document_no,"
        "address,extra\n"
        "r1,Tesfamariam,Amina,f,1991-05-17,er,P123,\"Main St 1\nAsmara\",zz\n"
        "r2,Haddad,Youssef,M,1990-02-30,SY,,,\n"
        "r3,,  ,u,,,,,\n"
        "r4,\"\xd9\x85\xd8\xad\xd9\x85\xd8\xaf\",,x,1988-00-00,SYR,,,\n"
        "r5,too,few\n"
        "r6,Ali,Omar,q,,,,,\n"
        "r7,Ali,Omar,,,XK,,,\n"
        "r8,Ali,Omar,male,1990,IRQ,,,\n",
        path, sizeof path);
    avrr_identity_reader *r;
    avrr_identity id;
    const char *rec_id;
    avrr_error e;
    char msg[300];
    (void)state;

    assert_int_equal(avrr_identity_reader_open(f, "people.csv", &r, &e),
                     AVRR_OK);
    assert_int_equal(avrr_identity_reader_column(r, "EXTRA"), 8);
    assert_int_equal(avrr_identity_reader_column(r, "surname"), 1);
    assert_int_equal(avrr_identity_reader_column(r, "nope"), -1);

    assert_int_equal(avrr_identity_reader_next(r, &id, &rec_id, &e), AVRR_OK);
    assert_string_equal(rec_id, "r1");
    assert_int_equal(avrr_identity_reader_line(r), 2);
    assert_string_equal(id.surname, "Tesfamariam");
    assert_string_equal(id.given_names, "Amina");
    assert_null(id.full_name);
    assert_int_equal(id.sex, AVRR_SEX_FEMALE);
    assert_int_equal(id.birth_date.precision, AVRR_DATE_DAY);
    assert_int_equal(id.birth_date.day, 17);
    assert_string_equal(id.nationality, "ERI");
    assert_int_equal(id.n_documents, 1);
    assert_string_equal(id.documents[0].number, "P123");
    assert_string_equal(id.documents[0].type, "unknown");
    assert_string_equal(id.documents[0].country, "");
    assert_string_equal(id.address, "Main St 1, Asmara");
    /* Extra columns stay readable through the CSV reader. */
    assert_string_equal(
        avrr_csv_field(avrr_identity_reader_csv(r), 8, NULL), "zz");
    avrr_identity_clear(&id);

    /* r2, line 4: the birth date starts at column 21. */
    assert_int_equal(avrr_identity_reader_next(r, &id, &rec_id, &e),
                     AVRR_EINVALID);
    assert_string_equal(e.message, "people.csv:4:21: birth_date: day 30 does "
                                   "not exist in 1990-02");
    assert_string_equal(e.field, "birth_date");
    assert_null(rec_id);
    assert_null(id.surname);
    assert_false(avrr_identity_reader_failed(r));

    /* r3, line 5: no name at all (blank names are absent). */
    assert_int_equal(avrr_identity_reader_next(r, &id, &rec_id, &e),
                     AVRR_EINVALID);
    assert_string_equal(e.field, "given_names");
    snprintf(msg, sizeof msg, "people.csv:5:5: given_names: at least one of "
                              "given_names, surname, full_name is required");
    assert_string_equal(e.message, msg);

    /* r4: Arabic surname only, year with placeholder parts. */
    assert_int_equal(avrr_identity_reader_next(r, &id, &rec_id, &e), AVRR_OK);
    assert_string_equal(rec_id, "r4");
    assert_string_equal(id.surname, "\xd9\x85\xd8\xad\xd9\x85\xd8\xaf");
    assert_int_equal(id.sex, AVRR_SEX_OTHER);
    assert_int_equal(id.birth_date.precision, AVRR_DATE_YEAR);
    assert_true(id.birth_date.placeholder);
    assert_int_equal(id.n_documents, 0);
    avrr_identity_clear(&id);

    /* r5: wrong number of fields. */
    assert_int_equal(avrr_identity_reader_next(r, &id, &rec_id, &e),
                     AVRR_EINVALID);
    assert_string_equal(e.message, "people.csv:7:1: expected 9 fields as in "
                                   "the header, found 3");

    /* r6: bad sex code, column 13. */
    assert_int_equal(avrr_identity_reader_next(r, &id, &rec_id, &e),
                     AVRR_EINVALID);
    assert_string_equal(e.field, "sex");
    assert_non_null(strstr(e.message, "people.csv:8:13: sex: "));

    /* r7: nationality not an ISO code (from avrr_identity_validate). */
    assert_int_equal(avrr_identity_reader_next(r, &id, &rec_id, &e),
                     AVRR_EINVALID);
    assert_string_equal(e.field, "nationality");
    assert_non_null(strstr(e.message, "people.csv:9:15: nationality: "));

    assert_int_equal(avrr_identity_reader_next(r, &id, &rec_id, &e), AVRR_OK);
    assert_string_equal(rec_id, "r8");
    assert_int_equal(id.sex, AVRR_SEX_MALE);
    assert_string_equal(id.nationality, "IRQ");
    avrr_identity_clear(&id);

    assert_int_equal(avrr_identity_reader_next(r, &id, &rec_id, &e),
                     AVRR_ENOTFOUND);
    avrr_identity_reader_close(r);
    fclose(f);
    unlink(path);
}

static void expect_open_error(const char *text, avrr_err code,
                              const char *field, const char *message)
{
    char path[128];
    FILE *f = temp_file("header.csv", text, path, sizeof path);
    avrr_identity_reader *r = (avrr_identity_reader *)1;
    avrr_error e;

    assert_int_equal(avrr_identity_reader_open(f, "h.csv", &r, &e), code);
    assert_null(r);
    assert_string_equal(e.field, field);
    assert_string_equal(e.message, message);
    fclose(f);
    unlink(path);
}

static void test_identity_header_errors(void **state)
{
    (void)state;
    expect_open_error("id,surname\n", AVRR_EINVALID, "rec_id",
                      "h.csv:1:1: missing column rec_id");
    expect_open_error("rec_id,sex,birth_date\n", AVRR_EINVALID, "given_names",
                      "h.csv:1:1: missing name column: need at least one of "
                      "given_names, surname, full_name");
    expect_open_error("rec_id,surname,SURNAME\n", AVRR_EINVALID, "surname",
                      "h.csv:1:16: column surname appears twice");
    expect_open_error("", AVRR_ENOTFOUND, "", "h.csv: empty file, no header");
    expect_open_error("rec_id,\"surname\n", AVRR_EINVALID, "",
                      "h.csv:1:8: unterminated quoted field");
}

static void test_identity_reader_fatal(void **state)
{
    char path[128];
    FILE *f = temp_file("bad.csv",
                        "rec_id,full_name\nr1,ok\nr2,\"never closed\n",
                        path, sizeof path);
    avrr_identity_reader *r;
    avrr_identity id;
    const char *rec_id;
    avrr_error e;
    (void)state;

    assert_int_equal(avrr_identity_reader_open(f, "bad.csv", &r, &e), AVRR_OK);
    assert_int_equal(avrr_identity_reader_next(r, &id, &rec_id, &e), AVRR_OK);
    avrr_identity_clear(&id);
    assert_int_equal(avrr_identity_reader_next(r, &id, &rec_id, &e),
                     AVRR_EINVALID);
    assert_string_equal(e.message, "bad.csv:3:4: unterminated quoted field");
    assert_true(avrr_identity_reader_failed(r));
    assert_int_equal(avrr_identity_reader_next(r, &id, &rec_id, &e),
                     AVRR_EINVALID);
    avrr_identity_reader_close(r);
    fclose(f);
    unlink(path);
}

/* Every allocation in turn fails: the reader must return AVRR_ENOMEM
 * (never crash, never leak; ASan checks the leaks). */
static void test_allocation_failures(void **state)
{
    static const char text[] =
        "rec_id,given_names,surname,birth_date,document_no,address\n"
        "r1,Amina,Tesfamariam,1991-05-17,P1,\"a\nb\"\n"
        "r2,Omar,Ali,1990,,\n";
    bool completed = false;
    (void)state;

    for (long n = 1; n < 200 && !completed; n++) {
        input in = open_text(text);
        avrr_identity_reader *r = NULL;
        avrr_identity id;
        const char *rec_id;
        avrr_error e;
        avrr_err rc;
        int rows = 0;

        avrr_alloc_fail_after(n);
        rc = avrr_identity_reader_open(in.f, "t.csv", &r, &e);
        if (rc == AVRR_OK) {
            while ((rc = avrr_identity_reader_next(r, &id, &rec_id, &e)) ==
                   AVRR_OK) {
                rows++;
                avrr_identity_clear(&id);
            }
        }
        avrr_alloc_fail_after(0);
        if (rc == AVRR_ENOTFOUND) {
            assert_int_equal(rows, 2);
            completed = true;
        } else {
            assert_int_equal(rc, AVRR_ENOMEM);
        }
        avrr_identity_reader_close(r);
        close_input(&in);
    }
    assert_true(completed);
}

/* Fields written by avrr_csv_put read back as the same bytes. */
static void test_put_round_trip(void **state)
{
    (void)state;
    static const char *const fields[] = {"plain", "a,b", "say \"hi\"", "two\nlines",
                                         "cr\r", "", "\"\"", "Ahmad Shah Popalzai"};
    enum { N = sizeof fields / sizeof fields[0] };
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    for (int i = 0; i < N; i++) {
        if (i)
            fputc(',', f);
        avrr_csv_put(f, fields[i], strlen(fields[i]));
    }
    fputc('\n', f);
    assert_int_equal(fclose(f), 0);
    assert_non_null(strstr(buf, "\"say \"\"hi\"\"\""));
    assert_non_null(strstr(buf, "plain,\"a,b\","));
    FILE *in = fmemopen(buf, len, "r");
    assert_non_null(in);
    avrr_csv *c = NULL;
    assert_int_equal(avrr_csv_open(in, "mem.csv", &c), AVRR_OK);
    avrr_error e = {0};
    assert_int_equal(avrr_csv_next(c, &e), AVRR_OK);
    assert_int_equal(avrr_csv_count(c), N);
    for (int i = 0; i < N; i++) {
        size_t n = 0;
        const char *v = avrr_csv_field(c, (size_t)i, &n);
        assert_int_equal(n, strlen(fields[i]));
        assert_memory_equal(v, fields[i], n);
    }
    avrr_csv_close(c);
    fclose(in);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_records),
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_crlf_bom_blank_lines),
        cmocka_unit_test(test_embedded_newlines_and_columns),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_identity_reader),
        cmocka_unit_test(test_identity_header_errors),
        cmocka_unit_test(test_identity_reader_fatal),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_put_round_trip),
    };
    return cmocka_run_group_tests_name("csv", tests, make_tmpdir,
                                       remove_tmpdir);
}
