/*
 * fit_best.c - best fit: the smallest free block that is large enough, found
 * by scanning one unordered free list (an exact fit ends the scan early).
 *
 * Best fit leaves the smallest leftovers and, in the literature's traces,
 * the least fragmentation of the simple policies; its cost is a full scan
 * per allocation.  malloc is O(free blocks), free O(1).
 */
#include "frontend/region/region.h"

static region_block_t *best_find(ward_region_t *region, uint64_t size)
{
    region_block_t *best = NULL;
    for (region_offset_t at = _ward_unordered_head(region); at;) {
        region_block_t *b = region_block(region, at);
        uint64_t have = block_size(b);
        if (have >= size && (!best || have < block_size(best))) {
            best = b;
            if (have == size)
                break;
        }
        at = b->next_free;
    }
    return best;
}

const region_list_ops_t _ward_fit_best = {
    .index_size = sizeof(region_unordered_index_t),
    .init = _ward_unordered_init,
    .find = best_find,
    .remove = _ward_unordered_remove,
    .insert = _ward_unordered_insert,
    .check = _ward_unordered_check,
};
