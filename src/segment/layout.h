/*
 * layout.h - the geometry of a segment.
 *
 *   segment (WARD_SEGMENT_SIZE = 4 MiB, aligned to its size)
 *   +----------+----------+----------+-----+----------+
 *   | slice 0  | slice 1  | slice 2  | ... | slice 63 |   64 KiB each
 *   +----------+----------+----------+-----+----------+
 *     metadata   user pages: a page is a run of 1..63 slices
 *
 * Slice 0 holds the segment header, one page descriptor per slice and the
 * allocation bitmaps, away from user data: an overflow out of a user block
 * cannot reach them (the header sits after a guard page, see below).  A small page (one size class) takes the slices
 * _ward_class_slices[] gives its class; a large block takes a run of its own.
 */
#ifndef WARD_LAYOUT_H
#define WARD_LAYOUT_H

#include "segment/segment_map.h"

#define WARD_SLICE_SHIFT 16
#define WARD_SLICE_SIZE ((size_t)1 << WARD_SLICE_SHIFT)
#define WARD_SLICES_PER_SEGMENT (WARD_SEGMENT_SIZE / WARD_SLICE_SIZE)
/* Largest block served by a run of slices; above it a block gets its own mapping. */
#define WARD_LARGE_MAX_SLICES 32
#define WARD_LARGE_MAX (WARD_LARGE_MAX_SLICES * WARD_SLICE_SIZE)
/*
 * The segment header starts WARD_SEGMENT_GUARD bytes into slice 0; the bytes
 * before it are made inaccessible (where the OS page is that small), so an
 * overflow running off the end of the mapping below a segment faults
 * instead of rewriting the header.
 */
#if !defined(WARD_HARDEN) || WARD_HARDEN
#define WARD_SEGMENT_GUARD ((size_t)4096)
#else
#define WARD_SEGMENT_GUARD ((size_t)0)
#endif

/* True when reading a word at p cannot fault because of ward: p lies in a
 * huge mapping, or in a sliced segment past its metadata slice (whose
 * first page is the guard).  Decommitted memory reads as zeros. */
WARD_INLINE bool _ward_segmap_readable(const void *p)
{
    unsigned byte = _ward_segmap_byte(p);
    return byte != 0 && (byte != WARD_SEGMAP_SLICED || ((uintptr_t)p & (WARD_SEGMENT_SIZE - 1)) >= WARD_SLICE_SIZE);
}

/* Most blocks a page can hold: a one-slice page of 16-byte blocks. */
#define WARD_PAGE_MAX_BLOCKS (WARD_SLICE_SIZE / 16)

_Static_assert(WARD_SLICES_PER_SEGMENT == 64, "one 64-bit mask covers a segment's slices");
_Static_assert(WARD_LARGE_MAX_SLICES < WARD_SLICES_PER_SEGMENT, "a large run fits in a segment");

#endif
