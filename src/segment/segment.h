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

/* slice_class[] values besides the size classes 0 .. WARD_CLASS_COUNT-1. */
#define WARD_SLICE_LARGE 0xfe /* part of a large block's run */
#define WARD_SLICE_NONE 0xff  /* free, metadata, or a span not yet typed */

/* A sliced segment and a huge mapping are told apart by the segment map,
 * not by reading the header; `kind` is kept for walks and checks. */
/*
 * Invariants:
 *   (segment lock) bit i of free_mask <=> slice i belongs to no span
 *          (bit 0, the metadata slice, is never set);
 *   (segment lock) dirty_mask is a subset of free_mask: free slices that
 *          may be resident; dirty_time[i] is when slice i became dirty;
 *   slice_first[i] is the first slice of the span holding slice i, and
 *          pages[slice_first[i]] describes that span;
 *   slice_class[i] is the size class of the span holding slice i, or
 *          WARD_SLICE_LARGE / WARD_SLICE_NONE; it is set before the span's
 *          first block is handed out and reset before the span is freed;
 *   owner[i] is the heap owning the span holding slice i (the same for
 *          every slice of a span): never NULL while the span is in use
 *          (_ward_heap_abandoned when its thread exited), NULL when free.
 * slice_first, slice_class and owner are all a free needs: they sit
 * together in a few cache lines, apart from the page descriptors.
 */
typedef struct ward_segment_s {
    uint8_t slice_class[WARD_SLICES_PER_SEGMENT]; /* first: one cache line a free reads */
    uint8_t slice_first[WARD_SLICES_PER_SEGMENT];
    _Atomic(struct ward_heap_s *) owner[WARD_SLICES_PER_SEGMENT];
    uint32_t kind;                    /* WARD_SEGMENT_SLICED */
    uint32_t in_use_slices;
    uint64_t free_mask;
    uint64_t dirty_mask;
    uint64_t dirty_time[WARD_SLICES_PER_SEGMENT]; /* (segment lock) */
    struct ward_segment_s *next, *prev; /* the list of all sliced segments */
    ward_page_t pages[WARD_SLICES_PER_SEGMENT];
    uint64_t bits[WARD_SLICES_PER_SEGMENT * WARD_BITMAP_WORDS_PER_SLICE]; /* see page.h */
} ward_segment_t;

_Static_assert(WARD_SEGMENT_GUARD + sizeof(ward_segment_t) <= WARD_SLICE_SIZE, "segment metadata fits in slice 0");

/* The header of the sliced segment holding p (p must lie in one). */
WARD_INLINE ward_segment_t *_ward_segment_of(const void *p)
{
    return (ward_segment_t *)(WARD_ALIGN_DOWN((uintptr_t)p, WARD_SEGMENT_SIZE) + WARD_SEGMENT_GUARD);
}

/* The first byte of seg's mapping (slice 0). */
WARD_INLINE char *_ward_segment_base(const ward_segment_t *seg)
{
    return (char *)seg - WARD_SEGMENT_GUARD;
}

WARD_INLINE size_t _ward_slice_index(const ward_segment_t *seg, const void *p)
{
    (void)seg;
    return ((uintptr_t)p & (WARD_SEGMENT_SIZE - 1)) >> WARD_SLICE_SHIFT;
}

/* The allocation bit of the block at p as an index into its segment's bits
 * (bit i of the bitmap is bit i % 64 of word i / 64).  The free's fast path
 * tests and clears it through a register copy of its word, which compiles
 * to bt and btr on x86-64 instead of building a mask. */
WARD_INLINE uintptr_t _ward_segment_bit_index(const void *p)
{
    return ((uintptr_t)p & (WARD_SEGMENT_SIZE - 1)) >> 4;
}

/* The allocation bit of the block at p. */
WARD_INLINE ward_bit_t _ward_segment_bit(ward_segment_t *seg, const void *p)
{
    uintptr_t granule = _ward_segment_bit_index(p);
    return (ward_bit_t){&seg->bits[granule >> 6], (uint64_t)1 << (granule & 63)};
}

/* The descriptor of the span holding p, inside segment seg. */
WARD_INLINE ward_page_t *_ward_segment_page_of(ward_segment_t *seg, const void *p)
{
    return &seg->pages[seg->slice_first[_ward_slice_index(seg, p)]];
}

WARD_INLINE ward_segment_t *_ward_segment_of_page(const ward_page_t *page)
{
    return _ward_segment_of(page);
}

WARD_INLINE size_t _ward_page_slice(const ward_page_t *page)
{
    return (size_t)(page - _ward_segment_of_page(page)->pages);
}

WARD_INLINE struct ward_heap_s *_ward_page_owner(const ward_page_t *page, memory_order order)
{
    return atomic_load_explicit(&_ward_segment_of_page(page)->owner[_ward_page_slice(page)], order);
}

WARD_INLINE void _ward_page_set_owner(ward_page_t *page, struct ward_heap_s *heap, memory_order order)
{
    ward_segment_t *seg = _ward_segment_of_page(page);
    size_t first = _ward_page_slice(page);
    for (size_t i = 0; i < page->slice_count; i++)
        atomic_store_explicit(&seg->owner[first + i], heap, order);
}

/* Sets slice_class for every slice of the page's span. */
WARD_INLINE void _ward_page_set_slice_class(ward_page_t *page, uint8_t value)
{
    ward_segment_t *seg = _ward_segment_of_page(page);
    size_t first = _ward_page_slice(page);
    for (size_t i = 0; i < page->slice_count; i++)
        seg->slice_class[first + i] = value;
}

WARD_HIDDEN void _ward_segments_init(void);

/* A span of `slices` slices (1 .. WARD_SLICES_PER_SEGMENT-1) for heap: its
 * descriptor with start, slice_count and bits set, kind WARD_PAGE_UNUSED.
 * NULL/ENOMEM when the OS refuses a new segment or a limit refuses the
 * memory (after decommitting the free slices; the budget layer then knows
 * the shortfall). */
WARD_HIDDEN ward_page_t *_ward_span_alloc(unsigned slices, struct ward_heap_s *heap);

/* Returns a span (and its bytes from its owner heap's budget); its slices become dirty and are decommitted after the
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
