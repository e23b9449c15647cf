/*
 * heap.h - heaps: one per thread for the default allocator, plus the heaps
 * users create with ward_heap_new().
 *
 * A thread heap is used only by its thread: its small malloc and the free
 * of its own blocks take no lock and no atomic read-modify-write.  A user
 * heap is shared: calls on it hold its lock, and every free of its blocks
 * goes through the pages' atomic thread_free lists.
 *
 * Remote frees: a thread freeing a block of another thread heap pushes it
 * onto the owner's inbox (a few atomic lists, its lanes, on one line per
 * heap); the owner takes each lane with one exchange on its slow path and
 * at its heartbeat.  Blocks of user heaps and of abandoned pages go straight onto the
 * page's thread_free, with the class's bit set in the owner's
 * remote_classes; the owner, when it runs out of blocks of that class,
 * sweeps its full pages of that class for them.
 *
 * Exiting threads: the heap's pages that still hold blocks are abandoned
 * (owner _ward_heap_abandoned) onto a per-class list; live heaps adopt them when they need a
 * page of that class.  Heap structs are never unmapped (they are reused), so
 * a remote freer that read a stale owner touches valid memory.
 */
#ifndef WARD_HEAP_H
#define WARD_HEAP_H

#include <pthread.h>

#include "budget/budget.h"
#include "page/page.h"
#include "segment/huge.h"
#include "segment/segment.h"
#include "ward.h"

typedef struct ward_page_queue_s {
    ward_page_t *head, *tail;
} ward_page_queue_t;

/*
 * Free caches, one per class: blocks the owner freed, handed out again
 * last-in first-out before any page is looked at.  Going into a cache a
 * block gets its free tag (page.h), and coming out it must still have it;
 * neither way touches the page descriptor or the allocation bitmap (a
 * cached block's bit stays set).  A block freed while it carries the tag
 * is looked for in the cache (and the inbox) before it is taken: a double
 * free of a cached block is caught at the second free.
 *
 * The newest block sits in `top`, apart from the stack below it: malloc
 * finds its block with one load of `top`, where a plain stack needs the
 * count first and then the slot it indexes.  Where a program frees a block
 * and soon asks for one of the same class again (the commonest pattern),
 * the next malloc's load is fed by the free's store of `top`, and only
 * once (on a core without memory renaming each store-to-load hand-off
 * costs several cycles: a malloc/free pair took about a fifth less time
 * on such a core).
 *
 * The cache keeps no count: it counts the blocks put in (`pushes`) and
 * taken out (`pops`), and holds the difference.  `pushes` is the class's
 * count of local frees, which a free had to add to a counter of its own
 * (on another line) when the cache kept a count; now the free's one store
 * to `pushes` does both (a churn of 1000 blocks 4 % faster).
 *
 *          top ──> newest block            (NULL: the cache is empty)
 *     items[n - 1] newer ... items[1] oldest      n = pushes - pops
 *     items[0]     NULL, always: popping the last stacked block moves NULL
 *                  into top with no test
 */
#define WARD_FREE_CACHE_MAX 60 /* blocks a cache holds: top and items[1 .. 59] */

/* Invariant: n = pushes - pops = blocks in the cache <= limit <=
 * WARD_FREE_CACHE_MAX; top == NULL iff n == 0; items[0] == NULL; top and
 * items[1 .. n - 1] are blocks of the class on pages the heap owns, bits
 * set, tagged, items[1] the oldest.  pushes counts every block the owner
 * freed into the cache (its local frees of the class, heap.h), pops every
 * block that left it, to a malloc or drained back to the pages.  limit is
 * 0 until the class's first free, which then takes the slow path and sets
 * it: a new heap writes nothing here, so the caches of classes a thread
 * never frees into never become resident.  512 bytes, so a class's cache
 * is found with a shift. */
typedef struct ward_free_cache_s {
    uint64_t pushes;
    uint64_t pops;
    void *top;
    uint32_t limit;
    uint32_t unused;
    void *items[WARD_FREE_CACHE_MAX];
} ward_free_cache_t;
_Static_assert(sizeof(ward_free_cache_t) == 512, "a free cache is 512 bytes");

/* The blocks the cache holds.  (owner: another thread's relaxed loads of
 * the two counters may pair a new pops with an old pushes; statistics use
 * the counters themselves, never their difference) */
WARD_INLINE uint32_t _ward_cache_count(const ward_free_cache_t *fc) { return (uint32_t)(fc->pushes - fc->pops); }

/* Cached block i, 1 <= i <= n = _ward_cache_count(fc): items[1 .. n - 1],
 * oldest first, then top. (owner) */
WARD_INLINE void *_ward_cache_block(const ward_free_cache_t *fc, uint32_t i, uint32_t n)
{
    return i < n ? fc->items[i] : fc->top;
}

/* Reports p, a block leaving a free cache without its tag, and stops.  It
 * is declared as returning a block (and hidden from gcc's analysis), so
 * that malloc's fast path jumps to it with no stack frame of its own. */
WARD_HIDDEN __attribute__((noipa, cold, returns_nonnull)) void *_ward_cache_tag_lost(void *p);

/* Takes the newest block, untagged and ready to hand out; NULL when the
 * cache is empty. (owner) */
WARD_INLINE void *_ward_cache_pop(ward_free_cache_t *fc)
{
    ward_block_t *b = fc->top;
    if (WARD_LIKELY(b != NULL)) {
        uint64_t pops = fc->pops;
        uint32_t n = (uint32_t)(fc->pushes - pops);
        if (WARD_UNLIKELY(b->tag != _ward_free_tag))
            return _ward_cache_tag_lost(b);
        b->tag = 0;
        ward_owned_store(fc->top, fc->items[n - 1]);
        ward_owned_store(fc->pops, pops + 1);
    }
    return b;
}

/* Caches p, already tagged: n = pushes - pops, which the caller has checked
 * is below the limit.  Returns the new count of pushes (the class's local
 * frees). (owner) */
WARD_INLINE uint64_t _ward_cache_push(ward_free_cache_t *fc, uint64_t pushes, uint32_t n, void *p)
{
    fc->items[n] = fc->top;
    ward_owned_store(fc->pushes, pushes + 1);
    ward_owned_store(fc->top, p);
    return pushes + 1;
}

#define WARD_HEARTBEAT 1024 /* a power of two */
#define WARD_SPARE_BYTES ((size_t)1 << 20)
#define WARD_INBOX_CLOSED ((ward_block_t *)1)
/* Lists an inbox is split into (a power of two; eight pointers fill its
 * line).  A freer picks one by the block's address; the owner walks them
 * side by side.  Walking one list is a chain of dependent loads, each of a
 * block another core wrote last (a cache miss): with eight lanes up to
 * eight of those misses are in flight at once, where one list served them
 * one after another (a producer/consumer pair spent half its time there). */
#define WARD_INBOX_LANES 8

typedef enum ward_heap_kind_e {
    WARD_HEAP_THREAD = 1,
    WARD_HEAP_SHARED, /* a user heap, or the heap of threads that are exiting */
} ward_heap_kind_t;

/*
 * Invariants (owner):
 *   direct[c] is avail[c].head, or &_ward_page_empty when avail[c] is empty;
 *   every page in avail[c] or full[c] is a small page of class c with
 *          heap == this, in_full set exactly for those in full[c];
 *   allocated_flushed is what this heap has added to the process-wide
 *          allocated counter: sum over classes of (mallocs - frees) * size
 *          at the last flush.
 *
 * Counters, per class (owner-written, read relaxed by statistics).  The
 * cache paths count with the cache's own pushes and pops, so that neither
 * side touches a counter elsewhere:
 *   local frees = cache[c].pushes (a local free goes to the cache);
 *   mallocs = page_pops + cache[c].pops - drained (what left the cache
 *          other than by draining was allocated);
 *   frees   = cache[c].pushes + other_frees.
 */
struct ward_heap_s {
    ward_page_t *direct[WARD_CLASS_COUNT];
    uint64_t other_frees[WARD_CLASS_COUNT];  /* frees of other heaps' blocks by this thread */
    uint64_t page_pops[WARD_CLASS_COUNT];    /* blocks handed out from pages */
    uint64_t drained[WARD_CLASS_COUNT];      /* blocks moved from the cache back to pages (counted in its pops too) */
    int64_t allocated_flushed;
    size_t grown_unflushed; /* (owner) bytes of pages taken from the segments since the last flush */
    /* Bit c: the heap has counted a block of class c (a page of class c
     * joined it, or it counted another heap's block of class c freed by its
     * thread).  Every per-class counter and cache of a clear bit is zero, so
     * what sums them visits only the set bits and leaves the caches of unused
     * classes untouched (non-resident). (owner-written, read relaxed) */
    uint64_t active_classes;
    ward_free_cache_t cache[WARD_CLASS_COUNT];
    ward_page_queue_t avail[WARD_CLASS_COUNT];
    ward_page_queue_t full[WARD_CLASS_COUNT];
    /* (owner) bytes of the empty pages kept in the avail queues (flag
     * `spare`) instead of going back to the segment, so that a program that
     * fills and empties pages in bursts does not take and return spans each
     * time; at most WARD_SPARE_BYTES. */
    size_t spare_bytes;
    /* (owner) bit c: avail[c] may hold spares (set when one is made; cleared
     * when a search finds none), so that a class that needs a page can take
     * another class's spare of the same size instead of fresh memory. */
    uint64_t spare_classes;
    pthread_mutex_t lock;                 /* shared heaps only */
    struct ward_heap_s *reg_next, *reg_prev; /* (registry lock) all live heaps */
    ward_heap_budget_t budget;            /* limits, OOM settings, direct reclaim state */
    /* Fields other threads use, each on a line of its own, last: a reused
     * struct is cleared up to here, and these are set atomically (a stale
     * remote freer may still read them). */
    /* (any) blocks of this heap freed by other threads (thread heaps only);
     * every lane WARD_INBOX_CLOSED once the thread has exited. */
    _Alignas(64) _Atomic(ward_block_t *) inbox[WARD_INBOX_LANES];
    _Alignas(64) _Atomic(uint64_t) remote_classes; /* (any) bit c: remote frees may wait in full[c] */
    _Atomic(uint32_t) kind;               /* ward_heap_kind_t */
    _Atomic(uint32_t) generation;         /* (any) bumped each time the struct is released */
};

_Static_assert(sizeof(((ward_heap_t *)0)->inbox) <= 64, "an inbox's lanes share one line");

/* The page of no blocks: direct[c] points here when a class has no page. */
WARD_HIDDEN extern ward_page_t _ward_page_empty;

/* The owner of abandoned pages.  A page in use always has an owner, never
 * NULL, so "owner == this thread's heap" needs no NULL test even for a
 * thread that has no heap yet. */
WARD_HIDDEN extern ward_heap_t _ward_heap_abandoned;

/* The calling thread's heap, NULL before its first allocation. */
WARD_HIDDEN extern __thread ward_heap_t *_ward_tls_heap __attribute__((tls_model("initial-exec")));

/* True when a malloc diagnostic (WARD_DEBUG, WARD_GUARD_SAMPLE, WARD_LEAKS)
 * was on when the process set up; set once, before the first block is
 * handed out, and never changed.  Then no thread heap is ever installed
 * (_ward_tls_heap stays NULL), so every inline fast path fails over to a
 * slow path, where one test sends the call to the diagnostic front end. */
WARD_HIDDEN extern bool _ward_diagnostics;

/* The heap the calling thread allocates from: its own, created on first use
 * (with the process set up on the very first call), or the shared fallback
 * heap for a thread that is past its exit.  NULL/ENOMEM if none can be made;
 * always NULL when _ward_diagnostics is set. */
WARD_HIDDEN ward_heap_t *_ward_heap_current(void);

/* Allocation from a heap the caller owns (its thread heap, or a shared heap
 * whose lock it holds).  alignment is a power of two; 0 means default. */
WARD_HIDDEN void *_ward_heap_alloc(ward_heap_t *heap, size_t n, size_t alignment);

/* The small-block slow path: class c had no free block in direct[c].  With
 * `stand_in`, when a limit refuses class c a page, a free block of a larger
 * class may serve instead: only for requests of class c's own sizes (not
 * for aligned ones, which may be far smaller than the class), so that
 * free_sized with the size asked for still accepts the block. */
WARD_HIDDEN void *_ward_heap_alloc_small_slow(ward_heap_t *heap, unsigned c, bool stand_in);

/* After the owner freed into a page that was full or became empty. */
WARD_HIDDEN void _ward_heap_page_freed(ward_heap_t *heap, ward_page_t *page);

/* Caches p (tagged) where the fast path does not: at the class's first free,
 * which sets the cache's limit, and when the cache is full, whose older half
 * then goes back to the pages.  Counts the free as the fast path does. */
WARD_HIDDEN void _ward_heap_cache_push_slow(ward_heap_t *heap, unsigned c, void *p);

/* The owner's free of p, a block of class c that carries the free tag:
 * _ward_heap_check_tagged, then into the cache. */
WARD_HIDDEN void _ward_heap_free_tagged(ward_heap_t *heap, unsigned c, void *p);

/* A block p of class c that carries the free tag, on a page of heap (its
 * thread's heap) and about to be freed (or used) by that thread: p is looked
 * for in the cache of class c and among the blocks other threads sent back.
 * Found, the program stops ("double free", naming operation); not found (a
 * live block whose data matches the tag by chance, or one another thread is
 * freeing at this moment), it returns.  In the second case the block ends
 * up both cached and, once taken back, on its page: the cache pop finds its
 * tag gone, or its page, emptying, finds it still cached
 * (page_check_uncached), whichever comes first. */
WARD_HIDDEN void _ward_heap_check_tagged(ward_heap_t *heap, unsigned c, void *p, const char *operation);

/* A block of class c: from the class's free cache, else from the page the
 * heap allocates from, else through the slow path. (owner) */
WARD_INLINE void *_ward_heap_alloc_class_or(ward_heap_t *h, unsigned c, bool stand_in)
{
    ward_free_cache_t *fc = &h->cache[c];
    /* Keeps fc in a register (see ward_free). */
    __asm__("" : "+r"(fc));
    void *p = _ward_cache_pop(fc);
    if (WARD_LIKELY(p != NULL))
        return p;
    ward_page_t *page = h->direct[c];
    if (WARD_LIKELY(page->free != NULL)) {
        p = _ward_page_pop(page);
        ward_owned_add(h->page_pops[c], 1);
        return p;
    }
    return _ward_heap_alloc_small_slow(h, c, stand_in);
}

/* A block of class c for a request of one of c's own sizes. (owner) */
WARD_INLINE void *_ward_heap_alloc_class(ward_heap_t *h, unsigned c) { return _ward_heap_alloc_class_or(h, c, true); }

/* A free by a thread that does not own the page; heap is the freeing
 * thread's heap (NULL if it has none). */
WARD_HIDDEN void _ward_free_remote(ward_heap_t *heap, ward_page_t *page, void *p);

/* Every WARD_HEARTBEAT frees of a class into its free cache the owner takes
 * its inbox and brings the process counters up to date, so that remote
 * frees (and double frees among them) are seen even by a thread that never
 * runs out of cached blocks. */
WARD_HIDDEN void _ward_heap_housekeeping(ward_heap_t *heap);

/* Frees p, a small block of page, which belongs to the shared heap h whose
 * lock the caller holds: straight onto the page, as its owner. */
WARD_HIDDEN void _ward_heap_free_locked(ward_heap_t *heap, ward_page_t *page, void *p);

/* Frees a large block (page kind WARD_PAGE_LARGE) from any thread. */
WARD_HIDDEN void _ward_free_large(ward_page_t *page, void *p, const char *operation);

/* Returns free memory: the caller's own heap's empty pages, abandoned pages
 * that emptied, with force every user heap's cached blocks and empty pages
 * (each under its lock), then the segments' dirty slices.  Other threads'
 * heaps are theirs alone: they return their empty pages on their own slow
 * paths and heartbeats.  The caller holds no ward lock. */
WARD_HIDDEN void _ward_heaps_collect(bool force);

/* Calls fn on every live user heap, under the registry lock (fn may take
 * the budget lock, nothing else). */
WARD_HIDDEN void _ward_heaps_each_user(void (*fn)(ward_heap_t *heap, void *ctx), void *ctx);

/* Fills allocated, the class counters and the counts of out from every
 * heap's counters. */
struct ward_stats_s;
WARD_HIDDEN void _ward_heaps_add_stats(struct ward_stats_s *out);

/* The core half of ward_check (heap_check.c): 0 or a ward_check_result_t
 * code, reported in one line on stderr. */
WARD_HIDDEN int _ward_heap_check(void);

/* Small pages serving class c in all heaps (for ward_check). */
WARD_HIDDEN int64_t _ward_heap_class_pages(unsigned c);

/* Sets the process up (options, the diagnostics' mode) if no call has yet;
 * allocates nothing. */
WARD_HIDDEN void _ward_core_start(void);

WARD_HIDDEN ward_heap_t *_ward_heap_new_shared(void);
WARD_HIDDEN void _ward_heap_destroy(ward_heap_t *heap);

#endif
