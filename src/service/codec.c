/* codec.c: JSON <-> model records, strict on input (see codec.h). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avrr/pseudo.h"
#include "avrr/service.h"
#include "codec.h"

/* json-c turns an unpaired UTF-16 surrogate escape ("\ud800") into U+FFFD
 * without a word, which would store a name other than the one sent. Returns
 * the offset of the first such escape, or n when there is none. */
static size_t lone_surrogate(const char *text, size_t n)
{
    bool in_string = false;
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '"') {
            in_string = !in_string;
        } else if (in_string && text[i] == '\\' && i + 1 < n) {
            if (text[i + 1] != 'u' || i + 5 >= n) {
                i++; /* any other escape: skip the escaped character */
                continue;
            }
            unsigned v = 0;
            for (size_t k = i + 2; k < i + 6; k++) {
                char c = text[k];
                v = v * 16 + (unsigned)(c >= '0' && c <= '9'   ? c - '0'
                                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                               : 0);
            }
            if (v >= 0xDC00 && v <= 0xDFFF)
                return i; /* a low half with no high half before it */
            if (v >= 0xD800 && v <= 0xDBFF) {
                unsigned w = 0;
                bool low = i + 11 < n && text[i + 6] == '\\' && text[i + 7] == 'u';
                for (size_t k = i + 8; low && k < i + 12; k++) {
                    char c = text[k];
                    w = w * 16 + (unsigned)(c >= '0' && c <= '9'   ? c - '0'
                                            : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                                   : 0);
                }
                if (!low || w < 0xDC00 || w > 0xDFFF)
                    return i;
                i += 6; /* the pair is fine; step over its low half */
            }
            i += 5;
        }
    }
    return n;
}

/* Members written in the text: every ':' outside a string separates a name
 * from its value. text is valid JSON (json-c accepted it). */
static size_t members_written(const char *text, size_t n)
{
    size_t count = 0;
    bool in_string = false;
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == ':') {
            count++;
        }
    }
    return count;
}

/* Members json-c kept; a name given twice in one object is kept once. */
static size_t members_kept(json_object *o)
{
    size_t count = 0;
    if (json_object_is_type(o, json_type_object)) {
        json_object_object_foreach(o, key, val) {
            (void)key;
            count += 1 + members_kept(val);
        }
    } else if (json_object_is_type(o, json_type_array)) {
        size_t len = json_object_array_length(o);
        for (size_t i = 0; i < len; i++)
            count += members_kept(json_object_array_get_idx(o, i));
    }
    return count;
}

avrr_err avrr_json_parse_object(const char *text, size_t n, json_object **out,
                                avrr_error *e)
{
    avrr_err result = AVRR_OK;
    json_object *o = NULL;
    json_tokener *tok;

    *out = NULL;
    if (n > (size_t)INT32_MAX)
        return avrr_error_set(e, AVRR_ETOOLARGE, "body", "body too large");
    size_t bad = lone_surrogate(text, n);
    if (bad < n)
        return avrr_error_set(e, AVRR_EINVALID, "body",
                              "malformed JSON at byte %zu: an unpaired UTF-16 surrogate escape",
                              bad);
    tok = json_tokener_new_ex(AVRR_JSON_MAX_DEPTH);
    if (!tok)
        return avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    o = json_tokener_parse_ex(tok, text, (int)n);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    if (jerr == json_tokener_continue) {
        result = avrr_error_set(e, AVRR_EINVALID, "body",
                                "malformed JSON: unexpected end of input");
        goto out;
    }
    if (!o || jerr != json_tokener_success) {
        result = avrr_error_set(e, AVRR_EINVALID, "body", "malformed JSON at byte %zu: %s",
                                json_tokener_get_parse_end(tok),
                                json_tokener_error_desc(jerr));
        goto out;
    }
    for (size_t i = json_tokener_get_parse_end(tok); i < n; i++) {
        if (text[i] == '\0' || !strchr(" \t\r\n", text[i])) {
            result = avrr_error_set(e, AVRR_EINVALID, "body",
                                    "malformed JSON: unexpected data at byte %zu", i);
            goto out;
        }
    }
    if (!json_object_is_type(o, json_type_object)) {
        result = avrr_error_set(e, AVRR_EINVALID, "body", "the body must be a JSON object");
        goto out;
    }
    /* json-c keeps the last of two members of one name; a proxy or another
     * parser may keep the first. Such a body means two things: refused. */
    if (members_written(text, n) != members_kept(o)) {
        result = avrr_error_set(e, AVRR_EINVALID, "body",
                                "malformed JSON: a member name occurs twice in one object");
        goto out;
    }
    *out = o;
    o = NULL;
out:
    json_object_put(o);
    json_tokener_free(tok);
    return result;
}

/* Rejects members of o that are not in `known` (NULL-terminated), so that a
 * misspelt field is an error rather than silently lost data. */
static avrr_err only_known(json_object *o, const char *const *known, avrr_error *e)
{
    json_object_object_foreach(o, key, val) {
        (void)val;
        bool ok = false;
        for (const char *const *k = known; *k && !ok; k++)
            ok = strcmp(*k, key) == 0;
        if (!ok)
            return avrr_error_set(e, AVRR_EINVALID, key, "unknown field '%.64s'", key);
    }
    return AVRR_OK;
}

avrr_err avrr_codec_get_string(json_object *o, const char *key, const char **out,
                               avrr_error *e)
{
    json_object *v = NULL;
    *out = NULL;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return AVRR_OK;
    if (!json_object_is_type(v, json_type_string))
        return avrr_error_set(e, AVRR_EINVALID, key, "%s must be a string", key);
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    if (strlen(s) != n)
        return avrr_error_set(e, AVRR_EINVALID, key, "%s must not contain NUL characters", key);
    if (!avrr_utf8_valid(s, n))
        return avrr_error_set(e, AVRR_EINVALID, key, "%s is not valid UTF-8", key);
    *out = n ? s : NULL;
    return AVRR_OK;
}

/* Copies an optional string member into *dst (owned). */
static avrr_err dup_string(json_object *o, const char *key, char **dst, avrr_error *e)
{
    const char *s;
    avrr_err result = avrr_codec_get_string(o, key, &s, e);
    if (result != AVRR_OK || !s)
        return result;
    *dst = avrr_strdup(s);
    return *dst ? AVRR_OK : avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
}

/* Copies an optional country code member into a fixed buffer; validation
 * (and canonicalisation to alpha-3) happens in core. Too long is invalid. */
static avrr_err get_code(json_object *o, const char *key, char dst[4], avrr_error *e)
{
    const char *s;
    avrr_err result = avrr_codec_get_string(o, key, &s, e);
    if (result != AVRR_OK || !s)
        return result;
    if (strlen(s) > 3 || !avrr_country_alpha3(s))
        return avrr_error_set(e, AVRR_EINVALID, key,
                              "%s must be an ISO 3166-1 country code", key);
    memcpy(dst, avrr_country_alpha3(s), 4);
    return AVRR_OK;
}

static avrr_err get_date(json_object *o, const char *key, avrr_date *d, avrr_error *e)
{
    const char *s;
    avrr_err result = avrr_codec_get_string(o, key, &s, e);
    if (result != AVRR_OK)
        return result;
    return avrr_date_parse(s ? s : "", d, key, e);
}

/* An enumeration member: a string that parse() knows. */
static avrr_err get_enum(json_object *o, const char *key, int (*parse)(const char *),
                         int *out, bool required, avrr_error *e)
{
    const char *s;
    avrr_err result = avrr_codec_get_string(o, key, &s, e);
    if (result != AVRR_OK)
        return result;
    if (!s) {
        if (required)
            return avrr_error_set(e, AVRR_EINVALID, key, "%s is required", key);
        return AVRR_OK;
    }
    int v = parse(s);
    if (v < 0)
        return avrr_error_set(e, AVRR_EINVALID, key, "unknown %s '%.40s'", key, s);
    *out = v;
    return AVRR_OK;
}

static avrr_err get_int64(json_object *o, const char *key, int64_t *out, bool required,
                          avrr_error *e)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) {
        return required ? avrr_error_set(e, AVRR_EINVALID, key, "%s is required", key)
                        : AVRR_OK;
    }
    if (!json_object_is_type(v, json_type_int))
        return avrr_error_set(e, AVRR_EINVALID, key, "%s must be an integer", key);
    /* json-c saturates out-of-range integers at INT64_MIN/MAX; treat both
     * bounds as out of range rather than storing a clamped value. */
    int64_t x = json_object_get_int64(v);
    if (x == INT64_MAX || x == INT64_MIN)
        return avrr_error_set(e, AVRR_EINVALID, key, "%s is out of range", key);
    *out = x;
    return AVRR_OK;
}

static avrr_err get_bool(json_object *o, const char *key, bool *out, avrr_error *e)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return AVRR_OK;
    if (!json_object_is_type(v, json_type_boolean))
        return avrr_error_set(e, AVRR_EINVALID, key, "%s must be true or false", key);
    *out = json_object_get_boolean(v);
    return AVRR_OK;
}

static avrr_err document_from_json(json_object *o, avrr_document *d, avrr_error *e)
{
    static const char *const known[] = {"type", "number", "country", NULL};
    avrr_err result;
    if (!json_object_is_type(o, json_type_object))
        return avrr_error_set(e, AVRR_EINVALID, NULL, "a document must be an object");
    if ((result = only_known(o, known, e)) != AVRR_OK ||
        (result = dup_string(o, "type", &d->type, e)) != AVRR_OK ||
        (result = dup_string(o, "number", &d->number, e)) != AVRR_OK ||
        (result = get_code(o, "country", d->country, e)) != AVRR_OK)
        return result;
    return AVRR_OK;
}

avrr_err avrr_codec_identity_from_json(json_object *o, avrr_identity *id, avrr_error *e)
{
    static const char *const known[] = {
        "given_names", "surname", "full_name", "sex", "birth_date", "nationality",
        "birth_place", "address", "national_ref", "eurodac_ref", "documents",
        /* output only, ignored */
        "id", "person_id", "created_at", "birth_date_precision", "birth_date_placeholder",
        NULL};
    avrr_err result;
    int sex = AVRR_SEX_UNKNOWN;
    json_object *docs = NULL;

    if (!json_object_is_type(o, json_type_object))
        return avrr_error_set(e, AVRR_EINVALID, NULL, "an identity must be an object");
    if ((result = only_known(o, known, e)) != AVRR_OK ||
        (result = dup_string(o, "given_names", &id->given_names, e)) != AVRR_OK ||
        (result = dup_string(o, "surname", &id->surname, e)) != AVRR_OK ||
        (result = dup_string(o, "full_name", &id->full_name, e)) != AVRR_OK ||
        (result = get_enum(o, "sex", avrr_sex_parse, &sex, false, e)) != AVRR_OK ||
        (result = get_date(o, "birth_date", &id->birth_date, e)) != AVRR_OK ||
        (result = get_code(o, "nationality", id->nationality, e)) != AVRR_OK ||
        (result = dup_string(o, "birth_place", &id->birth_place, e)) != AVRR_OK ||
        (result = dup_string(o, "address", &id->address, e)) != AVRR_OK ||
        (result = dup_string(o, "national_ref", &id->national_ref, e)) != AVRR_OK ||
        (result = dup_string(o, "eurodac_ref", &id->eurodac_ref, e)) != AVRR_OK)
        return result;
    id->sex = (avrr_sex)sex;
    if (json_object_object_get_ex(o, "documents", &docs) &&
        !json_object_is_type(docs, json_type_null)) {
        if (!json_object_is_type(docs, json_type_array))
            return avrr_error_set(e, AVRR_EINVALID, "documents", "documents must be an array");
        size_t n = json_object_array_length(docs);
        if (n > AVRR_DOCUMENTS_MAX)
            return avrr_error_set(e, AVRR_EINVALID, "documents",
                                  "at most %d documents per identity", AVRR_DOCUMENTS_MAX);
        if (n) {
            id->documents = avrr_calloc(n, sizeof *id->documents);
            if (!id->documents)
                return avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
            for (size_t i = 0; i < n; i++) {
                id->n_documents = i + 1;
                result = document_from_json(json_object_array_get_idx(docs, i),
                                            &id->documents[i], e);
                if (result != AVRR_OK) {
                    char prefix[48];
                    snprintf(prefix, sizeof prefix, "documents[%zu]", i);
                    avrr_error_prefix_field(e, prefix);
                    return result;
                }
            }
        }
    }
    return AVRR_OK;
}

avrr_err avrr_codec_person_from_json(json_object *o, avrr_person *p, avrr_error *e)
{
    static const char *const known[] = {"identities", "id", "tenant", "created_at",
                                        "restricted", "erased_at", NULL};
    json_object *ids = NULL;
    avrr_err result = only_known(o, known, e);
    if (result != AVRR_OK)
        return result;
    if (!json_object_object_get_ex(o, "identities", &ids) ||
        json_object_is_type(ids, json_type_null))
        return avrr_error_set(e, AVRR_EINVALID, "identities", "identities is required");
    if (!json_object_is_type(ids, json_type_array))
        return avrr_error_set(e, AVRR_EINVALID, "identities", "identities must be an array");
    size_t n = json_object_array_length(ids);
    if (n == 0)
        return avrr_error_set(e, AVRR_EINVALID, "identities",
                              "a person needs at least one identity");
    if (n > AVRR_IDENTITIES_MAX)
        return avrr_error_set(e, AVRR_EINVALID, "identities",
                              "at most %d identities per person", AVRR_IDENTITIES_MAX);
    p->identities = avrr_calloc(n, sizeof *p->identities);
    if (!p->identities)
        return avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        p->n_identities = i + 1;
        result = avrr_codec_identity_from_json(json_object_array_get_idx(ids, i),
                                               &p->identities[i], e);
        if (result != AVRR_OK) {
            char prefix[48];
            snprintf(prefix, sizeof prefix, "identities[%zu]", i);
            avrr_error_prefix_field(e, prefix);
            return result;
        }
    }
    return AVRR_OK;
}

avrr_err avrr_codec_case_from_json(json_object *o, avrr_case *c, avrr_error *e)
{
    static const char *const known[] = {"person_id", "destination_country", "return_type",
                                        "programme", "status", "opened_on", "adults", "minors",
                                        /* output only */
                                        "id", "tenant", "closed_on", "created_at",
                                        "updated_at", NULL};
    int rt = AVRR_RETURN_VOLUNTARY, st = AVRR_CASE_COUNSELLED;
    avrr_err result;
    const char *dest;
    if ((result = only_known(o, known, e)) != AVRR_OK ||
        (result = get_int64(o, "person_id", &c->person_id, true, e)) != AVRR_OK ||
        (result = avrr_codec_get_string(o, "destination_country", &dest, e)) != AVRR_OK)
        return result;
    if (!dest)
        return avrr_error_set(e, AVRR_EINVALID, "destination_country",
                              "destination_country is required");
    if ((result = get_code(o, "destination_country", c->destination_country, e)) != AVRR_OK ||
        (result = get_enum(o, "return_type", avrr_return_type_parse, &rt, true, e)) != AVRR_OK ||
        (result = get_enum(o, "status", avrr_case_status_parse, &st, false, e)) != AVRR_OK ||
        (result = dup_string(o, "programme", &c->programme, e)) != AVRR_OK ||
        (result = get_date(o, "opened_on", &c->opened_on, e)) != AVRR_OK)
        return result;
    int64_t adults = 1, minors = 0;
    if ((result = get_int64(o, "adults", &adults, false, e)) != AVRR_OK ||
        (result = get_int64(o, "minors", &minors, false, e)) != AVRR_OK)
        return result;
    /* Range checks are core's (avrr_case_validate); only keep the value
     * from wrapping on its way into an int32_t. */
    if (adults < 0 || adults > AVRR_FAMILY_MAX)
        return avrr_error_set(e, AVRR_EINVALID, "adults", "must be 0..%d", AVRR_FAMILY_MAX);
    if (minors < 0 || minors > AVRR_FAMILY_MAX)
        return avrr_error_set(e, AVRR_EINVALID, "minors", "must be 0..%d", AVRR_FAMILY_MAX);
    if (adults == 0 && minors == 0)
        return avrr_error_set(e, AVRR_EINVALID, "adults", "a case supports at least one person");
    c->adults = (int32_t)adults;
    c->minors = (int32_t)minors;
    c->return_type = (avrr_return_type)rt;
    c->status = (avrr_case_status)st;
    return AVRR_OK;
}

avrr_err avrr_codec_assistance_from_json(json_object *o, avrr_assistance *a, avrr_error *e)
{
    static const char *const known[] = {"kind", "amount_cents", "cash", "provider",
                                        "funding", "granted_on", "delivered_on", "status",
                                        /* output only */
                                        "id", "case_id", "tenant", "created_at", NULL};
    int kind = 0, fund = 0, st = AVRR_ASSIST_GRANTED;
    avrr_err result;
    if ((result = only_known(o, known, e)) != AVRR_OK ||
        (result = get_enum(o, "kind", avrr_assistance_kind_parse, &kind, true, e)) != AVRR_OK ||
        (result = get_int64(o, "amount_cents", &a->amount_cents, false, e)) != AVRR_OK ||
        (result = get_bool(o, "cash", &a->cash, e)) != AVRR_OK ||
        (result = dup_string(o, "provider", &a->provider, e)) != AVRR_OK ||
        (result = get_enum(o, "funding", avrr_funding_parse, &fund, true, e)) != AVRR_OK ||
        (result = get_date(o, "granted_on", &a->granted_on, e)) != AVRR_OK ||
        (result = get_date(o, "delivered_on", &a->delivered_on, e)) != AVRR_OK ||
        (result = get_enum(o, "status", avrr_assistance_status_parse, &st, false, e)) != AVRR_OK)
        return result;
    a->kind = (avrr_assistance_kind)kind;
    a->funding = (avrr_funding)fund;
    a->status = (avrr_assistance_status)st;
    return AVRR_OK;
}

/* ---- output ------------------------------------------------------------------ */

/* Adds key: value, taking ownership of value; returns false when out of
 * memory (value is freed either way). */
static bool put(json_object *o, const char *key, json_object *value)
{
    if (!value)
        return false;
    if (json_object_object_add(o, key, value) != 0) {
        json_object_put(value);
        return false;
    }
    return true;
}

/* Adds a string member, or null when s is NULL or empty. */
static bool put_str(json_object *o, const char *key, const char *s)
{
    if (!s || !s[0])
        return json_object_object_add(o, key, NULL) == 0;
    return put(o, key, json_object_new_string(s));
}

static bool put_date(json_object *o, const char *key, const avrr_date *d)
{
    char buf[11];
    return put_str(o, key, avrr_date_format(d, buf));
}

static const char *precision_name(int p)
{
    static const char *const names[] = {"unknown", "year", "month", "day"};
    return p >= 0 && p <= 3 ? names[p] : "unknown";
}

json_object *avrr_codec_identity_to_json(const avrr_identity *id)
{
    json_object *o = json_object_new_object(), *docs = NULL;
    if (!o)
        return NULL;
    bool ok = put(o, "id", json_object_new_int64(id->id)) &&
              put_str(o, "given_names", id->given_names) &&
              put_str(o, "surname", id->surname) &&
              put_str(o, "full_name", id->full_name) &&
              put_str(o, "sex", avrr_sex_name(id->sex)) &&
              put_date(o, "birth_date", &id->birth_date) &&
              put(o, "birth_date_precision",
                  json_object_new_string(precision_name(id->birth_date.precision))) &&
              put(o, "birth_date_placeholder", json_object_new_boolean(id->birth_date.placeholder)) &&
              put_str(o, "nationality", id->nationality) &&
              put_str(o, "birth_place", id->birth_place) &&
              put_str(o, "address", id->address) &&
              put_str(o, "national_ref", id->national_ref) &&
              put_str(o, "eurodac_ref", id->eurodac_ref) &&
              (docs = json_object_new_array()) != NULL;
    for (size_t i = 0; ok && i < id->n_documents; i++) {
        json_object *d = json_object_new_object();
        ok = d && put_str(d, "type", id->documents[i].type) &&
             put_str(d, "number", id->documents[i].number) &&
             put_str(d, "country", id->documents[i].country);
        if (ok && json_object_array_add(docs, d) != 0)
            ok = false;
        else if (!ok)
            json_object_put(d);
    }
    if (docs && !put(o, "documents", docs))
        ok = false;
    else if (!ok)
        docs = NULL;
    if (!ok) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

json_object *avrr_codec_person_to_json(const avrr_person *p)
{
    json_object *o = json_object_new_object(), *ids = NULL;
    if (!o)
        return NULL;
    bool ok = put(o, "id", json_object_new_int64(p->id)) &&
              put_str(o, "tenant", p->tenant) &&
              put(o, "restricted", json_object_new_boolean(p->restricted)) &&
              json_object_object_add(o, "erased_at", p->erased_at
                                                         ? json_object_new_int64(p->erased_at)
                                                         : NULL) == 0 &&
              put(o, "created_at", json_object_new_int64(p->created_at)) &&
              put(o, "identities", ids = json_object_new_array());
    for (size_t i = 0; ok && i < p->n_identities; i++) {
        json_object *id = avrr_codec_identity_to_json(&p->identities[i]);
        ok = id && json_object_array_add(ids, id) == 0;
        if (!ok)
            json_object_put(id);
    }
    if (!ok) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

json_object *avrr_codec_case_to_json(const avrr_case *c)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    bool ok = put(o, "id", json_object_new_int64(c->id)) &&
              put(o, "person_id", json_object_new_int64(c->person_id)) &&
              put_str(o, "tenant", c->tenant) &&
              put_str(o, "destination_country", c->destination_country) &&
              put_str(o, "return_type", avrr_return_type_name(c->return_type)) &&
              put_str(o, "programme", c->programme) &&
              put_str(o, "status", avrr_case_status_name(c->status)) &&
              put_date(o, "opened_on", &c->opened_on) &&
              put_date(o, "closed_on", &c->closed_on) &&
              put(o, "adults", json_object_new_int(c->adults)) &&
              put(o, "minors", json_object_new_int(c->minors)) &&
              put(o, "created_at", json_object_new_int64(c->created_at)) &&
              put(o, "updated_at", json_object_new_int64(c->updated_at));
    if (!ok) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

json_object *avrr_codec_assistance_to_json(const avrr_assistance *a)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    bool ok = put(o, "id", json_object_new_int64(a->id)) &&
              put(o, "case_id", json_object_new_int64(a->case_id)) &&
              put_str(o, "kind", avrr_assistance_kind_name(a->kind)) &&
              put(o, "amount_cents", json_object_new_int64(a->amount_cents)) &&
              put(o, "cash", json_object_new_boolean(a->cash)) &&
              put_str(o, "provider", a->provider) &&
              put_str(o, "funding", avrr_funding_name(a->funding)) &&
              put_date(o, "granted_on", &a->granted_on) &&
              put_date(o, "delivered_on", &a->delivered_on) &&
              put_str(o, "status", avrr_assistance_status_name(a->status)) &&
              put(o, "created_at", json_object_new_int64(a->created_at));
    if (!ok) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

json_object *avrr_codec_tenant_to_json(const avrr_tenant *t)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    if (!put_str(o, "code", t->code) || !put_str(o, "name", t->name) ||
        !put(o, "created_at", json_object_new_int64(t->created_at))) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

json_object *avrr_codec_error_to_json(const avrr_error *e)
{
    json_object *o = json_object_new_object(), *err = json_object_new_object();
    if (!o || !err ||
        !put(err, "code", json_object_new_string(avrr_errname(e->code))) ||
        !put_str(err, "field", e->field) ||
        !put(err, "message",
             json_object_new_string(e->message[0] ? e->message : avrr_strerror(e->code)))) {
        json_object_put(o);
        json_object_put(err);
        return NULL;
    }
    if (!put(o, "error", err)) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

/* ---- consultation ------------------------------------------------------------ */

void avrr_codec_check_request_clear(avrr_check_request *req)
{
    for (size_t i = 0; i < req->n_identities; i++)
        avrr_identity_clear(&req->identities[i]);
    avrr_free(req->identities);
    req->identities = NULL;
    req->n_identities = 0;
    avrr_free(req->encoded_identity);
    req->encoded_identity = NULL;
}

/* "encoded_identity": a string of base64 text, copied into the request;
 * the service decodes it (avrr/pseudo.h says the form). */
static avrr_err encoded_identity_from_json(json_object *v, avrr_check_request *req,
                                           avrr_error *e)
{
    if (!json_object_is_type(v, json_type_string))
        return avrr_error_set(e, AVRR_EINVALID, "encoded_identity",
                              "encoded_identity must be a string (the output of "
                              "avrr encode)");
    size_t n = (size_t)json_object_get_string_len(v);
    if (n == 0)
        return avrr_error_set(e, AVRR_EINVALID, "encoded_identity", "is empty");
    if (n > AVRR_PSEUDO_WIRE_MAX)
        return avrr_error_set(e, AVRR_EINVALID, "encoded_identity",
                              "longer than %d characters", AVRR_PSEUDO_WIRE_MAX);
    req->encoded_identity = avrr_malloc(n + 1);
    if (!req->encoded_identity)
        return avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
    memcpy(req->encoded_identity, json_object_get_string(v), n + 1);
    return AVRR_OK;
}

avrr_err avrr_codec_check_request_from_json(json_object *o, avrr_check_request *req,
                                            avrr_error *e)
{
    static const char *const known[] = {"purpose",   "identity",         "aliases",
                                        "person_id", "encoded_identity", NULL};
    int purpose = 0;
    json_object *ident = NULL, *aliases = NULL, *encoded = NULL;
    avrr_err result;
    if ((result = only_known(o, known, e)) != AVRR_OK ||
        (result = get_enum(o, "purpose", avrr_purpose_parse, &purpose, true, e)) != AVRR_OK ||
        (result = get_int64(o, "person_id", &req->person_id, false, e)) != AVRR_OK)
        return result;
    req->purpose = (avrr_purpose)purpose;
    if (json_object_object_get_ex(o, "encoded_identity", &encoded)) {
        /* A national node's encoding stands alone: plaintext beside it
         * would defeat the point of encoding. */
        if (json_object_object_get_ex(o, "identity", &ident))
            return avrr_error_set(e, AVRR_EINVALID, "encoded_identity",
                                  "give identity or encoded_identity, not both");
        if (json_object_object_get_ex(o, "aliases", &aliases))
            return avrr_error_set(e, AVRR_EINVALID, "aliases",
                                  "aliases cannot go with encoded_identity");
        return encoded_identity_from_json(encoded, req, e);
    }
    if (!json_object_object_get_ex(o, "identity", &ident) ||
        !json_object_is_type(ident, json_type_object))
        return avrr_error_set(e, AVRR_EINVALID, "identity", "identity must be an object");
    size_t n_aliases = 0;
    if (json_object_object_get_ex(o, "aliases", &aliases) &&
        !json_object_is_type(aliases, json_type_null)) {
        if (!json_object_is_type(aliases, json_type_array))
            return avrr_error_set(e, AVRR_EINVALID, "aliases", "aliases must be an array");
        n_aliases = json_object_array_length(aliases);
        if (n_aliases + 1 > AVRR_IDENTITIES_MAX)
            return avrr_error_set(e, AVRR_EINVALID, "aliases", "at most %d aliases",
                                  AVRR_IDENTITIES_MAX - 1);
    }
    req->identities = avrr_calloc(n_aliases + 1, sizeof *req->identities);
    if (!req->identities)
        return avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
    req->n_identities = 1;
    result = avrr_codec_identity_from_json(ident, &req->identities[0], e);
    if (result != AVRR_OK) {
        avrr_error_prefix_field(e, "identity");
        return result;
    }
    for (size_t i = 0; i < n_aliases; i++) {
        req->n_identities = i + 2;
        result = avrr_codec_identity_from_json(json_object_array_get_idx(aliases, i),
                                               &req->identities[i + 1], e);
        if (result != AVRR_OK) {
            char prefix[48];
            snprintf(prefix, sizeof prefix, "aliases[%zu]", i);
            avrr_error_prefix_field(e, prefix);
            return result;
        }
    }
    return AVRR_OK;
}

static json_object *explanation_to_json(const avrr_match_explanation *x)
{
    json_object *o = json_object_new_object(), *fields = json_object_new_object();
    if (!o || !fields) {
        json_object_put(o);
        json_object_put(fields);
        return NULL;
    }
    json_object_object_add(o, "weight", json_object_new_double(x->weight));
    json_object_object_add(o, "prior_weight", json_object_new_double(x->prior_weight));
    for (int f = 0; f < AVRR_MF__COUNT; f++) {
        json_object *fo = json_object_new_object();
        const char *level = avrr_match_level_name(f, x->field[f].level);
        if (!fo)
            continue;
        json_object_object_add(fo, "level", json_object_new_string(level ? level : "null"));
        json_object_object_add(fo, "weight", json_object_new_double(x->field[f].weight));
        json_object_object_add(fields, avrr_match_field_name(f), fo);
    }
    json_object_object_add(o, "fields", fields);
    json_object_object_add(o, "name_x_birth_date_weight",
                           json_object_new_double(x->name_x_birth_date_weight));
    return o;
}

/* Assistance as a hit shows it: what, when, how much, under which fund;
 * no provider-internal references. */
static json_object *assistance_summary_to_json(const avrr_assistance *a)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    bool ok = put_str(o, "kind", avrr_assistance_kind_name(a->kind)) &&
              put_date(o, "granted_on", &a->granted_on) &&
              put_date(o, "delivered_on", &a->delivered_on) &&
              put(o, "amount_cents", json_object_new_int64(a->amount_cents)) &&
              put(o, "cash", json_object_new_boolean(a->cash)) &&
              put_str(o, "programme", a->programme) &&
              put_str(o, "funding", avrr_funding_name(a->funding)) &&
              put_str(o, "status", avrr_assistance_status_name(a->status));
    if (!ok) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

static json_object *hit_to_json(const avrr_hit_view *v)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    bool ok = put_str(o, "tenant", v->hit.tenant) && put_str(o, "person_ref", v->hit.person_ref);
    if (ok && v->restricted) {
        /* Processing restricted by the owner: that it exists, nothing more. */
        ok = put(o, "restricted", json_object_new_boolean(true)) &&
             put(o, "message", json_object_new_string("restricted: contact the owner"));
        if (!ok) {
            json_object_put(o);
            return NULL;
        }
        return o;
    }
    if (ok && v->own)
        ok = put(o, "person_id", json_object_new_int64(v->hit.person_id));
    ok = ok && put(o, "probability", json_object_new_double(v->hit.probability)) &&
         put_str(o, "band", avrr_band_name(v->hit.band)) &&
         put(o, "restricted", json_object_new_boolean(false)) &&
         put(o, "explanation", explanation_to_json(&v->explanation)) &&
         put(o, "red_link", json_object_new_boolean(v->red_link));
    if (ok) {
        json_object *link = NULL;
        if (v->link_id) {
            link = json_object_new_object();
            ok = link && put(link, "id", json_object_new_int64(v->link_id)) &&
                 put_str(link, "status", avrr_link_status_name(v->link_status));
        }
        ok = ok && json_object_object_add(o, "link", link) == 0;
    }
    json_object *arr = ok ? json_object_new_array() : NULL;
    for (size_t i = 0; arr && i < v->n_assistance; i++) {
        json_object *a = assistance_summary_to_json(&v->assistance[i]);
        if (!a || json_object_array_add(arr, a) != 0) {
            json_object_put(a);
            json_object_put(arr);
            arr = NULL;
        }
    }
    ok = ok && put(o, "assistance", arr);
    if (!ok) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

json_object *avrr_codec_hits_to_json(const avrr_hit_view *hits, size_t n)
{
    json_object *arr = json_object_new_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_object *h = hit_to_json(&hits[i]);
        if (!h || json_object_array_add(arr, h) != 0) {
            json_object_put(h);
            json_object_put(arr);
            arr = NULL;
        }
    }
    return arr;
}

json_object *avrr_codec_check_result_to_json(const avrr_check_result *r)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    bool ok = put(o, "id", json_object_new_int64(r->check_id)) &&
              put_str(o, "purpose", avrr_purpose_name(r->purpose)) &&
              put(o, "hits", avrr_codec_hits_to_json(r->hits, r->n_hits));
    if (!ok) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

json_object *avrr_codec_link_to_json(const avrr_link *l, const char *viewer,
                                     const char *other_ref)
{
    bool a_side = strcmp(l->tenant_a, viewer) == 0;
    int64_t mine = a_side ? l->person_a : l->person_b;
    const char *other_tenant = a_side ? l->tenant_b : l->tenant_a;
    int64_t other = a_side ? l->person_b : l->person_a;
    json_object *o = json_object_new_object(), *side = json_object_new_object();
    if (!o || !side) {
        json_object_put(o);
        json_object_put(side);
        return NULL;
    }
    bool ok = put(o, "id", json_object_new_int64(l->id)) &&
              put_str(o, "status", avrr_link_status_name(l->status)) &&
              put_str(o, "source", l->source) &&
              put(o, "probability", json_object_new_double(l->probability)) &&
              json_object_object_add(o, "check_id",
                                     l->check_id && a_side ? json_object_new_int64(l->check_id)
                                                           : NULL) == 0 &&
              json_object_object_add(o, "person_id",
                                     mine ? json_object_new_int64(mine) : NULL) == 0 &&
              put_str(side, "tenant", other_tenant) &&
              put_str(side, "person_ref", other ? other_ref : NULL) &&
              put(o, "other", side) && (side = NULL, true) &&
              put_str(o, "reason", l->reason) && put_str(o, "resolved_by", l->resolved_by) &&
              json_object_object_add(o, "resolved_at",
                                     l->resolved_at ? json_object_new_int64(l->resolved_at)
                                                    : NULL) == 0 &&
              put(o, "created_at", json_object_new_int64(l->created_at));
    if (!ok) {
        json_object_put(side);
        json_object_put(o);
        return NULL;
    }
    return o;
}

json_object *avrr_codec_disclosure_to_json(const avrr_disclosure *d, const char *viewer,
                                           const avrr_person *details)
{
    bool owner = strcmp(d->owner, viewer) == 0;
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    bool ok = put(o, "id", json_object_new_int64(d->id)) &&
              put(o, "check_id", json_object_new_int64(d->check_id)) &&
              put_str(o, "requester", d->requester) && put_str(o, "owner", d->owner) &&
              put_str(o, "person_ref", d->person_ref) &&
              put_str(o, "status", avrr_disclosure_status_name(d->status)) &&
              put_str(o, "reason", d->reason) &&
              put_str(o, "decision_reason", d->decision_reason) &&
              json_object_object_add(o, "decided_at",
                                     d->decided_at ? json_object_new_int64(d->decided_at)
                                                   : NULL) == 0 &&
              put(o, "created_at", json_object_new_int64(d->created_at));
    if (ok && owner)
        ok = put(o, "person_id", json_object_new_int64(d->person_id));
    if (ok && details && details->n_identities) {
        json_object *ids = json_object_new_array();
        for (size_t i = 0; ids && i < details->n_identities; i++) {
            json_object *id = avrr_codec_identity_to_json(&details->identities[i]);
            if (!id || json_object_array_add(ids, id) != 0) {
                json_object_put(id);
                json_object_put(ids);
                ids = NULL;
            }
        }
        ok = put(o, "identities", ids);
    }
    if (!ok) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

json_object *avrr_codec_audit_event_to_json(const avrr_audit_event *ev)
{
    char prev[65], hash[65];
    sodium_bin2hex(prev, sizeof prev, ev->prev_hash, sizeof ev->prev_hash);
    sodium_bin2hex(hash, sizeof hash, ev->hash, sizeof ev->hash);
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    bool ok = put(o, "seq", json_object_new_int64(ev->seq)) &&
              put(o, "ts_ms", json_object_new_int64(ev->ts_ms)) &&
              json_object_object_add(o, "key_id",
                                     ev->key_id ? json_object_new_int64(ev->key_id) : NULL) == 0 &&
              put_str(o, "tenant", ev->tenant) && put_str(o, "role", ev->role) &&
              put_str(o, "action", ev->action) && put_str(o, "target_type", ev->target_type) &&
              json_object_object_add(o, "target_id", ev->target_id
                                                         ? json_object_new_int64(ev->target_id)
                                                         : NULL) == 0 &&
              put_str(o, "purpose", ev->purpose) && put_str(o, "request_id", ev->request_id) &&
              put_str(o, "outcome", ev->outcome) && put_str(o, "prev_hash", prev) &&
              put_str(o, "hash", hash);
    if (!ok) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

/* ---- statistics ---------------------------------------------------------------- */

static json_object *count_or_null(int64_t v)
{
    return v < 0 ? NULL : json_object_new_int64(v);
}

/* A score as people read it (0.6, not 0.59999999999999998): four
 * significant digits are more than the survey's precision. */
static json_object *score_json(double v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.4g", v);
    return json_object_new_double_s(v, buf);
}

static json_object *score_or_null(double v)
{
    return v < 0 ? NULL : score_json(v);
}

/* by=sustainability: visits and mean scores (null when suppressed). */
static bool score_members(json_object *r, const avrr_stats_cell *c)
{
    return json_object_object_add(r, "visits", count_or_null(c->visits)) == 0 &&
           json_object_object_add(r, "economic", score_or_null(c->economic)) == 0 &&
           json_object_object_add(r, "social", score_or_null(c->social)) == 0 &&
           json_object_object_add(r, "psychosocial", score_or_null(c->psychosocial)) == 0;
}

json_object *avrr_codec_stats_to_json(const avrr_stats *st)
{
    bool sustainability = strcmp(st->by, "sustainability") == 0;
    json_object *o = json_object_new_object(), *rows = json_object_new_array(),
                *dup = json_object_new_object(), *by_status = json_object_new_object();
    bool ok = o && rows && dup && by_status;
    for (size_t i = 0; ok && i < st->n_rows; i++) {
        const avrr_stats_cell *c = &st->rows[i];
        json_object *r = json_object_new_object();
        ok = r && put_str(r, "key", c->key) &&
             json_object_object_add(r, "persons", count_or_null(c->persons)) == 0 &&
             json_object_object_add(r, "cases", count_or_null(c->cases)) == 0 &&
             json_object_object_add(r, "assistance", count_or_null(c->assistance)) == 0 &&
             json_object_object_add(r, "amount_cents", count_or_null(c->amount_cents)) == 0 &&
             put(r, "suppressed", json_object_new_boolean(c->suppressed)) &&
             (!sustainability || score_members(r, c)) && json_object_array_add(rows, r) == 0;
        if (!ok)
            json_object_put(r);
    }
    int64_t total = 0;
    for (int k = 0; ok && k < AVRR_LINK__COUNT; k++) {
        total += st->links[k];
        ok = put(by_status, avrr_link_status_name(k), json_object_new_int64(st->links[k]));
    }
    ok = ok && put(dup, "links", json_object_new_int64(total)) &&
         put(dup, "red", json_object_new_int64(st->links[AVRR_LINK_RED])) &&
         put(dup, "by_status", by_status) && (by_status = NULL, true) &&
         json_object_object_add(dup, "persons", count_or_null(st->red_persons)) == 0 &&
         json_object_object_add(dup, "amount_cents", count_or_null(st->red_amount_cents)) == 0 &&
         put(dup, "suppressed", json_object_new_boolean(st->red_suppressed)) &&
         put_str(o, "by", st->by) && put(o, "rows", rows) && (rows = NULL, true) &&
         put(o, "duplicates", dup) && (dup = NULL, true);
    json_object_put(by_status);
    json_object_put(rows);
    json_object_put(dup);
    if (!ok) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

char *avrr_codec_stats_to_csv(const avrr_stats *st)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    bool eurostat = strcmp(st->by, "eurostat") == 0;
    bool sustainability = strcmp(st->by, "sustainability") == 0;
    fputs(eurostat ? "geo,time,destination,return_type,assistance,persons\n"
          : sustainability
              ? "key,persons,cases,visits,economic,social,psychosocial,suppressed\n"
              : "key,persons,cases,assistance,amount_cents,suppressed\n",
          f);
    for (size_t i = 0; i < st->n_rows; i++) {
        const avrr_stats_cell *c = &st->rows[i];
        if (sustainability) {
            if (c->suppressed)
                fprintf(f, "%s,,,,,,,true\n", c->key);
            else
                fprintf(f, "%s,%lld,%lld,%lld,%.3f,%.3f,%.3f,false\n", c->key,
                        (long long)c->persons, (long long)c->cases, (long long)c->visits,
                        c->economic, c->social, c->psychosocial);
        } else if (eurostat) {
            /* The key is already the first five columns, comma-separated. */
            if (c->suppressed)
                fprintf(f, "%s,:\n", c->key); /* ':' is Eurostat's "not available" */
            else
                fprintf(f, "%s,%lld\n", c->key, (long long)c->persons);
        } else if (c->suppressed) {
            fprintf(f, "%s,,,,,true\n", c->key);
        } else {
            fprintf(f, "%s,%lld,%lld,%lld,%lld,false\n", c->key, (long long)c->persons,
                    (long long)c->cases, (long long)c->assistance, (long long)c->amount_cents);
        }
    }
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    /* Hand the text over through avrr's allocator, like every body. */
    char *copy = avrr_malloc(len + 1);
    if (copy)
        memcpy(copy, text, len + 1);
    free(text);
    return copy;
}

/* ---- the return process --------------------------------------------------- */

/* A score of the sustainability survey: a JSON number (validation of the
 * range is core's). Required. */
static avrr_err get_score(json_object *o, const char *key, double *out, avrr_error *e)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return avrr_error_set(e, AVRR_EINVALID, key, "%s is required", key);
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
        return avrr_error_set(e, AVRR_EINVALID, key, "%s must be a number", key);
    *out = json_object_get_double(v);
    return AVRR_OK;
}

avrr_err avrr_codec_counselling_from_json(json_object *o, avrr_counselling *c, avrr_error *e)
{
    static const char *const known[] = {"held_on", "counsellor", "outcome",
                                        /* output only */
                                        "id", "case_id", "tenant", "recorded_by",
                                        "created_at", NULL};
    avrr_err result;
    if ((result = only_known(o, known, e)) != AVRR_OK ||
        (result = get_date(o, "held_on", &c->held_on, e)) != AVRR_OK ||
        (result = dup_string(o, "counsellor", &c->counsellor, e)) != AVRR_OK ||
        (result = dup_string(o, "outcome", &c->outcome, e)) != AVRR_OK)
        return result;
    return AVRR_OK;
}

json_object *avrr_codec_counselling_to_json(const avrr_counselling *c)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    bool ok = put(o, "id", json_object_new_int64(c->id)) &&
              put(o, "case_id", json_object_new_int64(c->case_id)) &&
              put_str(o, "tenant", c->tenant) && put_str(o, "recorded_by", c->recorded_by) &&
              put_date(o, "held_on", &c->held_on) && put_str(o, "counsellor", c->counsellor) &&
              put_str(o, "outcome", c->outcome) &&
              put(o, "created_at", json_object_new_int64(c->created_at));
    if (!ok) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

json_object *avrr_codec_referral_to_json(const avrr_referral *r)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    bool ok = put(o, "id", json_object_new_int64(r->id)) &&
              put(o, "case_id", json_object_new_int64(r->case_id)) &&
              put_str(o, "tenant", r->tenant) && put_str(o, "partner", r->partner) &&
              put_str(o, "status", avrr_referral_status_name(r->status)) &&
              put_str(o, "reason", r->reason) &&
              (r->decided_at ? put(o, "decided_at", json_object_new_int64(r->decided_at))
                             : json_object_object_add(o, "decided_at", NULL) == 0) &&
              put(o, "created_at", json_object_new_int64(r->created_at));
    if (!ok) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

/* Planned amounts by kind, at most one entry per kind. */
avrr_err avrr_codec_plan_from_json(json_object *o, avrr_plan *p, avrr_error *e)
{
    static const char *const known[] = {"components", "amounts",
                                        /* output only */
                                        "case_id", "tenant", "recorded_by", "updated_at", NULL};
    static const char *const known_amount[] = {"kind", "amount_cents", NULL};
    json_object *arr = NULL, *canon = NULL;
    unsigned seen = 0;
    avrr_err result;
    if ((result = only_known(o, known, e)) != AVRR_OK ||
        (result = dup_string(o, "components", &p->components, e)) != AVRR_OK)
        return result;
    canon = json_object_new_array();
    if (!canon)
        return avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
    if (json_object_object_get_ex(o, "amounts", &arr) && !json_object_is_type(arr, json_type_null)) {
        if (!json_object_is_type(arr, json_type_array)) {
            result = avrr_error_set(e, AVRR_EINVALID, "amounts", "amounts must be an array");
            goto out;
        }
        for (size_t i = 0; i < json_object_array_length(arr) && result == AVRR_OK; i++) {
            json_object *it = json_object_array_get_idx(arr, i), *c = NULL;
            char prefix[32];
            int kind = -1;
            int64_t cents = 0;
            snprintf(prefix, sizeof prefix, "amounts[%zu]", i);
            if (!json_object_is_type(it, json_type_object))
                result = avrr_error_set(e, AVRR_EINVALID, NULL, "must be an object");
            if (result == AVRR_OK)
                result = only_known(it, known_amount, e);
            if (result == AVRR_OK)
                result = get_enum(it, "kind", avrr_assistance_kind_parse, &kind, true, e);
            if (result == AVRR_OK)
                result = get_int64(it, "amount_cents", &cents, true, e);
            if (result == AVRR_OK)
                result = avrr_amount_check(cents, "amount_cents", e);
            if (result == AVRR_OK && (seen & (1u << kind)))
                result = avrr_error_set(e, AVRR_EINVALID, "kind", "kind listed twice");
            if (result != AVRR_OK) {
                avrr_error_prefix_field(e, prefix);
                break;
            }
            seen |= 1u << kind;
            c = json_object_new_object();
            if (!c || !put_str(c, "kind", avrr_assistance_kind_name(kind)) ||
                !put(c, "amount_cents", json_object_new_int64(cents)) ||
                json_object_array_add(canon, c) != 0) {
                json_object_put(c);
                result = avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
            }
        }
    }
    if (result == AVRR_OK) {
        p->amounts_json = avrr_strdup(
            json_object_to_json_string_ext(canon, JSON_C_TO_STRING_PLAIN));
        if (!p->amounts_json)
            result = avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
    }
out:
    json_object_put(canon);
    return result;
}

json_object *avrr_codec_plan_to_json(const avrr_plan *p)
{
    json_object *o = json_object_new_object(), *amounts = NULL;
    if (!o)
        return NULL;
    /* amounts_json is the canonical array this codec wrote. */
    if (p->amounts_json)
        amounts = json_tokener_parse(p->amounts_json);
    if (!amounts)
        amounts = json_object_new_array();
    bool ok = put(o, "case_id", json_object_new_int64(p->case_id)) &&
              put_str(o, "tenant", p->tenant) && put_str(o, "recorded_by", p->recorded_by) &&
              put_str(o, "components", p->components) && put(o, "amounts", amounts) &&
              (p->updated_at ? put(o, "updated_at", json_object_new_int64(p->updated_at))
                             : json_object_object_add(o, "updated_at", NULL) == 0);
    if (!ok) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

avrr_err avrr_codec_follow_up_from_json(json_object *o, avrr_follow_up *f, avrr_error *e)
{
    static const char *const known[] = {"visited_on", "economic", "social", "psychosocial", "note",
                                        /* output only */
                                        "id", "case_id", "tenant", "recorded_by", "created_at",
                                        "score", NULL};
    avrr_err result;
    if ((result = only_known(o, known, e)) != AVRR_OK ||
        (result = get_date(o, "visited_on", &f->visited_on, e)) != AVRR_OK ||
        (result = get_score(o, "economic", &f->economic, e)) != AVRR_OK ||
        (result = get_score(o, "social", &f->social, e)) != AVRR_OK ||
        (result = get_score(o, "psychosocial", &f->psychosocial, e)) != AVRR_OK ||
        (result = dup_string(o, "note", &f->note, e)) != AVRR_OK)
        return result;
    return AVRR_OK;
}

json_object *avrr_codec_follow_up_to_json(const avrr_follow_up *f)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    /* The composite is the plain mean of the three dimensions, as a
     * convenience; the dimensions are what the survey reports. */
    double score = (f->economic + f->social + f->psychosocial) / 3.0;
    bool ok = put(o, "id", json_object_new_int64(f->id)) &&
              put(o, "case_id", json_object_new_int64(f->case_id)) &&
              put_str(o, "tenant", f->tenant) && put_str(o, "recorded_by", f->recorded_by) &&
              put_date(o, "visited_on", &f->visited_on) &&
              put(o, "economic", score_json(f->economic)) &&
              put(o, "social", score_json(f->social)) &&
              put(o, "psychosocial", score_json(f->psychosocial)) &&
              put(o, "score", score_json(score)) && put_str(o, "note", f->note) &&
              put(o, "created_at", json_object_new_int64(f->created_at));
    if (!ok) {
        json_object_put(o);
        return NULL;
    }
    return o;
}
