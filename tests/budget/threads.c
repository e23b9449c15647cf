/*
 * threads.c - under a limit, threads allocating and freeing blocks of all
 * sizes at once never see committed memory above it: each samples the
 * counter as it goes, and the peak is checked at the end.  Allocations
 * refused with ENOMEM make the thread free half of what it holds.  A
 * reclaim callback frees from a shared cache on any thread's behalf.
 */
#include "budget/helpers.h"

#define THREADS 4
#define HELD 256
#define OPS 6000

static const size_t limit = 48 * MiB;
static size_t refusals; /* __atomic builtins */

/* A cache shared by the threads that the reclaim callback empties. */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static void *cache[1024];
static size_t cached;

static size_t drop_cache(void *ctx, size_t want)
{
    (void)ctx;
    size_t freed = 0;
    pthread_mutex_lock(&cache_lock);
    while (cached > 0 && freed < want) {
        ward_free(cache[--cached]);
        freed += 64 * KiB;
    }
    pthread_mutex_unlock(&cache_lock);
    return freed;
}

static void check_committed(void)
{
    ward_stats_t s;
    CHECK(ward_stats_get(&s) == 0);
    CHECKF(s.committed <= limit, "committed %llu", (unsigned long long)s.committed);
}

static void *worker(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15u + 1;
    void *held[HELD] = {0};
    for (int op = 0; op < OPS; op++) {
        unsigned slot = (unsigned)(test_random(&rng) % HELD);
        if (held[slot]) {
            ward_free(held[slot]);
            held[slot] = NULL;
            continue;
        }
        uint64_t r = test_random(&rng) % 100;
        size_t size = r < 80 ? 16 + test_random(&rng) % 2000 : r < 98 ? 64 * KiB + test_random(&rng) % MiB
                                                                     : 3 * MiB + test_random(&rng) % (2 * MiB);
        void *p = ward_malloc(size);
        if (p == NULL) {
            CHECK(errno == ENOMEM);
            __atomic_fetch_add(&refusals, 1, __ATOMIC_RELAXED);
            for (unsigned i = 0; i < HELD; i += 2) {
                ward_free(held[i]);
                held[i] = NULL;
            }
        } else {
            memset(p, 7, size < 4096 ? size : 4096);
            held[slot] = p;
            if (r == 50) {
                void *extra = ward_malloc(64 * KiB);
                pthread_mutex_lock(&cache_lock);
                if (extra && cached < 1024)
                    cache[cached++] = extra;
                else
                    ward_free(extra);
                pthread_mutex_unlock(&cache_lock);
            }
        }
        if (op % 64 == 0)
            check_committed();
    }
    for (unsigned i = 0; i < HELD; i++)
        ward_free(held[i]);
    return NULL;
}

int main(void)
{
    if (test_diagnostics_on())
        test_skip("budgets are measured on the core's blocks; the diagnostics' bigger blocks and quarantine change what fits");
    /* The figures below assume the default accounting, whatever the environment says. */
    CHECK(ward_option_set(WARD_OPTION_OVERCOMMIT, WARD_OVERCOMMIT_GUESS) == 0);
    CHECK(ward_set_limit(limit) == 0);
    CHECK(ward_reclaimer_add(drop_cache, NULL, 1) == 0);
    pthread_t t[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, worker, (void *)(i + 1)) == 0);
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    ward_stats_t s;
    CHECK(ward_stats_get(&s) == 0);
    CHECKF(s.committed_peak <= limit, "committed peak %llu over the limit", (unsigned long long)s.committed_peak);
    printf("budget threads: %zu refusals, %llu reclaim passes, peak %llu of %zu\n", __atomic_load_n(&refusals, __ATOMIC_RELAXED),
           (unsigned long long)s.reclaim_passes, (unsigned long long)s.committed_peak, limit);
    drop_cache(NULL, SIZE_MAX);
    return 0;
}
