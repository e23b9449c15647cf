/*
 * fit_tlsf.c - two-level segregated fit (after Masmano, Ripoll, Crespo and
 * Real, ECRTS 2004): free blocks are filed by size in classes that split
 * every power of two into 16 equal ranges, and two levels of bitmaps find a
 * non-empty class of large enough blocks in a constant number of steps.
 *
 *   size  <  256:  first level 0, second level size / 16 (exact classes)
 *   size  >= 256:  first level f - 7 where 2^f <= size < 2^(f+1),
 *                  second level = the 4 bits of size below its top bit
 *
 * A request is rounded up to the next class boundary so that any block of
 * the class found is large enough ("good fit": the waste of the search is
 * below 1/16 of the size, and the block is split exactly anyway).  Only when
 * no such class has a block are the first few blocks of the request's own
 * class tried, a bounded look that keeps large requests from failing while
 * a block that fits exists.  malloc and free are O(1).
 */
#include "frontend/region/region.h"

#define SL_BITS 4
#define SL_COUNT (1u << SL_BITS)
#define LINEAR_LIMIT ((uint64_t)SL_COUNT * REGION_GRANULE) /* 256: below it classes are exact */
#define LINEAR_SHIFT 8                                      /* log2(LINEAR_LIMIT) */
/* Blocks are below REGION_MAX_AREA = 2^40, so f <= 39. */
#define FL_COUNT (40 - LINEAR_SHIFT + 1)
#define OWN_CLASS_LOOK 8 /* blocks of the request's own class tried when rounding finds none */

_Static_assert(REGION_MAX_AREA == (uint64_t)1 << 40, "FL_COUNT covers every block size");

/*
 * Invariants: heads[fl][sl] lists exactly the free blocks of class (fl, sl);
 * bit sl of second[fl] is set iff that list is not empty; bit fl of first
 * is set iff second[fl] is not zero.
 */
typedef struct tlsf_index_s {
    uint64_t first;
    uint16_t second[FL_COUNT];
    region_offset_t heads[FL_COUNT][SL_COUNT];
} tlsf_index_t;

static tlsf_index_t *index_of(const ward_region_t *region) { return (tlsf_index_t *)region->index; }

static unsigned log2_floor(uint64_t x) { return 63u - (unsigned)__builtin_clzll(x); }

static void class_of(uint64_t size, unsigned *fl, unsigned *sl)
{
    if (size < LINEAR_LIMIT) {
        *fl = 0;
        *sl = (unsigned)(size / REGION_GRANULE);
        return;
    }
    unsigned f = log2_floor(size);
    *fl = f - LINEAR_SHIFT + 1;
    *sl = (unsigned)(size >> (f - SL_BITS)) & (SL_COUNT - 1);
}

static void tlsf_init(ward_region_t *region)
{
    tlsf_index_t *index = index_of(region);
    index->first = 0;
    for (unsigned fl = 0; fl < FL_COUNT; fl++) {
        index->second[fl] = 0;
        for (unsigned sl = 0; sl < SL_COUNT; sl++)
            index->heads[fl][sl] = 0;
    }
}

/* The head of the first non-empty class at or above (fl, sl), or 0. */
static region_offset_t first_at_or_above(const tlsf_index_t *index, unsigned fl, unsigned sl)
{
    if (fl >= FL_COUNT)
        return 0;
    uint32_t seconds = index->second[fl] & (~0u << sl);
    if (!seconds) {
        uint64_t firsts = fl + 1 < 64 ? index->first & (~(uint64_t)0 << (fl + 1)) : 0;
        if (!firsts)
            return 0;
        fl = (unsigned)__builtin_ctzll(firsts);
        seconds = index->second[fl];
    }
    return index->heads[fl][__builtin_ctz(seconds)];
}

static region_block_t *tlsf_find(ward_region_t *region, uint64_t size)
{
    tlsf_index_t *index = index_of(region);
    uint64_t rounded = size;
    if (size >= LINEAR_LIMIT)
        rounded += ((uint64_t)1 << (log2_floor(size) - SL_BITS)) - 1;
    unsigned fl, sl;
    class_of(rounded, &fl, &sl);
    region_offset_t at = first_at_or_above(index, fl, sl);
    if (at)
        return region_block(region, at);

    class_of(size, &fl, &sl);
    at = fl < FL_COUNT ? index->heads[fl][sl] : 0;
    for (unsigned look = 0; at && look < OWN_CLASS_LOOK; look++) {
        region_block_t *b = region_block(region, at);
        if (block_size(b) >= size)
            return b;
        at = b->next_free;
    }
    return NULL;
}

static region_offset_t tlsf_remove(ward_region_t *region, region_block_t *b)
{
    tlsf_index_t *index = index_of(region);
    unsigned fl, sl;
    class_of(block_size(b), &fl, &sl);
    _ward_region_list_unlink(region, &index->heads[fl][sl], b);
    if (!index->heads[fl][sl]) {
        index->second[fl] &= (uint16_t)~(1u << sl);
        if (!index->second[fl])
            index->first &= ~((uint64_t)1 << fl);
    }
    return REGION_HINT_NONE;
}

static void tlsf_insert(ward_region_t *region, region_block_t *b, region_offset_t hint)
{
    (void)hint;
    tlsf_index_t *index = index_of(region);
    unsigned fl, sl;
    class_of(block_size(b), &fl, &sl);
    _ward_region_list_push(region, &index->heads[fl][sl], b);
    index->second[fl] |= (uint16_t)(1u << sl);
    index->first |= (uint64_t)1 << fl;
}

static const char *tlsf_check(const ward_region_t *region, uint64_t *count)
{
    const tlsf_index_t *index = index_of(region);
    if (index->first >> FL_COUNT)
        return "a TLSF first-level bit names no level";
    for (unsigned fl = 0; fl < FL_COUNT; fl++) {
        if (!index->second[fl] != !(index->first & ((uint64_t)1 << fl)))
            return "a TLSF first-level bit disagrees with its second level";
        for (unsigned sl = 0; sl < SL_COUNT; sl++) {
            region_offset_t head = index->heads[fl][sl];
            if (!head != !(index->second[fl] & (1u << sl)))
                return "a TLSF second-level bit disagrees with its list";
            const char *problem = _ward_region_list_check(region, head, false, region->free_blocks, count);
            if (problem)
                return problem;
            for (region_offset_t at = head; at; at = region_block(region, at)->next_free) {
                unsigned block_fl, block_sl;
                class_of(block_size(region_block(region, at)), &block_fl, &block_sl);
                if (block_fl != fl || block_sl != sl)
                    return "a TLSF list holds a block of another class";
            }
        }
    }
    return NULL;
}

const region_list_ops_t _ward_fit_tlsf = {
    .index_size = sizeof(tlsf_index_t),
    .init = tlsf_init,
    .find = tlsf_find,
    .remove = tlsf_remove,
    .insert = tlsf_insert,
    .check = tlsf_check,
};
