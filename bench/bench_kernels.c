/* bench_kernels.c: micro-benchmarks of the matching kernels beside their
 * references: bit-parallel Jaro-Winkler against the textbook O(n*m) version,
 * and name normalisation on the ASCII fast path against the ICU path
 * (transliteration of Arabic and Cyrillic names, and ASCII names forced
 * through ICU by a non-ASCII byte). Usage: bench_kernels [SECONDS_EACH]
 * Prints one line per kernel: operations per second and nanoseconds each,
 * CPU time of this thread (other load on the machine does not count). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "avrr/match.h"

double avrr__jaro_winkler_ref(const char *a, size_t na, const char *b,
                              size_t nb);

static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *const names[] = {
    "mohammed", "muhammad", "youssef", "joessef", "aleksandr", "oleksandr",
    "tesfamariam", "gebremedhin", "abdelkader", "ouazzani", "krasniqi",
    "popalzai", "diallo", "coulibaly", "hussein", "hossein", "kapanadze",
    "shevchenko", "fatima", "khadija", "abdirahman", "ghebremichael",
    "stanikzai", "benjelloun", "el", "bah", "sow", "traore", "ivanov",
    "grigoryan", "mulugeta", "nasir"};
#define NN (sizeof names / sizeof names[0])

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    size_t len[NN];
    for (size_t i = 0; i < NN; i++)
        len[i] = strlen(names[i]);
    volatile double sink = 0;
    for (int ref = 0; ref < 2; ref++) {
        long n = 0;
        double t0 = cpu(), t;
        do {
            for (size_t i = 0; i < NN; i++)
                for (size_t j = 0; j < NN; j++)
                    sink += ref ? avrr__jaro_winkler_ref(names[i], len[i],
                                                         names[j], len[j])
                                : avrr_match_jaro_winkler(names[i], len[i],
                                                          names[j], len[j]);
            n += NN * NN;
        } while ((t = cpu() - t0) < secs);
        printf("jaro_winkler %-10s %12.0f pairs/s  %7.1f ns/pair\n",
               ref ? "textbook" : "bitparallel", n / t, t / n * 1e9);
    }
    static const char *const inputs[][4] = {
        {"ascii", "Mohammed El Amrani", "Oleksandr Ivanov", "Tesfamariam"},
        {"arabic", "محمد العمراني", "يوسف", "عبد الرحمن"},
        {"cyrillic", "Олександр Іванов", "Александр", "Михаил"},
        {"ascii+icu", "Mohammed El Amraní", "Oleksandr Ivanové", "Tesfamariám"},
    };
    for (size_t k = 0; k < 4; k++) {
        char out[256];
        long n = 0;
        double t0 = cpu(), t;
        do {
            for (int i = 1; i < 4; i++)
                if (avrr_match_normalize(inputs[k][i], out, sizeof out, NULL) !=
                    AVRR_OK)
                    return 1;
            n += 3;
        } while ((t = cpu() - t0) < secs);
        printf("normalize   %-10s %12.0f names/s  %7.3f us/name\n",
               inputs[k][0], n / t, t / n * 1e6);
    }
    return sink < 0;
}
