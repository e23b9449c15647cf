/*
 * fit_worst.c - worst fit: always the largest free block, found by scanning
 * one unordered free list.
 *
 * The idea is that the leftover of the largest block is the most likely to
 * be useful later; in practice it soon leaves no large block at all, which
 * the benchmark in docs/regions.md shows.  malloc is O(free blocks), free O(1).
 */
#include "frontend/region/region.h"

static region_block_t *worst_find(ward_region_t *region, uint64_t size)
{
    region_block_t *largest = NULL;
    for (region_offset_t at = _ward_unordered_head(region); at;) {
        region_block_t *b = region_block(region, at);
        if (!largest || block_size(b) > block_size(largest))
            largest = b;
        at = b->next_free;
    }
    return largest && block_size(largest) >= size ? largest : NULL;
}

const region_list_ops_t _ward_fit_worst = {
    .index_size = sizeof(region_unordered_index_t),
    .init = _ward_unordered_init,
    .find = worst_find,
    .remove = _ward_unordered_remove,
    .insert = _ward_unordered_insert,
    .check = _ward_unordered_check,
};
