/* audit.c: hash chain, verification and signed checkpoints of the audit log
 * (see audit.h).
 *
 * Canonical bytes of an event: the tag "avrr-audit-v1", then each field in
 * a fixed order, integers as 8 bytes big-endian and strings as a 4-byte
 * big-endian length and the bytes. Length prefixes make the encoding
 * unambiguous ("ab"+"c" never equals "a"+"bc"). The hash is BLAKE2b-256 of
 * prev_hash followed by those bytes. A checkpoint signs "avrr-checkpoint-v1",
 * seq, hash and ts_ms with Ed25519. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "privacy/audit.h"

static const char EVENT_TAG[] = "avrr-audit-v1";
static const char CHECKPOINT_TAG[] = "avrr-checkpoint-v1";

static void put_u64(crypto_generichash_state *h, int64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
    crypto_generichash_update(h, b, sizeof b);
}

static void put_str(crypto_generichash_state *h, const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    crypto_generichash_update(h, len, sizeof len);
    crypto_generichash_update(h, (const uint8_t *)s, n);
}

void avrr_audit_chain(avrr_audit_event *ev)
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, sizeof ev->hash);
    crypto_generichash_update(&h, ev->prev_hash, sizeof ev->prev_hash);
    crypto_generichash_update(&h, (const uint8_t *)EVENT_TAG, sizeof EVENT_TAG - 1);
    put_u64(&h, ev->seq);
    put_u64(&h, ev->ts_ms);
    put_u64(&h, ev->key_id);
    put_str(&h, ev->tenant, sizeof ev->tenant);
    put_str(&h, ev->role, sizeof ev->role);
    put_str(&h, ev->action, sizeof ev->action);
    put_str(&h, ev->target_type, sizeof ev->target_type);
    put_u64(&h, ev->target_id);
    put_str(&h, ev->purpose, sizeof ev->purpose);
    put_str(&h, ev->request_id, sizeof ev->request_id);
    put_str(&h, ev->outcome, sizeof ev->outcome);
    crypto_generichash_final(&h, ev->hash, sizeof ev->hash);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

avrr_err avrr_audit_append(avrr_store *s, avrr_audit_event *ev, avrr_error *e)
{
    if (ev->ts_ms == 0)
        ev->ts_ms = now_ms();
    return s->ops->audit_append(s, ev, avrr_audit_chain, e);
}

avrr_err avrr_audit_append_many(avrr_store *s, avrr_audit_event *evs, size_t n, avrr_error *e)
{
    int64_t now = 0;
    for (size_t i = 0; i < n; i++)
        if (evs[i].ts_ms == 0)
            evs[i].ts_ms = now ? now : (now = now_ms());
    if (s->ops->audit_append_many)
        return s->ops->audit_append_many(s, evs, n, avrr_audit_chain, e);
    for (size_t i = 0; i < n; i++) {
        avrr_err result = s->ops->audit_append(s, &evs[i], avrr_audit_chain, e);
        if (result != AVRR_OK)
            return result;
    }
    return AVRR_OK;
}

/* ---- checkpoints ---------------------------------------------------------------- */

static void checkpoint_message(const avrr_audit_checkpoint *c, uint8_t msg[64], size_t *len)
{
    size_t n = 0;
    memcpy(msg, CHECKPOINT_TAG, sizeof CHECKPOINT_TAG - 1);
    n += sizeof CHECKPOINT_TAG - 1;
    for (int i = 0; i < 8; i++)
        msg[n++] = (uint8_t)((uint64_t)c->seq >> (56 - 8 * i));
    memcpy(msg + n, c->hash, 32);
    n += 32;
    for (int i = 0; i < 8; i++)
        msg[n++] = (uint8_t)((uint64_t)c->ts_ms >> (56 - 8 * i));
    *len = n;
}
_Static_assert(sizeof CHECKPOINT_TAG - 1 + 8 + 32 + 8 <= 72, "checkpoint message fits");

typedef struct head {
    int64_t seq;
    uint8_t hash[32];
} head;

static int take_head(void *arg, const avrr_audit_event *ev)
{
    head *h = arg;
    h->seq = ev->seq;
    memcpy(h->hash, ev->hash, 32);
    return 0;
}

avrr_err avrr_audit_sign_head(avrr_store *s, const uint8_t secret_key[64],
                               avrr_audit_checkpoint *out, avrr_error *e)
{
    avrr_audit_checkpoint *cps = NULL;
    size_t n = 0;
    head h = {0};
    memset(out, 0, sizeof *out);
    avrr_err result = s->ops->audit_checkpoint_list(s, &cps, &n, e);
    int64_t last_cp = n ? cps[n - 1].seq : 0;
    avrr_free(cps);
    if (result != AVRR_OK)
        return result;
    /* Scanning from the last checkpoint finds the head without reading the
     * whole log. */
    result = s->ops->audit_scan(s, last_cp > 0 ? last_cp - 1 : 0, take_head, &h, e);
    if (result != AVRR_OK || h.seq == 0 || h.seq == last_cp)
        return result;
    uint8_t msg[72];
    size_t len;
    out->seq = h.seq;
    memcpy(out->hash, h.hash, 32);
    out->ts_ms = now_ms();
    crypto_sign_ed25519_sk_to_pk(out->public_key, secret_key);
    checkpoint_message(out, msg, &len);
    crypto_sign_detached(out->signature, NULL, msg, len, secret_key);
    return s->ops->audit_checkpoint_insert(s, out, e);
}

/* ---- verification ----------------------------------------------------------------- */

typedef struct verify_state {
    avrr_audit_report *r;
    int64_t expected;
    uint8_t prev[32];
    const avrr_audit_checkpoint *cps;
    size_t n_cps, next_cp;
    int64_t checked_cps;
} verify_state;

static int bad(verify_state *v, int64_t seq, const char *fmt, long long a, long long b)
{
    v->r->bad_seq = seq;
    snprintf(v->r->problem, sizeof v->r->problem, fmt, a, b);
    return 1; /* stops the scan */
}

static int verify_event(void *arg, const avrr_audit_event *ev)
{
    verify_state *v = arg;
    avrr_audit_event copy = *ev;
    if (ev->seq != v->expected)
        return bad(v, v->expected,
                   "event %lld is missing (the next event in the log is %lld): deleted", 
                   (long long)v->expected, (long long)ev->seq);
    if (sodium_memcmp(ev->prev_hash, v->prev, 32) != 0)
        return bad(v, ev->seq,
                   "event %lld does not follow event %lld: inserted, reordered or its link "
                   "was changed", (long long)ev->seq, (long long)ev->seq - 1);
    avrr_audit_chain(&copy);
    if (sodium_memcmp(copy.hash, ev->hash, 32) != 0)
        return bad(v, ev->seq, "event %lld was changed after it was written%.0lld",
                   (long long)ev->seq, 0);
    while (v->next_cp < v->n_cps && v->cps[v->next_cp].seq < ev->seq)
        v->next_cp++; /* checkpoints before the anchor: retention removed them */
    if (v->next_cp < v->n_cps && v->cps[v->next_cp].seq == ev->seq) {
        if (sodium_memcmp(v->cps[v->next_cp].hash, ev->hash, 32) != 0)
            return bad(v, ev->seq,
                       "event %lld differs from the signed checkpoint: the log was rewritten "
                       "up to here%.0lld", (long long)ev->seq, 0);
        v->checked_cps++;
        v->next_cp++;
    }
    memcpy(v->prev, ev->hash, 32);
    v->expected++;
    if (!v->r->first_seq)
        v->r->first_seq = ev->seq;
    v->r->last_seq = ev->seq;
    v->r->events++;
    return 0;
}

avrr_err avrr_audit_verify(avrr_store *s, const uint8_t *trusted_key, avrr_audit_report *r,
                           avrr_error *e)
{
    avrr_audit_checkpoint *cps = NULL;
    size_t n = 0;
    int64_t anchor = 0;
    verify_state v = {0};
    memset(r, 0, sizeof *r);
    avrr_err result = s->ops->audit_anchor(s, &anchor, v.prev, e);
    if (result == AVRR_OK)
        result = s->ops->audit_checkpoint_list(s, &cps, &n, e);
    if (result != AVRR_OK)
        goto out;
    /* Every checkpoint must carry a valid signature, by the trusted key
     * when one is given. */
    for (size_t i = 0; i < n; i++) {
        uint8_t msg[72];
        size_t len;
        checkpoint_message(&cps[i], msg, &len);
        if (crypto_sign_verify_detached(cps[i].signature, msg, len, cps[i].public_key) != 0 ||
            (trusted_key && sodium_memcmp(trusted_key, cps[i].public_key, 32) != 0)) {
            r->bad_seq = cps[i].seq;
            snprintf(r->problem, sizeof r->problem,
                     "the checkpoint at event %lld has no valid signature%s", (long long)cps[i].seq,
                     trusted_key ? " by the trusted key" : "");
            goto out;
        }
    }
    v.r = r;
    v.expected = anchor + 1;
    v.cps = cps;
    v.n_cps = n;
    int rc = (int)s->ops->audit_scan(s, anchor, verify_event, &v, e);
    if (rc < 0) {
        result = (avrr_err)rc;
        goto out;
    }
    r->checkpoints = v.checked_cps;
    if (!r->bad_seq && v.next_cp < n) {
        /* A checkpoint beyond the last event: the end of the log is gone. */
        r->bad_seq = v.expected;
        snprintf(r->problem, sizeof r->problem,
                 "events after %lld are missing but a signed checkpoint covers event %lld: "
                 "deleted", (long long)(v.expected - 1), (long long)cps[v.next_cp].seq);
    }
out:
    avrr_free(cps);
    return result;
}

/* ---- key files ------------------------------------------------------------------------- */

avrr_err avrr_audit_key_create(const char *path, uint8_t public_key[32], avrr_error *e)
{
    uint8_t sk[64];
    char hex[129];
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return avrr_error_set(e, errno == EEXIST ? AVRR_EEXISTS : AVRR_EIO, "key",
                              "cannot create %s: %s", path, strerror(errno));
    crypto_sign_keypair(public_key, sk);
    sodium_bin2hex(hex, sizeof hex, sk, sizeof sk);
    hex[128] = '\n';
    ssize_t w = write(fd, hex, sizeof hex);
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(hex, sizeof hex);
    if (w != (ssize_t)sizeof hex || fsync(fd) != 0) {
        close(fd);
        unlink(path);
        return avrr_error_set(e, AVRR_EIO, "key", "cannot write %s", path);
    }
    close(fd);
    return AVRR_OK;
}

avrr_err avrr_audit_key_load(const char *path, uint8_t secret_key[64], avrr_error *e)
{
    char hex[160];
    struct stat st;
    size_t bin = 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW);
    if (fd < 0)
        return avrr_error_set(e, AVRR_EIO, "audit_key", "cannot open %s: %s", path,
                              strerror(errno));
    if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
        close(fd);
        return avrr_error_set(e, AVRR_EINVALID, "audit_key",
                              "%s is readable by others: chmod 600 it", path);
    }
    ssize_t n = read(fd, hex, sizeof hex - 1);
    close(fd);
    if (n < 128)
        return avrr_error_set(e, AVRR_EINVALID, "audit_key", "%s is not an avrr audit key", path);
    hex[n] = '\0';
    avrr_err result = AVRR_OK;
    if (sodium_hex2bin(secret_key, 64, hex, 128, NULL, &bin, NULL) != 0 || bin != 64)
        result = avrr_error_set(e, AVRR_EINVALID, "audit_key", "%s is not an avrr audit key",
                                path);
    sodium_memzero(hex, sizeof hex);
    return result;
}
