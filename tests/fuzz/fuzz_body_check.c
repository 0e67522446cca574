/* fuzz_body_check.c: the body of POST /v1/checks: parse, decode the check
 * request (identity and aliases), validate each identity as the service
 * does before it queries the index. */
#include <json-c/json.h>

#include "avrr/core.h"
#include "avrr/service.h"
#include "fuzz.h"
#include "service/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    json_object *o = NULL;
    avrr_check_request cr = {0};
    avrr_error e;

    avrr_error_clear(&e);
    if (avrr_json_parse_object(text, size, &o, &e) == AVRR_OK &&
        avrr_codec_check_request_from_json(o, &cr, &e) == AVRR_OK) {
        FUZZ_ASSERT(cr.n_identities <= AVRR_IDENTITIES_MAX);
        FUZZ_ASSERT(cr.n_identities == 0 || cr.identities != NULL);
        for (size_t i = 0; i < cr.n_identities; i++)
            if (avrr_identity_validate(&cr.identities[i], &e) != AVRR_OK)
                break;
    }
    avrr_codec_check_request_clear(&cr);
    json_object_put(o);
    free(text);
    return 0;
}
