/* rules.c: each state's eligibility rules and caps on assistance (issue 7,
 * item 2), applied when a grant is added and explained when it is refused.
 *
 * A tenant's rules are a small JSON document kept in the registry (avrr_meta
 * key "rules.<CODE>", written by `avrr tenant rules`); docs/rules/nl.json
 * is the Dutch example. Every member is optional; a tenant without rules
 * refuses nothing:
 *
 *   {"description": "free text",
 *    "nationalities": {"allowed": ["AFG", ...], "excluded": ["ALB", ...]},
 *    "return_types": ["voluntary"],
 *    "caps": [{"name": "in_kind",
 *              "kinds": ["reintegration_in_kind", "reintegration_business"],
 *              "per_adult_cents": 200000, "per_minor_cents": 100000,
 *              "cash_share": 0.0}]}
 *
 * A cap bounds the sum of the case's grants of its kinds (not cancelled,
 * the new one included) by per_adult_cents x adults + per_minor_cents x
 * minors of the case; cash_share (0..1, default 1) bounds the cash part of
 * that sum. Nationality is the first identity's: with an allowed list an
 * unknown nationality is refused (the rule cannot be shown to hold), an
 * excluded list refuses only the nationalities it names. The rules decide
 * about support, never about identity; a human can still lift a refusal by
 * changing the rules or the case. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "service/codec.h"
#include "service/service_int.h"

/* Enough for every ISO 3166-1 code in one list, and a cap per kind with
 * room for groups: a larger document is a mistake, not a policy. */
#define RULES_COUNTRIES_MAX 249
#define RULES_CAPS_MAX 16
#define RULES_JSON_MAX 65536
#define META_PREFIX "rules."

typedef struct rule_cap {
    char name[33];
    unsigned kinds; /* bit per avrr_assistance_kind */
    int64_t per_adult, per_minor;
    double cash_share;
} rule_cap;

typedef struct rules {
    char allowed[RULES_COUNTRIES_MAX][4];
    size_t n_allowed;
    bool has_allowed;
    char excluded[RULES_COUNTRIES_MAX][4];
    size_t n_excluded;
    unsigned return_types; /* bit per avrr_return_type, 0: any */
    rule_cap caps[RULES_CAPS_MAX];
    size_t n_caps;
} rules;

static avrr_err only(json_object *o, const char *const *known, const char *where, avrr_error *e)
{
    json_object_object_foreach(o, key, val) {
        (void)val;
        bool found = false;
        for (const char *const *k = known; *k && !found; k++)
            found = strcmp(*k, key) == 0;
        if (!found)
            return avrr_error_set(e, AVRR_EINVALID, where, "unknown member '%.64s'", key);
    }
    return AVRR_OK;
}

static avrr_err countries(json_object *arr, const char *field, char (*out)[4], size_t *n,
                          avrr_error *e)
{
    if (!json_object_is_type(arr, json_type_array))
        return avrr_error_set(e, AVRR_EINVALID, field, "must be an array of country codes");
    size_t len = json_object_array_length(arr);
    if (len > RULES_COUNTRIES_MAX)
        return avrr_error_set(e, AVRR_EINVALID, field, "at most %d countries",
                              RULES_COUNTRIES_MAX);
    for (size_t i = 0; i < len; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        const char *a3 = json_object_is_type(v, json_type_string)
                             ? avrr_country_alpha3(json_object_get_string(v))
                             : NULL;
        if (!a3)
            return avrr_error_set(e, AVRR_EINVALID, field,
                                  "item %zu is not an ISO 3166-1 country code", i);
        memcpy(out[i], a3, 4);
    }
    *n = len;
    return AVRR_OK;
}

static avrr_err cents(json_object *o, const char *key, const char *field, int64_t *out,
                      avrr_error *e)
{
    json_object *v = NULL;
    *out = 0;
    if (!json_object_object_get_ex(o, key, &v))
        return AVRR_OK;
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
        json_object_get_int64(v) > AVRR_AMOUNT_MAX_CENTS)
        return avrr_error_set(e, AVRR_EINVALID, field, "%s must be 0..%lld euro cents", key,
                              (long long)AVRR_AMOUNT_MAX_CENTS);
    *out = json_object_get_int64(v);
    return AVRR_OK;
}

static avrr_err parse_cap(json_object *o, size_t i, rule_cap *c, avrr_error *e)
{
    static const char *const known[] = {"name", "kinds", "per_adult_cents", "per_minor_cents",
                                        "cash_share", NULL};
    char field[32];
    json_object *v = NULL;
    snprintf(field, sizeof field, "caps[%zu]", i);
    if (!json_object_is_type(o, json_type_object))
        return avrr_error_set(e, AVRR_EINVALID, field, "must be an object");
    avrr_err result = only(o, known, field, e);
    if (result != AVRR_OK)
        return result;
    c->cash_share = 1.0;
    if (!json_object_object_get_ex(o, "kinds", &v) || !json_object_is_type(v, json_type_array) ||
        json_object_array_length(v) == 0)
        return avrr_error_set(e, AVRR_EINVALID, field, "kinds must be a non-empty array");
    for (size_t k = 0; k < json_object_array_length(v); k++) {
        json_object *kv = json_object_array_get_idx(v, k);
        int kind = json_object_is_type(kv, json_type_string)
                       ? avrr_assistance_kind_parse(json_object_get_string(kv))
                       : -1;
        if (kind < 0)
            return avrr_error_set(e, AVRR_EINVALID, field, "kinds[%zu] is not an assistance kind",
                                  k);
        c->kinds |= 1u << kind;
    }
    if (json_object_object_get_ex(o, "name", &v)) {
        if (!json_object_is_type(v, json_type_string) ||
            json_object_get_string_len(v) >= (int)sizeof c->name)
            return avrr_error_set(e, AVRR_EINVALID, field, "name must be a string of at most %zu bytes",
                                  sizeof c->name - 1);
        snprintf(c->name, sizeof c->name, "%s", json_object_get_string(v));
    } else {
        snprintf(c->name, sizeof c->name, "%s", field);
    }
    if ((result = cents(o, "per_adult_cents", field, &c->per_adult, e)) != AVRR_OK ||
        (result = cents(o, "per_minor_cents", field, &c->per_minor, e)) != AVRR_OK)
        return result;
    if (json_object_object_get_ex(o, "cash_share", &v)) {
        double share = json_object_is_type(v, json_type_double) ||
                               json_object_is_type(v, json_type_int)
                           ? json_object_get_double(v)
                           : -1;
        if (!(share >= 0.0 && share <= 1.0))
            return avrr_error_set(e, AVRR_EINVALID, field, "cash_share must be between 0 and 1");
        c->cash_share = share;
    }
    return AVRR_OK;
}

/* Parses and checks a rule document; errors name the member. */
static avrr_err rules_parse(const char *text, rules *r, avrr_error *e)
{
    static const char *const known[] = {"description", "tenant", "nationalities",
                                        "return_types", "caps", NULL};
    static const char *const known_nat[] = {"allowed", "excluded", NULL};
    json_object *o = NULL, *v = NULL, *w = NULL;
    memset(r, 0, sizeof *r);
    avrr_err result = avrr_json_parse_object(text, strlen(text), &o, e);
    if (result != AVRR_OK)
        return result;
    if ((result = only(o, known, "rules", e)) != AVRR_OK)
        goto out;
    if (json_object_object_get_ex(o, "nationalities", &v)) {
        if (!json_object_is_type(v, json_type_object)) {
            result = avrr_error_set(e, AVRR_EINVALID, "nationalities", "must be an object");
            goto out;
        }
        if ((result = only(v, known_nat, "nationalities", e)) != AVRR_OK)
            goto out;
        if (json_object_object_get_ex(v, "allowed", &w)) {
            r->has_allowed = true;
            result = countries(w, "nationalities.allowed", r->allowed, &r->n_allowed, e);
        }
        if (result == AVRR_OK && json_object_object_get_ex(v, "excluded", &w))
            result = countries(w, "nationalities.excluded", r->excluded, &r->n_excluded, e);
        if (result != AVRR_OK)
            goto out;
    }
    if (json_object_object_get_ex(o, "return_types", &v)) {
        if (!json_object_is_type(v, json_type_array)) {
            result = avrr_error_set(e, AVRR_EINVALID, "return_types", "must be an array");
            goto out;
        }
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            w = json_object_array_get_idx(v, i);
            int t = json_object_is_type(w, json_type_string)
                        ? avrr_return_type_parse(json_object_get_string(w))
                        : -1;
            if (t < 0) {
                result = avrr_error_set(e, AVRR_EINVALID, "return_types",
                                        "item %zu is not a return type", i);
                goto out;
            }
            r->return_types |= 1u << t;
        }
    }
    if (json_object_object_get_ex(o, "caps", &v)) {
        if (!json_object_is_type(v, json_type_array) ||
            json_object_array_length(v) > RULES_CAPS_MAX) {
            result = avrr_error_set(e, AVRR_EINVALID, "caps", "must be an array of at most %d caps",
                                    RULES_CAPS_MAX);
            goto out;
        }
        r->n_caps = json_object_array_length(v);
        for (size_t i = 0; i < r->n_caps && result == AVRR_OK; i++)
            result = parse_cap(json_object_array_get_idx(v, i), i, &r->caps[i], e);
    }
out:
    json_object_put(o);
    return result;
}

/* "EUR 2,000.00" for messages. */
static const char *euro(int64_t cents, char buf[static 32])
{
    int64_t whole = cents / 100;
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%lld", (long long)whole);
    size_t o = 0;
    o += (size_t)snprintf(buf + o, 32 - o, "EUR ");
    for (int i = 0; i < n && o < 26; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    snprintf(buf + o, 32 - o, ".%02lld", (long long)(cents % 100));
    return buf;
}

static void meta_key(const char *code, char out[static 32])
{
    snprintf(out, 32, META_PREFIX "%s", code);
}

/* The case's grants of the cap's kinds, not cancelled: total and cash. */
static void cap_sums(const rule_cap *cap, const avrr_assistance *grants, size_t n,
                     int64_t *total, int64_t *cash)
{
    *total = *cash = 0;
    for (size_t i = 0; i < n; i++) {
        if (grants[i].status == AVRR_ASSIST_CANCELLED || !(cap->kinds & (1u << grants[i].kind)))
            continue;
        *total += grants[i].amount_cents;
        if (grants[i].cash)
            *cash += grants[i].amount_cents;
    }
}

static avrr_err check_nationality(avrr_service *svc, const rules *r, const avrr_case *c,
                                  avrr_error *e)
{
    avrr_person p = {0};
    char nat[4] = "";
    if (!r->has_allowed && r->n_excluded == 0)
        return AVRR_OK;
    avrr_err result = svc->store->ops->person_get_any(svc->store, c->person_id, &p, e);
    if (result != AVRR_OK)
        return result;
    if (p.n_identities > 0)
        memcpy(nat, p.identities[0].nationality, sizeof nat);
    avrr_person_clear(&p);
    for (size_t i = 0; i < r->n_excluded; i++)
        if (strcmp(nat, r->excluded[i]) == 0)
            return avrr_error_set(e, AVRR_ECONFLICT, "nationality",
                                  "refused by the rules of %s (nationalities.excluded): "
                                  "nationality %s receives no assistance",
                                  c->tenant, nat);
    if (!r->has_allowed)
        return AVRR_OK;
    for (size_t i = 0; i < r->n_allowed; i++)
        if (strcmp(nat, r->allowed[i]) == 0)
            return AVRR_OK;
    return avrr_error_set(e, AVRR_ECONFLICT, "nationality",
                          "refused by the rules of %s (nationalities.allowed): nationality "
                          "%s is not in the allowed list",
                          c->tenant, nat[0] ? nat : "unknown");
}

avrr_err avrr__rules_check(avrr_service *svc, const avrr_case *c, const avrr_assistance *as,
                           avrr_error *e)
{
    char key[32], a[32], b[32], d[32], m[32];
    char *text = NULL;
    avrr_assistance *grants = NULL;
    size_t n = 0;
    rules *r = NULL;
    meta_key(c->tenant, key);
    avrr_err result = svc->store->ops->meta_get(svc->store, key, &text, NULL);
    if (result == AVRR_ENOTFOUND)
        return AVRR_OK; /* no rules: nothing changes */
    if (result != AVRR_OK)
        return avrr_error_set(e, result, NULL, "reading the rules of %s failed", c->tenant);
    /* The rules were checked when stored; a parse failure here means the
     * registry was changed behind avrr's back, and refusing is safer. */
    r = avrr_calloc(1, sizeof *r);
    if (!r) {
        result = avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
        goto out;
    }
    if ((result = rules_parse(text, r, e)) != AVRR_OK)
        goto out;
    if (r->return_types && !(r->return_types & (1u << c->return_type))) {
        result = avrr_error_set(e, AVRR_ECONFLICT, "return_type",
                                "refused by the rules of %s (return_types): %s returns "
                                "receive no assistance",
                                c->tenant, avrr_return_type_name(c->return_type));
        goto out;
    }
    if ((result = check_nationality(svc, r, c, e)) != AVRR_OK)
        goto out;
    bool capped = false;
    for (size_t i = 0; i < r->n_caps && !capped; i++)
        capped = (r->caps[i].kinds & (1u << as->kind)) != 0;
    if (!capped || as->status == AVRR_ASSIST_CANCELLED)
        goto out;
    result = svc->store->ops->assistance_list(svc->store, c->tenant, c->id, &grants, &n, e);
    if (result != AVRR_OK)
        goto out;
    int adults = c->adults, minors = c->minors;
    if (adults == 0 && minors == 0)
        adults = 1;
    for (size_t i = 0; i < r->n_caps; i++) {
        const rule_cap *cap = &r->caps[i];
        int64_t total, cash;
        if (!(cap->kinds & (1u << as->kind)))
            continue;
        cap_sums(cap, grants, n, &total, &cash);
        total += as->amount_cents;
        if (as->cash)
            cash += as->amount_cents;
        int64_t limit = cap->per_adult * adults + cap->per_minor * minors;
        if (total > limit) {
            result = avrr_error_set(e, AVRR_ECONFLICT, "amount_cents",
                                    "refused by the rules of %s (caps.%s): %s in total would "
                                    "exceed the cap of %s (%d adult(s) x %s + %d minor(s) x %s)",
                                    c->tenant, cap->name, euro(total, a), euro(limit, b),
                                    adults, euro(cap->per_adult, d), minors,
                                    euro(cap->per_minor, m));
            break;
        }
        /* Rounded down: a share never allows a cent more than it says. */
        int64_t cash_limit = (int64_t)((double)limit * cap->cash_share);
        if (as->cash && cash > cash_limit) {
            result = avrr_error_set(e, AVRR_ECONFLICT, "cash",
                                    "refused by the rules of %s (caps.%s.cash_share %.2f): %s in "
                                    "cash would exceed %s; grant it in kind",
                                    c->tenant, cap->name, cap->cash_share, euro(cash, a),
                                    euro(cash_limit, b));
            break;
        }
    }
out:
    avrr_store_free_assistance(grants, n);
    avrr_free(r);
    avrr_free(text);
    return result;
}

static avrr_err set_rules_impl(avrr_service *svc, const char *code, const char *json,
                               avrr_error *e)
{
    char canon[17], key[32];
    avrr_tenant t = {0};
    rules *r = NULL;
    avrr_err result = avrr_tenant_code_check(code ? code : "", canon, e);
    if (result != AVRR_OK)
        return result;
    if (json) {
        if (strlen(json) > RULES_JSON_MAX)
            return avrr_error_set(e, AVRR_ETOOLARGE, "rules", "rules over %d bytes",
                                  RULES_JSON_MAX);
        r = avrr_calloc(1, sizeof *r);
        if (!r)
            return avrr_error_set(e, AVRR_ENOMEM, NULL, NULL);
        result = rules_parse(json, r, e);
        avrr_free(r);
        if (result != AVRR_OK)
            return result;
    }
    meta_key(canon, key);
    lock(svc);
    result = svc->store->ops->tenant_get(svc->store, canon, &t, e);
    /* Removing rules stores an empty object: it refuses nothing. */
    if (result == AVRR_OK)
        result = svc->store->ops->meta_set(svc->store, key, json ? json : "{}", e);
    unlock(svc);
    avrr_tenant_clear(&t);
    return result;
}

avrr_err avrr_service_tenant_set_rules(avrr_service *svc, const char *code, const char *json,
                                       avrr_error *e)
{
    audit_scope sc;
    avrr__audit_begin(&sc, svc, NULL, "tenant.rules", "tenant");
    avrr_err result = sc.error ? sc.error : set_rules_impl(svc, code, json, e);
    return avrr__audit_end(&sc, result, 0, e);
}

avrr_err avrr_service_tenant_get_rules(avrr_service *svc, const char *code, char **json,
                                       avrr_error *e)
{
    char canon[17], key[32];
    *json = NULL;
    avrr_err result = avrr_tenant_code_check(code ? code : "", canon, e);
    if (result != AVRR_OK)
        return result;
    meta_key(canon, key);
    lock(svc);
    result = svc->store->ops->meta_get(svc->store, key, json, e);
    unlock(svc);
    if (result == AVRR_ENOTFOUND)
        result = AVRR_OK;
    return result;
}
