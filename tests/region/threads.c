/*
 * threads.c - a region made with WARD_REGION_LOCKED shared by four threads
 * that allocate, write, verify and free at random (including blocks other
 * threads allocated); the region must be consistent and empty afterwards.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "region/harness.h"

#define THREADS 4
#define SHARED_SLOTS 64

static _Alignas(16) unsigned char memory[1 << 20];
static ward_region_t *region;
static _Atomic(unsigned char *) shared[SHARED_SLOTS];
static unsigned steps;

static void *worker(void *arg)
{
    rng_t rng = rng_seeded((uint64_t)(uintptr_t)arg);
    unsigned char *mine[16] = {0};
    size_t lengths[16] = {0};
    for (unsigned step = 0; step < steps; step++) {
        unsigned k = (unsigned)rng_below(&rng, 16);
        if (mine[k]) {
            for (size_t i = 0; i < lengths[k]; i++)
                CHECK(mine[k][i] == (unsigned char)k);
            if (rng_below(&rng, 2)) {
                ward_region_free(region, mine[k]);
            } else {
                /* hand the block to whoever takes it next from the shared table */
                unsigned char *old = atomic_exchange(&shared[rng_below(&rng, SHARED_SLOTS)], mine[k]);
                ward_region_free(region, old);
            }
            mine[k] = NULL;
        } else {
            lengths[k] = (size_t)rng_below(&rng, 2000);
            mine[k] = rng_below(&rng, 4) ? ward_region_malloc(region, lengths[k])
                                         : ward_region_aligned_alloc(region, 256, lengths[k]);
            if (mine[k])
                memset(mine[k], k, lengths[k]);
            else
                CHECK(errno == ENOMEM);
        }
    }
    for (unsigned k = 0; k < 16; k++)
        ward_region_free(region, mine[k]);
    return NULL;
}

int main(void)
{
    steps = 20000 * stress_scale();
    for (int fit = 0; fit < WARD_FIT_COUNT_; fit++) {
        region = ward_region_init(memory, sizeof memory, (ward_fit_t)fit, WARD_REGION_LOCKED);
        CHECK(region != NULL);
        pthread_t threads[THREADS];
        for (uintptr_t t = 0; t < THREADS; t++)
            CHECK(pthread_create(&threads[t], NULL, worker, (void *)(t + 1)) == 0);
        for (int t = 0; t < THREADS; t++)
            CHECK(pthread_join(threads[t], NULL) == 0);
        for (int i = 0; i < SHARED_SLOTS; i++)
            ward_region_free(region, atomic_exchange(&shared[i], NULL));
        CHECK_REGION(region);
        ward_region_stats_t stats;
        CHECK(ward_region_stats(region, &stats) == 0 && stats.used == 0);
        printf("%-6s %d threads x %u steps ok\n", ward_fit_name((ward_fit_t)fit), THREADS, steps);
    }
    return 0;
}
