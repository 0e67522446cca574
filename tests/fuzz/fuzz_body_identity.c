/* fuzz_body_identity.c: the body of POST /v1/persons/{id}/identities and
 * PUT /v1/persons/{id}/identities/{identity_id}: parse, decode, validate
 * (as the service does), then build the match record the index would keep
 * for it (normalisation and keys of every name field). */
#include <json-c/json.h>

#include "avrr/core.h"
#include "avrr/match.h"
#include "fuzz.h"
#include "service/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    json_object *o = NULL;
    avrr_identity id = {0};
    avrr_match_rec *rec = NULL;
    avrr_error e;

    avrr_error_clear(&e);
    if (avrr_json_parse_object(text, size, &o, &e) != AVRR_OK)
        goto out;
    if (avrr_codec_identity_from_json(o, &id, &e) != AVRR_OK)
        goto out;
    if (avrr_identity_validate(&id, &e) != AVRR_OK)
        goto out;
    json_object_put(avrr_codec_identity_to_json(&id));
    /* A validated identity is valid UTF-8 throughout: the only refusal left
     * is running out of memory or an ICU failure. */
    avrr_err rc = avrr_match_rec_new(&id, &rec);
    FUZZ_ASSERT(rc == AVRR_OK || rc == AVRR_ENOMEM || rc == AVRR_EINTERNAL);
out:
    avrr_match_rec_free(rec);
    avrr_identity_clear(&id);
    json_object_put(o);
    free(text);
    return 0;
}
