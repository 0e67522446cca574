/* crypt.c: data key files and sealing of personal fields (see crypt.h).
 *
 * The associated data given to the AEAD is BLAKE2b-256 of the value's
 * header, "table.column", a NUL and the context: one fixed-size digest
 * whatever the lengths, unambiguous because a column name holds no NUL and
 * the context comes last. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/crypt.h"

#define KEY_FILE_TAG "avrr-data-key-v1"
/* "avrr-data-key-v1 " + 16 + " " + 64 + "\n" */
#define KEY_FILE_LEN (sizeof KEY_FILE_TAG - 1 + 1 + 16 + 1 + 64 + 1)

struct avrr_data_key {
    uint8_t key[AVRR_DATA_KEY_BYTES];
    uint8_t id[AVRR_DATA_KEY_ID_BYTES];
};

_Static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == AVRR_DATA_KEY_BYTES,
               "a data key is an XChaCha20-Poly1305 key");
_Static_assert(AVRR_SEAL_OVERHEAD == AVRR_SEAL_HEADER +
                                         crypto_aead_xchacha20poly1305_ietf_NPUBBYTES +
                                         crypto_aead_xchacha20poly1305_ietf_ABYTES,
               "sealed value layout");

/* A zeroed key in guarded, locked memory. */
static avrr_err key_alloc(avrr_data_key **out, avrr_error *e)
{
    *out = NULL;
    if (sodium_init() < 0)
        return avrr_error_set(e, AVRR_ECRYPTO, NULL, "libsodium failed to initialise");
    avrr_data_key *k = sodium_malloc(sizeof *k);
    if (k == NULL)
        return avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory for the data key");
    sodium_memzero(k, sizeof *k);
    *out = k;
    return AVRR_OK;
}

void avrr_data_key_free(avrr_data_key *k)
{
    if (k == NULL)
        return;
    sodium_mprotect_readwrite(k);
    sodium_memzero(k, sizeof *k);
    sodium_free(k);
}

void avrr_data_key_id_hex(const avrr_data_key *k, char out[17])
{
    sodium_bin2hex(out, 17, k->id, sizeof k->id);
}

const uint8_t *avrr_data_key_id(const avrr_data_key *k)
{
    return k->id;
}

avrr_err avrr_data_key_create(const char *path, avrr_data_key **out, avrr_error *e)
{
    avrr_data_key *k = NULL;
    char text[KEY_FILE_LEN + 1];
    char id_hex[17], key_hex[65];
    avrr_err result;
    int fd;

    if (out != NULL)
        *out = NULL;
    result = key_alloc(&k, e);
    if (result != AVRR_OK)
        return result;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
    if (fd < 0) {
        result = avrr_error_set(e, errno == EEXIST ? AVRR_EEXISTS : AVRR_EIO, "data_key",
                                "cannot create %s: %s", path, strerror(errno));
        goto out;
    }
    randombytes_buf(k->key, sizeof k->key);
    randombytes_buf(k->id, sizeof k->id);
    sodium_bin2hex(id_hex, sizeof id_hex, k->id, sizeof k->id);
    sodium_bin2hex(key_hex, sizeof key_hex, k->key, sizeof k->key);
    snprintf(text, sizeof text, "%s %s %s\n", KEY_FILE_TAG, id_hex, key_hex);
    ssize_t w = write(fd, text, KEY_FILE_LEN);
    sodium_memzero(text, sizeof text);
    sodium_memzero(key_hex, sizeof key_hex);
    if (w != (ssize_t)KEY_FILE_LEN || fsync(fd) != 0) {
        close(fd);
        unlink(path);
        result = avrr_error_set(e, AVRR_EIO, "data_key", "cannot write %s", path);
        goto out;
    }
    if (close(fd) != 0) {
        unlink(path);
        result = avrr_error_set(e, AVRR_EIO, "data_key", "cannot write %s: %s", path,
                                strerror(errno));
        goto out;
    }
out:
    if (result != AVRR_OK || out == NULL) {
        avrr_data_key_free(k);
        return result;
    }
    sodium_mprotect_readonly(k);
    *out = k;
    return AVRR_OK;
}

avrr_err avrr_data_key_load(const char *path, avrr_data_key **out, avrr_error *e)
{
    avrr_data_key *k = NULL;
    char text[KEY_FILE_LEN + 8];
    struct stat st;
    size_t bin = 0;
    ssize_t n;
    avrr_err result;
    int fd;

    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return avrr_error_set(e, AVRR_EINVALID, "data_key", "no data key file given");
    fd = open(path, O_RDONLY | O_NOFOLLOW);
    if (fd < 0)
        return avrr_error_set(e, AVRR_EIO, "data_key", "cannot open data key %s: %s", path,
                              strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return avrr_error_set(e, AVRR_EINVALID, "data_key", "%s is not a data key file",
                              path);
    }
    if ((st.st_mode & 077) != 0) {
        close(fd);
        return avrr_error_set(e, AVRR_EINVALID, "data_key",
                              "data key %s is readable by others: chmod 600 it", path);
    }
    n = read(fd, text, sizeof text - 1);
    close(fd);
    result = key_alloc(&k, e);
    if (result != AVRR_OK)
        goto out;
    /* Exactly one line, the trailing newline optional. */
    if (n < (ssize_t)KEY_FILE_LEN - 1 || n > (ssize_t)KEY_FILE_LEN ||
        (n == (ssize_t)KEY_FILE_LEN && text[n - 1] != '\n') ||
        memcmp(text, KEY_FILE_TAG " ", sizeof KEY_FILE_TAG) != 0 ||
        text[sizeof KEY_FILE_TAG + 16] != ' ' ||
        sodium_hex2bin(k->id, sizeof k->id, text + sizeof KEY_FILE_TAG, 16, NULL, &bin,
                       NULL) != 0 ||
        bin != sizeof k->id ||
        sodium_hex2bin(k->key, sizeof k->key, text + sizeof KEY_FILE_TAG + 17, 64, NULL,
                       &bin, NULL) != 0 ||
        bin != sizeof k->key)
        result = avrr_error_set(e, AVRR_EINVALID, "data_key",
                                "%s is not an avrr data key (make one with "
                                "`avrr init --data-key FILE`)",
                                path);
out:
    sodium_memzero(text, sizeof text);
    if (result != AVRR_OK) {
        avrr_data_key_free(k);
        return result;
    }
    sodium_mprotect_readonly(k);
    *out = k;
    return AVRR_OK;
}

/* The associated data of a value: see the top of the file. */
static void seal_ad(const uint8_t header[AVRR_SEAL_HEADER], const char *column,
                    const char *context, uint8_t ad[32])
{
    static const uint8_t nul = 0;
    crypto_generichash_state h;

    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, header, AVRR_SEAL_HEADER);
    crypto_generichash_update(&h, (const uint8_t *)column, strlen(column));
    crypto_generichash_update(&h, &nul, 1);
    crypto_generichash_update(&h, (const uint8_t *)context, strlen(context));
    crypto_generichash_final(&h, ad, 32);
}

void avrr__seal(const avrr_data_key *k, const char *column, const char *context,
                const void *plain, size_t n, uint8_t *out)
{
    uint8_t ad[32];
    uint8_t *nonce = out + AVRR_SEAL_HEADER;

    out[0] = AVRR_SEAL_VERSION;
    memcpy(out + 1, k->id, sizeof k->id);
    randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    seal_ad(out, column, context, ad);
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, NULL, plain, n, ad, sizeof ad,
        NULL, nonce, k->key);
}

avrr_err avrr__unseal(const avrr_data_key *k, const char *column, const char *context,
                      const uint8_t *sealed, size_t n, uint8_t *plain, size_t *plain_n,
                      bool *other_key)
{
    uint8_t ad[32];
    const uint8_t *nonce = sealed + AVRR_SEAL_HEADER;
    unsigned long long m = 0;

    *plain_n = 0;
    *other_key = false;
    if (n < AVRR_SEAL_OVERHEAD || sealed[0] != AVRR_SEAL_VERSION)
        return AVRR_EINVALID;
    if (sodium_memcmp(sealed + 1, k->id, sizeof k->id) != 0) {
        *other_key = true;
        return AVRR_EINVALID;
    }
    seal_ad(sealed, column, context, ad);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            plain, &m, NULL, nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
            n - AVRR_SEAL_HEADER - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, ad, sizeof ad,
            nonce, k->key) != 0) {
        sodium_memzero(plain, n - AVRR_SEAL_OVERHEAD);
        return AVRR_EINVALID;
    }
    *plain_n = (size_t)m;
    return AVRR_OK;
}
