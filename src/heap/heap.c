/*
 * heap.c - thread heaps and shared heaps: the small-block slow path, page
 * queues, remote frees, abandonment and adoption, large blocks, process
 * start-up and fork.
 */
#include "heap/heap.h"

#include <errno.h>
#include <string.h>

#include "os/os.h"
#include "support/options.h"
#include "ward.h"

ward_page_t _ward_page_empty; /* free == NULL: every pop from it takes the slow path */
ward_heap_t _ward_heap_abandoned;
__thread ward_heap_t *_ward_tls_heap __attribute__((tls_model("initial-exec")));
/* Set once the thread's heap was handed back at thread exit; later
 * allocations of that thread (other keys' destructors) use the fallback. */
static __thread bool tls_exited __attribute__((tls_model("initial-exec")));

/* ---- registry of live heaps, and the pool their structs come from ---- */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static ward_heap_t *registry;        /* (registry_lock) */
static ward_heap_t *heap_pool;       /* (registry_lock) structs to reuse, linked by reg_next */
static char *heap_chunk, *heap_chunk_end;
static ward_heap_t *fallback_heap;   /* (registry_lock) for threads past their exit */

/* ---- pages left by exited threads ---- */

static pthread_mutex_t abandoned_lock = PTHREAD_MUTEX_INITIALIZER;
static ward_page_queue_t abandoned[WARD_CLASS_COUNT];   /* (abandoned_lock) */
static _Atomic(uint32_t) abandoned_count[WARD_CLASS_COUNT];
static _Atomic(int64_t) class_pages[WARD_CLASS_COUNT];  /* pages serving each class, all heaps */

bool _ward_diagnostics;

static pthread_key_t thread_key;
static pthread_once_t core_once = PTHREAD_ONCE_INIT;
static pthread_once_t late_once = PTHREAD_ONCE_INIT;

/* ------------------------------------------------------------------ queues */

static void queue_push_front(ward_page_queue_t *q, ward_page_t *page)
{
    page->prev = NULL;
    page->next = q->head;
    if (q->head)
        q->head->prev = page;
    else
        q->tail = page;
    q->head = page;
}

static void queue_push_back(ward_page_queue_t *q, ward_page_t *page)
{
    page->next = NULL;
    page->prev = q->tail;
    if (q->tail)
        q->tail->next = page;
    else
        q->head = page;
    q->tail = page;
}

static void queue_remove(ward_page_queue_t *q, ward_page_t *page)
{
    if (page->prev)
        page->prev->next = page->next;
    else
        q->head = page->next;
    if (page->next)
        page->next->prev = page->prev;
    else
        q->tail = page->prev;
    page->next = page->prev = NULL;
}

static size_t page_bytes(const ward_page_t *page) { return (size_t)page->slice_count * WARD_SLICE_SIZE; }
static size_t page_bytes_of_class(unsigned c) { return (size_t)_ward_class_slices[c] * WARD_SLICE_SIZE; }

static void unspare(ward_heap_t *h, ward_page_t *page)
{
    if (page->spare) {
        page->spare = 0;
        h->spare_bytes -= page_bytes(page);
    }
}

/* The head of avail[c] becomes the page allocations come from (and stops
 * being a spare). */
static void direct_update(ward_heap_t *h, unsigned c)
{
    ward_page_t *head = h->avail[c].head;
    if (head)
        unspare(h, head);
    h->direct[c] = head ? head : &_ward_page_empty;
}

static void collect_inbox(ward_heap_t *h);

/* -------------------------------------------------------------- counting */

/* See the counters in heap.h. */
static uint64_t heap_mallocs(const ward_heap_t *h, unsigned c)
{
    return ward_owned_get(h->page_pops[c]) + ward_owned_get(h->cache[c].pops) - ward_owned_get(h->drained[c]);
}

static uint64_t heap_frees(const ward_heap_t *h, unsigned c)
{
    return ward_owned_get(h->cache[c].pushes) + ward_owned_get(h->other_frees[c]);
}

/* Bytes the heap's blocks hold now, from its class counters. */
static int64_t heap_allocated(const ward_heap_t *h)
{
    int64_t bytes = 0;
    for (uint64_t active = ward_owned_get(h->active_classes); active; active &= active - 1) {
        unsigned c = (unsigned)__builtin_ctzll(active);
        bytes += (int64_t)(heap_mallocs(h, c) - heap_frees(h, c)) * _ward_class_size[c];
    }
    return bytes;
}

/* Records that class c may have nonzero counters in h. (owner) */
static inline void class_activate(ward_heap_t *h, unsigned c)
{
    uint64_t active = h->active_classes;
    if (!(active & ((uint64_t)1 << c)))
        ward_owned_store(h->active_classes, active | ((uint64_t)1 << c));
}

/* Brings the process-wide allocated counter (and its peak) up to date with
 * this heap; done on slow paths (the heartbeat, and page_new once the heap
 * has grown by a sixteenth or by 1 MiB), so the peak may miss what one heap
 * allocates between two of them. */
static void flush_allocated(ward_heap_t *h)
{
    h->grown_unflushed = 0;
    int64_t now = heap_allocated(h);
    int64_t delta = now - h->allocated_flushed;
    if (delta) {
        __atomic_store_n(&h->allocated_flushed, now, __ATOMIC_RELAXED);
        _ward_allocated_add(delta);
    }
}

/* ------------------------------------------------------------ free cache */

void *_ward_cache_tag_lost(void *p)
{
    ward_segment_t *seg = _ward_segment_of(p);
    unsigned c = seg->slice_class[_ward_slice_index(seg, p)];
    _ward_free_tag_lost(p, c < WARD_CLASS_COUNT ? _ward_class_size[c] : 0);
}

/* Returns p, a block from class c's cache, to its page.  It must still be
 * tagged, with its bit set: else it also went back to the page (or out to
 * the program) another way, having been freed twice. */
static void cache_return(ward_heap_t *h, void *p)
{
    ward_segment_t *seg = _ward_segment_of(p);
    ward_page_t *page = _ward_segment_page_of(seg, p);
    ward_block_t *b = p;
    ward_bit_t bit = _ward_segment_bit(seg, p);
    if (WARD_UNLIKELY(!(*bit.word & bit.mask)))
        _ward_fatal("free: double free", p, page->block_size);
    _ward_block_untag(b, page->block_size);
    *bit.word &= ~bit.mask;
    b->link = _ward_link_encode(page->free);
    page->free = b;
    page->used--;
    if (page->in_full || page->used == 0)
        _ward_heap_page_freed(h, page);
}

/* Returns the `count` oldest blocks of class c's cache to their pages, 1 <=
 * count <= the blocks it holds (n): items[1 .. count] when count < n, else
 * items[1 .. n - 1] and top. */
static void cache_drain(ward_heap_t *h, unsigned c, uint32_t count)
{
    ward_free_cache_t *fc = &h->cache[c];
    uint32_t n = _ward_cache_count(fc);
    ward_assert(count >= 1 && count <= n);
    uint32_t stacked = count < n ? count : n - 1;
    /* The blocks leave the cache before they go back to their pages: a page
     * that empties checks that none of its blocks is still cached
     * (page_check_uncached). */
    void *leaving[WARD_FREE_CACHE_MAX];
    memcpy(leaving, fc->items + 1, stacked * sizeof(void *));
    memmove(fc->items + 1, fc->items + 1 + stacked, (n - 1 - stacked) * sizeof(void *));
    if (count == n) {
        leaving[stacked] = fc->top;
        ward_owned_store(fc->top, NULL);
    }
    /* pops, then drained: a reader that sees only the first counts the
     * drained blocks as allocated for a moment, never fewer blocks than are
     * allocated (which could take a class's bytes below zero). */
    ward_owned_store(fc->pops, fc->pops + count);
    ward_owned_add(h->drained[c], count);
    for (uint32_t i = 0; i < count; i++)
        cache_return(h, leaving[i]);
}

/* About 256 KiB of blocks per class, at least 2 and at most the array:
 * enough to absorb churn, little enough that blocks parked in one class's
 * cache do not hold pages other classes could use.  With 16 KiB, classes
 * above 4 KiB cached 2 to 4 blocks and sent most of a program's traffic in
 * those sizes through the pages; with 64 KiB, a 32 KiB block's free still
 * went through its page every other time (256 KiB: churn of 8 B .. 64 KiB
 * 5 % faster; two threads replacing blocks of 8 B .. 32 KiB 12 % faster,
 * with 18 % less RSS; the other lines' peak RSS within 0.3 %; but 61 MiB
 * instead of 45 MiB left resident once 450 MiB of 1 .. 16 KiB blocks were
 * freed in random order, see docs/design.md).  Classes up to 4 KiB get the
 * whole array. */
static uint32_t cache_limit(unsigned c)
{
    uint32_t limit = (uint32_t)(256 * WARD_KiB / _ward_class_size[c]);
    return limit < 2 ? 2 : limit > WARD_FREE_CACHE_MAX ? WARD_FREE_CACHE_MAX : limit;
}

void _ward_heap_cache_push_slow(ward_heap_t *h, unsigned c, void *p)
{
    ward_free_cache_t *fc = &h->cache[c];
    uint32_t n = _ward_cache_count(fc);
    if (fc->limit == 0) {
        fc->limit = cache_limit(c); /* the class's first free into the cache */
    } else if (n >= fc->limit) {
        cache_drain(h, c, n - n / 2);
        n /= 2;
    }
    if ((_ward_cache_push(fc, fc->pushes, n, p) & (WARD_HEARTBEAT - 1)) == 0)
        _ward_heap_housekeeping(h);
}

static void cache_drain_all(ward_heap_t *h)
{
    for (uint64_t active = h->active_classes; active; active &= active - 1) {
        unsigned c = (unsigned)__builtin_ctzll(active);
        uint32_t n = _ward_cache_count(&h->cache[c]);
        if (n)
            cache_drain(h, c, n);
    }
}

/* The first block of fc that lies in [start, end), or NULL. */
static const void *cache_find(const ward_free_cache_t *fc, const char *start, const char *end)
{
    uint32_t n = _ward_cache_count(fc);
    for (uint32_t i = 1; i <= n; i++) {
        const char *p = _ward_cache_block(fc, i, n);
        if (p >= start && p < end)
            return p;
    }
    return NULL;
}

/* --------------------------------------------------------- page lifecycle */

/*
 * page, of h, is empty and about to leave its class (kept as a spare that
 * any class may take, or given back to its segment).  A cached block counts
 * as in use, so an empty page has none in h's free cache, unless a block
 * was freed twice and both copies came back: one into the cache, one taken
 * back from another thread after the owner had reused and freed the block
 * again (which gave it back its tag).  That copy must not outlive its page,
 * whose next class would see it handed out over its own blocks: it is a
 * double free, and the program stops here.  (At most WARD_FREE_CACHE_MAX
 * pointers, once per page that empties.)
 */
static void page_check_uncached(ward_heap_t *h, ward_page_t *page)
{
    const char *end = page->start + (size_t)page->capacity * page->block_size;
    const void *p = cache_find(&h->cache[page->class_index], page->start, end);
    if (WARD_UNLIKELY(p != NULL))
        _ward_fatal("free: double free", p, page->block_size);
}

static void page_retire(ward_heap_t *h, ward_page_t *page)
{
    unsigned c = page->class_index;
    page_check_uncached(h, page);
    unspare(h, page);
    queue_remove(page->in_full ? &h->full[c] : &h->avail[c], page);
    direct_update(h, c);
    atomic_fetch_sub_explicit(&class_pages[c], 1, memory_order_relaxed);
    _ward_span_free(page);
}

/* A spare page of another class than c with `slices` slices, taken out of
 * its queue, or NULL.  Its memory has been touched already, so serving c
 * from it instead of from fresh slices keeps the resident set where it is
 * when a program moves from one size to another.  A class keeps its first
 * spare: a class still in use would otherwise take fresh memory for it
 * next time and touch all of it again, while c may need little of the
 * page it took.  Only the first SPARE_LOOK pages of each queue are looked
 * at, so that a class with thousands of pages costs no more than one with
 * a few (a spare further back is simply not found). */
#define SPARE_LOOK 8
static ward_page_t *spare_take(ward_heap_t *h, unsigned c, unsigned slices)
{
    for (uint64_t classes = h->spare_classes & ~((uint64_t)1 << c); classes; classes &= classes - 1) {
        unsigned k = (unsigned)__builtin_ctzll(classes);
        if (_ward_class_slices[k] != slices)
            continue;
        unsigned spares = 0, looked = 0;
        for (ward_page_t *page = h->avail[k].head; page && looked < SPARE_LOOK; page = page->next, looked++) {
            if (!page->spare || ++spares < 2)
                continue;
            /* Empty (a spare), so nothing waits on its thread_free: a block
             * there would still count in used. */
            unspare(h, page);
            queue_remove(&h->avail[k], page);
            direct_update(h, k);
            atomic_fetch_sub_explicit(&class_pages[k], 1, memory_order_relaxed);
            return page;
        }
        if (spares == 0)
            h->spare_classes &= ~((uint64_t)1 << k);
    }
    return NULL;
}

#define FLUSH_GROWTH_MAX ((size_t)1 << 20)
static ward_page_t *page_new(ward_heap_t *h, unsigned c)
{
    ward_page_t *page = h->spare_bytes ? spare_take(h, c, _ward_class_slices[c]) : NULL;
    if (page == NULL) {
        /* The heap grows: once its new pages since the last flush exceed a
         * sixteenth of the bytes its blocks held then, or FLUSH_GROWTH_MAX,
         * bring the process counters (and the peaks) up to date.  Summing
         * the counters of every class on each new page cost pages of one
         * to three blocks 4 % more instructions; the cap keeps what the
         * peaks may miss to a few pages per heap. */
        h->grown_unflushed += page_bytes_of_class(c);
        size_t due = (size_t)(h->allocated_flushed > 0 ? h->allocated_flushed : 0) / 16;
        if (h->grown_unflushed > (due < FLUSH_GROWTH_MAX ? due : FLUSH_GROWTH_MAX))
            flush_allocated(h);
        page = _ward_span_alloc(_ward_class_slices[c], h);
    }
    if (page == NULL)
        return NULL;
    _ward_page_init_small(page, c);
    _ward_page_set_slice_class(page, (uint8_t)c);
    _ward_page_set_owner(page, h, memory_order_release);
    _ward_page_extend(page);
    atomic_fetch_add_explicit(&class_pages[c], 1, memory_order_relaxed);
    class_activate(h, c);
    queue_push_front(&h->avail[c], page);
    return page;
}

/* Takes pages of class c that exited threads left; returns one with free
 * blocks (now the head of avail[c]) or NULL. */
static ward_page_t *page_adopt(ward_heap_t *h, unsigned c)
{
    for (int tries = 0; tries < 8; tries++) {
        if (atomic_load_explicit(&abandoned_count[c], memory_order_relaxed) == 0)
            return NULL;
        pthread_mutex_lock(&abandoned_lock);
        ward_page_t *page = abandoned[c].head;
        if (page) {
            queue_remove(&abandoned[c], page);
            atomic_fetch_sub_explicit(&abandoned_count[c], 1, memory_order_relaxed);
        }
        pthread_mutex_unlock(&abandoned_lock);
        if (page == NULL)
            return NULL;
        ward_counter_add(pages_abandoned, -1);
        /* seq_cst pairs with the remote freer's load of heap: a free pushed
         * before that load saw NULL is seen by the collect below. */
        _ward_page_set_owner(page, h, memory_order_seq_cst);
        class_activate(h, c);
        _ward_page_collect(page);
        if (page->free || _ward_page_extend(page)) {
            page->in_full = 0;
            queue_push_front(&h->avail[c], page);
            return page;
        }
        page->in_full = 1;
        queue_push_back(&h->full[c], page);
    }
    return NULL;
}

/* Collects remote frees waiting in the full pages of class c. */
static void sweep_full(ward_heap_t *h, unsigned c)
{
    for (ward_page_t *page = h->full[c].head, *next; page; page = next) {
        next = page->next;
        if (atomic_load_explicit(&page->thread_free, memory_order_relaxed) == NULL)
            continue;
        _ward_page_collect(page);
        if (page->used == 0) {
            page_retire(h, page);
        } else if (page->free) {
            queue_remove(&h->full[c], page);
            page->in_full = 0;
            queue_push_back(&h->avail[c], page);
        }
    }
}

void _ward_heap_housekeeping(ward_heap_t *h)
{
    collect_inbox(h);
    flush_allocated(h);
}

/* Whether a block of class k may serve a request of one of class c's own
 * sizes (k > c, the request not aligned beyond the default): the smallest
 * such request is still a size free_sized accepts for a block of class k.
 * Every class is a multiple of the default alignment. */
static bool stands_in(unsigned k, unsigned c)
{
    return _ward_class_least_named(k) <= _ward_class_least_request(c);
}

/* A limit refused class c a new page: a free block of a larger class (up
 * to twice the size) that the heap already has serves instead, so that a
 * program whose pages are all partly used keeps running within its
 * budget.  The block belongs to its own class when freed. (owner) */
static void *alloc_small_larger(ward_heap_t *h, unsigned c)
{
    for (unsigned k = c + 1; k < WARD_CLASS_COUNT && _ward_class_size[k] <= 2 * _ward_class_size[c]; k++) {
        if (!stands_in(k, c))
            continue;
        void *p = _ward_cache_pop(&h->cache[k]);
        if (p)
            return p;
        ward_page_t *page = h->direct[k];
        if (page->free == NULL && page != &_ward_page_empty) {
            _ward_page_collect(page);
            if (page->free == NULL)
                _ward_page_extend(page);
        }
        if (page->free) {
            ward_owned_add(h->page_pops[k], 1);
            return _ward_page_pop(page);
        }
    }
    return NULL;
}

static void *alloc_small_slow_once(ward_heap_t *h, unsigned c, bool stand_in)
{
    /* Entered with the class's free cache empty; the inbox refills pages,
     * not caches. */
    collect_inbox(h);
    uint64_t bit = (uint64_t)1 << c;
    if (atomic_load_explicit(&h->remote_classes, memory_order_seq_cst) & bit) {
        atomic_fetch_and_explicit(&h->remote_classes, ~bit, memory_order_seq_cst);
        sweep_full(h, c);
    }
    ward_page_t *page;
    while ((page = h->avail[c].head) != NULL) {
        if (page->free == NULL)
            _ward_page_collect(page);
        if (page->free == NULL)
            _ward_page_extend(page);
        if (page->free)
            break;
        queue_remove(&h->avail[c], page);
        page->in_full = 1;
        queue_push_back(&h->full[c], page);
    }
    /* Only thread heaps adopt: a user heap's destroy would free the
     * abandoned page's blocks, which the program got from malloc. */
    if (page == NULL && h->kind == WARD_HEAP_THREAD)
        page = page_adopt(h, c);
    if (page == NULL)
        page = page_new(h, c);
    direct_update(h, c);
    if (page == NULL) {
        ward_heap_t *t = _ward_tls_heap;
        if (stand_in && t && t->budget.shortfall) {
            void *p = alloc_small_larger(h, c);
            if (p) {
                t->budget.shortfall = 0;
                return p;
            }
        }
        errno = ENOMEM;
        return NULL;
    }
    void *p = _ward_page_pop(page);
    ward_owned_add(h->page_pops[c], 1);
    return p;
}

/* A block of class c after a reclaim pass: callbacks may have filled the
 * class's free cache. (owner) */
static void *alloc_small_again(ward_heap_t *h, unsigned c, bool stand_in)
{
    void *p = _ward_cache_pop(&h->cache[c]);
    if (p == NULL)
        return alloc_small_slow_once(h, c, stand_in);
    return p;
}

void *_ward_heap_alloc_small_slow(ward_heap_t *h, unsigned c, bool stand_in)
{
    void *p = alloc_small_slow_once(h, c, stand_in);
    /* A thread heap's slow path holds no lock: a limit that refused a page
     * may reclaim (and call the program back) here, then try again.  A
     * user heap's caller holds its lock and reclaims after releasing it. */
    if (atomic_load_explicit(&h->kind, memory_order_relaxed) == WARD_HEAP_THREAD) {
        for (unsigned attempt = 0; p == NULL && _ward_budget_retry(attempt); attempt++)
            p = alloc_small_again(h, c, stand_in);
        _ward_budget_safe_point();
    }
    return p;
}

void _ward_heap_page_freed(ward_heap_t *h, ward_page_t *page)
{
    unsigned c = page->class_index;
    if (page->in_full) {
        queue_remove(&h->full[c], page);
        page->in_full = 0;
        queue_push_back(&h->avail[c], page);
        direct_update(h, c);
    }
    /* An empty page other than the one being allocated from stays as a
     * spare while the heap's spares fit in WARD_SPARE_BYTES; otherwise it
     * goes back to the segment (and is decommitted after the decay delay). */
    if (page->used == 0 && page != h->direct[c] && !page->spare) {
        if (h->spare_bytes + page_bytes(page) <= WARD_SPARE_BYTES) {
            page_check_uncached(h, page);
            page->spare = 1;
            h->spare_bytes += page_bytes(page);
            h->spare_classes |= (uint64_t)1 << c;
        } else {
            page_retire(h, page);
        }
    }
}

/* Pushes the chain first .. last (linked through next) onto the page's
 * thread_free with one atomic exchange, and tells the owner. */
static void push_remote_chain(ward_page_t *page, ward_block_t *first, ward_block_t *last)
{
    ward_block_t *head = atomic_load_explicit(&page->thread_free, memory_order_relaxed);
    do {
        last->link = _ward_link_encode(head);
    } while (!atomic_compare_exchange_weak_explicit(&page->thread_free, &head, first, memory_order_seq_cst,
                                                    memory_order_relaxed));
    /* Tell the owner, unless it already knows; the seq_cst accesses pair
     * with the owner's clear-then-collect in the slow path.  (For an
     * abandoned page the owner is _ward_heap_abandoned, which nobody reads:
     * the adopter collects.) */
    ward_heap_t *owner = _ward_page_owner(page, memory_order_seq_cst);
    /* Once the chain is pushed the owner (or a ward_collect of abandoned
     * pages) may take it back and free the page: no owner is left to tell. */
    if (owner == NULL)
        return;
    uint64_t bit = (uint64_t)1 << page->class_index;
    if (!(atomic_load_explicit(&owner->remote_classes, memory_order_seq_cst) & bit))
        atomic_fetch_or_explicit(&owner->remote_classes, bit, memory_order_seq_cst);
}

/* The page descriptor of a small block. */
static ward_page_t *page_of_block(void *p)
{
    ward_segment_t *seg = _ward_segment_of(p);
    return _ward_segment_page_of(seg, p);
}

/*
 * The block after b on an inbox, whose blocks lie in any segment of the
 * heap: stops the program when b's link was overwritten.
 */
static ward_block_t *inbox_next(const ward_block_t *b)
{
    ward_block_t *next = _ward_link_decode(b->link);
#if WARD_HARDEN
    if (WARD_UNLIKELY(next != NULL && _ward_segmap_byte(next) != WARD_SEGMAP_SLICED))
        _ward_link_corrupt(b, 0);
#endif
    return next;
}

/* Hands each block of a chain to its own page's thread_free. */
static void forward_to_pages(ward_block_t *b)
{
    while (b) {
        ward_block_t *next = inbox_next(b);
        push_remote_chain(page_of_block(b), b, b);
        b = next;
    }
}

/* The inbox lane a block is sent on: high bits of a multiplicative hash of
 * its address, so that neighbouring blocks (of one page, of one class)
 * spread over the lanes. */
static unsigned inbox_lane(const ward_block_t *b)
{
    _Static_assert((WARD_INBOX_LANES & (WARD_INBOX_LANES - 1)) == 0, "lanes are a power of two");
    return (unsigned)(((uintptr_t)b * UINT64_C(0x9e3779b97f4a7c15)) >> (64 - __builtin_ctz(WARD_INBOX_LANES)));
}

/*
 * Pushes a chain of blocks onto a lane of owner's inbox with one exchange.
 * If the owner's thread has exited (lane closed), each block goes to its
 * page instead, where the page's adopter will find it.
 */
static void push_inbox(ward_heap_t *owner, ward_block_t *first, ward_block_t *last)
{
    _Atomic(ward_block_t *) *lane = &owner->inbox[inbox_lane(first)];
    ward_block_t *head = atomic_load_explicit(lane, memory_order_relaxed);
    do {
        if (head == WARD_INBOX_CLOSED) {
            last->link = _ward_link_encode(NULL);
            forward_to_pages(first);
            return;
        }
        last->link = _ward_link_encode(head);
    } while (!atomic_compare_exchange_weak_explicit(lane, &head, first, memory_order_release, memory_order_relaxed));
}

void _ward_free_remote(ward_heap_t *h, ward_page_t *page, void *p)
{
    ward_block_t *b = p;
    unsigned c = page->class_index;
    /* A free is counted by the thread that frees, in its own heap: the
     * process-wide sums are what statistics report, and they are exact at
     * once, whenever the owner takes the block back. */
    if (h == NULL)
        h = _ward_heap_current();
    if (h != NULL && h->kind == WARD_HEAP_THREAD) {
        class_activate(h, c);
        ward_owned_add(h->other_frees[c], 1);
    } else {
        /* No thread heap to count it in (every free under the diagnostics):
         * the owner's heap counted the malloc, the process counters take
         * the free. */
        atomic_fetch_add_explicit(&_ward_counters.retired_class_frees[c], 1, memory_order_relaxed);
        _ward_allocated_add(-(int64_t)_ward_class_size[c]);
    }
    /* Blocks of a thread heap go to its inbox (one line per heap that its
     * owner drains); blocks of user heaps and abandoned pages go to the
     * page, where the owner's or adopter's sweep finds them. */
    _ward_block_tag(b);
    ward_heap_t *owner = _ward_page_owner(page, memory_order_acquire);
    if (owner->kind == WARD_HEAP_THREAD)
        push_inbox(owner, b, b);
    else
        push_remote_chain(page, b, b);
}

/* Puts block b, freed by another thread, back on its page, which this heap
 * owns; its bit must be set (a clear bit: freed twice), and its tag too when
 * it travelled through a list (`tagged`).  (owner) */
static void page_take_back(ward_heap_t *h, ward_page_t *page, ward_block_t *b, bool tagged)
{
    ward_bit_t bit = _ward_page_bit(page, b);
    if (WARD_UNLIKELY(!(*bit.word & bit.mask)))
        _ward_fatal("free: double free", b, page->block_size);
    if (tagged)
        _ward_block_untag(b, page->block_size);
    *bit.word &= ~bit.mask;
    b->link = _ward_link_encode(page->free);
    page->free = b;
    page->used--;
    if (page->in_full || page->used == 0)
        _ward_heap_page_freed(h, page);
}

/* Takes back b, a block another thread sent to this heap's inbox.  A block
 * whose page this heap no longer owns (the message was sent to an earlier
 * user of this heap struct) is forwarded to its page. */
static void inbox_take_back(ward_heap_t *h, ward_block_t *b)
{
    ward_page_t *page = page_of_block(b);
    if (_ward_page_owner(page, memory_order_acquire) != h)
        push_remote_chain(page, b, b);
    else
        page_take_back(h, page, b, true);
}

/*
 * Takes back the lanes of an inbox, side by side: the next links of all
 * lanes are loaded before any block is taken back, so their cache misses
 * overlap.  A block's link is read before the block is taken back (taking
 * it back rewrites the link).
 */
static void drain_inbox(ward_heap_t *h, ward_block_t *lanes[WARD_INBOX_LANES])
{
    for (;;) {
        ward_block_t *next[WARD_INBOX_LANES];
        bool any = false;
        for (unsigned k = 0; k < WARD_INBOX_LANES; k++) {
            next[k] = lanes[k] ? inbox_next(lanes[k]) : NULL;
            any |= lanes[k] != NULL;
        }
        if (!any)
            return;
        for (unsigned k = 0; k < WARD_INBOX_LANES; k++) {
            if (lanes[k])
                inbox_take_back(h, lanes[k]);
            lanes[k] = next[k];
        }
    }
}

/* Takes every lane of h's inbox into lanes[], leaving `replacement` (NULL,
 * or WARD_INBOX_CLOSED) in each.  A lane already holding `replacement` is
 * only read: most collections find the inbox empty, and an exchange would
 * take the line exclusively for nothing. */
static void inbox_take_lanes(ward_heap_t *h, ward_block_t *replacement, ward_block_t *lanes[WARD_INBOX_LANES])
{
    for (unsigned k = 0; k < WARD_INBOX_LANES; k++) {
        lanes[k] = NULL;
        if (atomic_load_explicit(&h->inbox[k], memory_order_relaxed) != replacement) {
            lanes[k] = atomic_exchange_explicit(&h->inbox[k], replacement, memory_order_acq_rel);
            if (lanes[k] == WARD_INBOX_CLOSED)
                lanes[k] = NULL;
        }
    }
}

/* Takes every lane of h's inbox, leaving `replacement`, and takes its blocks
 * back. */
static void inbox_take_all(ward_heap_t *h, ward_block_t *replacement)
{
    ward_block_t *lanes[WARD_INBOX_LANES];
    inbox_take_lanes(h, replacement, lanes);
    drain_inbox(h, lanes);
}

void _ward_heap_free_locked(ward_heap_t *h, ward_page_t *page, void *p)
{
    class_activate(h, page->class_index);
    ward_owned_add(h->other_frees[page->class_index], 1);
    page_take_back(h, page, p, false);
}

static void collect_inbox(ward_heap_t *h) { inbox_take_all(h, NULL); }

void _ward_heap_check_tagged(ward_heap_t *h, unsigned c, void *p, const char *operation)
{
    ward_page_t *page = page_of_block(p);
    if (cache_find(&h->cache[c], p, (const char *)p + 1))
        _ward_fatal_op(operation, "double free", p, page->block_size);
    /* Sent back by another thread?  Taking back what the inbox and the
     * page's own list hold clears the tags of the blocks taken; one more
     * block counted in use holds the page meanwhile, so that it cannot
     * empty and go back to its segment. */
    page->used++;
    collect_inbox(h);
    uint32_t taken = _ward_page_collect(page);
    page->used--;
    if (taken && page->in_full)
        _ward_heap_page_freed(h, page);
    if (((ward_block_t *)p)->tag != _ward_free_tag)
        _ward_fatal_op(operation, "double free", p, page->block_size);
}

void _ward_heap_free_tagged(ward_heap_t *h, unsigned c, void *p)
{
    _ward_heap_check_tagged(h, c, p, "free");
    _ward_block_tag(p);
    _ward_heap_cache_push_slow(h, c, p);
}

/* Hands every block waiting in h's inbox to its page and leaves every lane
 * empty.  For a struct that no thread heap owns (a user heap being
 * destroyed, a released struct about to be reused): a remote freer that
 * read the struct's kind before its thread exited may push a block after
 * the struct became a user heap, whose pages that block is not on. */
static void inbox_forward_all(ward_heap_t *h)
{
    ward_block_t *lanes[WARD_INBOX_LANES];
    inbox_take_lanes(h, NULL, lanes);
    for (unsigned k = 0; k < WARD_INBOX_LANES; k++)
        forward_to_pages(lanes[k]);
}

/* ------------------------------------------------------------ large blocks */

static void *alloc_large(ward_heap_t *h, size_t n)
{
    unsigned slices = (unsigned)((n + WARD_SLICE_SIZE - 1) >> WARD_SLICE_SHIFT);
    ward_page_t *page = _ward_span_alloc(slices, h);
    if (page == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    size_t bytes = (size_t)slices * WARD_SLICE_SIZE;
    page->kind = WARD_PAGE_LARGE;
    page->block_size = (uint32_t)bytes;
    page->capacity = page->reserved = page->used = 1;
    page->class_index = 0;
    atomic_store_explicit(&page->large_live, 1, memory_order_relaxed);
    _ward_page_set_slice_class(page, WARD_SLICE_LARGE);
    _ward_page_set_owner(page, h, memory_order_release);
    ward_counter_add(large_count, 1);
    ward_counter_add(big_mallocs, 1);
    _ward_allocated_add((int64_t)bytes);
    return page->start;
}

static void large_release(ward_page_t *page)
{
    ward_counter_add(large_count, -1);
    ward_counter_add(big_frees, 1);
    _ward_allocated_add(-(int64_t)page->block_size);
    page->used = 0;
    _ward_span_free(page);
}

void _ward_free_large(ward_page_t *page, void *p, const char *operation)
{
    if (page->kind != WARD_PAGE_LARGE) {
        /* A free run whose first slice last held a large block at p: that
         * block was freed before. */
        bool was_large = page->kind == WARD_PAGE_UNUSED && page->start == (char *)p && page->capacity == 1;
        _ward_fatal_op(operation, was_large ? "double free" : "pointer not allocated by ward", p, 0);
    }
    if ((char *)p != page->start)
        _ward_fatal_op(operation, "interior pointer", p, page->block_size);
    uint32_t expected = 1;
    if (!atomic_compare_exchange_strong_explicit(&page->large_live, &expected, 0, memory_order_acq_rel,
                                                 memory_order_relaxed))
        _ward_fatal_op(operation, "double free", p, page->block_size);
    large_release(page);
}

/* --------------------------------------------------------------- allocation */

void *_ward_heap_alloc(ward_heap_t *h, size_t n, size_t alignment)
{
    if (alignment <= WARD_MIN_ALIGN) {
        if (n <= WARD_SMALL_MAX)
            return _ward_heap_alloc_class(h, _ward_size_class(n));
        if (n <= WARD_LARGE_MAX)
            return alloc_large(h, n);
        return _ward_huge_alloc(n, 0, h);
    }
    if (alignment <= WARD_SLICE_SIZE) {
        /* Pages start on a slice boundary, so a class whose size is a
         * multiple of the alignment gives aligned blocks; every power of
         * two up to WARD_SMALL_MAX is a class, so the search ends. */
        size_t m = n > alignment ? n : alignment;
        if (m <= WARD_SMALL_MAX) {
            unsigned c = _ward_size_class(m);
            while (_ward_class_size[c] % alignment != 0)
                c++;
            return _ward_heap_alloc_class_or(h, c, false);
        }
        if (n <= WARD_LARGE_MAX)
            return alloc_large(h, n);
    }
    return _ward_huge_alloc(n, alignment, h);
}

/* ------------------------------------------------------- heap structs */

static ward_heap_t *heap_struct_get(void)
{
    ward_heap_t *h = heap_pool;
    if (h) {
        heap_pool = h->reg_next;
        memset(h, 0, offsetof(ward_heap_t, inbox));
    } else {
        /* Fresh from the OS, so already zero: writing zeros would only
         * make the whole struct resident, most of it (the caches of
         * classes the thread never uses) for nothing. */
        size_t size = WARD_ALIGN_UP(sizeof(ward_heap_t), 64);
        if (heap_chunk == NULL || (size_t)(heap_chunk_end - heap_chunk) < size) {
            size_t chunk = 64 * WARD_KiB;
            if (!_ward_budget_commit(chunk, chunk, NULL, 0))
                return NULL;
            char *mem = _ward_os_map_aligned(chunk, _ward_os_page_size());
            if (mem == NULL) {
                _ward_budget_uncommit(chunk, chunk, NULL, 0);
                return NULL;
            }
            heap_chunk = mem;
            heap_chunk_end = heap_chunk + chunk;
            ward_counter_add(metadata, (int64_t)chunk);
        }
        h = (ward_heap_t *)heap_chunk;
        heap_chunk += size;
    }
    inbox_forward_all(h);
    atomic_store_explicit(&h->remote_classes, 0, memory_order_relaxed);
    for (unsigned c = 0; c < WARD_CLASS_COUNT; c++)
        h->direct[c] = &_ward_page_empty;
    return h;
}

static ward_heap_t *heap_create(ward_heap_kind_t kind)
{
    pthread_mutex_lock(&registry_lock);
    ward_heap_t *h = heap_struct_get();
    if (h) {
        h->kind = kind;
        if (kind == WARD_HEAP_SHARED)
            pthread_mutex_init(&h->lock, NULL);
        h->reg_prev = NULL;
        h->reg_next = registry;
        if (registry)
            registry->reg_prev = h;
        registry = h;
        if (kind == WARD_HEAP_THREAD)
            ward_counter_add(threads, 1);
    }
    pthread_mutex_unlock(&registry_lock);
    if (h == NULL)
        errno = ENOMEM;
    return h;
}

/* Folds a heap's counters into the retired totals and gives its struct
 * back; under the registry lock, so statistics see the counters once. */
static void heap_release(ward_heap_t *h)
{
    pthread_mutex_lock(&registry_lock);
    flush_allocated(h);
    for (uint64_t active = h->active_classes; active; active &= active - 1) {
        unsigned c = (unsigned)__builtin_ctzll(active);
        atomic_fetch_add_explicit(&_ward_counters.retired_class_mallocs[c], heap_mallocs(h, c), memory_order_relaxed);
        atomic_fetch_add_explicit(&_ward_counters.retired_class_frees[c], heap_frees(h, c), memory_order_relaxed);
    }
    if (h->reg_prev)
        h->reg_prev->reg_next = h->reg_next;
    else
        registry = h->reg_next;
    if (h->reg_next)
        h->reg_next->reg_prev = h->reg_prev;
    if (h->kind == WARD_HEAP_THREAD)
        ward_counter_add(threads, -1);
    else
        pthread_mutex_destroy(&h->lock);
    /* Stale owners may still flag remote_classes: the struct stays mapped. */
    atomic_store_explicit(&h->kind, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->generation, 1, memory_order_relaxed);
    h->reg_next = heap_pool;
    heap_pool = h;
    pthread_mutex_unlock(&registry_lock);
}

/* ---------------------------------------------------- thread exit */

static void page_abandon(ward_page_t *page)
{
    unsigned c = page->class_index;
    page->in_full = 0;
    page->spare = 0;
    _ward_page_set_owner(page, &_ward_heap_abandoned, memory_order_seq_cst);
    pthread_mutex_lock(&abandoned_lock);
    queue_push_back(&abandoned[c], page);
    atomic_fetch_add_explicit(&abandoned_count[c], 1, memory_order_relaxed);
    pthread_mutex_unlock(&abandoned_lock);
    ward_counter_add(pages_abandoned, 1);
}

/* Hands back every page of a thread heap: empty ones to the segments, the
 * rest to the abandoned lists for other threads to adopt. */
static void heap_abandon(ward_heap_t *h)
{
    /* Close the inbox: later senders go to the pages directly. */
    inbox_take_all(h, WARD_INBOX_CLOSED);
    cache_drain_all(h);
    for (unsigned c = 0; c < WARD_CLASS_COUNT; c++) {
        ward_page_queue_t *queues[2] = {&h->avail[c], &h->full[c]};
        for (int q = 0; q < 2; q++) {
            ward_page_t *page;
            while ((page = queues[q]->head) != NULL) {
                queue_remove(queues[q], page);
                _ward_page_collect(page);
                if (page->used == 0) {
                    atomic_fetch_sub_explicit(&class_pages[c], 1, memory_order_relaxed);
                    _ward_span_free(page);
                } else {
                    page_abandon(page);
                }
            }
        }
        h->direct[c] = &_ward_page_empty;
    }
}

static void disown_large(ward_page_t *page, void *ctx)
{
    /* The owner first: only a span this heap owns was set up by this
     * thread, so only then may its descriptor be read here. */
    if (_ward_page_owner(page, memory_order_relaxed) == ctx && page->kind == WARD_PAGE_LARGE)
        _ward_page_set_owner(page, &_ward_heap_abandoned, memory_order_relaxed);
}

static void thread_exit(void *arg)
{
    ward_heap_t *h = arg;
    _ward_tls_heap = NULL;
    tls_exited = true;
    heap_abandon(h);
    /* Large and huge blocks outlive the thread; the heap struct will be
     * reused, so they must not name it (ward_heap_destroy of a heap that
     * reuses the struct would free them). */
    _ward_segments_each_span(disown_large, h);
    _ward_huge_disown(h);
    heap_release(h);
}

/* ---------------------------------------------------------------- fork */

static void fork_prepare(void)
{
    pthread_mutex_lock(&registry_lock);
    for (ward_heap_t *h = registry; h; h = h->reg_next)
        if (h->kind == WARD_HEAP_SHARED)
            pthread_mutex_lock(&h->lock);
    pthread_mutex_lock(&abandoned_lock);
    _ward_segments_lock();
    _ward_huge_lock();
    _ward_budget_fork_prepare();
}

static void fork_parent(void)
{
    _ward_budget_fork_parent();
    _ward_huge_unlock();
    _ward_segments_unlock();
    pthread_mutex_unlock(&abandoned_lock);
    for (ward_heap_t *h = registry; h; h = h->reg_next)
        if (h->kind == WARD_HEAP_SHARED)
            pthread_mutex_unlock(&h->lock);
    pthread_mutex_unlock(&registry_lock);
}

/* The child has one thread: every lock the parent held for fork is ours,
 * and resetting is safer than unlocking a lock another thread locked.
 * Heaps of the parent's other threads keep their pages (the child cannot
 * know what those threads were doing); blocks they own can still be freed
 * in the child (as remote frees). */
static void fork_child(void)
{
    _ward_budget_fork_child();
    _ward_huge_reset_lock();
    _ward_segments_reset_lock();
    pthread_mutex_init(&abandoned_lock, NULL);
    for (ward_heap_t *h = registry; h; h = h->reg_next)
        if (h->kind == WARD_HEAP_SHARED)
            pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_init(&registry_lock, NULL);
}

/* ------------------------------------------------------------ start-up */

static void core_init(void)
{
    _ward_os_init();
    _ward_secret_init();
    _ward_size_classes_init();
    _ward_options_init();
    _ward_segments_init();
    _ward_diagnostics = ward_option(WARD_OPTION_DEBUG) || ward_option(WARD_OPTION_GUARD_SAMPLE) ||
                        ward_option(WARD_OPTION_LEAKS);
}

static void late_init(void)
{
    /* Both may allocate (glibc keeps atfork handlers in a growable array):
     * the calling thread's heap exists by now, so that nests safely. */
    pthread_key_create(&thread_key, thread_exit);
    _ward_os_atfork(fork_prepare, fork_parent, fork_child);
    /* The background reclaimer's thread may start from here on (its
     * creation allocates, which nests safely now). */
    _ward_budget_safe_point();
}

static ward_heap_t *fallback(void)
{
    pthread_mutex_lock(&registry_lock);
    ward_heap_t *h = fallback_heap;
    pthread_mutex_unlock(&registry_lock);
    if (h)
        return h;
    h = heap_create(WARD_HEAP_SHARED);
    pthread_mutex_lock(&registry_lock);
    if (fallback_heap == NULL) {
        fallback_heap = h;
    } else if (h) {
        pthread_mutex_unlock(&registry_lock);
        heap_release(h);
        pthread_mutex_lock(&registry_lock);
    }
    h = fallback_heap;
    pthread_mutex_unlock(&registry_lock);
    return h;
}

ward_heap_t *_ward_heap_current(void)
{
    ward_heap_t *h = _ward_tls_heap;
    if (h)
        return h;
    pthread_once(&core_once, core_init);
    if (_ward_diagnostics) {
        /* No thread heap, ever: every call goes to the diagnostic front
         * end.  The fork handlers are still needed; an allocation nested in
         * late_init finds it started and goes on. */
        static atomic_int late_started;
        if (atomic_load_explicit(&late_started, memory_order_acquire) == 0 &&
            atomic_exchange_explicit(&late_started, 1, memory_order_acq_rel) == 0)
            pthread_once(&late_once, late_init);
        return NULL;
    }
    if (tls_exited)
        return fallback();
    h = heap_create(WARD_HEAP_THREAD);
    if (h == NULL)
        return NULL;
    _ward_tls_heap = h;
    pthread_once(&late_once, late_init);
    pthread_setspecific(thread_key, h);
    return h;
}

void _ward_core_start(void) { pthread_once(&core_once, core_init); }

ward_heap_t *_ward_heap_new_shared(void)
{
    pthread_once(&core_once, core_init);
    return heap_create(WARD_HEAP_SHARED);
}

/* ------------------------------------------------------ destroy, collect */

typedef struct spans_of_heap_s {
    ward_heap_t *heap;
    ward_page_t *list; /* linked through page->next */
} spans_of_heap_t;

static void gather_heap_span(ward_page_t *page, void *ctx)
{
    spans_of_heap_t *s = ctx;
    /* The owner first (see disown_large): the heap's lock covers the
     * descriptors of its own spans only. */
    if (_ward_page_owner(page, memory_order_relaxed) == s->heap &&
        (page->kind == WARD_PAGE_SMALL || page->kind == WARD_PAGE_LARGE)) {
        page->next = s->list;
        s->list = page;
    }
}

void _ward_heap_destroy(ward_heap_t *h)
{
    pthread_mutex_lock(&h->lock);
    /* First, so that a block the heap's own pages hold reaches them before
     * they are collected and freed below. */
    inbox_forward_all(h);
    spans_of_heap_t spans = {h, NULL};
    _ward_segments_each_span(gather_heap_span, &spans);
    for (ward_page_t *page = spans.list, *next; page; page = next) {
        next = page->next;
        if (page->kind == WARD_PAGE_LARGE) {
            large_release(page);
        } else {
            /* Blocks still live go with the page: count them as freed
             * (frees already made were counted by their freers). */
            _ward_page_collect(page);
            ward_owned_add(h->other_frees[page->class_index], page->used);
            atomic_fetch_sub_explicit(&class_pages[page->class_index], 1, memory_order_relaxed);
            _ward_span_free(page);
        }
    }
    _ward_huge_free_heap(h);
    /* A ward_collect(true) waiting for the lock must find no pages here. */
    memset(h->avail, 0, sizeof h->avail);
    memset(h->full, 0, sizeof h->full);
    for (unsigned c = 0; c < WARD_CLASS_COUNT; c++)
        h->direct[c] = &_ward_page_empty;
    h->spare_bytes = 0;
    h->spare_classes = 0;
    pthread_mutex_unlock(&h->lock);
    heap_release(h);
}

/* Collects and retires what a heap the caller owns can give back. */
static void heap_collect_owned(ward_heap_t *h)
{
    if (h->kind == WARD_HEAP_THREAD)
        collect_inbox(h);
    cache_drain_all(h);
    for (unsigned c = 0; c < WARD_CLASS_COUNT; c++) {
        ward_page_queue_t *queues[2] = {&h->avail[c], &h->full[c]};
        for (int q = 0; q < 2; q++) {
            for (ward_page_t *page = queues[q]->head, *next; page; page = next) {
                next = page->next;
                _ward_page_collect(page);
                if (page->used == 0) {
                    page_retire(h, page);
                } else if (q == 1 && page->free) {
                    queue_remove(&h->full[c], page);
                    page->in_full = 0;
                    queue_push_back(&h->avail[c], page);
                }
            }
        }
        direct_update(h, c);
    }
    flush_allocated(h);
}

void _ward_heaps_each_user(void (*fn)(ward_heap_t *heap, void *ctx), void *ctx)
{
    pthread_mutex_lock(&registry_lock);
    for (ward_heap_t *h = registry; h; h = h->reg_next)
        if (atomic_load_explicit(&h->kind, memory_order_relaxed) == WARD_HEAP_SHARED)
            fn(h, ctx);
    pthread_mutex_unlock(&registry_lock);
}

void _ward_heaps_collect(bool force)
{
    if (_ward_tls_heap)
        heap_collect_owned(_ward_tls_heap);
    if (force) {
        /* User heaps are shared: their lock makes the caller their owner
         * for a moment (registry before heap, as for fork). */
        pthread_mutex_lock(&registry_lock);
        for (ward_heap_t *h = registry; h; h = h->reg_next) {
            if (atomic_load_explicit(&h->kind, memory_order_relaxed) != WARD_HEAP_SHARED)
                continue;
            pthread_mutex_lock(&h->lock);
            heap_collect_owned(h);
            pthread_mutex_unlock(&h->lock);
        }
        pthread_mutex_unlock(&registry_lock);
    }
    /* Abandoned pages whose blocks were all freed since. */
    pthread_mutex_lock(&abandoned_lock);
    for (unsigned c = 0; c < WARD_CLASS_COUNT; c++) {
        for (ward_page_t *page = abandoned[c].head, *next; page; page = next) {
            next = page->next;
            _ward_page_collect(page);
            if (page->used == 0) {
                queue_remove(&abandoned[c], page);
                atomic_fetch_sub_explicit(&abandoned_count[c], 1, memory_order_relaxed);
                atomic_fetch_sub_explicit(&class_pages[c], 1, memory_order_relaxed);
                ward_counter_add(pages_abandoned, -1);
                _ward_span_free(page);
            }
        }
    }
    pthread_mutex_unlock(&abandoned_lock);
    _ward_segments_purge(force);
}

int64_t _ward_heap_class_pages(unsigned c) { return atomic_load_explicit(&class_pages[c], memory_order_relaxed); }

/* ----------------------------------------------------------- statistics */

void _ward_heaps_add_stats(ward_stats_t *out)
{
    /* Under the registry lock a heap's counters are either in the registry
     * or folded into the retired totals, never both. */
    pthread_mutex_lock(&registry_lock);
    int64_t allocated = ward_counter_get(allocated);
    for (unsigned c = 0; c < WARD_CLASS_COUNT; c++) {
        out->classes[c].block_size = _ward_class_size[c];
        out->classes[c].mallocs += atomic_load_explicit(&_ward_counters.retired_class_mallocs[c], memory_order_relaxed);
        out->classes[c].frees += atomic_load_explicit(&_ward_counters.retired_class_frees[c], memory_order_relaxed);
        int64_t pages = atomic_load_explicit(&class_pages[c], memory_order_relaxed);
        out->classes[c].pages = pages > 0 ? (size_t)pages : 0;
    }
    for (ward_heap_t *h = registry; h; h = h->reg_next) {
        for (uint64_t active = ward_owned_get(h->active_classes); active; active &= active - 1) {
            unsigned c = (unsigned)__builtin_ctzll(active);
            out->classes[c].mallocs += heap_mallocs(h, c);
            out->classes[c].frees += heap_frees(h, c);
        }
        allocated += heap_allocated(h) - ward_owned_get(h->allocated_flushed);
    }
    pthread_mutex_unlock(&registry_lock);
    out->allocated = allocated > 0 ? (uint64_t)allocated : 0;
    out->class_count = WARD_CLASS_COUNT;
    for (unsigned c = 0; c < WARD_CLASS_COUNT; c++) {
        out->malloc_count += out->classes[c].mallocs;
        out->free_count += out->classes[c].frees;
    }
}
