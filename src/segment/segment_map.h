/*
 * segment_map.h - "does ward own this address, and where is its segment?"
 * in one load, for every free.
 *
 * A flat table with one byte per WARD_SEGMENT_SIZE (4 MiB) unit of the
 * 48-bit user address space: 2^26 bytes (64 MiB) of zero-filled BSS.  Only
 * the table pages that cover memory ward has mapped are ever written, so the
 * table costs a few KiB of RSS; reading an untouched part maps the kernel's
 * shared zero page.  (A two-level table saves address space but costs a
 * second dependent load on every free.)
 *
 * The byte for a unit:
 *   0                      ward does not own the unit;
 *   WARD_SEGMAP_SLICED     the unit is a sliced segment (header at its start);
 *   2 + k (k = 0 .. 252)   a huge mapping starting k units below;
 *   WARD_SEGMAP_FARTHER    a huge mapping starting at least 253 units below:
 *                          look again 253 units lower.
 * A unit is marked before its memory is handed out and cleared before its
 * memory is returned, so a lookup never finds a segment that is unmapped.
 */
#ifndef WARD_SEGMENT_MAP_H
#define WARD_SEGMENT_MAP_H

#include <stdatomic.h>

#include "support/internal.h"

#define WARD_SEGMENT_SHIFT 22
#define WARD_SEGMENT_SIZE ((size_t)1 << WARD_SEGMENT_SHIFT)
#define WARD_SEGMAP_ADDRESS_BITS 48
#define WARD_SEGMAP_UNITS ((size_t)1 << (WARD_SEGMAP_ADDRESS_BITS - WARD_SEGMENT_SHIFT))
#define WARD_SEGMAP_SLICED 1
#define WARD_SEGMAP_HUGE_BASE 2
#define WARD_SEGMAP_FARTHER 255

WARD_HIDDEN extern _Atomic(unsigned char) _ward_segmap[WARD_SEGMAP_UNITS];

/* The map byte of the unit holding p (0 for addresses beyond 48 bits). */
WARD_INLINE unsigned _ward_segmap_byte(const void *p)
{
    uintptr_t unit = (uintptr_t)p >> WARD_SEGMENT_SHIFT;
    if (WARD_UNLIKELY(unit >= WARD_SEGMAP_UNITS))
        return 0;
    return atomic_load_explicit(&_ward_segmap[unit], memory_order_relaxed);
}

/* Marks [start, start+size) (start segment-aligned): as a sliced segment
 * when sliced, else as one huge mapping.  Returns false beyond 48 bits. */
WARD_HIDDEN bool _ward_segmap_add(void *start, size_t size, bool sliced);
/* Forgets [start, start+size). */
WARD_HIDDEN void _ward_segmap_remove(void *start, size_t size);

/* The start of the ward segment or huge mapping holding p, or NULL. */
WARD_HIDDEN void *_ward_segmap_lookup(const void *p);

#endif
