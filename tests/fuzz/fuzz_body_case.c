/* fuzz_body_case.c: the body of POST /v1/cases: parse, decode, validate. */
#include <json-c/json.h>

#include "avrr/core.h"
#include "fuzz.h"
#include "service/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    json_object *o = NULL;
    avrr_case c = {0};
    avrr_error e;

    avrr_error_clear(&e);
    if (avrr_json_parse_object(text, size, &o, &e) == AVRR_OK &&
        avrr_codec_case_from_json(o, &c, &e) == AVRR_OK &&
        avrr_case_validate(&c, &e) == AVRR_OK)
        json_object_put(avrr_codec_case_to_json(&c));
    avrr_case_clear(&c);
    json_object_put(o);
    free(text);
    return 0;
}
