/* fuzz_body_assistance.c: the body of POST /v1/cases/{id}/assistance:
 * parse, decode, validate. */
#include <json-c/json.h>

#include "avrr/core.h"
#include "fuzz.h"
#include "service/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    json_object *o = NULL;
    avrr_assistance a = {0};
    avrr_error e;

    avrr_error_clear(&e);
    if (avrr_json_parse_object(text, size, &o, &e) == AVRR_OK &&
        avrr_codec_assistance_from_json(o, &a, &e) == AVRR_OK &&
        avrr_assistance_validate(&a, &e) == AVRR_OK) {
        FUZZ_ASSERT(avrr_amount_check(a.amount_cents, "amount_cents", &e) == AVRR_OK);
        json_object_put(avrr_codec_assistance_to_json(&a));
    }
    avrr_assistance_clear(&a);
    json_object_put(o);
    free(text);
    return 0;
}
