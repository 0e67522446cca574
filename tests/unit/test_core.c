/* tests/unit/test_core.c: unit tests of the core layer: UTF-8 checks,
 * ISO 3166-1 countries, dates with precision, enumerations and the case
 * lifecycle, money, tenant codes and record validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "avrr/core.h"

/* ---- UTF-8 ----------------------------------------------------------------- */

static bool valid(const char *s)
{
    return avrr_utf8_valid(s, strlen(s));
}

static void test_utf8_valid_scripts(void **state)
{
    (void)state;
    assert_true(valid(""));
    assert_true(valid("Mohammed al-Rahman"));
    assert_true(valid("\xd9\x85\xd8\xad\xd9\x85\xd8\xaf")); /* محمد */
    assert_true(valid("\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd")); /* Иван */
    assert_true(valid("\xe1\x89\xb0\xe1\x88\xb5\xe1\x8d\x8b")); /* ተስፋ */
    assert_true(valid("\xf0\x9f\x98\x80"));                     /* U+1F600 */
    assert_true(valid("\xf4\x8f\xbf\xbf"));                     /* U+10FFFF */
    assert_true(valid("\xed\x9f\xbf"));                         /* U+D7FF */
    assert_true(valid("\xee\x80\x80"));                         /* U+E000 */
    assert_true(valid("a\tb"));
    assert_int_equal(avrr_utf8_len("\xd9\x85\xd8\xad\xd9\x85\xd8\xaf", 8), 4);
    assert_int_equal(avrr_utf8_len("Ren\xc3\xa9", 5), 4);
    assert_int_equal(avrr_utf8_len("\xe1\x89\xb0\xe1\x88\xb5", 6), 2);
}

static void test_utf8_invalid(void **state)
{
    (void)state;
    assert_false(valid("\xc0\xaf"));             /* overlong '/' */
    assert_false(valid("\xc1\xbf"));             /* overlong */
    assert_false(valid("\xe0\x80\xaf"));         /* overlong 3-byte */
    assert_false(valid("\xe0\x9f\xbf"));         /* overlong U+07FF */
    assert_false(valid("\xf0\x8f\xbf\xbf"));     /* overlong U+FFFF */
    assert_false(valid("\xed\xa0\x80"));         /* surrogate U+D800 */
    assert_false(valid("\xed\xbf\xbf"));         /* surrogate U+DFFF */
    assert_false(valid("\xf4\x90\x80\x80"));     /* U+110000 */
    assert_false(valid("\xf5\x80\x80\x80"));     /* lead F5 */
    assert_false(valid("\xff"));
    assert_false(valid("\x80"));                 /* lone continuation */
    assert_false(valid("abc\xd9"));              /* truncated 2-byte */
    assert_false(valid("\xe1\x89"));             /* truncated 3-byte */
    assert_false(valid("\xf0\x9f\x98"));         /* truncated 4-byte */
    assert_false(valid("\xe1\x41\x89"));         /* bad continuation */
    assert_false(valid("a\nb"));                 /* control */
    assert_false(valid("a\x1b[31m"));            /* escape */
    assert_false(avrr_utf8_valid("a\0b", 3));    /* NUL */
    /* Truncation is judged by n, not by the NUL. */
    assert_false(avrr_utf8_valid("\xd9\x85", 1));
}

static void test_text_check(void **state)
{
    avrr_error e;
    char long_name[AVRR_NAME_MAX + 2];
    (void)state;

    assert_int_equal(avrr_text_check("Amina", AVRR_NAME_MAX, "surname", &e),
                     AVRR_OK);
    assert_int_equal(avrr_text_check("   ", AVRR_NAME_MAX, "surname", &e),
                     AVRR_EINVALID);
    assert_string_equal(e.field, "surname");
    assert_int_equal(avrr_text_check("\xc0\xaf", 10, "surname", &e),
                     AVRR_EINVALID);
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[AVRR_NAME_MAX] = '\0';
    assert_int_equal(avrr_text_check(long_name, AVRR_NAME_MAX, "x", &e),
                     AVRR_OK);
    long_name[AVRR_NAME_MAX] = 'a';
    long_name[AVRR_NAME_MAX + 1] = '\0';
    assert_int_equal(avrr_text_check(long_name, AVRR_NAME_MAX, "x", &e),
                     AVRR_EINVALID);
    assert_non_null(strstr(e.message, "200"));
}

/* ---- countries ------------------------------------------------------------------ */

static void test_country_count_and_order(void **state)
{
    char code[4];
    size_t hits2 = 0, hits3 = 0;
    (void)state;

    assert_int_equal(avrr_country_count(), 249);
    /* Every possible code: a missed entry would mean the tables are not
     * sorted for binary search. Each hit must round-trip. */
    for (char a = 'A'; a <= 'Z'; a++)
        for (char b = 'A'; b <= 'Z'; b++) {
            code[0] = a;
            code[1] = b;
            code[2] = '\0';
            if (avrr_country_alpha3(code) != NULL) {
                hits2++;
                assert_string_equal(
                    avrr_country_alpha2(avrr_country_alpha3(code)), code);
            }
            for (char c = 'A'; c <= 'Z'; c++) {
                code[2] = c;
                code[3] = '\0';
                const char *a3 = avrr_country_alpha3(code);
                if (a3 != NULL) {
                    hits3++;
                    assert_string_equal(a3, code);
                    assert_string_equal(
                        avrr_country_alpha3(avrr_country_alpha2(code)), code);
                    assert_non_null(avrr_country_name(code));
                }
            }
        }
    assert_int_equal(hits2, 249);
    assert_int_equal(hits3, 249);
}

static void test_country_spot_checks(void **state)
{
    static const char *const pairs[][2] = {
        {"NLD", "NL"}, {"SSD", "SS"}, {"MKD", "MK"}, {"SWZ", "SZ"},
        {"CZE", "CZ"}, {"TUR", "TR"}, {"PSE", "PS"}, {"ERI", "ER"},
        {"AFG", "AF"}, {"IRN", "IR"}, {"SYR", "SY"}, {"SOM", "SO"},
        {"ETH", "ET"}, {"MAR", "MA"}, {"DZA", "DZ"}, {"TUN", "TN"},
        {"IRQ", "IQ"}, {"GEO", "GE"}, {"UKR", "UA"}, {"RUS", "RU"},
        {"SRB", "RS"}, {"ALB", "AL"}, {"BIH", "BA"}, {"MNE", "ME"},
        {"NGA", "NG"}, {"GIN", "GN"}, {"GMB", "GM"}, {"SEN", "SN"},
        {"MLI", "ML"}, {"CIV", "CI"}, {"SDN", "SD"}, {"ATA", "AQ"},
        {"BES", "BQ"}, {"CUW", "CW"}, {"SXM", "SX"}, {"ALA", "AX"},
        {"BLM", "BL"}, {"MAF", "MF"}, {"UMI", "UM"}, {"ABW", "AW"},
        {"ZWE", "ZW"}, {"MYT", "YT"}, {"COM", "KM"}, {"CYM", "KY"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        assert_string_equal(avrr_country_alpha3(pairs[i][1]), pairs[i][0]);
        assert_string_equal(avrr_country_alpha3(pairs[i][0]), pairs[i][0]);
        assert_string_equal(avrr_country_alpha2(pairs[i][0]), pairs[i][1]);
        assert_string_equal(avrr_country_alpha2(pairs[i][1]), pairs[i][1]);
    }
    assert_string_equal(avrr_country_name("NL"), "Netherlands");
    assert_string_equal(avrr_country_name("ssd"), "South Sudan");
    assert_string_equal(avrr_country_name("MKD"), "North Macedonia");
    assert_string_equal(avrr_country_name("SZ"), "Eswatini");
}

static void test_country_case_and_rejects(void **state)
{
    (void)state;
    assert_string_equal(avrr_country_alpha3("nl"), "NLD");
    assert_string_equal(avrr_country_alpha3("Nl"), "NLD");
    assert_string_equal(avrr_country_alpha3("nld"), "NLD");
    assert_string_equal(avrr_country_alpha3("sYr"), "SYR");
    assert_string_equal(avrr_country_alpha2("eri"), "ER");
    assert_null(avrr_country_alpha3("XK"));
    assert_null(avrr_country_alpha3("XKX"));
    assert_null(avrr_country_alpha3("UK"));
    assert_null(avrr_country_alpha3("EU"));
    assert_null(avrr_country_alpha3(""));
    assert_null(avrr_country_alpha3("N"));
    assert_null(avrr_country_alpha3("NLDX"));
    assert_null(avrr_country_alpha3("N1"));
    assert_null(avrr_country_alpha3(" NL"));
    assert_null(avrr_country_alpha3(NULL));
    assert_null(avrr_country_alpha2("ZZZ"));
    assert_null(avrr_country_name("QQ"));
}

/* ---- dates ------------------------------------------------------------------ */

static avrr_date parse_ok(const char *s)
{
    avrr_date d;
    avrr_error e;
    avrr_err rc = avrr_date_parse(s, &d, "birth_date", &e);
    if (rc != AVRR_OK)
        fail_msg("'%s' refused: %s", s, e.message);
    return d;
}

static void parse_bad(const char *s)
{
    avrr_date d;
    avrr_error e;
    avrr_error_clear(&e);
    if (avrr_date_parse(s, &d, "birth_date", &e) != AVRR_EINVALID)
        fail_msg("'%s' accepted", s);
    assert_int_equal(e.code, AVRR_EINVALID);
    assert_string_equal(e.field, "birth_date");
    assert_true(e.message[0] != '\0');
}

static void test_date_precisions(void **state)
{
    avrr_date d;
    char buf[11];
    (void)state;

    d = parse_ok("1990-03-14");
    assert_int_equal(d.precision, AVRR_DATE_DAY);
    assert_int_equal(d.year, 1990);
    assert_int_equal(d.month, 3);
    assert_int_equal(d.day, 14);
    assert_false(d.placeholder);
    assert_string_equal(avrr_date_format(&d, buf), "1990-03-14");

    d = parse_ok("1990-03");
    assert_int_equal(d.precision, AVRR_DATE_MONTH);
    assert_int_equal(d.day, 0);
    assert_false(d.placeholder);
    assert_string_equal(avrr_date_format(&d, buf), "1990-03");

    d = parse_ok("1990");
    assert_int_equal(d.precision, AVRR_DATE_YEAR);
    assert_int_equal(d.month, 0);
    assert_false(d.placeholder);
    assert_string_equal(avrr_date_format(&d, buf), "1990");

    d = parse_ok("");
    assert_int_equal(d.precision, AVRR_DATE_UNKNOWN);
    assert_int_equal(d.year, 0);
    assert_string_equal(avrr_date_format(&d, buf), "");
    d = parse_ok(NULL);
    assert_int_equal(d.precision, AVRR_DATE_UNKNOWN);
}

static void test_date_placeholders(void **state)
{
    avrr_date d;
    char buf[11];
    (void)state;

    d = parse_ok("1990-01-01");
    assert_int_equal(d.precision, AVRR_DATE_DAY);
    assert_true(d.placeholder);
    assert_string_equal(avrr_date_format(&d, buf), "1990-01-01");

    d = parse_ok("1990-00-00");
    assert_int_equal(d.precision, AVRR_DATE_YEAR);
    assert_int_equal(d.year, 1990);
    assert_true(d.placeholder);
    assert_string_equal(avrr_date_format(&d, buf), "1990");

    d = parse_ok("1990-07-00");
    assert_int_equal(d.precision, AVRR_DATE_MONTH);
    assert_int_equal(d.month, 7);
    assert_true(d.placeholder);
    assert_string_equal(avrr_date_format(&d, buf), "1990-07");

    d = parse_ok("1990-00");
    assert_int_equal(d.precision, AVRR_DATE_YEAR);
    assert_true(d.placeholder);

    d = parse_ok("1990-01-02");
    assert_false(d.placeholder);
    d = parse_ok("1990-02-01");
    assert_false(d.placeholder);
}

static void test_date_leap_and_ranges(void **state)
{
    (void)state;
    parse_ok("2000-02-29"); /* divisible by 400 */
    parse_ok("1996-02-29");
    parse_ok("2024-02-29");
    parse_bad("1900-02-29"); /* divisible by 100, not 400 */
    parse_bad("2100-02-29");
    parse_bad("2023-02-29");
    parse_bad("1990-02-30");
    parse_bad("1990-04-31");
    parse_ok("1990-12-31");
    parse_ok("1850-01-01");
    parse_ok("2100-12-31");
    parse_bad("1849-12-31");
    parse_bad("2101-01-01");
    parse_bad("0000-00-00");
}

static void test_date_rejects(void **state)
{
    static const char *const bad[] = {
        "1990-13-01", "1990-00-05", "1990-01-32", "1990-1-5",   "90-01-05",
        "1990/01/05", "1990-01-05x", " 1990",     "1990 ",      "+1990",
        "-1990",      "1990-",      "1990-01-",  "19900105",    "1990-0a-05",
        "abcd",       "1990-01-05T00:00", "1990-1", "01-05-1990", "1990-13",
        "\xd9\xa1\xd9\xa9\xd9\xa9\xd9\xa0", /* Arabic-Indic digits */
    };
    avrr_date d;
    avrr_error e;
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        parse_bad(bad[i]);
    /* The field name is the caller's; the message says what is wrong. */
    assert_int_equal(avrr_date_parse("1990-02-30", &d, "granted_on", &e),
                     AVRR_EINVALID);
    assert_string_equal(e.field, "granted_on");
    assert_non_null(strstr(e.message, "30"));
    assert_int_equal(avrr_date_parse("1990-13-01", &d, "x", &e),
                     AVRR_EINVALID);
    assert_non_null(strstr(e.message, "month"));
    assert_int_equal(avrr_date_parse("1990-01-01 ", &d, "x", &e),
                     AVRR_EINVALID);
    assert_non_null(strstr(e.message, "YYYY-MM-DD"));
    /* A failed parse leaves an unknown date behind. */
    assert_int_equal(d.precision, AVRR_DATE_UNKNOWN);
    /* No error struct is fine. */
    assert_int_equal(avrr_date_parse("x", &d, "x", NULL), AVRR_EINVALID);
}

static void test_date_days(void **state)
{
    avrr_date d;
    (void)state;
    d = parse_ok("1970-01-01");
    assert_int_equal(avrr_date_days(&d), 0);
    d = parse_ok("1970-01-02");
    assert_int_equal(avrr_date_days(&d), 1);
    d = parse_ok("1969-12-31");
    assert_int_equal(avrr_date_days(&d), -1);
    d = parse_ok("2000-03-01");
    assert_int_equal(avrr_date_days(&d), 11017);
    d = parse_ok("2024-02-29");
    assert_int_equal(avrr_date_days(&d), 19782);
    d = parse_ok("1850-01-01");
    assert_int_equal(avrr_date_days(&d), -43829);
    d = parse_ok("1990");
    assert_int_equal(avrr_date_days(&d), 7305); /* 1990-01-01 */
    d = parse_ok("");
    assert_int_equal(avrr_date_days(&d), INT32_MIN);
}

/* ---- enumerations ------------------------------------------------------------- */

typedef int (*parse_fn)(const char *);
typedef const char *(*name_fn)(int);

static void round_trip(parse_fn parse, name_fn name, int count,
                       const char *const *expected)
{
    char upper[64];
    for (int v = 0; v < count; v++) {
        const char *n = name(v);
        assert_non_null(n);
        assert_string_equal(n, expected[v]);
        assert_int_equal(parse(n), v);
        size_t len = strlen(n);
        assert_true(len < sizeof upper);
        for (size_t i = 0; i <= len; i++)
            upper[i] = (n[i] >= 'a' && n[i] <= 'z') ? (char)(n[i] - 32) : n[i];
        assert_int_equal(parse(upper), v);
    }
    assert_null(name(count));
    assert_null(name(-1));
    assert_int_equal(parse(NULL), -1);
    assert_int_equal(parse(""), -1);
    assert_int_equal(parse("nonsense"), -1);
}

static void test_enums(void **state)
{
    static const char *const rt[] = {"voluntary", "forced"};
    static const char *const cs[] = {"counselled", "applied",   "approved",
                                     "departed",   "reintegrating",
                                     "completed",  "withdrawn", "absconded"};
    static const char *const ak[] = {
        "counselling",
        "travel_document",
        "ticket",
        "cash_allowance",
        "post_arrival",
        "reintegration_in_kind",
        "reintegration_business",
        "reintegration_housing",
        "reintegration_education",
        "reintegration_medical",
        "reintegration_psychosocial"};
    static const char *const fu[] = {"amif", "ndici", "ipa3", "national",
                                     "frontex"};
    static const char *const as[] = {"granted", "delivered", "cancelled"};
    static const char *const sx[] = {"u", "f", "m", "x"};
    static const char *const ro[] = {"caseworker", "provider", "statistician",
                                     "dpo", "admin"};
    (void)state;
    round_trip(avrr_return_type_parse, avrr_return_type_name,
               AVRR_RETURN__COUNT, rt);
    round_trip(avrr_case_status_parse, avrr_case_status_name, AVRR_CASE__COUNT,
               cs);
    round_trip(avrr_assistance_kind_parse, avrr_assistance_kind_name,
               AVRR_KIND__COUNT, ak);
    round_trip(avrr_funding_parse, avrr_funding_name, AVRR_FUND__COUNT, fu);
    round_trip(avrr_assistance_status_parse, avrr_assistance_status_name,
               AVRR_ASSIST__COUNT, as);
    round_trip(avrr_sex_parse, avrr_sex_name, AVRR_SEX__COUNT, sx);
    round_trip(avrr_role_parse, avrr_role_name, AVRR_ROLE__COUNT, ro);

    assert_int_equal(avrr_sex_parse("Female"), AVRR_SEX_FEMALE);
    assert_int_equal(avrr_sex_parse("MALE"), AVRR_SEX_MALE);
    assert_int_equal(avrr_sex_parse("other"), AVRR_SEX_OTHER);
    assert_int_equal(avrr_sex_parse("unknown"), AVRR_SEX_UNKNOWN);
    assert_int_equal(avrr_sex_parse("F"), AVRR_SEX_FEMALE);
    assert_int_equal(avrr_sex_parse("fem"), -1);
    assert_int_equal(avrr_funding_parse("IPA3"), AVRR_FUND_IPA3);
    assert_int_equal(avrr_case_status_parse("counseled"), -1);
    assert_int_equal(avrr_assistance_kind_parse("Travel_Document"),
                     AVRR_KIND_TRAVEL_DOCUMENT);
    assert_int_equal(avrr_assistance_kind_parse("travel document"), -1);
}

static void test_case_lifecycle(void **state)
{
    /* allowed[from][to], straight from the comment in core.h. */
    static const bool allowed[AVRR_CASE__COUNT][AVRR_CASE__COUNT] = {
        [AVRR_CASE_COUNSELLED] = {[AVRR_CASE_APPLIED] = true,
                                  [AVRR_CASE_WITHDRAWN] = true,
                                  [AVRR_CASE_ABSCONDED] = true},
        [AVRR_CASE_APPLIED] = {[AVRR_CASE_APPROVED] = true,
                               [AVRR_CASE_WITHDRAWN] = true,
                               [AVRR_CASE_ABSCONDED] = true},
        [AVRR_CASE_APPROVED] = {[AVRR_CASE_DEPARTED] = true,
                                [AVRR_CASE_WITHDRAWN] = true,
                                [AVRR_CASE_ABSCONDED] = true},
        [AVRR_CASE_DEPARTED] = {[AVRR_CASE_REINTEGRATING] = true,
                                [AVRR_CASE_COMPLETED] = true},
        [AVRR_CASE_REINTEGRATING] = {[AVRR_CASE_COMPLETED] = true},
    };
    (void)state;
    for (int from = 0; from < AVRR_CASE__COUNT; from++)
        for (int to = 0; to < AVRR_CASE__COUNT; to++)
            if (avrr_case_status_can_move(from, to) != allowed[from][to])
                fail_msg("%s -> %s", avrr_case_status_name(from),
                         avrr_case_status_name(to));
    assert_false(avrr_case_status_can_move(AVRR_CASE__COUNT, 0));
    assert_false(avrr_case_status_can_move(0, AVRR_CASE__COUNT));
    assert_false(avrr_case_status_can_move((avrr_case_status)-1, 0));
    for (int s = 0; s < AVRR_CASE__COUNT; s++)
        assert_int_equal(avrr_case_status_is_final(s),
                         s == AVRR_CASE_COMPLETED ||
                             s == AVRR_CASE_WITHDRAWN ||
                             s == AVRR_CASE_ABSCONDED);
}

/* ---- money and tenants ------------------------------------------------------ */

static void test_amount_and_tenant(void **state)
{
    avrr_error e;
    char out[17];
    (void)state;

    assert_int_equal(avrr_amount_check(0, "amount_cents", &e), AVRR_OK);
    assert_int_equal(avrr_amount_check(61500, "amount_cents", &e), AVRR_OK);
    assert_int_equal(avrr_amount_check(AVRR_AMOUNT_MAX_CENTS, "a", &e),
                     AVRR_OK);
    assert_int_equal(avrr_amount_check(AVRR_AMOUNT_MAX_CENTS + 1,
                                       "amount_cents", &e),
                     AVRR_EINVALID);
    assert_string_equal(e.field, "amount_cents");
    assert_int_equal(avrr_amount_check(-1, "amount_cents", &e),
                     AVRR_EINVALID);
    assert_int_equal(avrr_amount_check(INT64_MIN, "amount_cents", &e),
                     AVRR_EINVALID);

    assert_int_equal(avrr_tenant_code_check("NL", out, &e), AVRR_OK);
    assert_string_equal(out, "NL");
    assert_int_equal(avrr_tenant_code_check("iom-nl", out, &e), AVRR_OK);
    assert_string_equal(out, "IOM-NL");
    assert_int_equal(avrr_tenant_code_check("FRONTEX", out, &e), AVRR_OK);
    assert_int_equal(avrr_tenant_code_check("ABCDEFGHIJKLMNOP", out, &e),
                     AVRR_OK);
    assert_string_equal(out, "ABCDEFGHIJKLMNOP");
    memcpy(out, "KEEP", 5);
    assert_int_equal(avrr_tenant_code_check("ABCDEFGHIJKLMNOPQ", out, &e),
                     AVRR_EINVALID);
    assert_string_equal(out, "KEEP"); /* untouched on failure */
    assert_string_equal(e.field, "tenant");
    assert_int_equal(avrr_tenant_code_check("N", out, &e), AVRR_EINVALID);
    assert_int_equal(avrr_tenant_code_check("", out, &e), AVRR_EINVALID);
    assert_int_equal(avrr_tenant_code_check(NULL, out, &e), AVRR_EINVALID);
    assert_int_equal(avrr_tenant_code_check("1NL", out, &e), AVRR_EINVALID);
    assert_int_equal(avrr_tenant_code_check("-NL", out, &e), AVRR_EINVALID);
    assert_int_equal(avrr_tenant_code_check("N L", out, &e), AVRR_EINVALID);
    assert_int_equal(avrr_tenant_code_check("NL_X", out, &e), AVRR_EINVALID);
}

/* ---- record validation ------------------------------------------------------ */

static void expect_field(avrr_err rc, const avrr_error *e, const char *field)
{
    assert_int_equal(rc, AVRR_EINVALID);
    assert_int_equal(e->code, AVRR_EINVALID);
    assert_string_equal(e->field, field);
    assert_true(e->message[0] != '\0');
}

static void make_identity(avrr_identity *id)
{
    memset(id, 0, sizeof *id);
    id->given_names = avrr_strdup("Amina");
    id->surname = avrr_strdup("Tesfamariam");
    id->sex = AVRR_SEX_FEMALE;
    assert_int_equal(avrr_date_parse("1991-05-17", &id->birth_date, "b", NULL),
                     AVRR_OK);
    memcpy(id->nationality, "er", 3);
}

static void add_documents(avrr_identity *id, size_t n)
{
    id->documents = avrr_calloc(n, sizeof *id->documents);
    id->n_documents = n;
    for (size_t i = 0; i < n; i++) {
        id->documents[i].type = avrr_strdup("passport");
        id->documents[i].number = avrr_strdup("P1234567");
    }
}

static void test_identity_ok_and_canonical(void **state)
{
    avrr_identity id;
    avrr_error e;
    (void)state;

    make_identity(&id);
    id.birth_place = avrr_strdup("   ");
    id.full_name = avrr_strdup("");
    add_documents(&id, 2);
    memcpy(id.documents[1].country, "SD", 3);
    assert_int_equal(avrr_identity_validate(&id, &e), AVRR_OK);
    assert_string_equal(id.nationality, "ERI");
    assert_string_equal(id.documents[1].country, "SDN");
    assert_string_equal(id.documents[0].country, "");
    assert_null(id.birth_place); /* blank counts as absent */
    assert_null(id.full_name);
    avrr_identity_clear(&id);

    /* Only a full name in another script is enough. */
    memset(&id, 0, sizeof id);
    id.full_name = avrr_strdup("\xd9\x85\xd8\xad\xd9\x85\xd8\xaf");
    assert_int_equal(avrr_identity_validate(&id, &e), AVRR_OK);
    avrr_identity_clear(&id);
}

static void test_identity_errors(void **state)
{
    avrr_identity id;
    avrr_error e;
    char big[AVRR_TEXT_MAX + 2];
    (void)state;

    memset(&id, 0, sizeof id);
    id.given_names = avrr_strdup("  ");
    expect_field(avrr_identity_validate(&id, &e), &e, "given_names");
    assert_null(id.given_names);
    avrr_identity_clear(&id);

    make_identity(&id);
    avrr_free(id.surname);
    id.surname = avrr_strdup("bad\xc0\xaf");
    expect_field(avrr_identity_validate(&id, &e), &e, "surname");
    avrr_identity_clear(&id);

    make_identity(&id);
    id.full_name = avrr_strdup("line\nbreak");
    expect_field(avrr_identity_validate(&id, &e), &e, "full_name");
    avrr_identity_clear(&id);

    make_identity(&id);
    id.sex = (avrr_sex)7;
    expect_field(avrr_identity_validate(&id, &e), &e, "sex");
    avrr_identity_clear(&id);

    make_identity(&id);
    id.birth_date.day = 31;
    id.birth_date.month = 2;
    expect_field(avrr_identity_validate(&id, &e), &e, "birth_date");
    avrr_identity_clear(&id);

    make_identity(&id);
    id.birth_date.precision = AVRR_DATE_YEAR; /* but month and day set */
    expect_field(avrr_identity_validate(&id, &e), &e, "birth_date");
    avrr_identity_clear(&id);

    make_identity(&id);
    memcpy(id.nationality, "XK", 3);
    expect_field(avrr_identity_validate(&id, &e), &e, "nationality");
    avrr_identity_clear(&id);

    make_identity(&id);
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    id.birth_place = avrr_strdup(big);
    expect_field(avrr_identity_validate(&id, &e), &e, "birth_place");
    avrr_identity_clear(&id);

    make_identity(&id);
    id.address = avrr_strdup(big);
    expect_field(avrr_identity_validate(&id, &e), &e, "address");
    avrr_identity_clear(&id);

    make_identity(&id);
    big[AVRR_CODE_MAX + 1] = '\0';
    id.national_ref = avrr_strdup(big);
    expect_field(avrr_identity_validate(&id, &e), &e, "national_ref");
    avrr_identity_clear(&id);

    make_identity(&id);
    id.eurodac_ref = avrr_strdup(big);
    expect_field(avrr_identity_validate(&id, &e), &e, "eurodac_ref");
    avrr_identity_clear(&id);

    make_identity(&id);
    add_documents(&id, 3);
    avrr_free(id.documents[2].number);
    id.documents[2].number = NULL;
    expect_field(avrr_identity_validate(&id, &e), &e, "documents[2].number");
    avrr_identity_clear(&id);

    make_identity(&id);
    add_documents(&id, 1);
    memcpy(id.documents[0].country, "QQQ", 4);
    expect_field(avrr_identity_validate(&id, &e), &e, "documents[0].country");
    avrr_identity_clear(&id);

    make_identity(&id);
    add_documents(&id, AVRR_DOCUMENTS_MAX + 1);
    expect_field(avrr_identity_validate(&id, &e), &e, "documents");
    avrr_identity_clear(&id);
}

static void test_case_validate(void **state)
{
    avrr_case c;
    avrr_error e;
    (void)state;

    memset(&c, 0, sizeof c);
    memcpy(c.destination_country, "iq", 3);
    c.return_type = AVRR_RETURN_VOLUNTARY;
    c.status = AVRR_CASE_APPLIED;
    c.programme = avrr_strdup("eurp");
    assert_int_equal(avrr_date_parse("2026-03-01", &c.opened_on, "o", NULL),
                     AVRR_OK);
    assert_int_equal(avrr_case_validate(&c, &e), AVRR_OK);
    assert_string_equal(c.destination_country, "IRQ");

    c.destination_country[0] = '\0';
    expect_field(avrr_case_validate(&c, &e), &e, "destination_country");
    memcpy(c.destination_country, "XKX", 4);
    expect_field(avrr_case_validate(&c, &e), &e, "destination_country");
    memcpy(c.destination_country, "IRQ", 4);

    c.return_type = AVRR_RETURN__COUNT;
    expect_field(avrr_case_validate(&c, &e), &e, "return_type");
    c.return_type = AVRR_RETURN_FORCED;
    c.status = (avrr_case_status)99;
    expect_field(avrr_case_validate(&c, &e), &e, "status");
    c.status = AVRR_CASE_COMPLETED;

    assert_int_equal(avrr_date_parse("2026-03", &c.opened_on, "o", NULL),
                     AVRR_OK);
    expect_field(avrr_case_validate(&c, &e), &e, "opened_on");
    assert_int_equal(avrr_date_parse("2026-03-02", &c.opened_on, "o", NULL),
                     AVRR_OK);
    assert_int_equal(avrr_date_parse("2026", &c.closed_on, "o", NULL),
                     AVRR_OK);
    expect_field(avrr_case_validate(&c, &e), &e, "closed_on");
    assert_int_equal(avrr_date_parse("2026-03-01", &c.closed_on, "o", NULL),
                     AVRR_OK);
    expect_field(avrr_case_validate(&c, &e), &e, "closed_on");
    assert_int_equal(avrr_date_parse("2026-09-01", &c.closed_on, "o", NULL),
                     AVRR_OK);
    assert_int_equal(avrr_case_validate(&c, &e), AVRR_OK);

    avrr_free(c.programme);
    c.programme = avrr_strdup(
        "a-programme-code-that-is-far-too-long-for-a-code-field-of-64-bytes");
    expect_field(avrr_case_validate(&c, &e), &e, "programme");
    avrr_case_clear(&c);
}

static void test_assistance_validate(void **state)
{
    avrr_assistance a;
    avrr_error e;
    (void)state;

    memset(&a, 0, sizeof a);
    a.kind = AVRR_KIND_POST_ARRIVAL;
    a.amount_cents = 61500;
    a.cash = true;
    a.funding = AVRR_FUND_AMIF;
    a.status = AVRR_ASSIST_GRANTED;
    a.provider = avrr_strdup("IOM");
    assert_int_equal(avrr_date_parse("2026-03-01", &a.granted_on, "g", NULL),
                     AVRR_OK);
    assert_int_equal(avrr_assistance_validate(&a, &e), AVRR_OK);

    a.kind = AVRR_KIND__COUNT;
    expect_field(avrr_assistance_validate(&a, &e), &e, "kind");
    a.kind = AVRR_KIND_TICKET;
    a.funding = (avrr_funding)-1;
    expect_field(avrr_assistance_validate(&a, &e), &e, "funding");
    a.funding = AVRR_FUND_FRONTEX;
    a.status = AVRR_ASSIST__COUNT;
    expect_field(avrr_assistance_validate(&a, &e), &e, "status");
    a.status = AVRR_ASSIST_GRANTED;
    a.amount_cents = -5;
    expect_field(avrr_assistance_validate(&a, &e), &e, "amount_cents");
    a.amount_cents = AVRR_AMOUNT_MAX_CENTS + 1;
    expect_field(avrr_assistance_validate(&a, &e), &e, "amount_cents");
    a.amount_cents = 200000;

    a.status = AVRR_ASSIST_DELIVERED;
    expect_field(avrr_assistance_validate(&a, &e), &e, "delivered_on");
    assert_int_equal(avrr_date_parse("2026-02-28", &a.delivered_on, "d", NULL),
                     AVRR_OK);
    expect_field(avrr_assistance_validate(&a, &e), &e, "delivered_on");
    assert_int_equal(avrr_date_parse("2026-03-01", &a.delivered_on, "d", NULL),
                     AVRR_OK);
    assert_int_equal(avrr_assistance_validate(&a, &e), AVRR_OK);
    /* Partial dates are not compared. */
    assert_int_equal(avrr_date_parse("2026", &a.delivered_on, "d", NULL),
                     AVRR_OK);
    assert_int_equal(avrr_assistance_validate(&a, &e), AVRR_OK);

    avrr_free(a.provider);
    a.provider = avrr_strdup("bad\xff");
    expect_field(avrr_assistance_validate(&a, &e), &e, "provider");
    avrr_assistance_clear(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_valid_scripts),
        cmocka_unit_test(test_utf8_invalid),
        cmocka_unit_test(test_text_check),
        cmocka_unit_test(test_country_count_and_order),
        cmocka_unit_test(test_country_spot_checks),
        cmocka_unit_test(test_country_case_and_rejects),
        cmocka_unit_test(test_date_precisions),
        cmocka_unit_test(test_date_placeholders),
        cmocka_unit_test(test_date_leap_and_ranges),
        cmocka_unit_test(test_date_rejects),
        cmocka_unit_test(test_date_days),
        cmocka_unit_test(test_enums),
        cmocka_unit_test(test_case_lifecycle),
        cmocka_unit_test(test_amount_and_tenant),
        cmocka_unit_test(test_identity_ok_and_canonical),
        cmocka_unit_test(test_identity_errors),
        cmocka_unit_test(test_case_validate),
        cmocka_unit_test(test_assistance_validate),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
