/* crypt.h: encryption at rest of personal fields (DESIGN.md section 6).
 *
 * A data key is 32 random bytes with a random 8-byte key id, kept in a file
 * outside the database (mode 0600 or stricter; anything looser is refused):
 *
 *     avrr-data-key-v1 <key id, 16 hex digits> <key, 64 hex digits>\n
 *
 * A registry created with a key records in avrr_meta that it is encrypted
 * and with which key id, never the key. Each personal value is sealed on
 * its own with XChaCha20-Poly1305-IETF under a random 24-byte nonce and
 * stored as a BLOB:
 *
 *     byte 0      format version (AVRR_SEAL_VERSION)
 *     bytes 1-8   key id
 *     bytes 9-32  nonce
 *     bytes 33-   ciphertext, then the 16-byte Poly1305 tag
 *
 * The associated data binds the value to its place: the 9-byte header,
 * "table.column", a NUL and a context naming the row's owner (the person
 * of an identity, the identity of a document, the tenant of a check). A
 * value copied into another column, or onto another person, no longer
 * opens. (Whoever adds an operation that moves identities between persons
 * must re-seal their values.)
 *
 * Key material lives in sodium_malloc'd memory, read-only while in use,
 * and is zeroed when freed. Functions are thread-safe; a loaded key may be
 * shared read-only between threads. sodium_init() must have succeeded
 * (avrr_data_key_load and _create call it).
 */
#ifndef AVRR_STORE_CRYPT_H
#define AVRR_STORE_CRYPT_H

#include <stddef.h>
#include <stdint.h>

#include "avrr/core.h"

#define AVRR_DATA_KEY_BYTES 32
#define AVRR_DATA_KEY_ID_BYTES 8
/* The environment variable naming the data key file of every command. */
#define AVRR_DATA_KEY_ENV "AVRR_DATA_KEY"

#define AVRR_SEAL_VERSION 1
#define AVRR_SEAL_HEADER (1 + AVRR_DATA_KEY_ID_BYTES)
/* Bytes a sealed value has beyond its plaintext: header, nonce, tag. */
#define AVRR_SEAL_OVERHEAD (AVRR_SEAL_HEADER + 24 + 16)

typedef struct avrr_data_key avrr_data_key;

/* Makes a new key file at path (O_EXCL: an existing file is AVRR_EEXISTS,
 * never overwritten) with mode 0600, and returns the key in *out when out
 * is not NULL (free it with avrr_data_key_free). */
avrr_err avrr_data_key_create(const char *path, avrr_data_key **out,
                              avrr_error *e);

/* Reads a key file. AVRR_EIO when it cannot be opened, AVRR_EINVALID when
 * it is readable by group or others or is not an avrr data key, AVRR_ENOMEM
 * when secure memory cannot be had. Messages name the file. */
avrr_err avrr_data_key_load(const char *path, avrr_data_key **out,
                            avrr_error *e);

/* Zeroes and frees the key. Safe with NULL. */
void avrr_data_key_free(avrr_data_key *k);

/* The key id as 16 lower-case hex digits and a NUL. */
void avrr_data_key_id_hex(const avrr_data_key *k, char out[17]);

/* The raw key id (AVRR_DATA_KEY_ID_BYTES bytes). */
const uint8_t *avrr_data_key_id(const avrr_data_key *k);

/* Seals n bytes of plaintext for the place `column` ("table.column") and
 * `context` (a NUL-terminated string, "" when none) into out, which holds
 * n + AVRR_SEAL_OVERHEAD bytes. */
void avrr__seal(const avrr_data_key *k, const char *column,
                const char *context, const void *plain, size_t n,
                uint8_t *out);

/* Opens a sealed value into plain (which holds n - AVRR_SEAL_OVERHEAD
 * bytes) and sets *plain_n. AVRR_EINVALID when the value is malformed, was
 * sealed under another key id (*other_key set), or does not authenticate
 * (changed, moved to another place, or a wrong key with the same id);
 * plain is then zeroed. */
avrr_err avrr__unseal(const avrr_data_key *k, const char *column,
                      const char *context, const uint8_t *sealed, size_t n,
                      uint8_t *plain, size_t *plain_n, bool *other_key);

#endif
