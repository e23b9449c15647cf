/*
 * segment.h - segments: 4 MiB aligned chunks from the OS cut into 64 KiB
 * slices; runs of slices ("spans") are the pages of the layer above.
 *
 * All segments are process-wide and shared by every heap.  Taking and
 * returning spans happens under one lock; it is off the fast path (once per
 * page, not per block).  Free slices stay committed ("dirty") for the decay
 * delay (WARD_DECAY_MS) so that bursts reuse them without page faults, then
 * are decommitted; a segment with no slice in use and none dirty is
 * unmapped.
 */
#ifndef WARD_SEGMENT_H
#define WARD_SEGMENT_H

#include "page/page.h"
#include "segment/layout.h"

typedef enum ward_segment_kind_e {
    WARD_SEGMENT_SLICED = 0x5e61,  /* cut into slices (this header) */
    WARD_SEGMENT_HUGE = 0x4b6e,    /* one block with a mapping of its own (huge.h) */
} ward_segment_kind_t;

/*
 * Invariants (under the segment lock):
 *   bit i of free_mask  <=> slice i belongs to no span (bit 0 never set);
 *   dirty_mask is a subset of free_mask: free slices that may be resident;
 *   dirty_since is the time the oldest dirty slice became dirty;
 *   span_start[i] is the first slice of the span holding slice i
 *          (for slices in use); pages[span_start[i]] describes that span;
 *   the segment is on the available list iff free_mask != 0.
 */
typedef struct ward_segment_s {
    uint32_t kind;                    /* WARD_SEGMENT_SLICED: the first field of every segment */
    uint32_t in_use_slices;
    uint64_t free_mask;
    uint64_t dirty_mask;
    uint64_t dirty_since;
    struct ward_segment_s *next, *prev; /* the list of all sliced segments */
    uint8_t span_start[WARD_SLICES_PER_SEGMENT];
    ward_page_t pages[WARD_SLICES_PER_SEGMENT];
    uint64_t bits[WARD_SLICES_PER_SEGMENT][WARD_PAGE_MAX_BLOCKS / 64];
} ward_segment_t;

_Static_assert(sizeof(ward_segment_t) <= WARD_SLICE_SIZE, "segment metadata fits in slice 0");

/* The descriptor of the span holding p, inside segment seg. */
WARD_INLINE ward_page_t *_ward_segment_page_of(ward_segment_t *seg, const void *p)
{
    size_t slice = (size_t)((const char *)p - (const char *)seg) >> WARD_SLICE_SHIFT;
    return &seg->pages[seg->span_start[slice]];
}

WARD_INLINE ward_segment_t *_ward_segment_of_page(const ward_page_t *page)
{
    return (ward_segment_t *)WARD_ALIGN_DOWN((uintptr_t)page, WARD_SEGMENT_SIZE);
}

WARD_HIDDEN void _ward_segments_init(void);

/* A span of `slices` slices (1 .. WARD_SLICES_PER_SEGMENT-1): its descriptor
 * with start, slice_count and bits set, kind WARD_PAGE_UNUSED.  NULL/ENOMEM
 * when the OS refuses a new segment. */
WARD_HIDDEN ward_page_t *_ward_span_alloc(unsigned slices);

/* Returns a span; its slices become dirty and are decommitted after the
 * decay delay. */
WARD_HIDDEN void _ward_span_free(ward_page_t *page);

/* Decommits dirty slices whose delay has passed (all of them when force)
 * and unmaps empty segments. */
WARD_HIDDEN void _ward_segments_purge(bool force);

/* Calls fn on every span in use, under the segment lock (fn must not take
 * spans or free them; it may collect them in a list to free afterwards). */
WARD_HIDDEN void _ward_segments_each_span(void (*fn)(ward_page_t *page, void *ctx), void *ctx);

/* For fork: hold the lock across fork, then release (parent) or reset (child). */
WARD_HIDDEN void _ward_segments_lock(void);
WARD_HIDDEN void _ward_segments_unlock(void);
WARD_HIDDEN void _ward_segments_reset_lock(void);

#endif
