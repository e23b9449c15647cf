/*
 * add.c - ward_region_add: a full region takes new memory (above or below
 * its own), serves from it, merges inside it, and refuses memory that is
 * misaligned, too small or overlapping.
 */
#include <errno.h>

#include "region/harness.h"

static _Alignas(16) unsigned char memory[3 * 16384];

static void grow(ward_fit_t fit)
{
    /* The region sits in the middle third; the others are added later. */
    unsigned char *low = memory, *middle = memory + 16384, *high = memory + 2 * 16384;
    ward_region_t *region = ward_region_init(middle, 16384, fit, 0);
    CHECK(region != NULL);

    void *held[1024];
    size_t count = 0;
    while ((held[count] = ward_region_malloc(region, 100)) != NULL)
        count++;
    CHECK(errno == ENOMEM && count > 0);
    CHECK_REGION(region);

    CHECK(ward_region_add(region, high + 8, 4096) == EINVAL);          /* misaligned */
    CHECK(ward_region_add(region, high, 16) == EINVAL);                /* too small */
    CHECK(ward_region_add(region, middle + 4096, 4096) == EINVAL);     /* inside the region */
    CHECK(ward_region_add(region, middle - 4096, 8192) == EINVAL);     /* overlapping its start */
    CHECK(ward_region_add(NULL, high, 4096) == EINVAL);
    CHECK(ward_region_add(region, NULL, 4096) == EINVAL);
    CHECK_REGION(region);

    CHECK(ward_region_add(region, high, 16384) == 0);
    CHECK(ward_region_add(region, high, 16384) == EINVAL); /* already given */
    CHECK(ward_region_add(region, low, 16384) == 0);       /* below the region: offsets wrap */
    CHECK_REGION(region);

    size_t before = count;
    while (count < 1024 && (held[count] = ward_region_malloc(region, 100)) != NULL) {
        unsigned char *p = held[count];
        CHECK((p >= high && p < high + 16384) || (p >= low && p < low + 16384));
        memset(p, 0x11, 100);
        count++;
        CHECK_REGION(region);
    }
    CHECK(count > before + 2 * (16384 / 200));
    /* A block larger than anything left in the first area fits only in a
     * merged added one (buddy: in its largest power of two). */
    for (size_t i = before; i < count; i++)
        ward_region_free(region, held[i]);
    CHECK_REGION(region);
    void *big = ward_region_malloc(region, fit == WARD_FIT_BUDDY ? 6000 : 12000);
    CHECK(big != NULL && (((unsigned char *)big >= high) || ((unsigned char *)big < low + 16384)));
    ward_region_free(region, big);
    for (size_t i = 0; i < before; i++)
        ward_region_free(region, held[i]);
    CHECK_REGION(region);
    ward_region_stats_t stats;
    CHECK(ward_region_stats(region, &stats) == 0);
    CHECK(stats.used == 0 && stats.size == 3 * 16384);
    if (fit != WARD_FIT_BUDDY)
        CHECK(stats.free_blocks == 3);
    printf("%-6s add ok (%zu + %zu blocks)\n", ward_fit_name(fit), before, count - before);
}

int main(void)
{
    for (int fit = 0; fit < WARD_FIT_COUNT_; fit++)
        grow((ward_fit_t)fit);
    return 0;
}
