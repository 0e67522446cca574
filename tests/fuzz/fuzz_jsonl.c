/* fuzz_jsonl.c: a JSON-lines file for `avrr import --format jsonl`, split
 * into lines and decoded exactly as cmd_import.c does (trailing CR/LF cut,
 * empty lines skipped, each line one person object), then validated. */
#include <json-c/json.h>

#include "avrr/core.h"
#include "fuzz.h"
#include "service/codec.h"

static void one_line(const char *line, size_t n)
{
    json_object *o = NULL;
    avrr_person p = {0};
    avrr_error e;
    avrr_error_clear(&e);
    if (avrr_json_parse_object(line, n, &o, &e) == AVRR_OK &&
        avrr_codec_person_from_json(o, &p, &e) == AVRR_OK) {
        for (size_t i = 0; i < p.n_identities; i++)
            if (avrr_identity_validate(&p.identities[i], &e) != AVRR_OK)
                break;
    }
    avrr_person_clear(&p);
    json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t start = 0;
    while (start < size) {
        const uint8_t *nl = memchr(data + start, '\n', size - start);
        size_t end = nl ? (size_t)(nl - data) : size;
        size_t n = end - start;
        /* getline() gives the line NUL-terminated after its newline. */
        char *line = fuzz_cstr(data + start, n);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (n)
            one_line(line, n);
        free(line);
        start = end + 1;
    }
    return 0;
}
