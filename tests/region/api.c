/*
 * api.c - the documented results of the region functions: NULL arguments,
 * malloc(0), realloc's special cases and failure, usable sizes, statistics
 * and the walker.
 */
#include <errno.h>

#include "region/harness.h"

static _Alignas(16) unsigned char memory[32768];

typedef struct tally_s {
    size_t used, free, visits, stop_at;
} tally_t;

static int count_blocks(void *ptr, size_t size, bool used, void *arg)
{
    tally_t *t = arg;
    CHECK(ptr != NULL && (uintptr_t)ptr % WARD_REGION_ALIGN == 0 && size > 0);
    if (used)
        t->used++;
    else
        t->free++;
    return ++t->visits == t->stop_at ? 42 : 0;
}

static void api(ward_fit_t fit)
{
    ward_region_t *region = ward_region_init(memory, sizeof memory, fit, 0);
    CHECK(region == (ward_region_t *)memory);

    errno = 0;
    CHECK(ward_region_malloc(NULL, 8) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(ward_region_aligned_alloc(NULL, 64, 8) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(ward_region_malloc(region, SIZE_MAX) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(ward_region_malloc(region, sizeof memory) == NULL && errno == ENOMEM);
    ward_region_free(region, NULL);
    ward_region_free(NULL, NULL);
    CHECK(ward_region_usable_size(region, NULL) == 0);
    CHECK(ward_region_stats(NULL, NULL) == EINVAL && ward_region_walk(region, NULL, NULL) == EINVAL);
    CHECK(!ward_region_check(NULL, NULL));

    /* malloc(0): distinct blocks that can be freed. */
    void *z1 = ward_region_malloc(region, 0), *z2 = ward_region_malloc(region, 0);
    CHECK(z1 && z2 && z1 != z2);

    /* realloc(NULL, n) allocates; realloc(p, 0) frees. */
    unsigned char *p = ward_region_realloc(region, NULL, 100);
    CHECK(p != NULL && ward_region_usable_size(region, p) >= 100);
    memset(p, 3, 100);
    unsigned char *q = ward_region_realloc(region, p, 3000);
    CHECK(q != NULL);
    for (int i = 0; i < 100; i++)
        CHECK(q[i] == 3);
    errno = 0;
    CHECK(ward_region_realloc(region, q, sizeof memory) == NULL && errno == ENOMEM);
    for (int i = 0; i < 100; i++) /* left as it was */
        CHECK(q[i] == 3);
    q = ward_region_realloc(region, q, 10);
    CHECK(q != NULL && q[9] == 3);
    CHECK(ward_region_realloc(region, q, 0) == NULL);
    CHECK_REGION(region);

    ward_region_stats_t stats;
    void *a = ward_region_malloc(region, 1000);
    void *b = ward_region_malloc(region, 10);
    void *c = ward_region_malloc(region, 1000);
    CHECK(a && b && c);
    ward_region_free(region, b); /* a hole between a and c */
    CHECK(ward_region_stats(region, &stats) == 0);
    CHECK(stats.used_blocks == 4 && stats.requested == 2000);
    CHECK(stats.used >= stats.requested && stats.largest_free < stats.free);
    CHECK(stats.size == sizeof memory && stats.size == stats.overhead + stats.used + stats.free);
    CHECK(stats.internal_fragmentation > 0 && stats.internal_fragmentation < 1);
    CHECK(stats.external_fragmentation >= 0 && stats.external_fragmentation < 1);

    tally_t tally = {0};
    CHECK(ward_region_walk(region, count_blocks, &tally) == 0);
    CHECK(tally.used == stats.used_blocks && tally.free == stats.free_blocks);
    tally = (tally_t){.stop_at = 2};
    CHECK(ward_region_walk(region, count_blocks, &tally) == 42 && tally.visits == 2);

    ward_region_free(region, a);
    ward_region_free(region, c);
    ward_region_free(region, z1);
    ward_region_free(region, z2);
    CHECK(ward_region_stats(region, &stats) == 0);
    CHECK(stats.used == 0 && stats.internal_fragmentation == 0);
    if (fit != WARD_FIT_BUDDY)
        CHECK(stats.free_blocks == 1 && stats.external_fragmentation == 0);
    CHECK_REGION(region);
    printf("%-6s api ok\n", ward_fit_name(fit));
}

int main(void)
{
    for (int fit = 0; fit < WARD_FIT_COUNT_; fit++)
        api((ward_fit_t)fit);
    return 0;
}
