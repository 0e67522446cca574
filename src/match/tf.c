/* tf.c: name frequencies for the term-frequency adjustment (DESIGN.md 5.5).
 *
 * Counts of name keys (so that spelling variants count as one name) in an
 * open-addressing table, plus the running sum of squared counts that gives
 * the chance that two random names agree. A built-in table of the commonest
 * names of the returnee origin countries serves when no data are at hand.
 */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "match_int.h"

#define TF_MAGIC 0x74667462u

struct avrr_match_tf {
    uint32_t magic;
    uint32_t *keys;   /* 0 = empty slot */
    uint32_t *counts;
    size_t cap, used;
    double total;     /* tokens counted */
    double sum_sq;    /* sum of squared counts */
    double sig_total; /* whole names counted (one per record) */
    double sig_sum_sq;
    double fixed_avg; /* > 0: built-in table, frequencies stored directly */
};

static size_t slot_of(const avrr_match_tf *tf, uint32_t key)
{
    size_t mask = tf->cap - 1;
    size_t i = (key * 2654435761u) & mask;
    while (tf->keys[i] && tf->keys[i] != key)
        i = (i + 1) & mask;
    return i;
}

static avrr_err grow(avrr_match_tf *tf)
{
    size_t ncap = tf->cap ? tf->cap * 2 : 1024;
    uint32_t *nk = avrr_calloc(ncap, sizeof *nk);
    uint32_t *nc = avrr_calloc(ncap, sizeof *nc);
    if (!nk || !nc) {
        avrr_free(nk);
        avrr_free(nc);
        return AVRR_ENOMEM;
    }
    uint32_t *ok = tf->keys, *oc = tf->counts;
    size_t ocap = tf->cap;
    tf->keys = nk;
    tf->counts = nc;
    tf->cap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (ok[i]) {
            size_t s = slot_of(tf, ok[i]);
            tf->keys[s] = ok[i];
            tf->counts[s] = oc[i];
        }
    avrr_free(ok);
    avrr_free(oc);
    return AVRR_OK;
}

avrr_err avrr_match_tf_new(avrr_match_tf **out)
{
    avrr_match_tf *tf = avrr_calloc(1, sizeof *tf);
    *out = NULL;
    if (!tf)
        return AVRR_ENOMEM;
    tf->magic = TF_MAGIC;
    if (grow(tf) != AVRR_OK) {
        avrr_free(tf);
        return AVRR_ENOMEM;
    }
    *out = tf;
    return AVRR_OK;
}

void avrr_match_tf_free(avrr_match_tf *tf)
{
    if (!tf || tf->fixed_avg > 0)
        return;
    avrr_free(tf->keys);
    avrr_free(tf->counts);
    tf->magic = 0;
    avrr_free(tf);
}

static avrr_err bump_into(avrr_match_tf *tf, uint32_t key, double *total,
                          double *sum_sq)
{
    if ((tf->used + 1) * 2 > tf->cap) {
        avrr_err r = grow(tf);
        if (r != AVRR_OK)
            return r;
    }
    size_t s = slot_of(tf, key);
    if (!tf->keys[s]) {
        tf->keys[s] = key;
        tf->used++;
    }
    double c = tf->counts[s];
    *sum_sq += 2 * c + 1;
    tf->counts[s]++;
    *total += 1;
    return AVRR_OK;
}

static avrr_err bump(avrr_match_tf *tf, uint32_t key)
{
    return bump_into(tf, key, &tf->total, &tf->sum_sq);
}

static void unbump(avrr_match_tf *tf, uint32_t key, double *total,
                   double *sum_sq)
{
    size_t s = slot_of(tf, key);
    if (!tf->keys[s] || tf->counts[s] == 0)
        return;
    double c = tf->counts[s];
    *sum_sq -= 2 * c - 1;
    tf->counts[s]--;
    *total -= 1;
}

/* The keys of a record, each counted once (a person called "Mohammed
 * Mohammed" is one Mohammed for this purpose). */
static size_t rec_keys(const avrr_match_rec *r, uint32_t *k)
{
    size_t n = 0;
    for (int i = 0; i < r->n_names; i++)
        for (int j = 0; j < r->name[i].n; j++) {
            uint32_t key = r->name[i].t[j].key;
            bool dup = false;
            for (size_t q = 0; q < n; q++)
                dup |= k[q] == key;
            if (!dup)
                k[n++] = key;
        }
    return n;
}

avrr_err avrr_match_tf_add(avrr_match_tf *tf, const avrr_match_rec *r)
{
    uint32_t k[2 * AVRR__MT_MAXTOK];
    size_t n = rec_keys(r, k);
    for (size_t i = 0; i < n; i++) {
        avrr_err e = bump(tf, k[i]);
        if (e != AVRR_OK)
            return e;
    }
    for (int i = 0; i < r->n_names; i++) {
        if (i == 1 && r->name[1].sig == r->name[0].sig)
            break;
        avrr_err e = bump_into(tf, r->name[i].sig, &tf->sig_total,
                               &tf->sig_sum_sq);
        if (e != AVRR_OK)
            return e;
    }
    return AVRR_OK;
}

void avrr_match_tf_remove(avrr_match_tf *tf, const avrr_match_rec *r)
{
    uint32_t k[2 * AVRR__MT_MAXTOK];
    size_t n = rec_keys(r, k);
    for (size_t i = 0; i < n; i++)
        unbump(tf, k[i], &tf->total, &tf->sum_sq);
    for (int i = 0; i < r->n_names; i++) {
        if (i == 1 && r->name[1].sig == r->name[0].sig)
            break;
        unbump(tf, r->name[i].sig, &tf->sig_total, &tf->sig_sum_sq);
    }
}

/* Whole-name counts are used from this many records on: below it a name
 * seen twice would look common. */
#define SIG_MIN_RECORDS 1000.0

double avrr__match_tf_sig_adj(const avrr_match_tf *tf, uint32_t sig_a,
                              uint32_t sig_b)
{
    if (tf->fixed_avg > 0 || tf->sig_total < SIG_MIN_RECORDS)
        return 0;
    double t = tf->sig_total;
    double avg = tf->sig_sum_sq / (t * t);
    double c = 1;
    uint32_t sg[2] = {sig_a, sig_b};
    for (int i = 0; i < 2; i++) {
        if (!sg[i])
            continue;
        size_t s = slot_of(tf, sg[i]);
        if (tf->keys[s] == sg[i] && tf->counts[s] > c)
            c = tf->counts[s];
    }
    return log2(avg / (c / t));
}

/* A data table is blended with the built-in one as if the built-in shares
 * had been seen in this many name tokens: a new registry with a hundred
 * identities must not conclude that every name in it is common, and at a
 * million tokens the data speak for themselves. */
#define TF_PRIOR_TOKENS 5000.0

static const avrr_match_tf *builtin_tf(void);

static double fixed_freq(const avrr_match_tf *tf, uint32_t key)
{
    if (key != 0) {
        size_t s = slot_of(tf, key);
        if (tf->keys[s] == key && tf->counts[s] > 0)
            return tf->counts[s] / 1e6;
    }
    return tf->fixed_avg;
}

double avrr__match_tf_freq(const avrr_match_tf *tf, uint32_t key)
{
    if (tf->fixed_avg > 0)
        return fixed_freq(tf, key);
    const avrr_match_tf *b = builtin_tf();
    double k = TF_PRIOR_TOKENS, t = tf->total;
    double avg = (tf->sum_sq / (t > 0 ? t : 1) + k * b->fixed_avg) / (t + k);
    if (key == 0)
        return avg;
    size_t s = slot_of(tf, key);
    double c = tf->keys[s] == key ? tf->counts[s] : 0;
    if (c == 0)
        return avg;
    return (c + k * fixed_freq(b, key)) / (t + k);
}

/* ---- the built-in table ------------------------------------------------------ */

/* Share (per million name tokens) of the commonest given and family names in
 * a returnee population drawn from the Maghreb, the Middle East, Afghanistan
 * and Iran, the Horn of Africa, West Africa, the Balkans and the former
 * Soviet states; estimates from published name statistics of those countries
 * weighted by return numbers, rounded. Variants share a key, so one spelling
 * stands for all. */
static const struct {
    const char *name;
    uint32_t per_million;
} builtin_names[] = {
    {"mohammed", 60000}, {"ahmed", 20000},    {"ali", 25000},
    {"hassan", 12000},   {"hussein", 10000},  {"abdullah", 9000},
    {"ibrahim", 9000},   {"mahmoud", 7000},   {"mustafa", 7000},
    {"omar", 7000},      {"youssef", 6000},   {"khaled", 5000},
    {"said", 5000},      {"karim", 4000},     {"rahman", 4000},
    {"abdrahman", 3000}, {"osman", 4000},     {"yasin", 3000},
    {"jamal", 3000},     {"amin", 3000},      {"hamid", 4000},
    {"rashid", 3000},    {"salem", 3000},     {"nasser", 3000},
    {"fatima", 8000},    {"aisha", 4000},     {"mariam", 5000},
    {"amina", 4000},     {"zahra", 3000},     {"khadija", 3000},
    {"abubakr", 3000},   {"musa", 4000},      {"isa", 2000},
    {"suleiman", 3000},  {"idris", 2000},     {"bilal", 2000},
    {"diallo", 6000},    {"bah", 4000},       {"traore", 5000},
    {"coulibaly", 4000}, {"camara", 4000},    {"sow", 3000},
    {"keita", 3000},     {"toure", 3000},     {"mamadou", 6000},
    {"moussa", 4000},    {"ousmane", 3000},   {"amadou", 3000},
    {"tesfay", 3000},    {"haile", 2000},     {"gebre", 3000},
    {"tekle", 2000},     {"kidane", 1500},    {"abdi", 3000},
    {"hussain", 10000},  {"mohammad", 60000}, {"ahmad", 20000},
    {"aleksandr", 5000}, {"sergei", 3000},    {"ivan", 2500},
    {"ivanov", 1500},    {"dmitri", 2500},    {"andrei", 2500},
    {"elena", 2500},     {"olga", 2000},      {"tatiana", 2000},
    {"nikolai", 2000},   {"vladimir", 2000},  {"beka", 1000},
    {"giorgi", 3000},    {"hoxha", 2000},     {"krasniqi", 2000},
    {"gashi", 1500},     {"berisha", 1500},   {"arben", 1000},
};

/* Chance that two random name tokens of that population agree: the sum of
 * squared shares of the table (about 0.0088) plus a tail of rarer names. */
#define BUILTIN_AVG 0.009

static avrr_match_tf builtin;
static uint32_t builtin_keys[256], builtin_counts[256];
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static void builtin_init(void)
{
    builtin.magic = TF_MAGIC;
    builtin.keys = builtin_keys;
    builtin.counts = builtin_counts;
    builtin.cap = 256;
    builtin.fixed_avg = BUILTIN_AVG;
    for (size_t i = 0; i < sizeof builtin_names / sizeof builtin_names[0];
         i++) {
        char k[64];
        const char *nm = builtin_names[i].name;
        size_t kl = avrr_match_name_key(nm, strlen(nm), k, sizeof k);
        uint32_t key = avrr__hash32(k, kl);
        size_t s = slot_of(&builtin, key);
        if (!builtin.keys[s]) {
            builtin.keys[s] = key;
            builtin.used++;
        }
        /* variants of one name add up to the share of its key */
        if (builtin.counts[s] < builtin_names[i].per_million)
            builtin.counts[s] = builtin_names[i].per_million;
    }
}

static const avrr_match_tf *builtin_tf(void)
{
    pthread_once(&builtin_once, builtin_init);
    return &builtin;
}

const avrr_match_tf *avrr_match_tf_builtin(void)
{
    pthread_once(&builtin_once, builtin_init);
    return &builtin;
}
