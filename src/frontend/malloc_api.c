/*
 * malloc_api.c - the ward_malloc family and first-class heaps: argument
 * checks, the inline fast paths, and the pointer validation every free,
 * realloc and usable_size goes through.
 */
#include <errno.h>
#include <string.h>

#include "frontend/api_internal.h"
#include "frontend/diagnose/diagnose.h"
#include "heap/heap.h"
#include "os/os.h"
#include "ward.h"

/* --------------------------------------------------------- validation */

typedef enum block_kind_e { BLOCK_SMALL, BLOCK_LARGE, BLOCK_HUGE } block_kind_t;

typedef struct block_info_s {
    block_kind_t kind;
    ward_page_t *page;  /* small and large */
    ward_huge_t *huge;  /* huge */
    size_t usable;
} block_info_t;

/* Finds the block p points to; stops the program, naming operation, when
 * p is not a live block's start.  A small block freed and then looked up
 * again is caught here when its bit is already clear, or, with `releases`
 * (free_sized, realloc: the caller gives the block up), when it carries the
 * free tag and is found cached or sent back.  A size query does not read
 * the tag: that is the program's data, which another thread may be writing
 * while this one asks. */
static void block_lookup(const void *p, const char *operation, bool releases, block_info_t *info)
{
    unsigned map = _ward_segmap_byte(p);
    if (map == 0)
        _ward_fatal_op(operation, _ward_huge_recently_freed(p) ? "double free" : "pointer not allocated by ward", p,
                       0);
    if (map != WARD_SEGMAP_SLICED) {
        ward_huge_t *h = _ward_segmap_lookup(p);
        _ward_huge_check(h, p, operation);
        if ((const char *)p != h->user)
            _ward_fatal_op(operation, "interior pointer", p, h->usable);
        if (atomic_load_explicit(&h->live, memory_order_relaxed) != 1)
            _ward_fatal_op(operation, "double free", p, h->usable);
        info->kind = BLOCK_HUGE;
        info->huge = h;
        info->page = NULL;
        info->usable = h->usable;
        return;
    }
    ward_segment_t *seg = _ward_segment_of(p);
    ward_page_t *page = _ward_segment_page_of(seg, p);
    info->page = page;
    info->huge = NULL;
    if (page->kind == WARD_PAGE_SMALL) {
        uint32_t i = _ward_page_block_index(page, p);
        if (i == UINT32_MAX)
            _ward_fatal_op(operation, "interior pointer", p, page->block_size);
        /* Only the owner may read the bitmap and its blocks' tags; others
         * learn of a freed block when the owner takes it back. */
        ward_heap_t *owner = _ward_page_owner(page, memory_order_relaxed);
        if (owner == _ward_tls_heap) {
            ward_bit_t bit = _ward_page_bit(page, p);
            if (!(*bit.word & bit.mask))
                _ward_fatal_op(operation, "double free", p, page->block_size);
            if (releases && ((const ward_block_t *)p)->tag == _ward_free_tag)
                _ward_heap_check_tagged(owner, page->class_index, (void *)p, operation);
        }
        info->kind = BLOCK_SMALL;
        info->usable = page->block_size;
        return;
    }
    if (page->kind != WARD_PAGE_LARGE || (const char *)p != page->start ||
        atomic_load_explicit(&page->large_live, memory_order_relaxed) != 1)
        _ward_free_large(page, (void *)p, operation); /* names the error and stops */
    info->kind = BLOCK_LARGE;
    info->usable = page->block_size;
}

/* -------------------------------------------------------------- malloc */

/* One allocation from h, under its lock when it is shared. */
static void *heap_alloc_once(ward_heap_t *h, size_t n, size_t alignment)
{
    if (h->kind == WARD_HEAP_SHARED) {
        pthread_mutex_lock(&h->lock);
        void *p = _ward_heap_alloc(h, n, alignment);
        pthread_mutex_unlock(&h->lock);
        return p;
    }
    return _ward_heap_alloc(h, n, alignment);
}

/* An allocation from h that a limit may refuse: with no lock held, reclaim
 * and try again while the budget layer says so.  An OOM callback may have
 * destroyed h meanwhile (its struct stays mapped): then the allocation
 * fails. */
static void *heap_alloc_budgeted(ward_heap_t *h, size_t n, size_t alignment)
{
    /* A refusal is remembered in the calling thread's heap: have one. */
    if (_ward_tls_heap == NULL)
        _ward_heap_current();
    uint32_t generation = atomic_load_explicit(&h->generation, memory_order_relaxed);
    void *p = heap_alloc_once(h, n, alignment);
    for (unsigned attempt = 0; p == NULL && _ward_budget_retry(attempt); attempt++) {
        if (atomic_load_explicit(&h->generation, memory_order_relaxed) != generation) {
            errno = ENOMEM;
            break;
        }
        p = heap_alloc_once(h, n, alignment);
    }
    _ward_budget_safe_point();
    return p;
}

static WARD_NOINLINE void *malloc_slow(size_t n, size_t alignment)
{
    if (n > PTRDIFF_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    ward_heap_t *h = _ward_heap_current();
    if (h == NULL) {
        if (_ward_diagnostics)
            return _ward_diag_malloc(n, alignment);
        errno = ENOMEM;
        return NULL;
    }
    return heap_alloc_budgeted(h, n, alignment);
}

/* Small blocks above the class table's sizes. */
static WARD_NOINLINE void *malloc_medium(size_t n)
{
    ward_heap_t *h = _ward_tls_heap;
    if (WARD_LIKELY(n <= WARD_SMALL_MAX && h != NULL))
        return _ward_heap_alloc_class(h, _ward_size_class_by_rule(n));
    return malloc_slow(n, 0);
}

/* Sizes the class table covers are told apart first, with one compare:
 * they are most requests, and the table gives their class with one load. */
WARD_API void *ward_malloc(size_t n)
{
    ward_heap_t *h = _ward_tls_heap;
    if (WARD_LIKELY(n <= WARD_CLASS_TABLE_MAX)) {
        if (WARD_LIKELY(h != NULL))
            return _ward_heap_alloc_class(h, _ward_size_class_by_table(n));
        return malloc_slow(n, 0);
    }
    return malloc_medium(n);
}

WARD_API void *ward_calloc(size_t count, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(count, size, &total) || total > PTRDIFF_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = ward_malloc(total);
    /* A huge block is a fresh mapping and reads as zeros already (not so
     * under the diagnostics, which fill new blocks with junk). */
    if (p && (total <= WARD_LARGE_MAX || _ward_diagnostics))
        memset(p, 0, total);
    return p;
}

/* --------------------------------------------------------------- free */

/* A pointer into a small page of class c that is not a live block: an
 * interior pointer (or one into the page's unused tail), or a block freed
 * before.  Stops the program; it is declared as returning (and hidden from
 * gcc's analysis, which would find out otherwise) so that the free's fast
 * path, which calls it last, jumps to it and needs no stack frame: two
 * instructions fewer on every free.  Callers return right after it. */
static __attribute__((noipa)) void free_invalid_small(void *p, unsigned c)
{
    ward_segment_t *seg = _ward_segment_of(p);
    bool block_start = _ward_page_block_index(_ward_segment_page_of(seg, p), p) != UINT32_MAX;
    _ward_fatal_op("free", block_start ? "double free" : "interior pointer", p, _ward_class_size[c]);
}

/* Huge and large blocks, and pointers ward does not own. */
static void free_big(void *p)
{
    unsigned map = _ward_segmap_byte(p);
    if (map == 0)
        _ward_fatal_op("free", _ward_huge_recently_freed(p) ? "double free" : "pointer not allocated by ward", p, 0);
    if (map != WARD_SEGMAP_SLICED) {
        _ward_huge_free(_ward_segmap_lookup(p), p, "free");
        return;
    }
    ward_segment_t *seg = _ward_segment_of(p);
    _ward_free_large(_ward_segment_page_of(seg, p), p, "free");
}

/* NULL, huge and large blocks, and pointers ward does not own. */
static WARD_NOINLINE void free_not_small(void *p)
{
    if (p == NULL)
        return;
    if (WARD_UNLIKELY(_ward_diagnostics)) {
        _ward_diag_free(p);
        return;
    }
    free_big(p);
}

/* Diagnostic blocks and user heaps' blocks under the diagnostics: no
 * thread heap exists, so a small block is always freed as by another
 * thread. */
void _ward_free_core(void *p)
{
    if (_ward_segmap_byte(p) != WARD_SEGMAP_SLICED) {
        free_big(p);
        return;
    }
    ward_segment_t *seg = _ward_segment_of(p);
    size_t slice = _ward_slice_index(seg, p);
    unsigned c = seg->slice_class[slice];
    if (c >= WARD_CLASS_COUNT) {
        free_big(p);
        return;
    }
    ward_page_t *page = &seg->pages[seg->slice_first[slice]];
    if (((uintptr_t)p & (WARD_MIN_ALIGN - 1)) || _ward_page_block_index(page, p) == UINT32_MAX) {
        free_invalid_small(p, c);
        return;
    }
    _ward_free_remote(NULL, page, p);
}

size_t _ward_usable_size_core(const void *p)
{
    block_info_t info;
    block_lookup(p, "usable_size", false, &info);
    return info.usable;
}

/*
 * The fast path reads the segment map, the segment header's per-slice
 * arrays, the allocation bitmap and the block's tag word; the page
 * descriptor is not touched unless the block goes to another thread's
 * page.  Bits are set only at the starts of blocks out of their pages' free
 * lists, so a 16-byte aligned pointer whose bit is clear is an interior
 * pointer or a block already back on its page, told apart off the fast
 * path; a set bit with the free tag is a block in a cache or sent back by
 * another thread, or by chance a live one, which the heap then looks for
 * (page.h).  The bitmap is only read: a cached block keeps its bit.
 */
WARD_API void ward_free(void *p)
{
    /* NULL is not in a ward segment either: it is told apart off the fast
     * path. */
    if (WARD_UNLIKELY(_ward_segmap_byte(p) != WARD_SEGMAP_SLICED)) {
        free_not_small(p);
        return;
    }
    ward_segment_t *seg = _ward_segment_of(p);
    size_t slice = _ward_slice_index(seg, p);
    unsigned c = seg->slice_class[slice];
    if (WARD_UNLIKELY(c >= WARD_CLASS_COUNT)) {
        free_not_small(p);
        return;
    }
    if (WARD_UNLIKELY((uintptr_t)p & (WARD_MIN_ALIGN - 1))) {
        free_invalid_small(p, c);
        return;
    }
    ward_heap_t *h = _ward_tls_heap;
    if (WARD_LIKELY(atomic_load_explicit(&seg->owner[slice], memory_order_relaxed) == h)) {
        uintptr_t i = _ward_segment_bit_index(p);
        if (WARD_UNLIKELY(!((seg->bits[i / 64] >> (i % 64)) & 1))) {
            free_invalid_small(p, c);
            return;
        }
        ward_block_t *b = p;
        uintptr_t tag = _ward_free_tag;
        if (WARD_UNLIKELY(b->tag == tag)) {
            _ward_heap_free_tagged(h, c, p);
            return;
        }
        b->tag = tag;
        ward_free_cache_t *fc = &h->cache[c];
        /* Keeps fc in a register: otherwise gcc rebuilds the slot's address
         * from h and c with four more instructions. */
        __asm__("" : "+r"(fc));
        uint64_t pushes = fc->pushes;
        uint32_t cached = (uint32_t)(pushes - fc->pops);
        if (WARD_UNLIKELY(cached >= fc->limit)) {
            _ward_heap_cache_push_slow(h, c, p);
            return;
        }
        if (WARD_UNLIKELY((_ward_cache_push(fc, pushes, cached, p) & (WARD_HEARTBEAT - 1)) == 0))
            _ward_heap_housekeeping(h);
        return;
    }
    /* Under the diagnostics every small block lands here (no thread heap
     * owns a page). */
    if (WARD_UNLIKELY(_ward_diagnostics)) {
        _ward_diag_free(p);
        return;
    }
    /* Another thread owns the page and its bitmap: check the address
     * alone here; the owner checks the bit when it collects. */
    ward_page_t *page = &seg->pages[seg->slice_first[slice]];
    if (WARD_UNLIKELY(_ward_page_block_index(page, p) == UINT32_MAX)) {
        free_invalid_small(p, c); /* names the interior pointer */
        return;
    }
    _ward_free_remote(h, page, p);
}

/* -------------------------------------------------------- sized free */

/*
 * The smallest size a caller may name when freeing a block: what malloc,
 * calloc or aligned allocation may have asked for to get this block, or
 * realloc to keep it (a realloc that shrinks a small or large block to half
 * of it or more keeps the block).
 */
static size_t least_size_named(const block_info_t *info)
{
    size_t usable = info->usable;
    size_t by_realloc = info->kind == BLOCK_HUGE ? usable : (usable + 1) / 2;
    size_t by_malloc;
    switch (info->kind) {
    case BLOCK_SMALL:
        by_malloc = _ward_class_least_request(info->page->class_index);
        break;
    case BLOCK_LARGE:
        by_malloc = usable - WARD_SLICE_SIZE + 1;
        break;
    default:
        by_malloc = usable - _ward_os_page_size() + 1;
        break;
    }
    return by_malloc < by_realloc ? by_malloc : by_realloc;
}

static WARD_NOINLINE __attribute__((noreturn)) void size_mismatch(const char *operation, void *p, size_t n,
                                                                  size_t usable)
{
    char text[96];
    ward_buf_t b = {text, sizeof text, 0};
    _ward_buf_str(&b, "size mismatch (");
    _ward_buf_u64(&b, n);
    _ward_buf_str(&b, " bytes named)");
    _ward_fatal_op(operation, _ward_buf_finish(&b), p, usable);
}

/* alignment is 0 for blocks from malloc, calloc and realloc. */
static void free_checked_size(void *p, size_t n, size_t alignment, const char *operation)
{
    if (p == NULL)
        return;
    if (WARD_UNLIKELY(_ward_diagnostics)) {
        /* A diagnostic block knows the size it was asked for exactly. */
        size_t size = _ward_diag_usable_size(p);
        if (n > size || (_ward_diag_owns(p) && n != size))
            size_mismatch(operation, p, n, size);
        ward_free(p);
        return;
    }
    block_info_t info;
    block_lookup(p, operation, true, &info);
    /* A small aligned request takes a class of at least the alignment;
     * larger ones take what an unaligned request of n would. */
    size_t asked = info.kind == BLOCK_SMALL && alignment > n ? alignment : n;
    if (n > info.usable || asked < least_size_named(&info))
        size_mismatch(operation, p, n, info.usable);
    ward_free(p);
}

WARD_API void ward_free_sized(void *p, size_t n) { free_checked_size(p, n, 0, "free_sized"); }

WARD_API void ward_free_aligned_sized(void *p, size_t alignment, size_t n)
{
    if (p != NULL && !WARD_IS_POW2(alignment))
        _ward_fatal_op("free_aligned_sized", "alignment not a power of two", p, 0);
    free_checked_size(p, n, alignment, "free_aligned_sized");
}

/* ------------------------------------------------------------ realloc */

static void *realloc_in(ward_heap_t *heap, void *p, size_t n)
{
    /* User heaps keep no diagnostics: their blocks stay the core's. */
    if (WARD_UNLIKELY(_ward_diagnostics) && (heap == NULL || _ward_diag_owns(p)))
        return _ward_diag_realloc(p, n);
    if (p == NULL)
        return heap ? ward_heap_malloc(heap, n) : ward_malloc(n);
    if (n > PTRDIFF_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    block_info_t info;
    block_lookup(p, "realloc", true, &info);
    if (n == 0) {
        ward_free(p);
        return NULL;
    }
    /* Keep the block when n fits and does not waste more than half of it
     * (a small block stays in its class; shrinking a large one to small
     * moves it). */
    if (info.kind != BLOCK_HUGE && n <= info.usable && n >= info.usable / 2)
        return p;
    if (info.kind == BLOCK_HUGE && n > WARD_LARGE_MAX) {
        void *q = _ward_huge_realloc(info.huge, n);
        for (unsigned attempt = 0; q == NULL && _ward_budget_retry(attempt); attempt++)
            q = _ward_huge_realloc(info.huge, n);
        return q;
    }
    void *q = heap ? ward_heap_malloc(heap, n) : ward_malloc(n);
    if (q == NULL)
        return NULL;
    memcpy(q, p, n < info.usable ? n : info.usable);
    ward_free(p);
    return q;
}

WARD_API void *ward_realloc(void *p, size_t n) { return realloc_in(NULL, p, n); }

WARD_API void *ward_reallocarray(void *p, size_t count, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return ward_realloc(p, total);
}

/* ------------------------------------------------------------ aligned */

WARD_API void *ward_aligned_alloc(size_t alignment, size_t n)
{
    if (!WARD_IS_POW2(alignment)) {
        errno = EINVAL;
        return NULL;
    }
    if (alignment <= WARD_MIN_ALIGN)
        return ward_malloc(n);
    if (n > PTRDIFF_MAX || alignment > PTRDIFF_MAX / 2) {
        errno = ENOMEM;
        return NULL;
    }
    return malloc_slow(n, alignment);
}

WARD_API int ward_posix_memalign(void **out, size_t alignment, size_t n)
{
    if (out == NULL || alignment < sizeof(void *) || !WARD_IS_POW2(alignment))
        return EINVAL;
    int saved = errno;
    void *p = ward_aligned_alloc(alignment, n);
    if (p == NULL) {
        int err = errno == EINVAL ? EINVAL : ENOMEM;
        errno = saved;
        return err;
    }
    *out = p;
    return 0;
}

WARD_API size_t ward_usable_size(const void *p)
{
    if (p == NULL)
        return 0;
    if (WARD_UNLIKELY(_ward_diagnostics))
        return _ward_diag_usable_size(p);
    block_info_t info;
    block_lookup(p, "usable_size", false, &info);
    return info.usable;
}

/* ---------------------------------------------------- first-class heaps */

WARD_API ward_heap_t *ward_heap_new(void) { return _ward_heap_new_shared(); }

static void *heap_alloc_checked(ward_heap_t *heap, size_t n, size_t alignment)
{
    if (heap == NULL) {
        errno = EINVAL;
        return NULL;
    }
    if (n > PTRDIFF_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    return heap_alloc_budgeted(heap, n, alignment);
}

WARD_API void *ward_heap_malloc(ward_heap_t *heap, size_t n) { return heap_alloc_checked(heap, n, 0); }

WARD_API void *ward_heap_calloc(ward_heap_t *heap, size_t count, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(count, size, &total) || total > PTRDIFF_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = heap_alloc_checked(heap, total, 0);
    if (p && total <= WARD_LARGE_MAX)
        memset(p, 0, total);
    return p;
}

WARD_API void *ward_heap_realloc(ward_heap_t *heap, void *p, size_t n)
{
    if (heap == NULL) {
        errno = EINVAL;
        return NULL;
    }
    return realloc_in(heap, p, n);
}

WARD_API void *ward_heap_aligned_alloc(ward_heap_t *heap, size_t alignment, size_t n)
{
    if (!WARD_IS_POW2(alignment)) {
        errno = EINVAL;
        return NULL;
    }
    if (alignment > PTRDIFF_MAX / 2) {
        errno = ENOMEM;
        return NULL;
    }
    return heap_alloc_checked(heap, n, alignment <= WARD_MIN_ALIGN ? 0 : alignment);
}

WARD_API void ward_heap_destroy(ward_heap_t *heap)
{
    if (heap != NULL)
        _ward_heap_destroy(heap);
}

/* -------------------------------------------------------------- misc */

WARD_API void ward_collect(bool force)
{
    if (force && _ward_diagnostics)
        _ward_quarantine_flush();
    int64_t before = ward_counter_get(committed);
    _ward_heaps_collect(force);
    int64_t drop = before - ward_counter_get(committed);
    if (drop > 0)
        atomic_fetch_add_explicit(&_ward_budget_counters.reclaimed_collect, (uint64_t)drop, memory_order_relaxed);
    _ward_budget_safe_point();
}

WARD_API const char *ward_version(void) { return "ward 0.1.0"; }

#if defined(WARD_OVERRIDE)
/* malloc and free are the hottest names: aliases of the functions
 * themselves, so a program's call lands here with no extra jump.  The other
 * standard names are in override.c. */
extern __typeof(ward_malloc) malloc __attribute__((alias("ward_malloc"), visibility("default")));
extern __typeof(ward_free) free __attribute__((alias("ward_free"), visibility("default")));
#endif

/* Hidden aliases: the standard names in override.c jump straight here
 * instead of through the PLT. */
#define WARD_INTERNAL_ALIAS(name) \
    extern __typeof(name) _##name __attribute__((alias(#name), visibility("hidden")));
WARD_INTERNAL_ALIAS(ward_malloc)
WARD_INTERNAL_ALIAS(ward_free)
WARD_INTERNAL_ALIAS(ward_calloc)
WARD_INTERNAL_ALIAS(ward_realloc)
WARD_INTERNAL_ALIAS(ward_reallocarray)
WARD_INTERNAL_ALIAS(ward_aligned_alloc)
WARD_INTERNAL_ALIAS(ward_posix_memalign)
WARD_INTERNAL_ALIAS(ward_usable_size)
WARD_INTERNAL_ALIAS(ward_free_sized)
WARD_INTERNAL_ALIAS(ward_free_aligned_sized)
