/*
 * fit_quick.c - quick fit: one list per exact block size for the common
 * small sizes (32 B to 1 KiB in steps of 16), and one list for the rest
 * searched first fit.
 *
 * A small request takes the head of its own list, or else of the next
 * larger non-empty list (a bitmap finds it in one instruction), or else any
 * large block: O(1).  Only requests above 1 KiB search, and only among the
 * large blocks.  Free neighbours are merged at once as in every policy, so
 * the lists hold merged blocks.  malloc is O(1) below 1 KiB and
 * O(large free blocks) above; free is O(1).
 */
#include "frontend/region/region.h"

#define QUICK_LIMIT ((uint64_t)1024) /* largest block size with a list of its own */
#define QUICK_CLASSES ((QUICK_LIMIT - REGION_MIN_BLOCK) / REGION_GRANULE + 1)

_Static_assert(QUICK_CLASSES <= 64, "one bit per quick list");

/*
 * Invariants: list c holds exactly the free blocks of size
 * REGION_MIN_BLOCK + 16 c; bit c of nonempty is set iff list c is not
 * empty; large holds exactly the free blocks above QUICK_LIMIT.
 */
typedef struct quick_index_s {
    uint64_t nonempty;
    region_offset_t quick[QUICK_CLASSES];
    region_offset_t large;
} quick_index_t;

static quick_index_t *index_of(const ward_region_t *region) { return (quick_index_t *)region->index; }

static unsigned class_of(uint64_t size) { return (unsigned)((size - REGION_MIN_BLOCK) / REGION_GRANULE); }

static void quick_init(ward_region_t *region)
{
    quick_index_t *index = index_of(region);
    index->nonempty = 0;
    for (unsigned c = 0; c < QUICK_CLASSES; c++)
        index->quick[c] = 0;
    index->large = 0;
}

static region_block_t *quick_find(ward_region_t *region, uint64_t size)
{
    quick_index_t *index = index_of(region);
    if (size <= QUICK_LIMIT) {
        uint64_t candidates = index->nonempty & ~(((uint64_t)1 << class_of(size)) - 1);
        if (candidates)
            return region_block(region, index->quick[__builtin_ctzll(candidates)]);
        return index->large ? region_block(region, index->large) : NULL;
    }
    for (region_offset_t at = index->large; at;) {
        region_block_t *b = region_block(region, at);
        if (block_size(b) >= size)
            return b;
        at = b->next_free;
    }
    return NULL;
}

static region_offset_t quick_remove(ward_region_t *region, region_block_t *b)
{
    quick_index_t *index = index_of(region);
    uint64_t size = block_size(b);
    if (size > QUICK_LIMIT) {
        _ward_region_list_unlink(region, &index->large, b);
    } else {
        unsigned c = class_of(size);
        _ward_region_list_unlink(region, &index->quick[c], b);
        if (!index->quick[c])
            index->nonempty &= ~((uint64_t)1 << c);
    }
    return REGION_HINT_NONE;
}

static void quick_insert(ward_region_t *region, region_block_t *b, region_offset_t hint)
{
    (void)hint;
    quick_index_t *index = index_of(region);
    uint64_t size = block_size(b);
    if (size > QUICK_LIMIT) {
        _ward_region_list_push(region, &index->large, b);
    } else {
        unsigned c = class_of(size);
        _ward_region_list_push(region, &index->quick[c], b);
        index->nonempty |= (uint64_t)1 << c;
    }
}

static const char *quick_check(const ward_region_t *region, uint64_t *count)
{
    const quick_index_t *index = index_of(region);
    for (unsigned c = 0; c < QUICK_CLASSES; c++) {
        if (!index->quick[c] != !(index->nonempty & ((uint64_t)1 << c)))
            return "a quick-fit bitmap bit disagrees with its list";
        const char *problem = _ward_region_list_check(region, index->quick[c], false, region->free_blocks, count);
        if (problem)
            return problem;
        for (region_offset_t at = index->quick[c]; at; at = region_block(region, at)->next_free)
            if (class_of(block_size(region_block(region, at))) != c)
                return "a quick-fit list holds a block of another size";
    }
    if (index->nonempty >> QUICK_CLASSES)
        return "a quick-fit bitmap bit names no list";
    const char *problem = _ward_region_list_check(region, index->large, false, region->free_blocks, count);
    if (problem)
        return problem;
    for (region_offset_t at = index->large; at; at = region_block(region, at)->next_free)
        if (block_size(region_block(region, at)) <= QUICK_LIMIT)
            return "the large list of quick fit holds a small block";
    return NULL;
}

const region_list_ops_t _ward_fit_quick = {
    .index_size = sizeof(quick_index_t),
    .init = quick_init,
    .find = quick_find,
    .remove = quick_remove,
    .insert = quick_insert,
    .check = quick_check,
};
