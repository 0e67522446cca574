/* json_bench.c: compares the three JSON libraries packaged by Debian 12
 * (json-c, jansson, cJSON) on the two things the avrr server does with JSON,
 * to justify the project's choice of json-c (see docs/BENCHMARKS.md):
 *
 *   1. parse a ~280-byte POST /v1/persons body and read every field out of
 *      the tree, checking member names and types as src/service/codec.c does;
 *   2. build a page of 20 persons (~12 KB, the GET /v1/persons shape) and
 *      serialise it to a compact string, then free everything.
 *
 * Each library is used the way the server would use it: json-c with a fresh
 * tokener per request (depth 16, STRICT | VALIDATE_UTF8, as in codec.c),
 * jansson with json_loadb(), cJSON with cJSON_ParseWithLengthOpts(); trailing
 * data is rejected by all three.  Timing: CLOCK_MONOTONIC, one warm-up batch
 * per library, then batches run round-robin across the libraries (so that
 * frequency drift hits all of them alike); the figure is the median
 * per-operation time over the batches.
 *
 * It also probes, on the installed builds, the properties that matter for a
 * server reading untrusted bodies: nesting depth, UTF-8 validation, NUL in
 * strings, 64-bit integers and error reporting.  What a single-threaded probe
 * cannot show (thread safety of the error API) is stated from the headers.
 *
 * Why one file is built four times: json-c and jansson cannot share a
 * translation unit (json-c's type `json_object` is jansson's function
 * json_object()) nor an executable (both export json_object_get and
 * json_object_iter_next).  So each library's part is built with
 * -DJSON_BENCH_LIB=1|2|3 into a module loaded with dlopen(RTLD_LOCAL), where
 * it binds to its own library; without JSON_BENCH_LIB this is the driver.
 *
 * Build and run: bench/json/run.sh [parse_iters [build_iters]]
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What each library module exports (as `bench_lib`) to the driver. */
struct bench_lib {
    const char *name;
    const char *(*version)(void);              /* of the library actually loaded */
    long (*parse_read)(void);                  /* checksum of fields read, -1 on error */
    long (*parse_read_lax)(void);              /* optional: library defaults */
    long (*build)(char *out, size_t cap);      /* length of the page, -1 on error */
    bool (*accepts)(const char *text, size_t n);
    void (*error_position)(const char *text, size_t n); /* prints one line */
    long long (*read_int)(const char *text, size_t n);  /* member "a" */
    const char *error_api;                     /* from the installed headers */
};

/* A POST /v1/persons body: one person known under two identities. */
static const char REQUEST[] =
    "{\"identities\":["
    "{\"given_names\":\"A\xc3\xafssatou\",\"surname\":\"Diallo\",\"sex\":\"female\","
    "\"birth_date\":\"1994-03-17\",\"nationality\":\"SEN\","
    "\"documents\":[{\"type\":\"passport\",\"number\":\"A01234567\",\"country\":\"SEN\"}]},"
    "{\"given_names\":\"Aissatou\",\"surname\":\"Dialo\",\"birth_date\":\"1994\","
    "\"nationality\":\"GIN\"}"
    "]}";

#define DEPTH_LIMIT 16 /* AVRR_JSON_MAX_DEPTH in src/service/codec.h */
#define PAGE_PERSONS 20

#ifdef JSON_BENCH_LIB
/* ---- fixtures shared by the library modules ----------------------------- */

/* Member names the server accepts (codec.c), so that reading checks them. */
static const char *const PERSON_KEYS[] = {"identities", "id", "tenant", "created_at",
                                          "restricted", NULL};
static const char *const IDENTITY_KEYS[] = {
    "given_names", "surname", "full_name", "sex", "birth_date", "nationality",
    "birth_place", "address", "national_ref", "eurodac_ref", "documents",
    "id", "person_id", "created_at", "birth_date_precision", "birth_date_placeholder",
    NULL};
static const char *const IDENTITY_STRINGS[] = {
    "given_names", "surname", "full_name", "sex", "birth_date", "nationality",
    "birth_place", "address", "national_ref", "eurodac_ref", NULL};
static const char *const DOCUMENT_KEYS[] = {"type", "number", "country", NULL};

static bool known(const char *key, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(*list, key) == 0)
            return true;
    return false;
}

/* The response page, as the store would hand it to the codec. NULL strings
 * are serialised as JSON null, as put_str() in codec.c does. */
typedef struct {
    const char *type, *number, *country;
} doc_t;

typedef struct {
    int64_t id;
    const char *given_names, *surname, *full_name, *sex, *birth_date, *precision;
    bool placeholder;
    const char *nationality, *birth_place, *address, *national_ref, *eurodac_ref;
    doc_t doc; /* doc.type == NULL: no document */
} ident_t;

typedef struct {
    int64_t id, created_at;
    const char *tenant;
    bool restricted;
    size_t n_ids;
    ident_t ids[2];
} person_t;

static person_t PAGE[PAGE_PERSONS];

/* Fills PAGE; called by each module when it is loaded. */
__attribute__((constructor)) static void make_page(void)
{
    static const char *const given[] = {"Amina Fatou", "Mohammed Ali", "Olena", "Tesfaye",
                                        "Zo\xc3\xab", "Karim", "Fatima Zahra", "Dawit"};
    static const char *const surname[] = {"Diallo", "Haddad", "Kovalenko", "Bekele",
                                          "Nd\xc3\xaey\xc3\xa9", "Rahimi", "El Amrani",
                                          "Tesfamariam"};
    static const char *const country[] = {"SEN", "SYR", "UKR", "ETH", "CMR", "AFG", "MAR",
                                          "ERI"};
    static const char *const place[] = {"Thi\xc3\xa8s", "Aleppo", "Kharkiv", "Gondar",
                                        "Douala", "Herat", "F\xc3\xa8s", "Asmara"};
    static const char *const dates[] = {"1994-03-17", "1987-11-02", "2001-06", "1979",
                                        "1990-01-01", "1998-09-30", "1985-12-24", "2003"};
    static const char *const prec[] = {"day", "day", "month", "year",
                                       "day", "day", "day", "year"};
    for (size_t i = 0; i < PAGE_PERSONS; i++) {
        person_t *p = &PAGE[i];
        size_t k = i % 8;
        p->id = 100000 + (int64_t)i;
        p->created_at = 1718000000 + 3600 * (int64_t)i;
        p->tenant = "iom-sn";
        p->restricted = i % 7 == 3;
        p->n_ids = i % 2 ? 1 : 2;
        for (size_t j = 0; j < p->n_ids; j++) {
            ident_t *d = &p->ids[j];
            d->id = 500000 + 2 * (int64_t)i + (int64_t)j;
            d->given_names = given[(k + j) % 8];
            d->surname = surname[k];
            d->full_name = NULL;
            d->sex = i % 3 ? "male" : "female";
            d->birth_date = dates[(k + j) % 8];
            d->precision = prec[(k + j) % 8];
            d->placeholder = (k + j) % 8 == 4;
            d->nationality = country[k];
            d->birth_place = j ? NULL : place[k];
            d->address = j ? NULL : "12 rue des Fleurs, 75019 Paris";
            d->national_ref = j ? NULL : "NR-2024-004217";
            d->eurodac_ref = "EU-77-210934";
            d->doc = j ? (doc_t){NULL, NULL, NULL} : (doc_t){"passport", "A01234567", country[k]};
        }
    }
}

/* The one symbol a module exports (modules are built -fvisibility=hidden). */
#define EXPORT __attribute__((visibility("default")))
#endif /* JSON_BENCH_LIB */

#if JSON_BENCH_LIB == 1
#include <json-c/json.h>

/* ---- json-c ------------------------------------------------------------- */

static json_object *jc_parse(const char *text, size_t n, bool hardened)
{
    json_tokener *tok = json_tokener_new_ex(hardened ? DEPTH_LIMIT : JSON_TOKENER_DEFAULT_DEPTH);
    if (!tok)
        return NULL;
    if (hardened)
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *o = json_tokener_parse_ex(tok, text, (int)n);
    if (o && json_tokener_get_error(tok) == json_tokener_success) {
        for (size_t i = json_tokener_get_parse_end(tok); i < n; i++) {
            if (!strchr(" \t\r\n", text[i])) {
                json_object_put(o);
                o = NULL;
                break;
            }
        }
    } else {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

/* Reads every field; returns a checksum (sum of string lengths) or -1. */
static long jc_read_strings(json_object *o, const char *const *keys)
{
    long sum = 0;
    for (; *keys; keys++) {
        json_object *v;
        if (!json_object_object_get_ex(o, *keys, &v) || json_object_is_type(v, json_type_null))
            continue;
        if (!json_object_is_type(v, json_type_string))
            return -1;
        sum += json_object_get_string_len(v) + 1; /* +1: one more string */
    }
    return sum;
}

static long jc_read(json_object *root)
{
    json_object *ids, *docs;
    long sum = 0, s;
    if (!json_object_is_type(root, json_type_object))
        return -1;
    json_object_object_foreach(root, pk, pv) {
        (void)pv;
        if (!known(pk, PERSON_KEYS))
            return -1;
    }
    if (!json_object_object_get_ex(root, "identities", &ids) ||
        !json_object_is_type(ids, json_type_array))
        return -1;
    for (size_t i = 0, n = json_object_array_length(ids); i < n; i++) {
        json_object *id = json_object_array_get_idx(ids, i);
        if (!json_object_is_type(id, json_type_object))
            return -1;
        json_object_object_foreach(id, ik, iv) {
            (void)iv;
            if (!known(ik, IDENTITY_KEYS))
                return -1;
        }
        if ((s = jc_read_strings(id, IDENTITY_STRINGS)) < 0)
            return -1;
        sum += s;
        if (!json_object_object_get_ex(id, "documents", &docs))
            continue;
        if (!json_object_is_type(docs, json_type_array))
            return -1;
        for (size_t j = 0, m = json_object_array_length(docs); j < m; j++) {
            json_object *d = json_object_array_get_idx(docs, j);
            if (!json_object_is_type(d, json_type_object))
                return -1;
            json_object_object_foreach(d, dk, dv) {
                (void)dv;
                if (!known(dk, DOCUMENT_KEYS))
                    return -1;
            }
            if ((s = jc_read_strings(d, DOCUMENT_KEYS)) < 0)
                return -1;
            sum += s;
        }
    }
    return sum;
}

static long jc_parse_read(bool hardened)
{
    json_object *o = jc_parse(REQUEST, sizeof REQUEST - 1, hardened);
    long sum = o ? jc_read(o) : -1;
    json_object_put(o);
    return sum;
}

static long jc_parse_read_hardened(void) { return jc_parse_read(true); }
static long jc_parse_read_default(void) { return jc_parse_read(false); }

static void jc_str(json_object *o, const char *key, const char *s)
{
    json_object_object_add(o, key, s ? json_object_new_string(s) : NULL);
}

static long jc_build(char *out, size_t cap)
{
    json_object *page = json_object_new_object(), *items = json_object_new_array();
    for (size_t i = 0; i < PAGE_PERSONS; i++) {
        const person_t *p = &PAGE[i];
        json_object *po = json_object_new_object(), *ids = json_object_new_array();
        json_object_object_add(po, "id", json_object_new_int64(p->id));
        jc_str(po, "tenant", p->tenant);
        json_object_object_add(po, "restricted", json_object_new_boolean(p->restricted));
        json_object_object_add(po, "created_at", json_object_new_int64(p->created_at));
        json_object_object_add(po, "identities", ids);
        for (size_t j = 0; j < p->n_ids; j++) {
            const ident_t *d = &p->ids[j];
            json_object *io = json_object_new_object(), *docs = json_object_new_array();
            json_object_object_add(io, "id", json_object_new_int64(d->id));
            jc_str(io, "given_names", d->given_names);
            jc_str(io, "surname", d->surname);
            jc_str(io, "full_name", d->full_name);
            jc_str(io, "sex", d->sex);
            jc_str(io, "birth_date", d->birth_date);
            jc_str(io, "birth_date_precision", d->precision);
            json_object_object_add(io, "birth_date_placeholder",
                                   json_object_new_boolean(d->placeholder));
            jc_str(io, "nationality", d->nationality);
            jc_str(io, "birth_place", d->birth_place);
            jc_str(io, "address", d->address);
            jc_str(io, "national_ref", d->national_ref);
            jc_str(io, "eurodac_ref", d->eurodac_ref);
            if (d->doc.type) {
                json_object *dj = json_object_new_object();
                jc_str(dj, "type", d->doc.type);
                jc_str(dj, "number", d->doc.number);
                jc_str(dj, "country", d->doc.country);
                json_object_array_add(docs, dj);
            }
            json_object_object_add(io, "documents", docs);
            json_object_array_add(ids, io);
        }
        json_object_array_add(items, po);
    }
    json_object_object_add(page, "items", items);
    json_object_object_add(page, "next", json_object_new_int64(PAGE[PAGE_PERSONS - 1].id));
    size_t len = 0;
    const char *s = json_object_to_json_string_length(
        page, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    long r = s ? (long)len : -1;
    if (s && out && len < cap)
        memcpy(out, s, len + 1);
    json_object_put(page);
    return r;
}


static bool jc_accepts(const char *text, size_t n)
{
    json_object *o = jc_parse(text, n, true);
    json_object_put(o);
    return o != NULL;
}

static void jc_error_position(const char *text, size_t n)
{
    json_tokener *tok = json_tokener_new_ex(DEPTH_LIMIT);
    if (!tok)
        return;
    json_object *o = json_tokener_parse_ex(tok, text, (int)n);
    printf("byte %zu, \"%s\" (json_tokener_get_parse_end/_get_error on the caller's tokener)\n",
           json_tokener_get_parse_end(tok), json_tokener_error_desc(json_tokener_get_error(tok)));
    json_object_put(o);
    json_tokener_free(tok);
}

static long long jc_read_int(const char *text, size_t n)
{
    json_object *o = jc_parse(text, n, true), *v;
    long long x = o && json_object_object_get_ex(o, "a", &v) ? (long long)json_object_get_int64(v)
                                                            : 0;
    json_object_put(o);
    return x;
}

EXPORT const struct bench_lib bench_lib = {
    .name = "json-c",
    .version = json_c_version,
    .parse_read = jc_parse_read_hardened,
    .parse_read_lax = jc_parse_read_default,
    .build = jc_build,
    .accepts = jc_accepts,
    .error_position = jc_error_position,
    .read_int = jc_read_int,
    .error_api = "error code and byte offset kept in the json_tokener the caller allocates"
                 " (json_tokener.h: json_tokener_get_error, json_tokener_get_parse_end,"
                 " json_tokener_error_desc); depth set per tokener (json_tokener_new_ex);"
                 " UTF-8 check per tokener (JSON_TOKENER_VALIDATE_UTF8)",
};
#endif

#if JSON_BENCH_LIB == 2
#include <jansson.h>

/* ---- jansson ------------------------------------------------------------ */

static long ja_read_strings(json_t *o, const char *const *keys)
{
    long sum = 0;
    for (; *keys; keys++) {
        json_t *v = json_object_get(o, *keys);
        if (!v || json_is_null(v))
            continue;
        if (!json_is_string(v))
            return -1;
        sum += (long)json_string_length(v) + 1; /* +1: one more string */
    }
    return sum;
}

static long ja_read(json_t *root)
{
    const char *k;
    json_t *v, *ids, *docs;
    long sum = 0, s;
    if (!json_is_object(root))
        return -1;
    json_object_foreach(root, k, v) {
        if (!known(k, PERSON_KEYS))
            return -1;
    }
    ids = json_object_get(root, "identities");
    if (!json_is_array(ids))
        return -1;
    for (size_t i = 0, n = json_array_size(ids); i < n; i++) {
        json_t *id = json_array_get(ids, i);
        if (!json_is_object(id))
            return -1;
        json_object_foreach(id, k, v) {
            if (!known(k, IDENTITY_KEYS))
                return -1;
        }
        if ((s = ja_read_strings(id, IDENTITY_STRINGS)) < 0)
            return -1;
        sum += s;
        if (!(docs = json_object_get(id, "documents")))
            continue;
        if (!json_is_array(docs))
            return -1;
        for (size_t j = 0, m = json_array_size(docs); j < m; j++) {
            json_t *d = json_array_get(docs, j);
            if (!json_is_object(d))
                return -1;
            json_object_foreach(d, k, v) {
                if (!known(k, DOCUMENT_KEYS))
                    return -1;
            }
            if ((s = ja_read_strings(d, DOCUMENT_KEYS)) < 0)
                return -1;
            sum += s;
        }
    }
    return sum;
}

static long ja_parse_read(void)
{
    json_error_t err;
    json_t *o = json_loadb(REQUEST, sizeof REQUEST - 1, 0, &err);
    long sum = o ? ja_read(o) : -1;
    json_decref(o);
    return sum;
}

static void ja_str(json_t *o, const char *key, const char *s)
{
    json_object_set_new(o, key, s ? json_string(s) : json_null());
}

static long ja_build(char *out, size_t cap)
{
    json_t *page = json_object(), *items = json_array();
    for (size_t i = 0; i < PAGE_PERSONS; i++) {
        const person_t *p = &PAGE[i];
        json_t *po = json_object(), *ids = json_array();
        json_object_set_new(po, "id", json_integer(p->id));
        ja_str(po, "tenant", p->tenant);
        json_object_set_new(po, "restricted", json_boolean(p->restricted));
        json_object_set_new(po, "created_at", json_integer(p->created_at));
        json_object_set_new(po, "identities", ids);
        for (size_t j = 0; j < p->n_ids; j++) {
            const ident_t *d = &p->ids[j];
            json_t *io = json_object(), *docs = json_array();
            json_object_set_new(io, "id", json_integer(d->id));
            ja_str(io, "given_names", d->given_names);
            ja_str(io, "surname", d->surname);
            ja_str(io, "full_name", d->full_name);
            ja_str(io, "sex", d->sex);
            ja_str(io, "birth_date", d->birth_date);
            ja_str(io, "birth_date_precision", d->precision);
            json_object_set_new(io, "birth_date_placeholder", json_boolean(d->placeholder));
            ja_str(io, "nationality", d->nationality);
            ja_str(io, "birth_place", d->birth_place);
            ja_str(io, "address", d->address);
            ja_str(io, "national_ref", d->national_ref);
            ja_str(io, "eurodac_ref", d->eurodac_ref);
            if (d->doc.type) {
                json_t *dj = json_object();
                ja_str(dj, "type", d->doc.type);
                ja_str(dj, "number", d->doc.number);
                ja_str(dj, "country", d->doc.country);
                json_array_append_new(docs, dj);
            }
            json_object_set_new(io, "documents", docs);
            json_array_append_new(ids, io);
        }
        json_array_append_new(items, po);
    }
    json_object_set_new(page, "items", items);
    json_object_set_new(page, "next", json_integer(PAGE[PAGE_PERSONS - 1].id));
    char *s = json_dumps(page, JSON_COMPACT);
    size_t len = s ? strlen(s) : 0;
    long r = s ? (long)len : -1;
    if (s && out && len < cap)
        memcpy(out, s, len + 1);
    free(s);
    json_decref(page);
    return r;
}


static bool ja_accepts(const char *text, size_t n)
{
    json_error_t err;
    json_t *o = json_loadb(text, n, 0, &err);
    json_decref(o);
    return o != NULL;
}

static void ja_error_position(const char *text, size_t n)
{
    json_error_t err;
    json_t *o = json_loadb(text, n, 0, &err);
    printf("byte %d (line %d, column %d), \"%s\" (in the caller's json_error_t)\n",
           err.position, err.line, err.column, err.text);
    json_decref(o);
}

static long long ja_read_int(const char *text, size_t n)
{
    json_error_t err;
    json_t *o = json_loadb(text, n, 0, &err);
    long long x = o ? (long long)json_integer_value(json_object_get(o, "a")) : 0;
    json_decref(o);
    return x;
}

static char ja_error_api[320];

EXPORT const struct bench_lib bench_lib = {
    .name = "jansson",
    .version = jansson_version_str,
    .parse_read = ja_parse_read,
    .parse_read_lax = NULL,
    .build = ja_build,
    .accepts = ja_accepts,
    .error_position = ja_error_position,
    .read_int = ja_read_int,
    .error_api = ja_error_api,
};

__attribute__((constructor)) static void ja_describe(void)
{
    snprintf(ja_error_api, sizeof ja_error_api,
             "json_error_t supplied by the caller to each call (jansson.h: line, column,"
             " position, text); depth fixed when the library was built"
             " (jansson_config.h: JSON_PARSER_MAX_DEPTH %d), no per-call setting;"
             " UTF-8 always validated",
             JSON_PARSER_MAX_DEPTH);
}
#endif

#if JSON_BENCH_LIB == 3
#include <cjson/cJSON.h>

/* ---- cJSON -------------------------------------------------------------- */

static cJSON *cj_parse(const char *text, size_t n)
{
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    if (o) {
        for (; end < text + n; end++) {
            if (!strchr(" \t\r\n", *end)) {
                cJSON_Delete(o);
                return NULL;
            }
        }
    }
    return o;
}

static long cj_read_strings(const cJSON *o, const char *const *keys)
{
    long sum = 0;
    for (; *keys; keys++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, *keys);
        if (!v || cJSON_IsNull(v))
            continue;
        if (!cJSON_IsString(v))
            return -1;
        size_t len = strlen(v->valuestring); /* cJSON keeps no length */
        sum += (long)len + 1; /* +1: one more string */
    }
    return sum;
}

static long cj_read(const cJSON *root)
{
    const cJSON *v, *ids, *id, *docs, *d;
    long sum = 0, s;
    if (!cJSON_IsObject(root))
        return -1;
    cJSON_ArrayForEach(v, root) {
        if (!known(v->string, PERSON_KEYS))
            return -1;
    }
    ids = cJSON_GetObjectItemCaseSensitive(root, "identities");
    if (!cJSON_IsArray(ids))
        return -1;
    cJSON_ArrayForEach(id, ids) {
        if (!cJSON_IsObject(id))
            return -1;
        cJSON_ArrayForEach(v, id) {
            if (!known(v->string, IDENTITY_KEYS))
                return -1;
        }
        if ((s = cj_read_strings(id, IDENTITY_STRINGS)) < 0)
            return -1;
        sum += s;
        if (!(docs = cJSON_GetObjectItemCaseSensitive(id, "documents")))
            continue;
        if (!cJSON_IsArray(docs))
            return -1;
        cJSON_ArrayForEach(d, docs) {
            if (!cJSON_IsObject(d))
                return -1;
            cJSON_ArrayForEach(v, d) {
                if (!known(v->string, DOCUMENT_KEYS))
                    return -1;
            }
            if ((s = cj_read_strings(d, DOCUMENT_KEYS)) < 0)
                return -1;
            sum += s;
        }
    }
    return sum;
}

static long cj_parse_read(void)
{
    cJSON *o = cj_parse(REQUEST, sizeof REQUEST - 1);
    long sum = o ? cj_read(o) : -1;
    cJSON_Delete(o);
    return sum;
}

static void cj_str(cJSON *o, const char *key, const char *s)
{
    cJSON_AddItemToObject(o, key, s ? cJSON_CreateString(s) : cJSON_CreateNull());
}

static long cj_build(char *out, size_t cap)
{
    cJSON *page = cJSON_CreateObject(), *items = cJSON_CreateArray();
    for (size_t i = 0; i < PAGE_PERSONS; i++) {
        const person_t *p = &PAGE[i];
        cJSON *po = cJSON_CreateObject(), *ids = cJSON_CreateArray();
        /* cJSON numbers are doubles: exact only up to 2^53. */
        cJSON_AddItemToObject(po, "id", cJSON_CreateNumber((double)p->id));
        cj_str(po, "tenant", p->tenant);
        cJSON_AddItemToObject(po, "restricted", cJSON_CreateBool(p->restricted));
        cJSON_AddItemToObject(po, "created_at", cJSON_CreateNumber((double)p->created_at));
        cJSON_AddItemToObject(po, "identities", ids);
        for (size_t j = 0; j < p->n_ids; j++) {
            const ident_t *d = &p->ids[j];
            cJSON *io = cJSON_CreateObject(), *docs = cJSON_CreateArray();
            cJSON_AddItemToObject(io, "id", cJSON_CreateNumber((double)d->id));
            cj_str(io, "given_names", d->given_names);
            cj_str(io, "surname", d->surname);
            cj_str(io, "full_name", d->full_name);
            cj_str(io, "sex", d->sex);
            cj_str(io, "birth_date", d->birth_date);
            cj_str(io, "birth_date_precision", d->precision);
            cJSON_AddItemToObject(io, "birth_date_placeholder", cJSON_CreateBool(d->placeholder));
            cj_str(io, "nationality", d->nationality);
            cj_str(io, "birth_place", d->birth_place);
            cj_str(io, "address", d->address);
            cj_str(io, "national_ref", d->national_ref);
            cj_str(io, "eurodac_ref", d->eurodac_ref);
            if (d->doc.type) {
                cJSON *dj = cJSON_CreateObject();
                cj_str(dj, "type", d->doc.type);
                cj_str(dj, "number", d->doc.number);
                cj_str(dj, "country", d->doc.country);
                cJSON_AddItemToArray(docs, dj);
            }
            cJSON_AddItemToObject(io, "documents", docs);
            cJSON_AddItemToArray(ids, io);
        }
        cJSON_AddItemToArray(items, po);
    }
    cJSON_AddItemToObject(page, "items", items);
    cJSON_AddItemToObject(page, "next", cJSON_CreateNumber((double)PAGE[PAGE_PERSONS - 1].id));
    char *s = cJSON_PrintUnformatted(page);
    size_t len = s ? strlen(s) : 0;
    long r = s ? (long)len : -1;
    if (s && out && len < cap)
        memcpy(out, s, len + 1);
    cJSON_free(s);
    cJSON_Delete(page);
    return r;
}


static bool cj_accepts(const char *text, size_t n)
{
    cJSON *o = cj_parse(text, n);
    cJSON_Delete(o);
    return o != NULL;
}

static void cj_error_position(const char *text, size_t n)
{
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    const char *g = cJSON_GetErrorPtr();
    printf("byte %td via return_parse_end, byte %td via cJSON_GetErrorPtr() (a global);"
           " no message or code\n",
           end ? end - text : (ptrdiff_t)-1, g ? g - text : (ptrdiff_t)-1);
    cJSON_Delete(o);
}

static long long cj_read_int(const char *text, size_t n)
{
    cJSON *o = cj_parse(text, n);
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, "a") : NULL;
    long long x = cJSON_IsNumber(v) ? (long long)v->valuedouble : 0; /* numbers are doubles */
    cJSON_Delete(o);
    return x;
}

static char cj_error_api[320];

EXPORT const struct bench_lib bench_lib = {
    .name = "cJSON",
    .version = cJSON_Version,
    .parse_read = cj_parse_read,
    .parse_read_lax = NULL,
    .build = cj_build,
    .accepts = cj_accepts,
    .error_position = cj_error_position,
    .read_int = cj_read_int,
    .error_api = cj_error_api,
};

__attribute__((constructor)) static void cj_describe(void)
{
    snprintf(cj_error_api, sizeof cj_error_api,
             "cJSON_GetErrorPtr(void) reads one library-wide static that every parse call"
             " resets and sets (cJSON.h), so concurrent parses race on it; position also"
             " via return_parse_end; depth fixed when the library was built"
             " (CJSON_NESTING_LIMIT %d); no error message or code",
             CJSON_NESTING_LIMIT);
}
#endif

#ifndef JSON_BENCH_LIB
/* ---- driver ------------------------------------------------------------- */
#include <dlfcn.h>
#include <time.h>

#define ROUNDS 11 /* measured batches per library; the median is reported */
#define NLIBS 3

static const char *const MODULES[NLIBS] = {"json_bench_jsonc.so", "json_bench_jansson.so",
                                           "json_bench_cjson.so"};

enum op { OP_PARSE, OP_PARSE_LAX, OP_BUILD };

/* One measured thing: an operation of a library. */
struct task {
    const struct bench_lib *lib;
    enum op op;
    double med_us;
};

static volatile long sink; /* keeps every result observable */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs `iters` operations; returns µs per operation. */
static double batch_us(const struct task *t, long iters)
{
    long acc = 0;
    double t0 = now_s();
    switch (t->op) {
    case OP_PARSE:
        for (long i = 0; i < iters; i++)
            acc += t->lib->parse_read();
        break;
    case OP_PARSE_LAX:
        for (long i = 0; i < iters; i++)
            acc += t->lib->parse_read_lax();
        break;
    case OP_BUILD:
        for (long i = 0; i < iters; i++)
            acc += t->lib->build(NULL, 0);
        break;
    }
    double t1 = now_s();
    sink += acc;
    return (t1 - t0) * 1e6 / (double)iters;
}

/* A warm-up batch per task, then ROUNDS batches round-robin over the tasks;
 * `iters` operations per task in all. */
static void measure(struct task *tasks, size_t n, long iters)
{
    double t[8][ROUNDS];
    long per_batch = iters / ROUNDS > 0 ? iters / ROUNDS : 1;
    for (size_t k = 0; k < n; k++)
        (void)batch_us(&tasks[k], per_batch);
    for (int r = 0; r < ROUNDS; r++)
        for (size_t k = 0; k < n; k++)
            t[k][r] = batch_us(&tasks[k], per_batch);
    for (size_t k = 0; k < n; k++) {
        qsort(t[k], ROUNDS, sizeof t[k][0], cmp_double);
        tasks[k].med_us = t[k][ROUNDS / 2];
    }
}

/* Writes [[[...1...]]] nested `depth` deep into buf; returns its length. */
static size_t nested(char *buf, size_t cap, int depth)
{
    size_t n = 0;
    if ((size_t)depth * 2 + 2 > cap)
        return 0;
    for (int i = 0; i < depth; i++)
        buf[n++] = '[';
    buf[n++] = '1';
    for (int i = 0; i < depth; i++)
        buf[n++] = ']';
    buf[n] = '\0';
    return n;
}

/* Deepest nesting the library accepts, up to `max` (binary search). */
static int max_depth(const struct bench_lib *lib, int max, char *buf, size_t cap)
{
    int lo = 1, hi = max; /* lo is accepted, hi is not */
    if (lib->accepts(buf, nested(buf, cap, max)))
        return max;
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        if (lib->accepts(buf, nested(buf, cap, mid)))
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static void probes(const struct bench_lib *const *libs)
{
    static char buf[2 * 20000 + 2];
    static const struct {
        const char *what, *text;
    } bad[] = {
        {"truncated sequence C3 28", "{\"a\":\"\xc3\x28\"}"},
        {"stray continuation byte 80", "{\"a\":\"\x80\"}"},
        {"overlong '/' C0 AF", "{\"a\":\"\xc0\xaf\"}"},
        {"UTF-16 surrogate ED A0 80", "{\"a\":\"\xed\xa0\x80\"}"},
        {"beyond U+10FFFF F4 90 80 80", "{\"a\":\"\xf4\x90\x80\x80\"}"},
        {"escaped NUL \\u0000", "{\"a\":\"x\\u0000y\"}"},
    };
    static const char syntax[] = "{\"a\":1,,\"b\":2}";
    static const char big[] = "{\"a\":9007199254740993}";

    printf("\nProbes on the installed builds (json-c as configured by avrr: depth %d,"
           " STRICT | VALIDATE_UTF8):\n",
           DEPTH_LIMIT);
    printf("  deepest nesting accepted (searched up to 20000):");
    for (int l = 0; l < NLIBS; l++)
        printf("  %s %d", libs[l]->name, max_depth(libs[l], 20000, buf, sizeof buf));
    printf("\n  malformed input inside a string (REJECT is what a server wants):\n");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        printf("    %-30s", bad[i].what);
        for (int l = 0; l < NLIBS; l++)
            printf("  %s %-6s", libs[l]->name,
                   libs[l]->accepts(bad[i].text, strlen(bad[i].text)) ? "accept" : "REJECT");
        printf("\n");
    }
    printf("  error reported for %s (the offending ',' is at 0-based byte 7):\n", syntax);
    for (int l = 0; l < NLIBS; l++) {
        printf("    %-8s ", libs[l]->name);
        libs[l]->error_position(syntax, sizeof syntax - 1);
    }
    printf("  integer 9007199254740993 (2^53 + 1) reads back as:");
    for (int l = 0; l < NLIBS; l++)
        printf("  %s %lld", libs[l]->name, libs[l]->read_int(big, sizeof big - 1));
    printf("\n  error API and limits, from the installed headers:\n");
    for (int l = 0; l < NLIBS; l++)
        printf("    %-8s %s\n", libs[l]->name, libs[l]->error_api);
}

int main(int argc, char **argv)
{
    const struct bench_lib *libs[NLIBS];
    static char out[NLIBS][32768];
    long sums[NLIBS], lens[NLIBS];

    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: %s MODULE_DIR [parse_iters [build_iters]]\n"
                        "(bench/json/run.sh builds the modules and runs this)\n",
                argv[0]);
        return 2;
    }
    long parse_iters = argc > 2 ? strtol(argv[2], NULL, 10) : 220000;
    long build_iters = argc > 3 ? strtol(argv[3], NULL, 10) : 11000;
    if (parse_iters <= 0 || build_iters <= 0) {
        fprintf(stderr, "%s: iteration counts must be positive\n", argv[0]);
        return 2;
    }
    for (int l = 0; l < NLIBS; l++) {
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", argv[1], MODULES[l]) >= sizeof path) {
            fprintf(stderr, "%s: module path too long\n", argv[0]);
            return 2;
        }
        /* RTLD_LOCAL: each module binds to its own library's json_object_get. */
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!h || !(libs[l] = dlsym(h, "bench_lib"))) {
            fprintf(stderr, "%s: %s\n", argv[0], dlerror());
            return 1;
        }
    }

    /* Sanity: every library reads the same fields and writes the same bytes. */
    for (int l = 0; l < NLIBS; l++) {
        sums[l] = libs[l]->parse_read();
        lens[l] = libs[l]->build(out[l], sizeof out[l]);
        if (sums[l] < 0 || sums[l] != sums[0] || lens[l] < 0 || (size_t)lens[l] >= sizeof out[l]) {
            fprintf(stderr, "%s: %s failed the sanity check (read %ld, wrote %ld bytes)\n",
                    argv[0], libs[l]->name, sums[l], lens[l]);
            return 1;
        }
    }
    bool same = strcmp(out[0], out[1]) == 0 && strcmp(out[0], out[2]) == 0;

    printf("versions loaded: %s %s, %s %s, %s %s\n", libs[0]->name, libs[0]->version(),
           libs[1]->name, libs[1]->version(), libs[2]->name, libs[2]->version());
    printf("request body %zu bytes; response page %ld bytes, %s across the libraries\n",
           sizeof REQUEST - 1, lens[0], same ? "byte-identical" : "NOT identical");
    printf("median of %d batches run round-robin after a warm-up batch;"
           " %ld parse+read and %ld build+serialise operations per library\n\n",
           ROUNDS, (parse_iters / ROUNDS) * ROUNDS, (build_iters / ROUNDS) * ROUNDS);

    struct task parse[NLIBS + 1], build[NLIBS];
    for (int l = 0; l < NLIBS; l++) {
        parse[l] = (struct task){libs[l], OP_PARSE, 0};
        build[l] = (struct task){libs[l], OP_BUILD, 0};
    }
    parse[NLIBS] = (struct task){libs[0], OP_PARSE_LAX, 0}; /* json-c defaults, for reference */
    measure(parse, NLIBS + 1, parse_iters);
    measure(build, NLIBS, build_iters);

    printf("%-8s %-8s %15s %20s\n", "library", "version", "parse+read µs", "build+serialise µs");
    for (int l = 0; l < NLIBS; l++)
        printf("%-8s %-8s %15.3f %20.2f\n", libs[l]->name, libs[l]->version(), parse[l].med_us,
               build[l].med_us);
    printf("(json-c with its defaults, no STRICT/VALIDATE_UTF8, depth 32: parse+read %.3f µs)\n",
           parse[NLIBS].med_us);

    probes(libs);
    return sink == 0; /* sink is never 0: this only keeps the work observable */
}
#endif
