/*
 * coalesce.c - exhaustive merging on small regions: for every policy, a
 * fresh region is cut into a few blocks of different sizes, which are then
 * freed in every possible order.  After each free the region must hold
 * exactly one free block per run of neighbouring free blocks (buddy: the
 * region must be back as it began once everything is free).
 */
#include <errno.h>

#include "region/harness.h"

#define BLOCKS 7
#define REGION_BYTES 8192

static const size_t sizes[BLOCKS] = {16, 40, 100, 16, 250, 64, 33};
static _Alignas(16) unsigned char memory[REGION_BYTES];

/* Free blocks the list engine must show: runs of free neighbours, where the
 * leftover after the last block counts as free. */
static size_t expected_runs(const int freed[BLOCKS], bool tail_free)
{
    size_t runs = 0;
    for (int i = 0; i < BLOCKS; i++)
        if (freed[i] && (i == 0 || !freed[i - 1]))
            runs++;
    if (tail_free && !freed[BLOCKS - 1])
        runs++;
    return runs;
}

static void one_order(ward_fit_t fit, const int order[BLOCKS], const ward_region_stats_t *fresh)
{
    ward_region_t *region = ward_region_init(memory, sizeof memory, fit, 0);
    CHECK(region != NULL);
    void *blocks[BLOCKS];
    for (int i = 0; i < BLOCKS; i++) {
        blocks[i] = ward_region_malloc(region, sizes[i]);
        CHECK(blocks[i] != NULL);
        memset(blocks[i], 0xee, sizes[i]);
        if (i > 0 && fit != WARD_FIT_BUDDY)
            CHECK((char *)blocks[i] > (char *)blocks[i - 1]); /* one free block: cut in order */
    }
    ward_region_stats_t stats;
    CHECK(ward_region_stats(region, &stats) == 0);
    bool tail_free = stats.free_blocks == 1;
    int freed[BLOCKS] = {0};
    for (int k = 0; k < BLOCKS; k++) {
        ward_region_free(region, blocks[order[k]]);
        freed[order[k]] = 1;
        CHECK_REGION(region);
        CHECK(ward_region_stats(region, &stats) == 0);
        if (fit != WARD_FIT_BUDDY)
            CHECK(stats.free_blocks == expected_runs(freed, tail_free));
    }
    CHECK(stats.free_blocks == fresh->free_blocks && stats.largest_free == fresh->largest_free);
    CHECK(stats.free == fresh->free && stats.used == 0);
}

static unsigned permutations(ward_fit_t fit, int order[BLOCKS], int k, const ward_region_stats_t *fresh)
{
    if (k == BLOCKS) {
        one_order(fit, order, fresh);
        return 1;
    }
    unsigned count = 0;
    for (int i = k; i < BLOCKS; i++) {
        int t = order[k];
        order[k] = order[i];
        order[i] = t;
        count += permutations(fit, order, k + 1, fresh);
        order[i] = order[k];
        order[k] = t;
    }
    return count;
}

/* Realloc must merge too: shrinking gives the tail back to a free right
 * neighbour, growing swallows it. */
static void realloc_merges(ward_fit_t fit)
{
    ward_region_t *region = ward_region_init(memory, sizeof memory, fit, 0);
    unsigned char *a = ward_region_malloc(region, 512);
    unsigned char *b = ward_region_malloc(region, 512);
    CHECK(a && b);
    ward_region_free(region, b);
    CHECK_REGION(region);
    unsigned char *grown = ward_region_realloc(region, a, 900);
    CHECK(grown != NULL);
    if (fit != WARD_FIT_BUDDY)
        CHECK(grown == a);
    CHECK_REGION(region);
    unsigned char *shrunk = ward_region_realloc(region, grown, 40);
    CHECK(shrunk == grown);
    CHECK_REGION(region);
    ward_region_stats_t stats;
    CHECK(ward_region_stats(region, &stats) == 0);
    if (fit != WARD_FIT_BUDDY)
        CHECK(stats.free_blocks == 1);
    ward_region_free(region, shrunk);
    CHECK_REGION(region);
}

int main(void)
{
    for (int fit = 0; fit < WARD_FIT_COUNT_; fit++) {
        ward_region_t *region = ward_region_init(memory, sizeof memory, (ward_fit_t)fit, 0);
        CHECK(region != NULL);
        ward_region_stats_t fresh;
        CHECK(ward_region_stats(region, &fresh) == 0);
        int order[BLOCKS];
        for (int i = 0; i < BLOCKS; i++)
            order[i] = i;
        unsigned count = permutations((ward_fit_t)fit, order, 0, &fresh);
        realloc_merges((ward_fit_t)fit);
        printf("%-6s %u orders of freeing %d blocks\n", ward_fit_name((ward_fit_t)fit), count, BLOCKS);
    }
    return 0;
}
