/* fuzz.h: helpers shared by the libFuzzer targets in this folder.
 *
 * Each target feeds one parser of untrusted input the way the program does:
 * request bodies through the codec the routes use, files through the
 * readers `avrr import` uses. A target aborts (FUZZ_ASSERT) only when an
 * invariant the header of the code under test promises is broken; a
 * refused input is the normal outcome. */
#ifndef AVRR_FUZZ_H
#define AVRR_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                          \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                        \
            abort();                                                               \
        }                                                                          \
    } while (0)

/* A heap copy of data with a NUL after it, as the server holds a body
 * (server.c NUL-terminates what it collected). The exact size means ASan
 * catches a read one byte past the terminator. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
