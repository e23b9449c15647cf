/*
 * heap_check.c - the core half of ward_check(): a walk of every span of
 * every segment (under the segment lock) that verifies the invariants of
 * segment.h, page.h and heap.h which can be read without stopping other
 * threads, and the free lists, free caches and allocation bits of the
 * calling thread's own pages, which only that thread changes.
 *
 * Reports the first broken invariant in one line on stderr and returns its
 * ward_check_result_t code; never stops the program.
 */
#include <stdatomic.h>

#include "heap/heap.h"
#include "os/os.h"
#include "support/counters.h"

typedef struct check_state_s {
    int result;
    const char *what;
    const void *where;
    ward_heap_t *self;               /* the calling thread's heap, or NULL */
    int64_t class_pages[WARD_CLASS_COUNT];
} check_state_t;

static bool fail(check_state_t *s, int code, const char *what, const void *where)
{
    if (s->result == 0) {
        s->result = code;
        s->what = what;
        s->where = where;
    }
    return false;
}

static bool check_slices(check_state_t *s, ward_segment_t *seg, ward_page_t *page)
{
    size_t first = _ward_page_slice(page);
    if (seg->kind != WARD_SEGMENT_SLICED)
        return fail(s, WARD_CHECK_SEGMENT, "segment header overwritten", seg);
    if (page->slice_count == 0 || first + page->slice_count > WARD_SLICES_PER_SEGMENT)
        return fail(s, WARD_CHECK_SEGMENT, "span runs past its segment", page);
    if (page->start != _ward_segment_base(seg) + first * WARD_SLICE_SIZE)
        return fail(s, WARD_CHECK_PAGE, "page start is not its first slice", page);
    uint8_t expected_class = page->kind == WARD_PAGE_SMALL ? page->class_index
                             : page->kind == WARD_PAGE_LARGE ? WARD_SLICE_LARGE
                                                              : WARD_SLICE_NONE;
    for (size_t i = first; i < first + page->slice_count; i++) {
        if (seg->slice_first[i] != first)
            return fail(s, WARD_CHECK_SEGMENT, "slice names another span as its first", _ward_segment_base(seg) + i * WARD_SLICE_SIZE);
        /* a span being set up is typed before its first block goes out */
        if (page->kind != WARD_PAGE_UNUSED && seg->slice_class[i] != expected_class)
            return fail(s, WARD_CHECK_SEGMENT, "slice class disagrees with its page", _ward_segment_base(seg) + i * WARD_SLICE_SIZE);
    }
    return true;
}

/* Bits set among the page's first `reserved` blocks. */
static uint32_t bits_set(ward_page_t *page)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < page->reserved; i++) {
        ward_bit_t bit = _ward_page_bit(page, page->start + (size_t)i * page->block_size);
        n += (*bit.word & bit.mask) != 0;
    }
    return n;
}

/* The owner's free list: blocks of this page, at block starts, bit clear,
 * no more than were ever carved (which also bounds a loop). */
static bool check_own_page(check_state_t *s, ward_page_t *page)
{
    uint32_t free_count = 0;
    for (ward_block_t *b = page->free; b; b = _ward_link_decode(b->link)) {
        char *p = (char *)b;
        if (++free_count > page->reserved)
            return fail(s, WARD_CHECK_FREE_LIST, "free list longer than the page's blocks (a loop)", page);
        if (p < page->start || p >= page->start + (size_t)page->reserved * page->block_size ||
            (size_t)(p - page->start) % page->block_size != 0)
            return fail(s, WARD_CHECK_FREE_LIST, "free list links a block outside its page", p);
        ward_bit_t bit = _ward_page_bit(page, p);
        if (*bit.word & bit.mask)
            return fail(s, WARD_CHECK_BITMAP, "a free block is marked allocated", p);
    }
    if (free_count + page->used != page->reserved)
        return fail(s, WARD_CHECK_PAGE, "free and used blocks do not add up to the page's blocks", page);
    /* Handed out, cached and sent back by other threads: all have their bit. */
    if (bits_set(page) != page->used)
        return fail(s, WARD_CHECK_BITMAP, "allocation bits disagree with the page's blocks in use", page);
    return true;
}

static void check_span(ward_page_t *page, void *ctx)
{
    check_state_t *s = ctx;
    if (s->result)
        return;
    ward_segment_t *seg = _ward_segment_of_page(page);
    if (!check_slices(s, seg, page))
        return;
    if (page->kind == WARD_PAGE_UNUSED)
        return;
    ward_heap_t *owner = _ward_page_owner(page, memory_order_acquire);
    if (owner == NULL) {
        fail(s, WARD_CHECK_SEGMENT, "span in use without an owner", page);
        return;
    }
    if (page->kind == WARD_PAGE_LARGE) {
        if (page->block_size != (uint32_t)(page->slice_count * WARD_SLICE_SIZE) ||
            atomic_load_explicit(&page->large_live, memory_order_relaxed) > 1)
            fail(s, WARD_CHECK_PAGE, "large page descriptor overwritten", page);
        return;
    }
    if (page->kind != WARD_PAGE_SMALL) {
        fail(s, WARD_CHECK_PAGE, "page kind overwritten", page);
        return;
    }
    unsigned c = page->class_index;
    if (c >= WARD_CLASS_COUNT || page->block_size != _ward_class_size[c] ||
        page->capacity != _ward_class_capacity[c] || page->slice_count != _ward_class_slices[c] ||
        page->reserved > page->capacity) {
        fail(s, WARD_CHECK_PAGE, "small page descriptor breaks its invariants", page);
        return;
    }
    s->class_pages[c]++;
    if (owner == s->self && s->self != NULL)
        check_own_page(s, page);
}

/* The calling thread's free caches: blocks of its own pages of the class,
 * bit set, tagged. */
static void check_caches(check_state_t *s)
{
    ward_heap_t *h = s->self;
    for (unsigned c = 0; c < WARD_CLASS_COUNT && s->result == 0; c++) {
        ward_free_cache_t *fc = &h->cache[c];
        uint32_t n = _ward_cache_count(fc);
        if (n > fc->limit || fc->limit > WARD_FREE_CACHE_MAX || (fc->top == NULL) != (n == 0) ||
            fc->items[0] != NULL) {
            fail(s, WARD_CHECK_FREE_LIST, "free cache count out of range", fc);
            return;
        }
        /* items[1 .. n - 1], oldest first, then top. */
        for (uint32_t i = 1; i <= n; i++) {
            void *p = _ward_cache_block(fc, i, n);
            if (_ward_segmap_byte(p) != WARD_SEGMAP_SLICED) {
                fail(s, WARD_CHECK_FREE_LIST, "free cache holds a pointer outside ward's segments", p);
                return;
            }
            ward_segment_t *seg = _ward_segment_of(p);
            ward_page_t *page = _ward_segment_page_of(seg, p);
            ward_bit_t bit = _ward_segment_bit(seg, p);
            if (page->kind != WARD_PAGE_SMALL || page->class_index != c ||
                _ward_page_owner(page, memory_order_relaxed) != h || _ward_page_block_index(page, p) == UINT32_MAX) {
                fail(s, WARD_CHECK_FREE_LIST, "free cache holds a block of another class or heap", p);
                return;
            }
            if (!(*bit.word & bit.mask)) {
                fail(s, WARD_CHECK_BITMAP, "a cached block's allocation bit is clear", p);
                return;
            }
            if (((const ward_block_t *)p)->tag != _ward_free_tag) {
                fail(s, WARD_CHECK_FREE_LIST, "a cached block was written after its free", p);
                return;
            }
        }
    }
}

int _ward_heap_check(void)
{
    check_state_t s = {0};
    s.self = _ward_tls_heap;
    _ward_segments_each_span(check_span, &s);
    if (s.result == 0 && s.self)
        check_caches(&s);
    /* Other threads add and retire pages without the segment lock: the
     * counts are compared only when this is the one thread heap and no
     * diagnostic shard or user heap is in use concurrently. */
    if (s.result == 0 && ward_counter_get(threads) <= 1 && !_ward_diagnostics) {
        for (unsigned c = 0; c < WARD_CLASS_COUNT; c++) {
            if (s.class_pages[c] != _ward_heap_class_pages(c)) {
                fail(&s, WARD_CHECK_COUNTERS, "pages of a class disagree with the class page counter",
                     (const void *)(uintptr_t)_ward_class_size[c]);
                break;
            }
        }
    }
    if (s.result) {
        char text[256];
        ward_buf_t b = {text, sizeof text, 0};
        _ward_buf_str(&b, "ward: check: ");
        _ward_buf_str(&b, s.what);
        _ward_buf_str(&b, " at ");
        _ward_buf_hex(&b, (uint64_t)(uintptr_t)s.where);
        _ward_buf_str(&b, "\n");
        _ward_buf_finish(&b);
        _ward_os_write_stderr(text, b.len < b.cap ? b.len : b.cap - 1);
    }
    return s.result;
}
