/* routes.c: the routes of the HTTP API (docs/openapi.yaml describes them).
 *
 * Each handler turns one complete request into one service call: decode the
 * body with the shared codec, call the service, encode the result or the
 * error. Handlers hold no rule about the data. */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avrr/server.h"
#include "server/routes.h"
#include "service/codec.h"

#define MAX_PARAMS 2

typedef void (*handler_fn)(avrr_http_request *req, const int64_t *params,
                           avrr_http_response *resp);

typedef struct route {
    const char *method;
    const char *pattern;
    bool auth;
    handler_fn fn;
} route;

/* ---- helpers ------------------------------------------------------------- */

static void fail(avrr_http_response *resp, avrr_err err, avrr_error *e)
{
    if (e->code != err)
        avrr_error_set(e, err, e->field[0] ? e->field : NULL, "%s",
                       e->message[0] ? e->message : avrr_strerror(err));
    resp->status = avrr__http_status(err);
    resp->json = avrr_codec_error_to_json(e);
}

static void fail_msg(avrr_http_response *resp, avrr_err err, const char *field,
                     const char *msg)
{
    avrr_error e;
    avrr_error_set(&e, err, field, "%s", msg);
    fail(resp, err, &e);
}

static void ok(avrr_http_response *resp, unsigned status, json_object *o)
{
    resp->status = status;
    resp->json = o; /* NULL means out of memory: server.c answers 503 */
}

static bool body_object(avrr_http_request *req, avrr_http_response *resp, json_object **out)
{
    avrr_error e;
    avrr_error_clear(&e);
    if (req->body_too_large) {
        char msg[80];
        snprintf(msg, sizeof msg, "request body over %zu bytes", req->body_max);
        fail_msg(resp, AVRR_ETOOLARGE, "body", msg);
        return false;
    }
    avrr_err err = avrr_json_parse_object(req->body, req->body_len, out, &e);
    if (err != AVRR_OK) {
        fail(resp, err, &e);
        return false;
    }
    return true;
}

/* Checks the body's members against a list; fills resp when one is unknown. */
static bool body_only(json_object *body, const char *const *known, avrr_http_response *resp)
{
    json_object_object_foreach(body, key, val) {
        (void)val;
        bool found = false;
        for (const char *const *k = known; *k && !found; k++)
            found = strcmp(*k, key) == 0;
        if (!found) {
            avrr_error e;
            avrr_error_set(&e, AVRR_EINVALID, key, "unknown field '%.64s'", key);
            fail(resp, AVRR_EINVALID, &e);
            return false;
        }
    }
    return true;
}

/* Reads an optional non-negative integer query parameter. */
static bool query_int(avrr_http_request *req, avrr_http_response *resp, const char *name,
                      int64_t *out)
{
    const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
    if (!v)
        return true;
    char *end;
    long long x = strtoll(v, &end, 10);
    if (v[0] < '0' || v[0] > '9' || end == v || *end || x < 0 || strlen(v) > 18) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s must be a non-negative integer", name);
        fail_msg(resp, AVRR_EINVALID, name, msg);
        return false;
    }
    *out = x;
    return true;
}

static bool page_from_query(avrr_http_request *req, avrr_http_response *resp, avrr_page *page)
{
    int64_t after = 0, limit = 0;
    if (!query_int(req, resp, "after", &after) || !query_int(req, resp, "limit", &limit))
        return false;
    if (limit > AVRR_PAGE_MAX) {
        fail_msg(resp, AVRR_EINVALID, "limit", "limit must be 1..1000");
        return false;
    }
    page->after = after;
    page->limit = (size_t)limit;
    return true;
}

/* {"items": [...], "next": cursor-or-null} */
static json_object *page_json(json_object *items, int64_t next)
{
    json_object *o = json_object_new_object();
    if (!o || !items) {
        json_object_put(o);
        json_object_put(items);
        return NULL;
    }
    json_object_object_add(o, "items", items);
    json_object_object_add(o, "next", next ? json_object_new_int64(next) : NULL);
    return o;
}

/* Encodes items[0..n) (each `size` bytes) with fn into a JSON array; NULL
 * when out of memory. ctx is handed to fn (the request, for views that
 * depend on who asks). */
typedef json_object *(*item_json_fn)(const void *item, avrr_http_request *req);

static json_object *items_json(const void *items, size_t n, size_t size, item_json_fn fn,
                               avrr_http_request *req)
{
    json_object *arr = json_object_new_array_ext((int)n);
    for (size_t i = 0; arr && i < n; i++) {
        json_object *o = fn((const char *)items + i * size, req);
        if (!o || json_object_array_add(arr, o) != 0) {
            json_object_put(o);
            json_object_put(arr);
            arr = NULL;
        }
    }
    return arr;
}

static json_object *person_item(const void *p, avrr_http_request *req)
{
    (void)req;
    return avrr_codec_person_to_json(p);
}

static json_object *case_item(const void *c, avrr_http_request *req)
{
    (void)req;
    return avrr_codec_case_to_json(c);
}

static json_object *assistance_item(const void *a, avrr_http_request *req)
{
    (void)req;
    return avrr_codec_assistance_to_json(a);
}

static json_object *audit_item(const void *ev, avrr_http_request *req)
{
    (void)req;
    return avrr_codec_audit_event_to_json(ev);
}

static json_object *disclosure_item(const void *d, avrr_http_request *req)
{
    return avrr_codec_disclosure_to_json(d, req->actor.tenant, NULL);
}

/* ---- handlers ---------------------------------------------------------------- */

static void h_healthz(avrr_http_request *req, const int64_t *params, avrr_http_response *resp)
{
    (void)req;
    (void)params;
    json_object *o = json_object_new_object();
    if (o)
        json_object_object_add(o, "status", json_object_new_string("ok"));
    ok(resp, MHD_HTTP_OK, o);
}

static void h_metrics(avrr_http_request *req, const int64_t *params, avrr_http_response *resp);

/* Who the key belongs to, so that the web pages can show the tenant and
 * offer only what the role may do. Nothing personal: no audit event. */
static void h_me(avrr_http_request *req, const int64_t *params, avrr_http_response *resp)
{
    (void)params;
    json_object *o = json_object_new_object();
    if (o) {
        json_object_object_add(o, "tenant", json_object_new_string(req->actor.tenant));
        json_object_object_add(o, "role", json_object_new_string(avrr_role_name(req->actor.role)));
        json_object_object_add(o, "key_id", json_object_new_int64(req->actor.key_id));
    }
    ok(resp, MHD_HTTP_OK, o);
}

static void h_person_create(avrr_http_request *req, const int64_t *params,
                            avrr_http_response *resp)
{
    (void)params;
    avrr_person p = {0};
    avrr_error e;
    json_object *body = NULL;
    avrr_error_clear(&e);
    if (!body_object(req, resp, &body))
        return;
    avrr_err err = avrr_codec_person_from_json(body, &p, &e);
    if (err == AVRR_OK)
        err = avrr_service_person_register(req->srv_svc, &req->actor, &p, &e);
    if (err == AVRR_OK)
        ok(resp, MHD_HTTP_CREATED, avrr_codec_person_to_json(&p));
    else
        fail(resp, err, &e);
    avrr_person_clear(&p);
    json_object_put(body);
}

static void h_person_list(avrr_http_request *req, const int64_t *params,
                          avrr_http_response *resp)
{
    (void)params;
    avrr_page page;
    avrr_person *items = NULL;
    size_t n = 0;
    int64_t next = 0;
    avrr_error e;
    avrr_error_clear(&e);
    if (!page_from_query(req, resp, &page))
        return;
    avrr_err err = avrr_service_person_list(req->srv_svc, &req->actor, page, &items, &n,
                                            &next, &e);
    if (err != AVRR_OK) {
        fail(resp, err, &e);
        return;
    }
    ok(resp, MHD_HTTP_OK,
       page_json(items_json(items, n, sizeof *items, person_item, req), next));
    avrr_service_free_persons(items, n);
}

static void h_person_get(avrr_http_request *req, const int64_t *params,
                         avrr_http_response *resp)
{
    avrr_person p = {0};
    avrr_error e;
    avrr_error_clear(&e);
    avrr_err err = avrr_service_person_get(req->srv_svc, &req->actor, params[0], &p, &e);
    if (err == AVRR_OK)
        ok(resp, MHD_HTTP_OK, avrr_codec_person_to_json(&p));
    else
        fail(resp, err, &e);
    avrr_person_clear(&p);
}

static void h_identity_add(avrr_http_request *req, const int64_t *params,
                           avrr_http_response *resp)
{
    avrr_identity id = {0};
    avrr_error e;
    json_object *body = NULL;
    avrr_error_clear(&e);
    if (!body_object(req, resp, &body))
        return;
    avrr_err err = avrr_codec_identity_from_json(body, &id, &e);
    if (err == AVRR_OK)
        err = avrr_service_identity_add(req->srv_svc, &req->actor, params[0], &id, &e);
    if (err == AVRR_OK)
        ok(resp, MHD_HTTP_CREATED, avrr_codec_identity_to_json(&id));
    else
        fail(resp, err, &e);
    avrr_identity_clear(&id);
    json_object_put(body);
}

static void h_case_create(avrr_http_request *req, const int64_t *params,
                          avrr_http_response *resp)
{
    (void)params;
    avrr_case c = {0};
    avrr_error e;
    json_object *body = NULL;
    avrr_error_clear(&e);
    if (!body_object(req, resp, &body))
        return;
    avrr_err err = avrr_codec_case_from_json(body, &c, &e);
    if (err == AVRR_OK)
        err = avrr_service_case_open(req->srv_svc, &req->actor, &c, &e);
    if (err == AVRR_OK)
        ok(resp, MHD_HTTP_CREATED, avrr_codec_case_to_json(&c));
    else
        fail(resp, err, &e);
    avrr_case_clear(&c);
    json_object_put(body);
}

static void h_case_list(avrr_http_request *req, const int64_t *params,
                        avrr_http_response *resp)
{
    (void)params;
    avrr_page page;
    avrr_case *items = NULL;
    size_t n = 0;
    int64_t next = 0, person_id = 0;
    avrr_error e;
    avrr_error_clear(&e);
    if (!page_from_query(req, resp, &page) || !query_int(req, resp, "person_id", &person_id))
        return;
    avrr_err err = avrr_service_case_list(req->srv_svc, &req->actor, person_id, page,
                                          &items, &n, &next, &e);
    if (err != AVRR_OK) {
        fail(resp, err, &e);
        return;
    }
    ok(resp, MHD_HTTP_OK,
       page_json(items_json(items, n, sizeof *items, case_item, req), next));
    avrr_service_free_cases(items, n);
}

static void h_case_get(avrr_http_request *req, const int64_t *params,
                       avrr_http_response *resp)
{
    avrr_case c = {0};
    avrr_error e;
    avrr_error_clear(&e);
    avrr_err err = avrr_service_case_get(req->srv_svc, &req->actor, params[0], &c, &e);
    if (err == AVRR_OK)
        ok(resp, MHD_HTTP_OK, avrr_codec_case_to_json(&c));
    else
        fail(resp, err, &e);
    avrr_case_clear(&c);
}

static void h_case_status(avrr_http_request *req, const int64_t *params,
                          avrr_http_response *resp)
{
    static const char *const known[] = {"status", NULL};
    avrr_case c = {0};
    avrr_error e;
    json_object *body = NULL;
    const char *status = NULL;
    avrr_error_clear(&e);
    if (!body_object(req, resp, &body))
        return;
    avrr_err err = AVRR_OK;
    if (!body_only(body, known, resp))
        goto out;
    err = avrr_codec_get_string(body, "status", &status, &e);
    if (err == AVRR_OK && !status)
        err = avrr_error_set(&e, AVRR_EINVALID, "status", "status is required");
    if (err == AVRR_OK)
        err = avrr_service_case_set_status(req->srv_svc, &req->actor, params[0], status, &c, &e);
    if (err == AVRR_OK)
        ok(resp, MHD_HTTP_OK, avrr_codec_case_to_json(&c));
    else
        fail(resp, err, &e);
out:
    avrr_case_clear(&c);
    json_object_put(body);
}

static void h_assistance_add(avrr_http_request *req, const int64_t *params,
                             avrr_http_response *resp)
{
    avrr_assistance a = {0};
    avrr_error e;
    json_object *body = NULL;
    avrr_error_clear(&e);
    if (!body_object(req, resp, &body))
        return;
    avrr_check_result warnings = {0};
    avrr_err err = avrr_codec_assistance_from_json(body, &a, &e);
    if (err == AVRR_OK)
        err = avrr_service_assistance_add(req->srv_svc, &req->actor, params[0], &a, &warnings,
                                          &e);
    if (err == AVRR_OK) {
        /* 201 with the grant and the double-support warnings (often []). */
        json_object *o = avrr_codec_assistance_to_json(&a);
        json_object *w = avrr_codec_hits_to_json(warnings.hits, warnings.n_hits);
        if (o && w && json_object_object_add(o, "warnings", w) == 0) {
            ok(resp, MHD_HTTP_CREATED, o);
        } else {
            json_object_put(o);
            json_object_put(w);
            ok(resp, MHD_HTTP_CREATED, NULL);
        }
    } else {
        fail(resp, err, &e);
    }
    avrr_check_result_clear(&warnings);
    avrr_assistance_clear(&a);
    json_object_put(body);
}

static void h_assistance_list(avrr_http_request *req, const int64_t *params,
                              avrr_http_response *resp)
{
    avrr_assistance *items = NULL;
    size_t n = 0;
    avrr_error e;
    avrr_error_clear(&e);
    avrr_err err = avrr_service_assistance_list(req->srv_svc, &req->actor, params[0],
                                                &items, &n, &e);
    if (err != AVRR_OK) {
        fail(resp, err, &e);
        return;
    }
    ok(resp, MHD_HTTP_OK,
       page_json(items_json(items, n, sizeof *items, assistance_item, req), 0));
    avrr_service_free_assistance(items, n);
}

/* ---- consultation ---------------------------------------------------------------- */

/* Reads the optional "status" query parameter with parse(); -1 when absent. */
static bool query_status(avrr_http_request *req, avrr_http_response *resp,
                         int (*parse)(const char *), int *out)
{
    const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "status");
    *out = -1;
    if (!v)
        return true;
    *out = parse(v);
    if (*out < 0) {
        fail_msg(resp, AVRR_EINVALID, "status", "unknown status");
        return false;
    }
    return true;
}

static void h_check_create(avrr_http_request *req, const int64_t *params,
                           avrr_http_response *resp)
{
    (void)params;
    avrr_check_request cr = {0};
    avrr_check_result result = {0};
    avrr_error e;
    json_object *body = NULL;
    avrr_error_clear(&e);
    if (!body_object(req, resp, &body))
        return;
    cr.request_json = req->body;
    avrr_err err = avrr_codec_check_request_from_json(body, &cr, &e);
    if (err == AVRR_OK)
        err = avrr_service_check(req->srv_svc, &req->actor, &cr, &result, &e);
    if (err == AVRR_OK && result.response_json) {
        /* the answer the check encoded (once, with its stored copy) */
        resp->status = MHD_HTTP_CREATED;
        resp->text_len = strlen(result.response_json);
        resp->text = result.response_json;
        resp->text_json = true;
        result.response_json = NULL;
    } else if (err == AVRR_OK)
        ok(resp, MHD_HTTP_CREATED, avrr_codec_check_result_to_json(&result));
    else
        fail(resp, err, &e);
    avrr_check_result_clear(&result);
    avrr_codec_check_request_clear(&cr);
    json_object_put(body);
}

static void h_check_get(avrr_http_request *req, const int64_t *params, avrr_http_response *resp)
{
    avrr_check c = {0};
    avrr_error e;
    avrr_error_clear(&e);
    avrr_err err = avrr_service_check_get(req->srv_svc, &req->actor, params[0], &c, &e);
    if (err != AVRR_OK) {
        fail(resp, err, &e);
        return;
    }
    /* The answer as it was given, with the check's id and time. */
    json_object *o = c.response_json ? json_tokener_parse(c.response_json) : NULL;
    if (!o || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        o = json_object_new_object();
    }
    if (o) {
        json_object_object_add(o, "id", json_object_new_int64(c.id));
        json_object_object_add(o, "created_at", json_object_new_int64(c.created_at));
    }
    ok(resp, MHD_HTTP_OK, o);
    avrr_check_clear(&c);
}

static json_object *link_json(avrr_http_request *req, const avrr_link *l)
{
    char ref[33];
    bool a_side = strcmp(l->tenant_a, req->actor.tenant) == 0;
    avrr_service_person_ref(req->srv_svc, req->actor.tenant, a_side ? l->person_b : l->person_a,
                            ref);
    return avrr_codec_link_to_json(l, req->actor.tenant, ref);
}

static json_object *link_item(const void *l, avrr_http_request *req)
{
    return link_json(req, l);
}

static void h_link_list(avrr_http_request *req, const int64_t *params, avrr_http_response *resp)
{
    (void)params;
    avrr_page page;
    avrr_link *items = NULL;
    size_t n = 0;
    int64_t next = 0;
    int status;
    avrr_error e;
    avrr_error_clear(&e);
    if (!page_from_query(req, resp, &page) ||
        !query_status(req, resp, avrr_link_status_parse, &status))
        return;
    avrr_err err = avrr_service_link_list(req->srv_svc, &req->actor, status, page, &items, &n,
                                          &next, &e);
    if (err != AVRR_OK) {
        fail(resp, err, &e);
        return;
    }
    ok(resp, MHD_HTTP_OK,
       page_json(items_json(items, n, sizeof *items, link_item, req), next));
    avrr_service_free_links(items, n);
}

static void h_link_get(avrr_http_request *req, const int64_t *params, avrr_http_response *resp)
{
    avrr_link l = {0};
    avrr_error e;
    avrr_error_clear(&e);
    avrr_err err = avrr_service_link_get(req->srv_svc, &req->actor, params[0], &l, &e);
    if (err == AVRR_OK)
        ok(resp, MHD_HTTP_OK, link_json(req, &l));
    else
        fail(resp, err, &e);
    avrr_link_clear(&l);
}

static void h_link_resolve(avrr_http_request *req, const int64_t *params,
                           avrr_http_response *resp)
{
    static const char *const known[] = {"decision", "reason", NULL};
    avrr_link l = {0};
    avrr_error e;
    json_object *body = NULL;
    const char *decision = NULL, *reason = NULL;
    avrr_error_clear(&e);
    if (!body_object(req, resp, &body))
        return;
    avrr_err err = AVRR_OK;
    if (!body_only(body, known, resp))
        goto out;
    err = avrr_codec_get_string(body, "decision", &decision, &e);
    if (err == AVRR_OK)
        err = avrr_codec_get_string(body, "reason", &reason, &e);
    if (err == AVRR_OK)
        err = avrr_service_link_resolve(req->srv_svc, &req->actor, params[0], decision, reason,
                                        &l, &e);
    if (err == AVRR_OK)
        ok(resp, MHD_HTTP_OK, link_json(req, &l));
    else
        fail(resp, err, &e);
out:
    avrr_link_clear(&l);
    json_object_put(body);
}

static void h_disclosure_create(avrr_http_request *req, const int64_t *params,
                                avrr_http_response *resp)
{
    static const char *const known[] = {"person_ref", "reason", NULL};
    avrr_disclosure d = {0};
    avrr_error e;
    json_object *body = NULL;
    const char *ref = NULL, *reason = NULL;
    avrr_error_clear(&e);
    if (!body_object(req, resp, &body))
        return;
    avrr_err err = AVRR_OK;
    if (!body_only(body, known, resp))
        goto out;
    err = avrr_codec_get_string(body, "person_ref", &ref, &e);
    if (err == AVRR_OK)
        err = avrr_codec_get_string(body, "reason", &reason, &e);
    if (err == AVRR_OK)
        err = avrr_service_disclosure_request(req->srv_svc, &req->actor, params[0], ref, reason,
                                              &d, &e);
    if (err == AVRR_OK)
        ok(resp, MHD_HTTP_CREATED, avrr_codec_disclosure_to_json(&d, req->actor.tenant, NULL));
    else
        fail(resp, err, &e);
out:
    avrr_disclosure_clear(&d);
    json_object_put(body);
}

static void h_disclosure_list(avrr_http_request *req, const int64_t *params,
                              avrr_http_response *resp)
{
    (void)params;
    avrr_page page;
    avrr_disclosure *items = NULL;
    size_t n = 0;
    int64_t next = 0;
    int status;
    avrr_error e;
    avrr_error_clear(&e);
    if (!page_from_query(req, resp, &page) ||
        !query_status(req, resp, avrr_disclosure_status_parse, &status))
        return;
    avrr_err err = avrr_service_disclosure_list(req->srv_svc, &req->actor, status, page, &items,
                                                &n, &next, &e);
    if (err != AVRR_OK) {
        fail(resp, err, &e);
        return;
    }
    ok(resp, MHD_HTTP_OK,
       page_json(items_json(items, n, sizeof *items, disclosure_item, req), next));
    avrr_service_free_disclosures(items, n);
}

static void h_disclosure_get(avrr_http_request *req, const int64_t *params,
                             avrr_http_response *resp)
{
    avrr_disclosure d = {0};
    avrr_person details = {0};
    avrr_error e;
    avrr_error_clear(&e);
    avrr_err err = avrr_service_disclosure_get(req->srv_svc, &req->actor, params[0], &d,
                                               &details, &e);
    if (err == AVRR_OK)
        ok(resp, MHD_HTTP_OK, avrr_codec_disclosure_to_json(&d, req->actor.tenant, &details));
    else
        fail(resp, err, &e);
    avrr_person_clear(&details);
    avrr_disclosure_clear(&d);
}

static void h_disclosure_decide(avrr_http_request *req, const int64_t *params,
                                avrr_http_response *resp)
{
    static const char *const known[] = {"decision", "reason", NULL};
    avrr_disclosure d = {0};
    avrr_error e;
    json_object *body = NULL;
    const char *decision = NULL, *reason = NULL;
    avrr_error_clear(&e);
    if (!body_object(req, resp, &body))
        return;
    avrr_err err = AVRR_OK;
    if (!body_only(body, known, resp))
        goto out;
    err = avrr_codec_get_string(body, "decision", &decision, &e);
    if (err == AVRR_OK)
        err = avrr_codec_get_string(body, "reason", &reason, &e);
    if (err == AVRR_OK)
        err = avrr_service_disclosure_decide(req->srv_svc, &req->actor, params[0], decision,
                                             reason, &d, &e);
    if (err == AVRR_OK)
        ok(resp, MHD_HTTP_OK, avrr_codec_disclosure_to_json(&d, req->actor.tenant, NULL));
    else
        fail(resp, err, &e);
out:
    avrr_disclosure_clear(&d);
    json_object_put(body);
}

static void h_audit_list(avrr_http_request *req, const int64_t *params, avrr_http_response *resp)
{
    (void)params;
    avrr_page page;
    avrr_audit_event *items = NULL;
    size_t n = 0;
    int64_t next = 0;
    avrr_error e;
    avrr_error_clear(&e);
    if (!page_from_query(req, resp, &page))
        return;
    avrr_err err = avrr_service_audit_list(req->srv_svc, &req->actor, page, &items, &n, &next, &e);
    if (err != AVRR_OK) {
        fail(resp, err, &e);
        return;
    }
    ok(resp, MHD_HTTP_OK,
       page_json(items_json(items, n, sizeof *items, audit_item, req), next));
    avrr_free(items);
}

/* ---- data-subject rights ------------------------------------------------------ */

static void h_person_export(avrr_http_request *req, const int64_t *params,
                            avrr_http_response *resp)
{
    char *json = NULL;
    avrr_error e;
    avrr_error_clear(&e);
    avrr_err err = avrr_service_person_export(req->srv_svc, &req->actor, params[0], &json, &e);
    if (err != AVRR_OK) {
        fail(resp, err, &e);
        return;
    }
    resp->status = MHD_HTTP_OK;
    resp->text = json;
    resp->text_len = strlen(json);
    resp->content_type = "application/json";
}

static void h_identity_rectify(avrr_http_request *req, const int64_t *params,
                               avrr_http_response *resp)
{
    avrr_identity id = {0};
    avrr_error e;
    json_object *body = NULL;
    avrr_error_clear(&e);
    if (!body_object(req, resp, &body))
        return;
    avrr_err err = avrr_codec_identity_from_json(body, &id, &e);
    if (err == AVRR_OK)
        err = avrr_service_identity_rectify(req->srv_svc, &req->actor, params[0], params[1], &id,
                                            &e);
    if (err == AVRR_OK)
        ok(resp, MHD_HTTP_OK, avrr_codec_identity_to_json(&id));
    else
        fail(resp, err, &e);
    avrr_identity_clear(&id);
    json_object_put(body);
}

static void h_person_erase(avrr_http_request *req, const int64_t *params,
                           avrr_http_response *resp)
{
    avrr_error e;
    avrr_error_clear(&e);
    avrr_err err = avrr_service_person_erase(req->srv_svc, &req->actor, params[0], &e);
    if (err != AVRR_OK) {
        fail(resp, err, &e);
        return;
    }
    json_object *o = json_object_new_object();
    if (o) {
        json_object_object_add(o, "id", json_object_new_int64(params[0]));
        json_object_object_add(o, "erased", json_object_new_boolean(true));
    }
    ok(resp, MHD_HTTP_OK, o);
}

static void h_person_restrict(avrr_http_request *req, const int64_t *params,
                              avrr_http_response *resp)
{
    static const char *const known[] = {"restricted", NULL};
    json_object *body = NULL, *v = NULL;
    avrr_error e;
    avrr_error_clear(&e);
    if (!body_object(req, resp, &body))
        return;
    if (!body_only(body, known, resp))
        goto out;
    if (!json_object_object_get_ex(body, "restricted", &v) ||
        !json_object_is_type(v, json_type_boolean)) {
        fail_msg(resp, AVRR_EINVALID, "restricted", "restricted must be true or false");
        goto out;
    }
    bool restricted = json_object_get_boolean(v);
    avrr_err err = avrr_service_person_restrict(req->srv_svc, &req->actor, params[0], restricted,
                                                &e);
    if (err != AVRR_OK) {
        fail(resp, err, &e);
        goto out;
    }
    json_object *o = json_object_new_object();
    if (o) {
        json_object_object_add(o, "id", json_object_new_int64(params[0]));
        json_object_object_add(o, "restricted", json_object_new_boolean(restricted));
    }
    ok(resp, MHD_HTTP_OK, o);
out:
    json_object_put(body);
}

/* ---- statistics ------------------------------------------------------------------ */

static void h_stats(avrr_http_request *req, const int64_t *params, avrr_http_response *resp)
{
    (void)params;
    avrr_stats st;
    avrr_error e;
    avrr_error_clear(&e);
    const char *by = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "by");
    const char *from = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "from");
    const char *to = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "to");
    const char *format = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "format");
    if (format && strcmp(format, "csv") != 0 && strcmp(format, "json") != 0) {
        fail_msg(resp, AVRR_EINVALID, "format", "format must be json or csv");
        return;
    }
    avrr_err err = avrr_service_stats(req->srv_svc, &req->actor, by ? by : "destination", from,
                                      to, &st, &e);
    if (err != AVRR_OK) {
        fail(resp, err, &e);
        return;
    }
    if (format && strcmp(format, "csv") == 0) {
        char *csv = avrr_codec_stats_to_csv(&st);
        if (csv) {
            resp->status = MHD_HTTP_OK;
            resp->text = csv;
            resp->text_len = strlen(csv);
            resp->content_type = "text/csv; charset=utf-8";
        } else {
            ok(resp, MHD_HTTP_OK, NULL);
        }
    } else {
        ok(resp, MHD_HTTP_OK, avrr_codec_stats_to_json(&st));
    }
    avrr_stats_clear(&st);
}

/* ---- the return process ---------------------------------------------------------- */

static json_object *counselling_item(const void *c, avrr_http_request *req)
{
    (void)req;
    return avrr_codec_counselling_to_json(c);
}

static json_object *referral_item(const void *r, avrr_http_request *req)
{
    (void)req;
    return avrr_codec_referral_to_json(r);
}

static json_object *follow_up_item(const void *f, avrr_http_request *req)
{
    (void)req;
    return avrr_codec_follow_up_to_json(f);
}

static void h_counselling_add(avrr_http_request *req, const int64_t *params,
                              avrr_http_response *resp)
{
    avrr_counselling c = {0};
    avrr_error e;
    json_object *body = NULL;
    avrr_error_clear(&e);
    if (!body_object(req, resp, &body))
        return;
    avrr_err err = avrr_codec_counselling_from_json(body, &c, &e);
    if (err == AVRR_OK)
        err = avrr_service_counselling_add(req->srv_svc, &req->actor, params[0], &c, &e);
    if (err == AVRR_OK)
        ok(resp, MHD_HTTP_CREATED, avrr_codec_counselling_to_json(&c));
    else
        fail(resp, err, &e);
    avrr_counselling_clear(&c);
    json_object_put(body);
}

static void h_counselling_list(avrr_http_request *req, const int64_t *params,
                               avrr_http_response *resp)
{
    avrr_counselling *items = NULL;
    size_t n = 0;
    avrr_error e;
    avrr_error_clear(&e);
    avrr_err err = avrr_service_counselling_list(req->srv_svc, &req->actor, params[0], &items,
                                                 &n, &e);
    if (err != AVRR_OK) {
        fail(resp, err, &e);
        return;
    }
    ok(resp, MHD_HTTP_OK,
       page_json(items_json(items, n, sizeof *items, counselling_item, req), 0));
    avrr_service_free_counselling(items, n);
}

static void h_referral_create(avrr_http_request *req, const int64_t *params,
                              avrr_http_response *resp)
{
    static const char *const known[] = {"partner", NULL};
    avrr_referral r = {0};
    avrr_error e;
    json_object *body = NULL;
    const char *partner = NULL;
    avrr_error_clear(&e);
    if (!body_object(req, resp, &body))
        return;
    avrr_err err = AVRR_OK;
    if (!body_only(body, known, resp))
        goto out;
    err = avrr_codec_get_string(body, "partner", &partner, &e);
    if (err == AVRR_OK)
        err = avrr_service_referral_create(req->srv_svc, &req->actor, params[0], partner, &r,
                                           &e);
    if (err == AVRR_OK)
        ok(resp, MHD_HTTP_CREATED, avrr_codec_referral_to_json(&r));
    else
        fail(resp, err, &e);
out:
    avrr_referral_clear(&r);
    json_object_put(body);
}

static void h_referral_list(avrr_http_request *req, const int64_t *params,
                            avrr_http_response *resp)
{
    (void)params;
    avrr_page page;
    avrr_referral *items = NULL;
    size_t n = 0;
    int64_t next = 0;
    int status;
    avrr_error e;
    avrr_error_clear(&e);
    if (!page_from_query(req, resp, &page) ||
        !query_status(req, resp, avrr_referral_status_parse, &status))
        return;
    avrr_err err = avrr_service_referral_list(req->srv_svc, &req->actor, status, page, &items,
                                              &n, &next, &e);
    if (err != AVRR_OK) {
        fail(resp, err, &e);
        return;
    }
    ok(resp, MHD_HTTP_OK, page_json(items_json(items, n, sizeof *items, referral_item, req), next));
    avrr_service_free_referrals(items, n);
}

static void h_referral_decide(avrr_http_request *req, const int64_t *params,
                              avrr_http_response *resp)
{
    static const char *const known[] = {"decision", "reason", NULL};
    avrr_referral r = {0};
    avrr_error e;
    json_object *body = NULL;
    const char *decision = NULL, *reason = NULL;
    avrr_error_clear(&e);
    if (!body_object(req, resp, &body))
        return;
    avrr_err err = AVRR_OK;
    if (!body_only(body, known, resp))
        goto out;
    err = avrr_codec_get_string(body, "decision", &decision, &e);
    if (err == AVRR_OK)
        err = avrr_codec_get_string(body, "reason", &reason, &e);
    if (err == AVRR_OK)
        err = avrr_service_referral_decide(req->srv_svc, &req->actor, params[0], decision, reason,
                                           &r, &e);
    if (err == AVRR_OK)
        ok(resp, MHD_HTTP_OK, avrr_codec_referral_to_json(&r));
    else
        fail(resp, err, &e);
out:
    avrr_referral_clear(&r);
    json_object_put(body);
}

static void h_plan_put(avrr_http_request *req, const int64_t *params, avrr_http_response *resp)
{
    avrr_plan p = {0};
    avrr_error e;
    json_object *body = NULL;
    avrr_error_clear(&e);
    if (!body_object(req, resp, &body))
        return;
    avrr_err err = avrr_codec_plan_from_json(body, &p, &e);
    if (err == AVRR_OK)
        err = avrr_service_plan_put(req->srv_svc, &req->actor, params[0], &p, &e);
    if (err == AVRR_OK)
        ok(resp, MHD_HTTP_OK, avrr_codec_plan_to_json(&p));
    else
        fail(resp, err, &e);
    avrr_plan_clear(&p);
    json_object_put(body);
}

static void h_plan_get(avrr_http_request *req, const int64_t *params, avrr_http_response *resp)
{
    avrr_plan p = {0};
    avrr_error e;
    avrr_error_clear(&e);
    avrr_err err = avrr_service_plan_get(req->srv_svc, &req->actor, params[0], &p, &e);
    if (err == AVRR_OK)
        ok(resp, MHD_HTTP_OK, avrr_codec_plan_to_json(&p));
    else
        fail(resp, err, &e);
    avrr_plan_clear(&p);
}

static void h_follow_up_add(avrr_http_request *req, const int64_t *params,
                            avrr_http_response *resp)
{
    avrr_follow_up f = {0};
    avrr_error e;
    json_object *body = NULL;
    avrr_error_clear(&e);
    if (!body_object(req, resp, &body))
        return;
    avrr_err err = avrr_codec_follow_up_from_json(body, &f, &e);
    if (err == AVRR_OK)
        err = avrr_service_follow_up_add(req->srv_svc, &req->actor, params[0], &f, &e);
    if (err == AVRR_OK)
        ok(resp, MHD_HTTP_CREATED, avrr_codec_follow_up_to_json(&f));
    else
        fail(resp, err, &e);
    avrr_follow_up_clear(&f);
    json_object_put(body);
}

static void h_follow_up_list(avrr_http_request *req, const int64_t *params,
                             avrr_http_response *resp)
{
    avrr_follow_up *items = NULL;
    size_t n = 0;
    avrr_error e;
    avrr_error_clear(&e);
    avrr_err err = avrr_service_follow_up_list(req->srv_svc, &req->actor, params[0], &items, &n,
                                               &e);
    if (err != AVRR_OK) {
        fail(resp, err, &e);
        return;
    }
    ok(resp, MHD_HTTP_OK, page_json(items_json(items, n, sizeof *items, follow_up_item, req), 0));
    avrr_service_free_follow_ups(items, n);
}

/* ---- the table ------------------------------------------------------------------ */

static const route routes[] = {
    {"GET", "/healthz", false, h_healthz},
    {"GET", "/metrics", false, h_metrics},
    {"GET", "/v1/me", true, h_me},
    {"POST", "/v1/persons", true, h_person_create},
    {"GET", "/v1/persons", true, h_person_list},
    {"GET", "/v1/persons/{id}", true, h_person_get},
    {"POST", "/v1/persons/{id}/identities", true, h_identity_add},
    {"PUT", "/v1/persons/{id}/identities/{identity_id}", true, h_identity_rectify},
    {"GET", "/v1/persons/{id}/export", true, h_person_export},
    {"DELETE", "/v1/persons/{id}", true, h_person_erase},
    {"POST", "/v1/persons/{id}/restriction", true, h_person_restrict},
    {"POST", "/v1/cases", true, h_case_create},
    {"GET", "/v1/cases", true, h_case_list},
    {"GET", "/v1/cases/{id}", true, h_case_get},
    {"POST", "/v1/cases/{id}/status", true, h_case_status},
    {"POST", "/v1/cases/{id}/assistance", true, h_assistance_add},
    {"GET", "/v1/cases/{id}/assistance", true, h_assistance_list},
    {"POST", "/v1/cases/{id}/counselling", true, h_counselling_add},
    {"GET", "/v1/cases/{id}/counselling", true, h_counselling_list},
    {"POST", "/v1/cases/{id}/referrals", true, h_referral_create},
    {"PUT", "/v1/cases/{id}/plan", true, h_plan_put},
    {"GET", "/v1/cases/{id}/plan", true, h_plan_get},
    {"POST", "/v1/cases/{id}/follow-ups", true, h_follow_up_add},
    {"GET", "/v1/cases/{id}/follow-ups", true, h_follow_up_list},
    {"GET", "/v1/referrals", true, h_referral_list},
    {"POST", "/v1/referrals/{id}/decision", true, h_referral_decide},
    {"POST", "/v1/checks", true, h_check_create},
    {"GET", "/v1/checks/{id}", true, h_check_get},
    {"POST", "/v1/checks/{id}/disclosures", true, h_disclosure_create},
    {"GET", "/v1/disclosures", true, h_disclosure_list},
    {"GET", "/v1/disclosures/{id}", true, h_disclosure_get},
    {"POST", "/v1/disclosures/{id}/decision", true, h_disclosure_decide},
    {"GET", "/v1/links", true, h_link_list},
    {"GET", "/v1/links/{id}", true, h_link_get},
    {"POST", "/v1/links/{id}/resolve", true, h_link_resolve},
    {"GET", "/v1/audit", true, h_audit_list},
    {"GET", "/v1/stats", true, h_stats},
};
#define N_ROUTES (sizeof routes / sizeof routes[0])
_Static_assert(N_ROUTES <= AVRR_MAX_ROUTES, "raise AVRR_MAX_ROUTES");

static const char *route_names[N_ROUTES + 1];

const char *const *avrr_server_routes(void)
{
    static char buf[N_ROUTES][64];
    for (size_t i = 0; i < N_ROUTES; i++) {
        snprintf(buf[i], sizeof buf[i], "%s %s", routes[i].method, routes[i].pattern);
        route_names[i] = buf[i];
    }
    route_names[N_ROUTES] = NULL;
    return route_names;
}

/* Matches url against pattern segment by segment; {x} takes a positive
 * integer id of at most 18 digits. */
static bool match_path(const char *pattern, const char *url, int64_t *params)
{
    size_t np = 0;
    while (*pattern && *url) {
        if (*pattern != '/' || *url != '/')
            return false;
        pattern++;
        url++;
        size_t pl = strcspn(pattern, "/"), ul = strcspn(url, "/");
        if (pattern[0] == '{') {
            if (ul == 0 || ul > 18 || np >= MAX_PARAMS)
                return false;
            int64_t v = 0;
            for (size_t i = 0; i < ul; i++) {
                if (url[i] < '0' || url[i] > '9')
                    return false;
                v = v * 10 + (url[i] - '0');
            }
            if (v <= 0)
                return false;
            params[np++] = v;
        } else if (pl != ul || memcmp(pattern, url, pl) != 0) {
            return false;
        }
        pattern += pl;
        url += ul;
    }
    return *pattern == '\0' && *url == '\0';
}

static bool authenticate(avrr_http_request *req, avrr_http_response *resp)
{
    avrr_error e;
    avrr_error_clear(&e);
    const char *h = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    const char *key = NULL;
    if (h && strncasecmp(h, "Bearer ", 7) == 0)
        key = h + 7;
    memset(&req->actor, 0, sizeof req->actor);
    snprintf(req->actor.request_id, sizeof req->actor.request_id, "%s",
             req->request_id ? req->request_id : "");
    /* The declared purpose of this access, recorded in the audit log. */
    const char *purpose = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Avrr-Purpose");
    if (purpose) {
        if (avrr_purpose_parse(purpose) < 0) {
            fail_msg(resp, AVRR_EINVALID, "X-Avrr-Purpose",
                     "unknown purpose (assistance_decision, return_counselling, "
                     "identity_verification, case_review)");
            return false;
        }
        snprintf(req->actor.purpose, sizeof req->actor.purpose, "%s",
                 avrr_purpose_name(avrr_purpose_parse(purpose)));
    }
    /* An address that has spent its failed authentications is refused
     * before its key is looked at, so that guessing keys from it is slow
     * whatever it sends; the check and the count are in the server layer,
     * not the service, because only the server knows the address. */
    avrr__limits *lim = req->limits;
    uint8_t addr[AVRR__LIMIT_KEY];
    bool by_addr = false;
    if (lim && lim->auth_fail) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        by_addr = ci && avrr__limit_key_addr(ci->client_addr, addr);
    }
    double now = avrr__limit_now();
    if (by_addr && !avrr__limiter_peek(lim->auth_fail, addr, now, &resp->retry_after)) {
        fail_msg(resp, AVRR_ELIMIT, NULL,
                 "too many failed authentications from this address; retry later");
        return false;
    }
    avrr_err err = avrr_service_authenticate(req->srv_svc, key, &req->actor, &e);
    if (err != AVRR_OK) {
        /* Only a presented key counts: a request without one guesses nothing. */
        if (err == AVRR_EUNAUTHORIZED && key && by_addr)
            avrr__limiter_take(lim->auth_fail, addr, now, NULL);
        fail(resp, err, &e);
        return false;
    }
    req->actor_set = true;
    uint8_t id[AVRR__LIMIT_KEY];
    avrr__limit_key_id(req->actor.key_id, id);
    if (lim && lim->per_key && !avrr__limiter_take(lim->per_key, id, now, &resp->retry_after)) {
        fail_msg(resp, AVRR_ELIMIT, NULL,
                 "request rate limit of this API key reached; retry later");
        return false;
    }
    return true;
}

void avrr_route_dispatch(avrr_http_request *req, avrr_http_response *resp)
{
    int64_t params[MAX_PARAMS] = {0};
    bool path_known = false;

    resp->route_index = AVRR_MAX_ROUTES;
    if (avrr__static_serve(req->web_root, req->method, req->url, resp))
        return;
    for (size_t i = 0; i < N_ROUTES; i++) {
        if (!match_path(routes[i].pattern, req->url, params))
            continue;
        path_known = true;
        if (strcmp(routes[i].method, req->method) != 0)
            continue;
        resp->route = route_names[i];
        resp->route_index = (int)i;
        if (routes[i].auth && !authenticate(req, resp))
            return;
        routes[i].fn(req, params, resp);
        return;
    }
    if (path_known)
        fail_msg(resp, AVRR_EINVALID, "method", "method not allowed on this path");
    else
        fail_msg(resp, AVRR_ENOTFOUND, NULL, "no such route");
    if (path_known)
        resp->status = MHD_HTTP_METHOD_NOT_ALLOWED;
}

/* ---- metrics -------------------------------------------------------------------- */

static const double bucket_le[AVRR_METRIC_BUCKETS] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
                                                      0.05, 0.1, 0.2, 0.5, 1.0, 5.0};
static const unsigned counted_codes[AVRR_METRIC_CODES] = {200, 201, 400, 401, 403, 404, 405,
                                                          409, 413, 415, 429, 500, 503, 504};

void avrr_metrics_init(avrr_metrics *m)
{
    memset(m, 0, sizeof *m);
}

void avrr_metrics_observe(avrr_metrics *m, int route_index, unsigned status, double secs)
{
    if (route_index < 0 || route_index > AVRR_MAX_ROUTES)
        route_index = AVRR_MAX_ROUTES;
    avrr_route_metrics *r = &m->routes[route_index];
    size_t c = AVRR_METRIC_CODES;
    for (size_t i = 0; i < AVRR_METRIC_CODES; i++)
        if (counted_codes[i] == status)
            c = i;
    atomic_fetch_add_explicit(&r->by_code[c], 1, memory_order_relaxed);
    size_t b = AVRR_METRIC_BUCKETS;
    for (size_t i = 0; i < AVRR_METRIC_BUCKETS; i++) {
        if (secs <= bucket_le[i]) {
            b = i;
            break;
        }
    }
    atomic_fetch_add_explicit(&r->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->sum_us, (uint64_t)(secs * 1e6), memory_order_relaxed);
}

static void h_metrics(avrr_http_request *req, const int64_t *params, avrr_http_response *resp)
{
    (void)params;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        fail_msg(resp, AVRR_ENOMEM, NULL, "out of memory");
        return;
    }
    avrr_metrics *m = req->metrics;
    fputs("# HELP avrr_http_requests_total HTTP requests by route and status code.\n"
          "# TYPE avrr_http_requests_total counter\n", f);
    for (size_t i = 0; i <= N_ROUTES; i++) {
        const char *name = i < N_ROUTES ? route_names[i] : "unmatched";
        avrr_route_metrics *r = &m->routes[i < N_ROUTES ? i : AVRR_MAX_ROUTES];
        for (size_t c = 0; c <= AVRR_METRIC_CODES; c++) {
            uint64_t v = atomic_load_explicit(&r->by_code[c], memory_order_relaxed);
            if (!v)
                continue;
            if (c < AVRR_METRIC_CODES)
                fprintf(f, "avrr_http_requests_total{route=\"%s\",code=\"%u\"} %llu\n", name,
                        counted_codes[c], (unsigned long long)v);
            else
                fprintf(f, "avrr_http_requests_total{route=\"%s\",code=\"other\"} %llu\n", name,
                        (unsigned long long)v);
        }
    }
    fputs("# HELP avrr_http_request_duration_seconds Time from request start to response.\n"
          "# TYPE avrr_http_request_duration_seconds histogram\n", f);
    for (size_t i = 0; i <= N_ROUTES; i++) {
        const char *name = i < N_ROUTES ? route_names[i] : "unmatched";
        avrr_route_metrics *r = &m->routes[i < N_ROUTES ? i : AVRR_MAX_ROUTES];
        uint64_t cum = 0;
        for (size_t b = 0; b < AVRR_METRIC_BUCKETS; b++) {
            cum += atomic_load_explicit(&r->buckets[b], memory_order_relaxed);
            fprintf(f, "avrr_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                    name, bucket_le[b], (unsigned long long)cum);
        }
        cum += atomic_load_explicit(&r->buckets[AVRR_METRIC_BUCKETS], memory_order_relaxed);
        fprintf(f, "avrr_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                name, (unsigned long long)cum);
        fprintf(f, "avrr_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", name,
                (double)atomic_load_explicit(&r->sum_us, memory_order_relaxed) / 1e6);
        fprintf(f, "avrr_http_request_duration_seconds_count{route=\"%s\"} %llu\n", name,
                (unsigned long long)cum);
    }
    static const char *const tables[] = {"tenants", "persons", "identities", "cases",
                                         "assistance"};
    fputs("# HELP avrr_registry_rows Rows held in the registry, by table.\n"
          "# TYPE avrr_registry_rows gauge\n", f);
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        int64_t count = 0;
        if (avrr_service_count(req->srv_svc, tables[t], &count, NULL) == AVRR_OK)
            fprintf(f, "avrr_registry_rows{table=\"%s\"} %lld\n", tables[t], (long long)count);
    }
    bool pz = false;
    size_t idx_n = 0, idx_plain = 0;
    avrr_service_index_info(req->srv_svc, &pz, &idx_n, &idx_plain);
    fprintf(f, "# HELP avrr_match_index_pseudonymised 1 when the match index holds only keyed "
               "encodings.\n# TYPE avrr_match_index_pseudonymised gauge\n"
               "avrr_match_index_pseudonymised %d\n"
               "# HELP avrr_match_index_records Identities in the match index, and how many "
               "of them in plaintext.\n# TYPE avrr_match_index_records gauge\n"
               "avrr_match_index_records{form=\"all\"} %zu\n"
               "avrr_match_index_records{form=\"plaintext\"} %zu\n",
            pz ? 1 : 0, idx_n, idx_plain);
    avrr_store_pool_stats ps;
    avrr_service_store_pool_stats(req->srv_svc, &ps);
    fprintf(f, "# HELP avrr_store_pool_size Store connections of the checks' own (PostgreSQL; "
               "0: checks share the one connection).\n# TYPE avrr_store_pool_size gauge\n"
               "avrr_store_pool_size %u\n"
               "# HELP avrr_store_pool_takes_total Pooled connections taken by checks.\n"
               "# TYPE avrr_store_pool_takes_total counter\n"
               "avrr_store_pool_takes_total %lu\n"
               "# HELP avrr_store_pool_waits_total Takes that waited for a free connection.\n"
               "# TYPE avrr_store_pool_waits_total counter\n"
               "avrr_store_pool_waits_total %lu\n"
               "# HELP avrr_store_pool_reopens_total Pooled connections opened again after a "
               "loss.\n# TYPE avrr_store_pool_reopens_total counter\n"
               "avrr_store_pool_reopens_total %lu\n"
               "# HELP avrr_store_pool_busy_max Most pooled connections in use at once.\n"
               "# TYPE avrr_store_pool_busy_max gauge\n"
               "avrr_store_pool_busy_max %u\n",
            ps.size, ps.takes, ps.waits, ps.reopens, ps.busy_max);
    fclose(f);
    /* open_memstream allocates with malloc; hand it over through avrr's
     * allocator so the server frees every body the same way. */
    char *copy = avrr_malloc(len + 1);
    if (copy)
        memcpy(copy, text, len + 1);
    free(text);
    if (!copy) {
        fail_msg(resp, AVRR_ENOMEM, NULL, "out of memory");
        return;
    }
    resp->status = MHD_HTTP_OK;
    resp->text = copy;
    resp->text_len = len;
    resp->content_type = "text/plain; version=0.0.4";
}
