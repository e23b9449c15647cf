/*
 * helpers.h - what the budget tests share: statistics snapshots, the
 * resident set, and filling memory up to a point.
 */
#ifndef WARD_TEST_BUDGET_HELPERS_H
#define WARD_TEST_BUDGET_HELPERS_H

#include "common/check.h"
#include "ward.h"

#define KiB ((size_t)1024)
#define MiB (KiB * 1024)

static inline ward_stats_t stats_now(void)
{
    ward_stats_t stats;
    CHECK(ward_stats_get(&stats) == 0);
    return stats;
}

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

/* The part of the limit ordinary allocations may use (the reserve apart). */
static inline size_t usable_limit(size_t limit)
{
    size_t reserve = limit / 8 < MiB ? limit / 8 : MiB;
    return limit - reserve;
}

#endif
