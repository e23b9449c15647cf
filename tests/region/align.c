/*
 * align.c - aligned allocation on every policy (every power of two up to
 * 64 KiB, odd sizes, freed in a scrambled order), and the argument checks
 * of ward_region_init and ward_region_aligned_alloc.  Nothing may be
 * written outside the region's memory.
 */
#include <errno.h>

#include "region/harness.h"

#define GUARD 256
#define REGION_BYTES (512 * 1024)

static _Alignas(65536) unsigned char memory[GUARD + REGION_BYTES + GUARD];

static void init_rejects(void)
{
    static _Alignas(16) unsigned char small[65536];
    for (int fit = 0; fit < WARD_FIT_COUNT_; fit++) {
        size_t least = ward_region_min_size((ward_fit_t)fit);
        CHECK(least > 0 && least <= sizeof small);
        errno = 0;
        CHECK(ward_region_init(small, least - 1, (ward_fit_t)fit, 0) == NULL && errno == EINVAL);
        errno = 0;
        CHECK(ward_region_init(small + 8, sizeof small - 8, (ward_fit_t)fit, 0) == NULL && errno == EINVAL);
        errno = 0;
        CHECK(ward_region_init(NULL, sizeof small, (ward_fit_t)fit, 0) == NULL && errno == EINVAL);
        errno = 0;
        CHECK(ward_region_init(small, sizeof small, (ward_fit_t)fit, 0x80) == NULL && errno == EINVAL);
        /* The smallest region works, and holds at least one small block. */
        ward_region_t *region = ward_region_init(small, least, (ward_fit_t)fit, 0);
        CHECK(region != NULL);
        CHECK_REGION(region);
        void *p = ward_region_malloc(region, 1);
        CHECK(p != NULL);
        ward_region_free(region, p);
        CHECK_REGION(region);
    }
    errno = 0;
    CHECK(ward_region_init(small, sizeof small, WARD_FIT_COUNT_, 0) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(ward_region_init(small, sizeof small, (ward_fit_t)-1, 0) == NULL && errno == EINVAL);
    CHECK(ward_fit_name(WARD_FIT_COUNT_) == NULL && ward_region_min_size(WARD_FIT_COUNT_) == 0);
}

static void aligned(ward_fit_t fit)
{
    memset(memory, 0x5a, sizeof memory);
    ward_region_t *region = ward_region_init(memory + GUARD, REGION_BYTES, fit, 0);
    CHECK(region != NULL);
    errno = 0;
    CHECK(ward_region_aligned_alloc(region, 0, 8) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(ward_region_aligned_alloc(region, 48, 8) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(ward_region_aligned_alloc(region, 64, SIZE_MAX) == NULL && errno == ENOMEM);

    enum { COUNT = 96 };
    unsigned char *blocks[COUNT] = {0};
    size_t lengths[COUNT];
    rng_t rng = rng_seeded(7);
    for (int i = 0; i < COUNT; i++) {
        size_t alignment = (size_t)1 << (i % 17);
        size_t n = (size_t)rng_below(&rng, 3000) + (i % 3);
        blocks[i] = ward_region_aligned_alloc(region, alignment, n);
        if (!blocks[i]) {
            CHECK(errno == ENOMEM);
            continue;
        }
        CHECK((uintptr_t)blocks[i] % alignment == 0 && (uintptr_t)blocks[i] % WARD_REGION_ALIGN == 0);
        CHECK(ward_region_usable_size(region, blocks[i]) >= n);
        lengths[i] = n;
        memset(blocks[i], i, n);
        CHECK_REGION(region);
    }
    for (int k = 0; k < COUNT; k++) {
        int i = (k * 37) % COUNT; /* 37 is prime to COUNT: a scrambled order */
        if (!blocks[i])
            continue;
        for (size_t j = 0; j < lengths[i]; j++)
            CHECK(blocks[i][j] == (unsigned char)i);
        if (k % 4 == 0) { /* an aligned block may be resized, keeping its bytes */
            unsigned char *q = ward_region_realloc(region, blocks[i], lengths[i] / 2 + 1);
            CHECK(q != NULL);
            for (size_t j = 0; j < lengths[i] / 2 + 1 && j < lengths[i]; j++)
                CHECK(q[j] == (unsigned char)i);
            blocks[i] = q;
        }
        ward_region_free(region, blocks[i]);
        CHECK_REGION(region);
    }
    ward_region_stats_t stats;
    CHECK(ward_region_stats(region, &stats) == 0 && stats.used == 0);
    for (size_t i = 0; i < GUARD; i++)
        CHECK(memory[i] == 0x5a && memory[GUARD + REGION_BYTES + i] == 0x5a);
    printf("%-6s aligned allocations ok\n", ward_fit_name(fit));
}

int main(void)
{
    init_rejects();
    for (int fit = 0; fit < WARD_FIT_COUNT_; fit++)
        aligned((ward_fit_t)fit);
    return 0;
}
