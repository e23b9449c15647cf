/*
 * fit_next.c - next fit: first fit over the same address-ordered list, but
 * each search starts where the previous one stopped (a roving pointer) and
 * wraps around once.
 *
 * Searches are shorter than first fit's because the small leftovers near
 * the start are not scanned again and again; the price is that allocations
 * spread over the whole region, which tends to break up large free blocks.
 * malloc and free are O(free blocks).
 */
#include "frontend/region/region.h"

/*
 * Invariant: rover is 0 or the offset of a free block in the list.  When a
 * search takes a block, resume_at is where its leftover will start; the
 * search after it begins there, as the method prescribes.
 */
typedef struct next_index_s {
    region_offset_t head;      /* free blocks by ascending offset */
    region_offset_t rover;     /* where the next search starts; 0 for the head */
    region_offset_t resume_at; /* offset of the leftover of the last hit, if it comes */
} next_index_t;

static next_index_t *index_of(const ward_region_t *region) { return (next_index_t *)region->index; }

static void next_init(ward_region_t *region) { *index_of(region) = (next_index_t){0, 0, 0}; }

/* The first block of at least size bytes in [from, until), or NULL. */
static region_block_t *scan(ward_region_t *region, region_offset_t from, region_offset_t until, uint64_t size)
{
    for (region_offset_t at = from; at && at != until;) {
        region_block_t *b = region_block(region, at);
        if (block_size(b) >= size)
            return b;
        at = b->next_free;
    }
    return NULL;
}

static region_block_t *next_find(ward_region_t *region, uint64_t size)
{
    next_index_t *index = index_of(region);
    region_offset_t start = index->rover ? index->rover : index->head;
    region_block_t *b = scan(region, start, 0, size);
    if (!b && start != index->head)
        b = scan(region, index->head, start, size);
    if (b)
        index->resume_at = region_offset(region, b) + size;
    return b;
}

static region_offset_t next_remove(ward_region_t *region, region_block_t *b)
{
    next_index_t *index = index_of(region);
    if (index->rover == region_offset(region, b))
        index->rover = b->next_free;
    return _ward_region_list_unlink(region, &index->head, b);
}

static void next_insert(ward_region_t *region, region_block_t *b, region_offset_t hint)
{
    next_index_t *index = index_of(region);
    _ward_region_list_insert_ordered(region, &index->head, b, hint);
    if (region_offset(region, b) == index->resume_at) {
        index->rover = index->resume_at;
        index->resume_at = 0;
    }
}

static const char *next_check(const ward_region_t *region, uint64_t *count)
{
    const next_index_t *index = index_of(region);
    const char *problem = _ward_region_list_check(region, index->head, true, region->free_blocks, count);
    if (problem)
        return problem;
    if (index->rover) {
        region_offset_t at = index->head;
        while (at && at != index->rover)
            at = region_block(region, at)->next_free;
        if (!at)
            return "the next-fit rover is not on the free list";
    }
    return NULL;
}

const region_list_ops_t _ward_fit_next = {
    .index_size = sizeof(next_index_t),
    .init = next_init,
    .find = next_find,
    .remove = next_remove,
    .insert = next_insert,
    .check = next_check,
};
