/* clk_bench.c: comparisons per second of the CLK Dice kernels on one core,
 * with the encodings streamed from memory (an array far larger than the
 * caches), beside a naive reference loop and the memory roof of this
 * machine (a plain read of the same array), median of 5 runs each.
 *
 * Usage: clk_bench [N (default 2,000,000 = 256 MB)] [PROBES (default 16)]
 * Data: random filters with every bit set with probability 0.35, the
 * density of real encodings (mean popcount about 360-450 of 1024), so
 * that the popcount bound rejects almost nothing: the worst case. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "avrr/clk.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void random_clk(avrr_clk *c)
{
    memset(c, 0, sizeof *c);
    for (int w = 0; w < AVRR_CLK_WORDS; w++) {
        uint64_t x = 0;
        for (int b = 0; b < 64; b++)
            if (next() % 100 < 35)
                x |= 1ull << b;
        c->bits[w] = x;
        c->popcount = (uint16_t)(c->popcount + __builtin_popcountll(x));
    }
}

/* The loop anyone would write first: per pair, 16 popcounts through the
 * compiler's generic popcount, a division, a comparison. */
__attribute__((noinline)) static size_t naive(const avrr_clk *p, const uint64_t *bits,
                                              const uint16_t *pop, size_t n, double t)
{
    size_t hits = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = 0;
        for (int w = 0; w < AVRR_CLK_WORDS; w++)
            c += (unsigned)__builtin_popcountll(p->bits[w] & bits[i * AVRR_CLK_WORDS + w]);
        double d = 2.0 * c / (double)(p->popcount + pop[i]);
        hits += d >= t;
    }
    return hits;
}

/* Memory roof: XOR of every word, the least work that reads every byte. */
__attribute__((noinline)) static uint64_t roof(const uint64_t *bits, size_t words)
{
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    for (size_t i = 0; i < words; i += 8) {
        a0 ^= bits[i]; a1 ^= bits[i + 1]; a2 ^= bits[i + 2]; a3 ^= bits[i + 3];
        a4 ^= bits[i + 4]; a5 ^= bits[i + 5]; a6 ^= bits[i + 6]; a7 ^= bits[i + 7];
    }
    return a0 ^ a1 ^ a2 ^ a3 ^ a4 ^ a5 ^ a6 ^ a7;
}

static size_t hits;
static int on_hit(void *ctx, size_t i, double d)
{
    (void)ctx; (void)i; (void)d;
    hits++;
    return 0;
}
static int on_pair(void *ctx, size_t q, size_t i, double d)
{
    (void)ctx; (void)q; (void)i; (void)d;
    hits++;
    return 0;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v)
{
    qsort(v, 5, sizeof *v, cmp);
    return v[2];
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000000;
    size_t nq = argc > 2 ? strtoul(argv[2], NULL, 10) : 16;
    const double t = 0.8;
    avrr_clk_array a;
    avrr_clk c;
    if (avrr_clk_array_init(&a, n) != AVRR_OK)
        return 1;
    for (size_t i = 0; i < n; i++) {
        random_clk(&c);
        avrr_clk_array_push(&a, &c);
    }
    avrr_clk *probes = aligned_alloc(64, nq * sizeof *probes);
    for (size_t q = 0; q < nq; q++)
        random_clk(&probes[q]);
    /* plant a near-duplicate of probe 0 so that hits exist */
    memcpy(a.bits + (n / 2) * AVRR_CLK_WORDS, probes[0].bits, sizeof probes[0].bits);
    a.pop[n / 2] = probes[0].popcount;

    double tn[5], tr[5], tm[5], tb[5];
    volatile uint64_t sink = 0;
    size_t h_naive = 0, h_many = 0;
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        sink ^= roof(a.bits, n * AVRR_CLK_WORDS);
        double t1 = now();
        h_naive = naive(&probes[0], a.bits, a.pop, n, t);
        double t2 = now();
        hits = 0;
        avrr_clk_dice_many(&probes[0], a.bits, a.pop, n, t, on_hit, NULL);
        h_many = hits;
        double t3 = now();
        hits = 0;
        avrr_clk_dice_batch(probes, nq, a.bits, a.pop, n, t, on_pair, NULL);
        double t4 = now();
        tr[r] = (double)n / (t1 - t0);
        tn[r] = (double)n / (t2 - t1);
        tm[r] = (double)n / (t3 - t2);
        tb[r] = (double)n * (double)nq / (t4 - t3);
    }
    printf("encodings %zu x 128 B = %.0f MB, threshold %.2f, kernel %s, 1 thread\n", n,
           (double)n * 128 / 1e6, t, avrr_clk_kernel_name());
    printf("hits: naive %zu, dice_many %zu (must agree)\n", h_naive, h_many);
    printf("memory roof (read only)      %7.1f M encodings/s = %5.1f GB/s\n", median(tr) / 1e6,
           median(tr) * 128 / 1e9);
    printf("naive reference loop         %7.1f M comparisons/s\n", median(tn) / 1e6);
    printf("avrr_clk_dice_many (1 probe) %7.1f M comparisons/s\n", median(tm) / 1e6);
    printf("avrr_clk_dice_batch (%zu probes) %7.1f M comparisons/s\n", nq, median(tb) / 1e6);
    avrr_clk_array_free(&a);
    free(probes);
    return h_naive == h_many ? 0 : 1;
}
