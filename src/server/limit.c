/* limit.c: token-bucket rate limits in a fixed-size table (see limit.h).
 *
 * The table is split in shards, each with its own lock, so that the worker
 * threads rarely wait for one another; a key lives in one shard, in one of
 * PROBE consecutive slots after its hash. The hash is SipHash with a random
 * key per limiter, so a client cannot pick addresses that collide on
 * purpose to push other clients out of the table. */
#include "server/limit.h"

#include <assert.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "avrr/core.h"

/* 16 shards: four times the default thread pool, so two workers seldom
 * want the same lock. 256 slots each: 4,096 clients tracked at once, far
 * above the number of API keys of the member states (tens to hundreds),
 * for 160 KiB per limiter. */
#define SHARDS 16
#define SLOTS 256
/* Slots searched per key: enough that a hash cluster rarely forces an
 * eviction while the table is mostly empty, few enough to stay one or two
 * cache lines of work under the lock. */
#define PROBE 8
#define LIMITER_MAGIC 0x1b0c4e75u

typedef struct entry {
    uint8_t key[AVRR__LIMIT_KEY];
    double tokens; /* as of `last` */
    double last;   /* when the bucket was last updated; 0 means a free slot */
} entry;

typedef struct shard {
    pthread_mutex_t lock;
    entry slots[SLOTS];
} shard;

struct avrr__limiter {
    unsigned magic;
    double rate, burst;
    uint8_t hash_key[crypto_shorthash_KEYBYTES];
    shard shards[SHARDS];
};

double avrr__limit_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    /* +1 so that no real time is 0, which marks a free slot. */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + 1.0;
}

avrr_err avrr__limiter_new(double rate, double burst, avrr__limiter **out)
{
    *out = NULL;
    if (!(rate > 0.0) || !(burst >= 1.0))
        return AVRR_EINVALID;
    if (sodium_init() < 0)
        return AVRR_ECRYPTO;
    avrr__limiter *l = avrr_calloc(1, sizeof *l);
    if (!l)
        return AVRR_ENOMEM;
    for (size_t i = 0; i < SHARDS; i++) {
        if (pthread_mutex_init(&l->shards[i].lock, NULL) != 0) {
            while (i--)
                pthread_mutex_destroy(&l->shards[i].lock);
            avrr_free(l);
            return AVRR_ENOMEM;
        }
    }
    l->rate = rate;
    l->burst = burst;
    randombytes_buf(l->hash_key, sizeof l->hash_key);
    l->magic = LIMITER_MAGIC;
    *out = l;
    return AVRR_OK;
}

void avrr__limiter_free(avrr__limiter *l)
{
    if (!l)
        return;
    assert(l->magic == LIMITER_MAGIC);
    for (size_t i = 0; i < SHARDS; i++)
        pthread_mutex_destroy(&l->shards[i].lock);
    l->magic = 0;
    avrr_free(l);
}

/* The tokens of e at now, refilled since its last update and capped. */
static double refilled(const avrr__limiter *l, const entry *e, double now)
{
    double t = e->tokens + (now - e->last) * l->rate;
    return t < l->burst ? t : l->burst;
}

/* The entry of key, found or made, in its locked shard. */
static entry *lookup(avrr__limiter *l, shard *s, uint64_t h, const uint8_t *key, double now)
{
    entry *free_slot = NULL, *idle = NULL, *oldest = NULL;
    for (size_t i = 0; i < PROBE; i++) {
        entry *e = &s->slots[(h + i) % SLOTS];
        if (e->last == 0.0) {
            if (!free_slot)
                free_slot = e;
            continue;
        }
        if (memcmp(e->key, key, AVRR__LIMIT_KEY) == 0)
            return e;
        if (!idle && refilled(l, e, now) >= l->burst)
            idle = e;
        if (!oldest || e->last < oldest->last)
            oldest = e;
    }
    /* Reusing an idle entry loses nothing: a new bucket starts full too.
     * Evicting the oldest forgives that client its debt; it happens only
     * when PROBE clients that all hashed here are active at once. */
    entry *e = free_slot ? free_slot : idle ? idle : oldest;
    memcpy(e->key, key, AVRR__LIMIT_KEY);
    e->tokens = l->burst;
    e->last = now;
    return e;
}

static bool bucket(avrr__limiter *l, const uint8_t key[AVRR__LIMIT_KEY], double now, bool take,
                   unsigned *retry_after)
{
    assert(l && l->magic == LIMITER_MAGIC);
    uint8_t hb[crypto_shorthash_BYTES];
    crypto_shorthash(hb, key, AVRR__LIMIT_KEY, l->hash_key);
    uint64_t h;
    memcpy(&h, hb, sizeof h);
    shard *s = &l->shards[h % SHARDS];
    h /= SHARDS;

    pthread_mutex_lock(&s->lock);
    entry *e = lookup(l, s, h, key, now);
    double tokens = refilled(l, e, now);
    bool allowed = tokens >= 1.0;
    if (take) {
        /* A refused request costs nothing, so a client that keeps trying
         * is let in again as soon as its bucket holds a token. */
        e->tokens = allowed ? tokens - 1.0 : tokens;
        e->last = now > e->last ? now : e->last;
    }
    pthread_mutex_unlock(&s->lock);

    if (!allowed && retry_after) {
        double wait = ceil((1.0 - tokens) / l->rate);
        *retry_after = wait < 1.0 ? 1u : wait > 86400.0 ? 86400u : (unsigned)wait;
    }
    return allowed;
}

bool avrr__limiter_take(avrr__limiter *l, const uint8_t key[AVRR__LIMIT_KEY], double now,
                        unsigned *retry_after)
{
    return bucket(l, key, now, true, retry_after);
}

bool avrr__limiter_peek(avrr__limiter *l, const uint8_t key[AVRR__LIMIT_KEY], double now,
                        unsigned *retry_after)
{
    return bucket(l, key, now, false, retry_after);
}

/* Family tags, first byte of a key, so the kinds never collide. */
enum { TAG_KEY_ID = 1, TAG_IPV4 = 4, TAG_IPV6 = 6 };

void avrr__limit_key_id(int64_t key_id, uint8_t key[AVRR__LIMIT_KEY])
{
    memset(key, 0, AVRR__LIMIT_KEY);
    key[0] = TAG_KEY_ID;
    memcpy(key + 1, &key_id, sizeof key_id);
}

bool avrr__limit_key_addr(const struct sockaddr *sa, uint8_t key[AVRR__LIMIT_KEY])
{
    memset(key, 0, AVRR__LIMIT_KEY);
    if (!sa)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        key[0] = TAG_IPV4;
        memcpy(key + 1, &in->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        const uint8_t *a = in6->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            key[0] = TAG_IPV4;
            memcpy(key + 1, a + 12, 4);
        } else {
            key[0] = TAG_IPV6;
            memcpy(key + 1, a, 8);
        }
        return true;
    }
    return false;
}
