/* alloc.c: the allocator every part of libavrr goes through.
 *
 * One indirection so that tests can make the Nth allocation fail and prove
 * that the library returns AVRR_ENOMEM instead of crashing (curl's torture
 * mode, SQLite's fault simulation). Outside tests the countdown is off and
 * the cost is one relaxed atomic load. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "avrr/core.h"

/* Remaining successful allocations before failures start; < 0 means off. */
static _Atomic long fail_countdown = -1;

static bool should_fail(void)
{
    long left = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    if (left < 0)
        return false;
    if (left == 0)
        return true;
    atomic_store_explicit(&fail_countdown, left - 1, memory_order_relaxed);
    return false;
}

void avrr_alloc_fail_after(long n)
{
    atomic_store(&fail_countdown, n > 0 ? n - 1 : -1);
}

void *avrr_malloc(size_t n)
{
    return should_fail() ? NULL : malloc(n ? n : 1);
}

#define HUGE_PAGE ((size_t)2 << 20)

void *avrr_malloc_huge(size_t n, size_t huge_from, void **raw)
{
    size_t align = n >= huge_from ? HUGE_PAGE : 64;
    *raw = NULL;
    if (n > SIZE_MAX - align)
        return NULL;
    uint8_t *r = avrr_malloc(n + align);
    if (!r)
        return NULL;
    uintptr_t a = ((uintptr_t)r + align - 1) & ~(uintptr_t)(align - 1);
#ifdef MADV_HUGEPAGE
    if (align == HUGE_PAGE)
        (void)madvise((void *)a, n & ~(HUGE_PAGE - 1), MADV_HUGEPAGE);
#endif
    *raw = r;
    return (void *)a;
}

void *avrr_calloc(size_t count, size_t size)
{
    return should_fail() ? NULL : calloc(count ? count : 1, size ? size : 1);
}

void *avrr_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : realloc(p, n ? n : 1);
}

void avrr_free(void *p)
{
    free(p);
}

char *avrr_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *copy = avrr_malloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}
