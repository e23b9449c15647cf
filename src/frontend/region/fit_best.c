/*
 * fit_best.c - best fit: the smallest free block that is large enough, found
 * by scanning one unordered free list (an exact fit ends the scan early).
 *
 * Best fit leaves the smallest leftovers and, in the literature's traces,
 * the least fragmentation of the simple policies; its cost is a full scan
 * per allocation.  malloc is O(free blocks), free O(1).
 */
#include "frontend/region/region.h"

typedef struct best_index_s {
    region_offset_t head; /* free blocks, most recently freed first */
} best_index_t;

static best_index_t *index_of(const ward_region_t *region) { return (best_index_t *)region->index; }

static void best_init(ward_region_t *region) { index_of(region)->head = 0; }

static region_block_t *best_find(ward_region_t *region, uint64_t size)
{
    region_block_t *best = NULL;
    for (region_offset_t at = index_of(region)->head; at;) {
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

static region_offset_t best_remove(ward_region_t *region, region_block_t *b)
{
    _ward_region_list_unlink(region, &index_of(region)->head, b);
    return REGION_HINT_NONE;
}

static void best_insert(ward_region_t *region, region_block_t *b, region_offset_t hint)
{
    (void)hint;
    _ward_region_list_push(region, &index_of(region)->head, b);
}

static const char *best_check(const ward_region_t *region, uint64_t *count)
{
    return _ward_region_list_check(region, index_of(region)->head, false, region->free_blocks, count);
}

const region_list_ops_t _ward_fit_best = {
    .index_size = sizeof(best_index_t),
    .init = best_init,
    .find = best_find,
    .remove = best_remove,
    .insert = best_insert,
    .check = best_check,
};
