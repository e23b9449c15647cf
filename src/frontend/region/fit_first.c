/*
 * fit_first.c - first fit: one free list in address order; an allocation
 * takes the lowest free block that is large enough.
 *
 * Keeping the list in address order costs a search on free (unless the
 * freed block merged with a free neighbour, whose place it takes) but packs
 * live blocks towards low addresses, which keeps large free blocks whole.
 * malloc and free are O(free blocks).
 */
#include "frontend/region/region.h"

typedef struct first_index_s {
    region_offset_t head; /* free blocks by ascending offset */
} first_index_t;

static first_index_t *index_of(const ward_region_t *region) { return (first_index_t *)region->index; }

static void first_init(ward_region_t *region) { index_of(region)->head = 0; }

static region_block_t *first_find(ward_region_t *region, uint64_t size)
{
    for (region_offset_t at = index_of(region)->head; at;) {
        region_block_t *b = region_block(region, at);
        if (block_size(b) >= size)
            return b;
        at = b->next_free;
    }
    return NULL;
}

static region_offset_t first_remove(ward_region_t *region, region_block_t *b)
{
    return _ward_region_list_unlink(region, &index_of(region)->head, b);
}

static void first_insert(ward_region_t *region, region_block_t *b, region_offset_t hint)
{
    _ward_region_list_insert_ordered(region, &index_of(region)->head, b, hint);
}

static const char *first_check(const ward_region_t *region, uint64_t *count)
{
    return _ward_region_list_check(region, index_of(region)->head, true, region->free_blocks, count);
}

const region_list_ops_t _ward_fit_first = {
    .index_size = sizeof(first_index_t),
    .init = first_init,
    .find = first_find,
    .remove = first_remove,
    .insert = first_insert,
    .check = first_check,
};
