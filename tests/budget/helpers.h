/*
 * helpers.h - what the budget tests share: statistics snapshots, the
 * resident set, and filling memory up to a point.
 */
#ifndef WARD_TEST_BUDGET_HELPERS_H
#define WARD_TEST_BUDGET_HELPERS_H

#include "core/stats_helpers.h"

/* Resident bytes of this process, from /proc/self/statm. */
static inline size_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    CHECK(f != NULL);
    unsigned long size = 0, resident = 0;
    CHECK(fscanf(f, "%lu %lu", &size, &resident) == 2);
    fclose(f);
    return resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* At least total bytes of small blocks (16..512 bytes, written with fill),
 * linked into a list through their first word; returns its head. */
static inline void **fill_small_blocks(size_t total, uint64_t seed, unsigned char fill)
{
    void **first = NULL, **last = NULL;
    for (size_t made = 0; made < total;) {
        size_t size = 16 + test_random(&seed) % 497;
        void **block = ward_malloc(size);
        CHECK(block != NULL);
        memset(block, fill, size);
        block[0] = NULL;
        if (last)
            last[0] = block;
        else
            first = block;
        last = block;
        made += size;
    }
    return first;
}

/* Frees every block of a list made by fill_small_blocks. */
static inline void free_block_list(void **block)
{
    while (block) {
        void **next = block[0];
        ward_free(block);
        block = next;
    }
}

/* The part of the limit ordinary allocations may use (the reserve apart). */
static inline size_t usable_limit(size_t limit)
{
    size_t reserve = limit / 8 < MiB ? limit / 8 : MiB;
    return limit - reserve;
}

#endif
