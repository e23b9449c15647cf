/*
 * relocate.c - a region copied with memcpy to another address works there:
 * its blocks are at the same offsets with the same contents, they can be
 * freed and resized, and new blocks come from the copy.  Memory added to
 * the region moves along when it keeps its distance (here: the same
 * buffer).  The original is left untouched by work on the copy.
 */
#include "region/harness.h"

#define BUFFER 65536
#define FIRST_PART 40960
#define LIVE 64

static _Alignas(16) unsigned char original[BUFFER];
static _Alignas(16) unsigned char copy[BUFFER];
static _Alignas(16) unsigned char snapshot[BUFFER];

static void relocate(ward_fit_t fit)
{
    ward_region_t *region = ward_region_init(original, FIRST_PART, fit, 0);
    CHECK(region != NULL);
    CHECK(ward_region_add(region, original + FIRST_PART, BUFFER - FIRST_PART) == 0);
    size_t offsets[LIVE], lengths[LIVE];
    rng_t rng = rng_seeded(99);
    for (int i = 0; i < LIVE; i++) {
        lengths[i] = (size_t)rng_below(&rng, 1500) + 1;
        unsigned char *p = ward_region_malloc(region, lengths[i]);
        CHECK(p != NULL);
        memset(p, i + 1, lengths[i]);
        offsets[i] = (size_t)(p - original);
        if (i % 3 == 0) { /* holes, so that the copy has free blocks to merge with */
            ward_region_free(region, p);
            lengths[i] = 0;
        }
    }
    CHECK_REGION(region);

    memcpy(copy, original, BUFFER);
    memcpy(snapshot, original, BUFFER);
    ward_region_t *moved = (ward_region_t *)copy;
    CHECK_REGION(moved);
    for (int i = 0; i < LIVE; i++) {
        if (!lengths[i])
            continue;
        unsigned char *p = copy + offsets[i];
        CHECK(ward_region_usable_size(moved, p) >= lengths[i]);
        for (size_t j = 0; j < lengths[i]; j++)
            CHECK(p[j] == (unsigned char)(i + 1));
        if (i % 3 == 1) {
            ward_region_free(moved, p);
            lengths[i] = 0;
        } else {
            p = ward_region_realloc(moved, p, lengths[i] + 700);
            CHECK(p != NULL && p >= copy && p < copy + BUFFER);
            for (size_t j = 0; j < lengths[i]; j++)
                CHECK(p[j] == (unsigned char)(i + 1));
            offsets[i] = (size_t)(p - copy);
        }
        CHECK_REGION(moved);
    }
    for (int i = 0; i < 32; i++) {
        unsigned char *p = ward_region_malloc(moved, 200);
        if (p) {
            CHECK(p >= copy && p < copy + BUFFER);
            memset(p, 0x77, 200);
        }
        CHECK_REGION(moved);
    }
    CHECK(memcmp(original, snapshot, BUFFER) == 0); /* nothing reached back */
    printf("%-6s relocation ok\n", ward_fit_name(fit));
}

int main(void)
{
    for (int fit = 0; fit < WARD_FIT_COUNT_; fit++)
        relocate((ward_fit_t)fit);
    return 0;
}
