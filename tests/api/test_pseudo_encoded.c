/* test_pseudo_encoded.c: "a national node encodes before it sends"
 * (DESIGN.md 5, issue 5), end to end through the real interfaces.
 *
 * A national node makes the pseudonym key (`avrr encode key`) and encodes
 * its identities with `avrr encode`; the central server, in pseudonymised
 * mode with the same key file, takes the encoding as "encoded_identity" in
 * POST /v1/checks and finds a person registered under another spelling. The
 * plaintext never reaches the server: the stored check holds the encoding
 * and no name (the registry file is searched for the name, and
 * checks.request_json read through the store, on either backend). Encodings
 * that are malformed, of another key, or sent to a plaintext server are
 * refused with the field named, and change no stored check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "avrr/service.h"
#include "harness.h"
#include "store/store.h"

static harness H; /* the central server, pseudonymised */
static char node_dir[300]; /* the national node's files (inside H.dir) */
static char key_path[400];

/* The national node's identities: be-1 is the man NL registers as Youssef
 * El Amrani, spelt the Dutch way with only his birth year. */
static const char node_csv[] =
    "rec_id,given_names,surname,sex,birth_date,nationality,document_no\n"
    "be-1,Joessef,Elamrani,m,1990,,\n"
    "be-2,Tsegaye,Woldemichael,m,1979-07-30,ETH,\n";

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

/* The whole of a file, NUL-terminated; NULL when it does not exist. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0, got;
    do {
        if (cap - n < 65536) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static bool mem_has(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return true;
    return false;
}

/* True when the SQLite registry's files (database and write-ahead log)
 * hold text anywhere. */
static bool registry_files_hold(const harness *h, const char *text)
{
    char path[600];
    bool found = false;
    const char *suffix[] = {"", "-wal", "-journal"};
    for (size_t i = 0; i < 3 && !found; i++) {
        size_t n = 0;
        snprintf(path, sizeof path, "%s%s", h->db, suffix[i]);
        char *b = slurp(path, &n);
        if (b)
            found = mem_has(b, n, text);
        free(b);
    }
    return found;
}

static bool is_pg(const harness *h)
{
    return strncmp(h->db, "postgres", 8) == 0;
}

/* checks.request_json of check id of tenant BE, read through the store (no
 * audit event, either backend). The caller frees it. */
static char *stored_request(const harness *h, int64_t id)
{
    avrr_store *st = NULL;
    avrr_check c = {0};
    avrr_error e;
    avrr_error_clear(&e);
    assert_int_equal(avrr_store_open(h->db, false, &st, &e), AVRR_OK);
    assert_int_equal(st->ops->check_get(st, "BE", id, &c, &e), AVRR_OK);
    char *s = c.request_json ? strdup(c.request_json) : strdup("");
    avrr_check_clear(&c);
    avrr_store_close(st);
    assert_non_null(s);
    return s;
}

/* Runs `avrr encode` as the national node; the encoded form of rec_id
 * goes to out (cap bytes). Returns the exit status. */
static int node_encode(const char *key, const char *rec_id, char *out, size_t cap)
{
    char in[400], enc[400];
    snprintf(in, sizeof in, "%s/identities.csv", node_dir);
    snprintf(enc, sizeof enc, "%s/encoded.csv", node_dir);
    write_file(in, node_csv, 0600);
    remove(enc);
    const char *argv[] = {"avrr", "encode", "--key", key, "--in", in, "--out", enc, NULL};
    int rc = harness_avrr(argv, NULL, 0);
    if (rc != 0)
        return rc;
    char *text = slurp(enc, NULL);
    assert_non_null(text);
    assert_true(strncmp(text, "rec_id,encoded_identity\n", 24) == 0);
    /* the node's file holds no plaintext either */
    assert_null(strstr(text, "Joessef"));
    char want[64];
    snprintf(want, sizeof want, "\n%s,", rec_id);
    const char *p = strstr(text, want);
    assert_non_null(p);
    p += strlen(want);
    size_t n = strcspn(p, "\n");
    assert_true(n > 0 && n < cap);
    memcpy(out, p, n);
    out[n] = '\0';
    free(text);
    return 0;
}

static void check_body(char *buf, size_t cap, const char *encoded)
{
    int n = snprintf(buf, cap, "{\"purpose\":\"assistance_decision\",\"encoded_identity\":\"%s\"}",
                     encoded);
    assert_true(n > 0 && (size_t)n < cap);
}

static void register_youssef(harness *h)
{
    http_reply r;
    http(h, "POST", "/v1/persons", h->key_nl,
         "{\"identities\":[{\"given_names\":\"Youssef\",\"surname\":\"El Amrani\","
         "\"sex\":\"m\",\"birth_date\":\"1990-03-14\",\"nationality\":\"MAR\","
         "\"birth_place\":\"Casablanca\"}]}",
         -1, &r);
    assert_int_equal(r.status, 201);
    http_reply_free(&r);
}

/* Sends body as a BE check and expects a refusal: status, error code and
 * field, and no new stored check. */
static void expect_refused(harness *h, const char *body, long status, const char *code,
                           const char *field)
{
    http_reply r;
    int64_t before = harness_count(h, "checks");
    assert_true(before >= 0);
    http(h, "POST", "/v1/checks", h->key_be, body, -1, &r);
    if (r.status != status)
        fprintf(stderr, "unexpected answer %ld: %s\n", r.status, r.body);
    assert_int_equal(r.status, status);
    assert_string_equal(jstr(r.json, "error.code"), code);
    assert_string_equal(jstr(r.json, "error.field"), field);
    assert_non_null(jstr(r.json, "error.message"));
    http_reply_free(&r);
    assert_int_equal(harness_count(h, "checks"), before);
}

static int setup(void **state)
{
    (void)state;
    char conf[600], text[1400];
    harness_prepare(&H);
    snprintf(node_dir, sizeof node_dir, "%s/node", H.dir);
    assert_int_equal(mkdir(node_dir, 0700), 0);
    /* The key is made once by the member states and shared with the
     * central server's operator: here one file serves both sides. */
    snprintf(key_path, sizeof key_path, "%s/pseudonym.key", node_dir);
    const char *mk[] = {"avrr", "encode", "key", "--out", key_path, NULL};
    assert_int_equal(harness_avrr(mk, NULL, 0), 0);
    struct stat st;
    assert_int_equal(stat(key_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* never overwritten */
    assert_int_equal(harness_avrr(mk, NULL, 0), 1);
    snprintf(conf, sizeof conf, "%s/serve.conf", H.dir);
    snprintf(text, sizeof text, "pseudonymised_index = true\npseudonym_key_file = %s\n",
             key_path);
    write_file(conf, text, 0600);
    const char *extra[] = {"--config", conf, "--rate-limit", "0", NULL};
    harness_serve(&H, extra);
    register_youssef(&H);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    harness_stop(&H);
    return 0;
}

static void test_encoded_check_finds_other_spelling(void **state)
{
    (void)state;
    static char encoded[16384], body[17000];
    http_reply r;
    assert_int_equal(node_encode(key_path, "be-1", encoded, sizeof encoded), 0);
    check_body(body, sizeof body, encoded);
    int64_t before = harness_count(&H, "checks");
    http(&H, "POST", "/v1/checks", H.key_be, body, -1, &r);
    if (r.status != 201)
        fprintf(stderr, "answer %ld: %s\n", r.status, r.body);
    assert_int_equal(r.status, 201);
    assert_int_equal(harness_count(&H, "checks"), before + 1);
    /* the hit as a plaintext check shows it */
    assert_string_equal(jstr(r.json, "hits.0.tenant"), "NL");
    assert_string_equal(jstr(r.json, "hits.0.band"), "strong");
    assert_string_equal(jstr(r.json, "hits.0.explanation.fields.name.level"), "exact");
    assert_string_equal(jstr(r.json, "hits.0.explanation.fields.birth_date.level"),
                        "same_year_imprecise");
    assert_non_null(jstr(r.json, "hits.0.person_ref"));
    assert_null(strstr(r.body, "El Amrani"));
    int64_t check_id = jint(r.json, "id");
    assert_true(check_id > 0);
    json_object *enc_hit = json_object_get(r.json);
    http_reply_free(&r);

    /* the stored check holds the encoding and no plaintext of the probe */
    char *req = stored_request(&H, check_id);
    assert_non_null(strstr(req, encoded));
    assert_null(strstr(req, "Joessef"));
    assert_null(strstr(req, "Elamrani"));
    free(req);
    if (!is_pg(&H)) {
        assert_true(registry_files_hold(&H, encoded));
        assert_false(registry_files_hold(&H, "Joessef"));
    }

    /* The same identity in plaintext, to the same server: the same hit
     * (the server encodes plaintext probes the same way), and now the name
     * is in the stored request, which shows the searches above can see it. */
    http(&H, "POST", "/v1/checks", H.key_be,
         "{\"purpose\":\"assistance_decision\",\"identity\":{\"given_names\":\"Joessef\","
         "\"surname\":\"Elamrani\",\"birth_date\":\"1990\",\"sex\":\"m\"}}",
         -1, &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(jstr(r.json, "hits.0.person_ref"), jstr(enc_hit, "hits.0.person_ref"));
    json_object *pa = NULL, *pb = NULL;
    json_object_object_get_ex(json_object_array_get_idx(
                                  json_object_object_get(r.json, "hits"), 0),
                              "probability", &pa);
    json_object_object_get_ex(json_object_array_get_idx(
                                  json_object_object_get(enc_hit, "hits"), 0),
                              "probability", &pb);
    assert_non_null(pa);
    assert_non_null(pb);
    assert_true(json_object_get_double(pa) == json_object_get_double(pb));
    req = stored_request(&H, jint(r.json, "id"));
    assert_non_null(strstr(req, "Joessef"));
    free(req);
    if (!is_pg(&H))
        assert_true(registry_files_hold(&H, "Joessef"));
    http_reply_free(&r);
    json_object_put(enc_hit);

    /* a person the registry does not know: no hit, still a check */
    assert_int_equal(node_encode(key_path, "be-2", encoded, sizeof encoded), 0);
    check_body(body, sizeof body, encoded);
    http(&H, "POST", "/v1/checks", H.key_be, body, -1, &r);
    assert_int_equal(r.status, 201);
    assert_null(jstr(r.json, "hits.0.tenant"));
    http_reply_free(&r);
}

static void test_bad_encodings_refused(void **state)
{
    (void)state;
    static char encoded[16384], body[17000], other_key[400];
    assert_int_equal(node_encode(key_path, "be-1", encoded, sizeof encoded), 0);

    expect_refused(&H, "{\"purpose\":\"assistance_decision\",\"encoded_identity\":\"%%%\"}",
                   400, "invalid", "encoded_identity");
    expect_refused(&H, "{\"purpose\":\"assistance_decision\",\"encoded_identity\":\"\"}", 400,
                   "invalid", "encoded_identity");
    expect_refused(&H, "{\"purpose\":\"assistance_decision\",\"encoded_identity\":42}", 400,
                   "invalid", "encoded_identity");
    /* valid base64 of something else */
    expect_refused(&H,
                   "{\"purpose\":\"assistance_decision\",\"encoded_identity\":\"aGVsbG8gd29ybGQ=\"}",
                   400, "invalid", "encoded_identity");
    /* cut short */
    char saved = encoded[100];
    encoded[100] = '\0';
    check_body(body, sizeof body, encoded);
    expect_refused(&H, body, 400, "invalid", "encoded_identity");
    encoded[100] = saved;
    /* plaintext beside the encoding */
    snprintf(body, sizeof body,
             "{\"purpose\":\"assistance_decision\",\"encoded_identity\":\"%s\","
             "\"identity\":{\"given_names\":\"Joessef\"}}",
             encoded);
    expect_refused(&H, body, 400, "invalid", "encoded_identity");
    snprintf(body, sizeof body,
             "{\"purpose\":\"assistance_decision\",\"encoded_identity\":\"%s\","
             "\"aliases\":[{\"given_names\":\"Jussuf\"}]}",
             encoded);
    expect_refused(&H, body, 400, "invalid", "aliases");
    /* without a purpose */
    snprintf(body, sizeof body, "{\"encoded_identity\":\"%s\"}", encoded);
    expect_refused(&H, body, 400, "invalid", "purpose");

    /* another node's key: well formed, but not comparable here */
    snprintf(other_key, sizeof other_key, "%s/other.key", node_dir);
    const char *mk[] = {"avrr", "encode", "key", "--out", other_key, NULL};
    assert_int_equal(harness_avrr(mk, NULL, 0), 0);
    assert_int_equal(node_encode(other_key, "be-1", encoded, sizeof encoded), 0);
    check_body(body, sizeof body, encoded);
    expect_refused(&H, body, 409, "conflict", "encoded_identity");
}

/* The same encoded request to a server whose index is in plaintext. */
static void test_plaintext_server_refuses(void **state)
{
    (void)state;
    static char encoded[16384], body[17000];
    harness P;
    harness_start(&P);
    register_youssef(&P);
    assert_int_equal(node_encode(key_path, "be-1", encoded, sizeof encoded), 0);
    check_body(body, sizeof body, encoded);
    expect_refused(&P, body, 409, "conflict", "encoded_identity");
    /* and it still answers plaintext checks */
    http_reply r;
    http(&P, "POST", "/v1/checks", P.key_be,
         "{\"purpose\":\"assistance_decision\",\"identity\":{\"given_names\":\"Joessef\","
         "\"surname\":\"Elamrani\",\"birth_date\":\"1990\",\"sex\":\"m\"}}",
         -1, &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(jstr(r.json, "hits.0.tenant"), "NL");
    http_reply_free(&r);
    harness_stop(&P);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encoded_check_finds_other_spelling),
        cmocka_unit_test(test_bad_encodings_refused),
        cmocka_unit_test(test_plaintext_server_refuses),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
