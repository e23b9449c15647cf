/*
 * page.h - a page: a run of slices serving one size class (or one large
 * block), with its free lists and its allocation bitmap.
 *
 * Free-list sharding: the owner pops `free` and pushes its own frees back
 * onto it with no lock and no atomic; other threads push onto the atomic
 * `thread_free` list, which the owner takes whole with one exchange and
 * merges ("collects").
 *
 * The allocation bitmap (out of band, in the segment's metadata slice) has
 * one bit per 16-byte granule of the segment; a block's bit is the bit of
 * its first granule, clear exactly while the block is on its page's free
 * list or was never handed out.  Finding it takes shifts and masks of the
 * address only, no division.
 *
 * A block freed by its owner goes to the heap's free cache (heap.h) with its
 * bit left set, and comes out of it again without the bitmap being touched:
 * a malloc/free pair that read-modify-wrote the bitmap word twice had each
 * access wait for the other's store (a fifth of a pair's time).  What tells
 * a cached block from a live one is its free tag (below), and the same tag
 * marks a block freed by another thread until the owner takes it back.  So
 * a double free is caught
 *   - at the second free, when the block is on its page's free list (bit
 *     clear) or in the freeing heap's cache or inbox (tag set: the heap
 *     looks there, and finds it);
 *   - otherwise when the block next leaves a cache or is taken back from
 *     another thread: a block leaving a cache must still carry its tag
 *     (and its bit, going back to its page), one taken back both too;
 *     either way the tag is cleared, so the other copy finds it gone.
 * A tag found on a live block by chance sends the free to the heap's
 * search, which finds nothing and lets it through: no false report.
 */
#ifndef WARD_PAGE_H
#define WARD_PAGE_H

#include <stdatomic.h>

#include "page/size_class.h"
#include "segment/layout.h"
#include "support/counters.h"
#include "support/fatal.h"
#include "support/secret.h"

/*
 * A free block's first word links it to the next free block.  It lives in
 * memory the program can write (an overflow out of the block before it, a
 * write after free), so it is stored encoded: rotated and mixed with a
 * per-process secret.  Every link is decoded and checked before it is
 * followed: on a page's lists the next block must lie in the same segment,
 * on an inbox in a segment ward owns.  A linear overflow changes the
 * link's lowest byte first, which decoding moves into the address's high
 * bits, so it is caught; a word of zeros or of program data decodes to an
 * address far away.  Builds with WARD_HARDEN=0 store plain pointers (for
 * measuring what the checks cost).
 *
 * The second word is the free tag (_ward_free_tag, secret.h) while the
 * block is in a free cache or on its way back from another thread, and 0
 * once it has left either (every class is at least 16 bytes); a block
 * carved fresh holds whatever its memory held.
 */
typedef struct ward_block_s {
    uintptr_t link; /* _ward_link_encode(next) */
    uintptr_t tag;
} ward_block_t;

#ifndef WARD_HARDEN
#define WARD_HARDEN 1
#endif


WARD_INLINE uintptr_t _ward_link_encode(const ward_block_t *next)
{
#if WARD_HARDEN
    uintptr_t x = (uintptr_t)next ^ _ward_secret;
    return (x << 17) | (x >> 47);
#else
    return (uintptr_t)next;
#endif
}

WARD_INLINE ward_block_t *_ward_link_decode(uintptr_t link)
{
#if WARD_HARDEN
    return (ward_block_t *)(((link >> 17) | (link << 47)) ^ _ward_secret);
#else
    return (ward_block_t *)link;
#endif
}

/* Reports a free list whose link at block b was overwritten, and stops. */
WARD_HIDDEN __attribute__((noreturn, cold)) void _ward_link_corrupt(const void *b, size_t block_size);

/* The block after b on a list whose blocks all lie in b's segment (a
 * page's free and thread_free lists); stops the program when b's link was
 * overwritten. */
WARD_INLINE ward_block_t *_ward_link_next_local(const ward_block_t *b, size_t block_size)
{
    ward_block_t *next = _ward_link_decode(b->link);
#if WARD_HARDEN
    if (WARD_UNLIKELY(((uintptr_t)next ^ (uintptr_t)b) >= WARD_SEGMENT_SIZE) && next != NULL)
        _ward_link_corrupt(b, block_size);
#else
    (void)block_size;
#endif
    return next;
}

/* Reports a block that left a free cache, or was taken back from another
 * thread, without its free tag: it was freed twice (the other copy took the
 * tag away) or written after its free.  Stops the program. */
WARD_HIDDEN __attribute__((noreturn, cold)) void _ward_free_tag_lost(const void *b, size_t block_size);

/* Marks b, a block going into a free cache or to another thread's heap. */
WARD_INLINE void _ward_block_tag(ward_block_t *b) { b->tag = _ward_free_tag; }

/* Clears the tag of b, a block leaving a free cache or taken back from
 * another thread; stops the program when the tag is not there. */
WARD_INLINE void _ward_block_untag(ward_block_t *b, size_t block_size)
{
    if (WARD_UNLIKELY(b->tag != _ward_free_tag))
        _ward_free_tag_lost(b, block_size);
    b->tag = 0;
}

typedef enum ward_page_kind_e {
    WARD_PAGE_UNUSED = 0, /* slices free, or interior slices of a run */
    WARD_PAGE_META,       /* slice 0: the segment's metadata */
    WARD_PAGE_SMALL,      /* blocks of one size class */
    WARD_PAGE_LARGE,      /* one block spanning the whole run */
} ward_page_kind_t;

struct ward_heap_s;

/*
 * Invariants of a small page owned by a heap (kind == WARD_PAGE_SMALL):
 *   block i lies at start + i * block_size, 0 <= i < capacity;
 *   blocks [reserved, capacity) have never been handed out (not touched);
 *   used == blocks not on `free`, all with their bit set: handed out,
 *          waiting in the owner's free cache (tagged), or freed by another
 *          thread and not yet taken back (tagged, on thread_free or an
 *          inbox);
 *   every block on `free` has its bit clear and index < reserved;
 *   the page is in its heap's full queue iff in_full.
 * The owning heap is kept in the segment header (owner[] in segment.h),
 * next to what every free reads.
 * Fields marked (owner) change only under the owning heap (its thread, or
 * its lock for user heaps); (any) fields are atomics that any thread uses.
 */
typedef struct ward_page_s {
    /* First cache line: what the owner's allocation touches. */
    _Alignas(64) ward_block_t *free;  /* (owner) blocks ready to hand out */
    uint32_t used;                    /* (owner) */
    uint32_t reserved;                /* (owner) */
    uint32_t capacity;
    uint32_t block_size;
    uint8_t class_index;
    uint8_t kind;                     /* ward_page_kind_t */
    uint8_t in_full;                  /* (owner) */
    uint8_t slice_count;              /* slices of the run, on the first slice's descriptor */
    uint8_t spare;                    /* (owner) empty and kept by its heap (heap.h) */
    char *start;                      /* first byte of the run */
    uint64_t *bits;                   /* the bitmap word of the page's first granule */
    /* Second cache line: what other threads write, so that their frees do
     * not take the owner's line away on every push. */
    _Alignas(64) _Atomic(ward_block_t *) thread_free; /* (any) frees by threads other than the owner */
    _Atomic(uint32_t) large_live;     /* (any) large pages: 1 while the block is allocated */
    struct ward_page_s *next, *prev;  /* (owner) in a heap queue, or the abandoned list */
} ward_page_t;

/* Index of the block at p, or UINT32_MAX when p is not the start of a block
 * (an interior pointer, or past the last block). */
WARD_INLINE uint32_t _ward_page_block_index(const ward_page_t *page, const void *p)
{
    return _ward_class_block_index(page->class_index, (uint64_t)((const char *)p - page->start));
}

/* Bitmap words per slice: one bit per 16-byte granule. */
#define WARD_BITMAP_WORDS_PER_SLICE (WARD_SLICE_SIZE / 16 / 64)

/* One bit of the allocation bitmap: the word that holds it, and its mask. */
typedef struct ward_bit_s {
    uint64_t *word;
    uint64_t mask;
} ward_bit_t;

/* The bit of the block at p.  Pages start on a slice boundary, so the
 * granule's bit position is the same counted from the page or from the
 * segment. */
WARD_INLINE ward_bit_t _ward_page_bit(const ward_page_t *page, const void *p)
{
    uint64_t granule = (uint64_t)((const char *)p - page->start) >> 4;
    return (ward_bit_t){&page->bits[granule >> 6], (uint64_t)1 << (granule & 63)};
}

/* Pops a block from a page with page->free != NULL and marks it handed out. */
WARD_INLINE void *_ward_page_pop(ward_page_t *page)
{
    ward_block_t *b = page->free;
    page->free = _ward_link_next_local(b, page->block_size);
    /* A copy of b still on its way back from another thread (a double free
     * after b went back to its page) then finds the tag gone when it is
     * taken back, instead of passing for a free of the block handed out. */
    b->tag = 0;
    page->used++;
    ward_bit_t bit = _ward_page_bit(page, b);
    *bit.word |= bit.mask;
    return b;
}

/* Sets up a run of slices as a small page of class c. */
WARD_HIDDEN void _ward_page_init_small(ward_page_t *page, unsigned c);

/* Carves more never-used blocks onto page->free; false if none are left. */
WARD_HIDDEN bool _ward_page_extend(ward_page_t *page);

/* Merges thread_free into free, checking each block.  Returns the number of
 * blocks taken back.  (owner) */
WARD_HIDDEN uint32_t _ward_page_collect(ward_page_t *page);

#endif
