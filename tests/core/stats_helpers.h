/*
 * stats_helpers.h - what the tests that check statistics share (core and
 * budget tests).
 */
#ifndef WARD_TEST_STATS_HELPERS_H
#define WARD_TEST_STATS_HELPERS_H

#include "common/check.h"
#include "ward.h"

#define KiB ((size_t)1024)
#define MiB (KiB * 1024)

/* A statistics snapshot; the test fails if it cannot be taken. */
static inline ward_stats_t stats_now(void)
{
    ward_stats_t stats;
    CHECK(ward_stats_get(&stats) == 0);
    return stats;
}

#endif
