/* codec.h: the JSON wire form of the model (DESIGN.md section 3).
 *
 * One codec shared by the HTTP API, JSON-lines import and export, so that a
 * field means the same thing everywhere. Decoding is strict: wrong types,
 * unknown fields, NUL bytes and invalid UTF-8 are errors that name the
 * field; output-only fields (id, created_at, ...) are accepted and ignored
 * so that a record read from the API can be sent back.
 *
 * Ownership: *_from_json fill a zeroed record that the caller clears with
 * the avrr_*_clear() of core.h, also after a failure. *_to_json return a new
 * json-c object (json_object_put to free) or NULL when out of memory.
 */
#ifndef AVRR_CODEC_H
#define AVRR_CODEC_H

#include <json-c/json.h>

#include "avrr/core.h"

/* Nesting deeper than this is refused: the model is 4 levels deep. */
#define AVRR_JSON_MAX_DEPTH 16

/* Parses one JSON document that must be an object; trailing bytes other
 * than whitespace are an error. Errors name "body" and the byte offset. */
avrr_err avrr_json_parse_object(const char *text, size_t n, json_object **out,
                                avrr_error *e);

avrr_err avrr_codec_person_from_json(json_object *o, avrr_person *p, avrr_error *e);
avrr_err avrr_codec_identity_from_json(json_object *o, avrr_identity *id, avrr_error *e);
avrr_err avrr_codec_case_from_json(json_object *o, avrr_case *c, avrr_error *e);
avrr_err avrr_codec_assistance_from_json(json_object *o, avrr_assistance *a, avrr_error *e);

/* Reads an optional string member `key` of o into *out (NULL when absent or
 * null); a non-string, an embedded NUL or invalid UTF-8 is an error naming
 * key. Used by the route handlers for small bodies ({"status": ...}). */
avrr_err avrr_codec_get_string(json_object *o, const char *key, const char **out,
                               avrr_error *e);

json_object *avrr_codec_person_to_json(const avrr_person *p);
json_object *avrr_codec_identity_to_json(const avrr_identity *id);
json_object *avrr_codec_case_to_json(const avrr_case *c);
json_object *avrr_codec_assistance_to_json(const avrr_assistance *a);
json_object *avrr_codec_tenant_to_json(const avrr_tenant *t);

/* A check request: {"purpose", "identity": {...}, "aliases": [{...}],
 * "person_id"}. Fills req->identities (identity first, then aliases; the
 * caller frees them with avrr_identity_clear and avrr_free). */
struct avrr_check_request;
struct avrr_check_result;
struct avrr_hit_view;
avrr_err avrr_codec_check_request_from_json(json_object *o, struct avrr_check_request *req,
                                            avrr_error *e);
void avrr_codec_check_request_clear(struct avrr_check_request *req);
/* {"id", "purpose", "hits": [...]}; a hit on another tenant carries no
 * personal detail of that tenant's record. */
json_object *avrr_codec_check_result_to_json(const struct avrr_check_result *r);
json_object *avrr_codec_hits_to_json(const struct avrr_hit_view *hits, size_t n);
/* A link as `viewer` sees it: its own person's id, the other side's tenant
 * and pseudonym (other_ref, computed by the service). */
json_object *avrr_codec_link_to_json(const avrr_link *l, const char *viewer,
                                     const char *other_ref);
/* A disclosure; details (may be NULL) are the approved identities. */
json_object *avrr_codec_disclosure_to_json(const avrr_disclosure *d, const char *viewer,
                                           const avrr_person *details);

/* Statistics as JSON: {"by", "rows": [...], "duplicates": {...}};
 * suppressed counts are null. */
struct avrr_stats;
json_object *avrr_codec_stats_to_json(const struct avrr_stats *s);
/* The same as CSV text (avrr_free); the Eurostat table gets its own
 * columns: geo,time,destination,return_type,assistance,persons. */
char *avrr_codec_stats_to_csv(const struct avrr_stats *s);

/* An audit event with its hashes in hex. */
json_object *avrr_codec_audit_event_to_json(const avrr_audit_event *ev);

/* The return process. plan_from_json checks "amounts" (kind, amount_cents,
 * one entry per kind) and writes the canonical array into p->amounts_json;
 * a follow-up's JSON adds "score", the mean of its three dimensions. */
avrr_err avrr_codec_counselling_from_json(json_object *o, avrr_counselling *c, avrr_error *e);
json_object *avrr_codec_counselling_to_json(const avrr_counselling *c);
json_object *avrr_codec_referral_to_json(const avrr_referral *r);
avrr_err avrr_codec_plan_from_json(json_object *o, avrr_plan *p, avrr_error *e);
json_object *avrr_codec_plan_to_json(const avrr_plan *p);
avrr_err avrr_codec_follow_up_from_json(json_object *o, avrr_follow_up *f, avrr_error *e);
json_object *avrr_codec_follow_up_to_json(const avrr_follow_up *f);

/* {"error":{"code":...,"field":...,"message":...}} */
json_object *avrr_codec_error_to_json(const avrr_error *e);

#endif
