/*
 * size_class.h - size classes for small blocks.
 *
 * 16-byte steps up to 512 bytes, then four classes per doubling up to
 * WARD_SMALL_MAX (128 KiB).  Below 512 bytes, where most allocations of
 * most programs fall, a block wastes at most 15 bytes (7.5 on average: less
 * than a boundary-tag allocator's header plus rounding); above, at most
 * 20 % of the block.  Every class size is a multiple of 16, and every power
 * of two up to 128 KiB is a class, so a power-of-two alignment up to the
 * page size can be served by picking a class that is a multiple of it.
 *
 *   class  0..31    16, 32, 48, ..., 512
 *   class 32..35    640, 768, 896, 1024
 *   class 36..39    1280, 1536, 1792, 2048   (and so on, four per doubling)
 *   class 60..63    81920, 98304, 114688, 131072
 */
#ifndef WARD_SIZE_CLASS_H
#define WARD_SIZE_CLASS_H

#include "support/internal.h"

#define WARD_CLASS_COUNT 64
#define WARD_SMALL_MAX ((size_t)128 * 1024)
#define WARD_MIN_ALIGN 16

/* Bytes of each class's blocks. */
WARD_HIDDEN extern const uint32_t _ward_class_size[WARD_CLASS_COUNT];
/* Slices (WARD_SLICE_SIZE each) of a page serving each class. */
WARD_HIDDEN extern const uint8_t _ward_class_slices[WARD_CLASS_COUNT];

/*
 * Division by the class size without a divide: with
 *   reciprocal = floor(2^40 / size) + 1
 * and an offset inside a page (below 2^19), product = offset * reciprocal
 * gives offset / size == product >> 40, and offset is a multiple of size
 * exactly when the low 40 bits of product are below 2^22 (for a multiple
 * they are below the offset; otherwise at least 2^40 / size >= 2^23).
 * One multiply both finds a block's index and rejects interior pointers.
 */
#define WARD_RECIPROCAL_SHIFT 40
#define WARD_RECIPROCAL_EXACT ((uint64_t)1 << 22)
WARD_HIDDEN extern uint64_t _ward_class_reciprocal[WARD_CLASS_COUNT];
/* Blocks per page of each class. */
WARD_HIDDEN extern uint32_t _ward_class_capacity[WARD_CLASS_COUNT];
WARD_HIDDEN void _ward_size_classes_init(void);

/* The index of the block at `offset` bytes into a page of class c, or
 * UINT32_MAX when offset is not the start of one of its blocks. */
WARD_INLINE uint32_t _ward_class_block_index(unsigned c, uint64_t offset)
{
    uint64_t product = offset * _ward_class_reciprocal[c];
    uint64_t index = product >> WARD_RECIPROCAL_SHIFT;
    if (WARD_UNLIKELY((product & (((uint64_t)1 << WARD_RECIPROCAL_SHIFT) - 1)) >= WARD_RECIPROCAL_EXACT ||
                      index >= _ward_class_capacity[c]))
        return UINT32_MAX;
    return (uint32_t)index;
}

/* Class index for 1 <= n <= WARD_SMALL_MAX (n = 0 is served as 1), by
 * the rule above. */
WARD_INLINE unsigned _ward_size_class_by_rule(size_t n)
{
    if (n <= 512)
        return n == 0 ? 0 : (unsigned)((n - 1) >> 4);
    unsigned top = 63u - (unsigned)__builtin_clzll((unsigned long long)(n - 1)); /* 9 .. 16 */
    return 32 + (top - 9) * 4 + (unsigned)(((n - 1) >> (top - 2)) & 3);
}

/* Sizes up to this take their class from a table (one load). */
#define WARD_CLASS_TABLE_MAX 1024
/* _ward_class_of[(n + 15) / 16] is the class of n: every class size is a
 * multiple of 16, so all n in (16(k-1), 16k] share the class of 16k. */
WARD_HIDDEN extern uint8_t _ward_class_of[WARD_CLASS_TABLE_MAX / 16 + 1];

/* The smallest request of class c's own sizes (what malloc of it maps to
 * class c; 0 for class 0). */
WARD_INLINE size_t _ward_class_least_request(unsigned c) { return c == 0 ? 0 : _ward_class_size[c - 1] + 1; }

/* The smallest size free_sized accepts for a block of class c: a request of
 * the class, or half the block (a realloc that shrinks a block to half of it
 * or more keeps it). */
WARD_INLINE size_t _ward_class_least_named(unsigned c)
{
    size_t half = ((size_t)_ward_class_size[c] + 1) / 2, request = _ward_class_least_request(c);
    return request < half ? request : half;
}

/* The class of a request of n <= WARD_CLASS_TABLE_MAX bytes: one load. */
WARD_INLINE unsigned _ward_size_class_by_table(size_t n) { return _ward_class_of[(n + 15) >> 4]; }

WARD_INLINE unsigned _ward_size_class(size_t n)
{
    if (WARD_LIKELY(n <= WARD_CLASS_TABLE_MAX))
        return _ward_size_class_by_table(n);
    return _ward_size_class_by_rule(n);
}

#endif
