/*
 * fit_worst.c - worst fit: always the largest free block, found by scanning
 * one unordered free list.
 *
 * The idea is that the leftover of the largest block is the most likely to
 * be useful later; in practice it soon leaves no large block at all, which
 * the benchmark in docs/regions.md shows.  malloc is O(free blocks), free O(1).
 */
#include "frontend/region/region.h"

typedef struct worst_index_s {
    region_offset_t head; /* free blocks, most recently freed first */
} worst_index_t;

static worst_index_t *index_of(const ward_region_t *region) { return (worst_index_t *)region->index; }

static void worst_init(ward_region_t *region) { index_of(region)->head = 0; }

static region_block_t *worst_find(ward_region_t *region, uint64_t size)
{
    region_block_t *largest = NULL;
    for (region_offset_t at = index_of(region)->head; at;) {
        region_block_t *b = region_block(region, at);
        if (!largest || block_size(b) > block_size(largest))
            largest = b;
        at = b->next_free;
    }
    return largest && block_size(largest) >= size ? largest : NULL;
}

static region_offset_t worst_remove(ward_region_t *region, region_block_t *b)
{
    _ward_region_list_unlink(region, &index_of(region)->head, b);
    return REGION_HINT_NONE;
}

static void worst_insert(ward_region_t *region, region_block_t *b, region_offset_t hint)
{
    (void)hint;
    _ward_region_list_push(region, &index_of(region)->head, b);
}

static const char *worst_check(const ward_region_t *region, uint64_t *count)
{
    return _ward_region_list_check(region, index_of(region)->head, false, region->free_blocks, count);
}

const region_list_ops_t _ward_fit_worst = {
    .index_size = sizeof(worst_index_t),
    .init = worst_init,
    .find = worst_find,
    .remove = worst_remove,
    .insert = worst_insert,
    .check = worst_check,
};
