/* fuzz_body_small.c: the small bodies of POST /v1/cases/{id}/status,
 * /v1/links/{id}/resolve, /v1/checks/{id}/disclosures,
 * /v1/disclosures/{id}/decision and /v1/persons/{id}/restriction: parse,
 * then every member the routes read through avrr_codec_get_string and the
 * enumeration parsers the service applies to them. */
#include <json-c/json.h>

#include "avrr/core.h"
#include "fuzz.h"
#include "service/codec.h"

static const char *const members[] = {"status", "decision", "reason", "person_ref",
                                      "restricted"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    json_object *o = NULL;
    avrr_error e;

    avrr_error_clear(&e);
    if (avrr_json_parse_object(text, size, &o, &e) != AVRR_OK)
        goto out;
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++) {
        const char *s = NULL;
        if (avrr_codec_get_string(o, members[i], &s, &e) != AVRR_OK) {
            FUZZ_ASSERT(s == NULL);
            continue;
        }
        if (!s)
            continue;
        size_t n = strlen(s);
        FUZZ_ASSERT(n > 0 && avrr_utf8_valid(s, n));
        (void)avrr_case_status_parse(s);
        (void)avrr_link_status_parse(s);
        (void)avrr_disclosure_status_parse(s);
        (void)avrr_text_check(s, AVRR_TEXT_MAX, members[i], &e);
    }
out:
    json_object_put(o);
    free(text);
    return 0;
}
