/*
 * segment_map.h - "does ward own this address, and where is its segment?"
 * in O(1), for every free.
 *
 * A two-level table, like a small page table, over the 48-bit user address
 * space in units of WARD_SEGMENT_SIZE (4 MiB):
 *
 *   address bits  47 ........ 38 | 37 ........ 22 | 21 ... 0
 *                 top index (10) | leaf index (16)| offset in unit
 *
 * Each leaf is 64 KiB of bytes, mapped on first use and never freed.  The
 * byte for a unit says where the segment holding it starts:
 *   0      ward does not own the unit;
 *   k>=1   the segment starts k-1 units below (k = 255: at least 254 below,
 *          look again from there; only mappings over 1 GiB need that).
 * A unit is marked before its segment is handed out and cleared before its
 * memory is returned, so a lookup never finds a segment that is unmapped.
 */
#ifndef WARD_SEGMENT_MAP_H
#define WARD_SEGMENT_MAP_H

#include <stdatomic.h>

#include "support/internal.h"

#define WARD_SEGMENT_SHIFT 22
#define WARD_SEGMENT_SIZE ((size_t)1 << WARD_SEGMENT_SHIFT)
#define WARD_SEGMAP_ADDRESS_BITS 48
#define WARD_SEGMAP_LEAF_BITS 16
#define WARD_SEGMAP_TOP_BITS (WARD_SEGMAP_ADDRESS_BITS - WARD_SEGMENT_SHIFT - WARD_SEGMAP_LEAF_BITS)

typedef _Atomic(unsigned char) ward_segmap_leaf_t[(size_t)1 << WARD_SEGMAP_LEAF_BITS];
WARD_HIDDEN extern _Atomic(ward_segmap_leaf_t *) _ward_segmap_top[(size_t)1 << WARD_SEGMAP_TOP_BITS];

/* Marks [start, start+size) (start segment-aligned) as one ward segment.
 * Returns false when a leaf could not be mapped (ENOMEM). */
WARD_HIDDEN bool _ward_segmap_add(void *start, size_t size);
/* Forgets [start, start+size). */
WARD_HIDDEN void _ward_segmap_remove(void *start, size_t size);

/* The start of the ward segment holding p, or NULL when ward does not own p. */
WARD_INLINE void *_ward_segmap_lookup(const void *p)
{
    uintptr_t unit = (uintptr_t)p >> WARD_SEGMENT_SHIFT;
    if (WARD_UNLIKELY(unit >> (WARD_SEGMAP_LEAF_BITS + WARD_SEGMAP_TOP_BITS)))
        return NULL;
    for (;;) {
        ward_segmap_leaf_t *leaf =
            atomic_load_explicit(&_ward_segmap_top[unit >> WARD_SEGMAP_LEAF_BITS], memory_order_acquire);
        if (WARD_UNLIKELY(leaf == NULL))
            return NULL;
        unsigned back = atomic_load_explicit(&(*leaf)[unit & (((uintptr_t)1 << WARD_SEGMAP_LEAF_BITS) - 1)],
                                             memory_order_relaxed);
        if (WARD_LIKELY(back == 1))
            return (void *)(unit << WARD_SEGMENT_SHIFT);
        if (back == 0)
            return NULL;
        unit -= back - 1;
        if (back < 255)
            return (void *)(unit << WARD_SEGMENT_SHIFT);
    }
}

#endif
