/* limit.h: token buckets for the server's rate limits, private to the
 * server layer: requests per API key, and failed authentications per client
 * address (so that guessing keys is slow).
 *
 * A limiter is a fixed-size table: memory does not grow with the number of
 * clients. When a key's slots are taken, an idle entry (one whose bucket has
 * refilled, so forgetting it changes nothing) is reused first, else the
 * least recently seen one. All functions are thread-safe. */
#ifndef AVRR_SERVER_LIMIT_H
#define AVRR_SERVER_LIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "avrr/error.h"

/* Bytes of a limiter key: a family tag and up to 15 bytes of identity. */
#define AVRR__LIMIT_KEY 16

typedef struct avrr__limiter avrr__limiter;

/* Both limits of a server; a NULL member means that limit is off. */
typedef struct avrr__limits {
    avrr__limiter *per_key;   /* requests per API key */
    avrr__limiter *auth_fail; /* failed authentications per client address */
} avrr__limits;

/* A limiter allowing `rate` events per second on average and `burst` at
 * once, per key. rate > 0, burst >= 1. Free with avrr__limiter_free(). */
avrr_err avrr__limiter_new(double rate, double burst, avrr__limiter **out);
void avrr__limiter_free(avrr__limiter *l);

/* Takes one token from key's bucket at time now (seconds on a monotonic
 * clock). true when there was one; otherwise *retry_after (when not NULL)
 * gets the whole seconds, at least 1, until there will be one. */
bool avrr__limiter_take(avrr__limiter *l, const uint8_t key[AVRR__LIMIT_KEY], double now,
                        unsigned *retry_after);
/* Like avrr__limiter_take() but leaves the bucket as it is. */
bool avrr__limiter_peek(avrr__limiter *l, const uint8_t key[AVRR__LIMIT_KEY], double now,
                        unsigned *retry_after);

/* The key of an API key id. */
void avrr__limit_key_id(int64_t key_id, uint8_t key[AVRR__LIMIT_KEY]);
/* The key of a client address: the IPv4 address, or the /64 prefix of an
 * IPv6 one (an IPv6 client usually holds a whole /64, so counting single
 * addresses would let it rotate through them). false for other families. */
bool avrr__limit_key_addr(const struct sockaddr *sa, uint8_t key[AVRR__LIMIT_KEY]);

/* Seconds on the monotonic clock. */
double avrr__limit_now(void);

#endif
