/*
 * segment.c - segments, spans of slices, and the decay purge.
 */
#include "segment/segment.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "budget/budget.h"
#include "os/os.h"
#include "support/options.h"

#define ALL_SLICES (~(uint64_t)0)
#define USER_SLICES (ALL_SLICES & ~(uint64_t)1) /* slice 0 is metadata */

static pthread_mutex_t segment_lock = PTHREAD_MUTEX_INITIALIZER;
static ward_segment_t *all_segments; /* (lock) every sliced segment */
static uint64_t last_purge_ns;       /* (lock) */
static size_t dirty_slices;          /* (lock) free slices that may be resident, all segments */

/* Dirty memory above max(32 MiB, an eighth of what is committed) is
 * decommitted at once, oldest segments first, whatever the decay delay: a
 * program that frees a lot and then goes quiet sees its RSS fall without
 * waiting for its next allocation, and one that frees and reallocates in
 * big waves keeps most of its pages resident. */
static size_t dirty_max_slices(void)
{
    size_t floor = (32 * WARD_MiB) / WARD_SLICE_SIZE;
    int64_t committed = ward_counter_get(committed);
    size_t eighth = committed > 0 ? (size_t)committed / 8 / WARD_SLICE_SIZE : 0;
    return eighth > floor ? eighth : floor;
}
static size_t metadata_bytes;        /* committed per segment for its header */

void _ward_segments_init(void)
{
    metadata_bytes = WARD_ALIGN_UP(sizeof(ward_segment_t), _ward_os_page_size());
}

void _ward_segments_lock(void) { pthread_mutex_lock(&segment_lock); }
void _ward_segments_unlock(void) { pthread_mutex_unlock(&segment_lock); }
void _ward_segments_reset_lock(void) { pthread_mutex_init(&segment_lock, NULL); }

/* Mask of `count` slices starting at `first`. */
static uint64_t run_mask(unsigned first, unsigned count)
{
    uint64_t ones = count >= 64 ? ALL_SLICES : (((uint64_t)1 << count) - 1);
    return ones << first;
}

/* Lowest start of `count` consecutive set bits of mask, or -1. */
static int find_run(uint64_t mask, unsigned count)
{
    uint64_t starts = mask;
    for (unsigned i = 1; i < count && starts; i++)
        starts &= mask >> i;
    return starts ? __builtin_ctzll(starts) : -1;
}

/* The last segment of the list: the oldest (new ones are pushed at the head). */
static ward_segment_t *all_segments_tail(void)
{
    ward_segment_t *s = all_segments;
    while (s && s->next)
        s = s->next;
    return s;
}

static void list_push(ward_segment_t *seg)
{
    seg->prev = NULL;
    seg->next = all_segments;
    if (all_segments)
        all_segments->prev = seg;
    all_segments = seg;
}

static void list_remove(ward_segment_t *seg)
{
    if (seg->prev)
        seg->prev->next = seg->next;
    else
        all_segments = seg->next;
    if (seg->next)
        seg->next->prev = seg->prev;
}

static ward_segment_t *segment_new(void)
{
    char *base = _ward_os_map_aligned(WARD_SEGMENT_SIZE, WARD_SEGMENT_SIZE);
    if (base == NULL)
        return NULL;
    if (!_ward_segmap_add(base, WARD_SEGMENT_SIZE, true)) {
        _ward_os_unmap(base, WARD_SEGMENT_SIZE);
        errno = ENOMEM;
        return NULL;
    }
    /* Where the OS page is larger than the guard, the guard bytes stay
     * accessible (and unused): the header's place does not change. */
    if (WARD_SEGMENT_GUARD != 0 && _ward_os_page_size() == WARD_SEGMENT_GUARD)
        (void)_ward_os_protect(base, WARD_SEGMENT_GUARD, false);
    ward_segment_t *seg = (ward_segment_t *)(base + WARD_SEGMENT_GUARD);
    /* Fresh memory is zero: only the non-zero fields need writing. */
    seg->kind = WARD_SEGMENT_SLICED;
    seg->free_mask = USER_SLICES;
    seg->pages[0].kind = WARD_PAGE_META;
    memset(seg->slice_class, WARD_SLICE_NONE, sizeof seg->slice_class);
    list_push(seg);
    /* reserved and committed were admitted by the caller. */
    ward_counter_add(metadata, (int64_t)metadata_bytes);
    ward_counter_add(segments, 1);
    return seg;
}

static void segment_release(ward_segment_t *seg)
{
    list_remove(seg);
    _ward_segmap_remove(_ward_segment_base(seg), WARD_SEGMENT_SIZE);
    _ward_os_unmap(_ward_segment_base(seg), WARD_SEGMENT_SIZE);
    ward_counter_add(reserved, -(int64_t)WARD_SEGMENT_SIZE);
    ward_counter_add(metadata, -(int64_t)metadata_bytes);
    ward_counter_add(segments, -1);
    _ward_committed_add(-(int64_t)metadata_bytes);
}

/* Decommits the dirty slices of seg in `which`, run by run. (lock) */
static void segment_decommit(ward_segment_t *seg, uint64_t which)
{
    uint64_t dirty = which & seg->dirty_mask;
    seg->dirty_mask &= ~dirty;
    dirty_slices -= (size_t)_ward_popcount64(dirty);
    while (dirty) {
        unsigned first = (unsigned)__builtin_ctzll(dirty);
        uint64_t clean_above = ~(dirty >> first);
        unsigned count = clean_above ? (unsigned)__builtin_ctzll(clean_above) : 64 - first;
        _ward_os_decommit(_ward_segment_base(seg) + (size_t)first * WARD_SLICE_SIZE, (size_t)count * WARD_SLICE_SIZE);
        _ward_committed_add(-(int64_t)((size_t)count * WARD_SLICE_SIZE));
        dirty &= ~run_mask(first, count);
    }
}

/* The dirty slices of seg whose delay has passed. (lock) */
static uint64_t slices_due(const ward_segment_t *seg, uint64_t now, uint64_t delay)
{
    uint64_t due = 0;
    for (uint64_t dirty = seg->dirty_mask; dirty; dirty &= dirty - 1) {
        unsigned i = (unsigned)__builtin_ctzll(dirty);
        if (now - seg->dirty_time[i] >= delay)
            due |= (uint64_t)1 << i;
    }
    return due;
}

static void purge_locked(uint64_t now, bool force)
{
    uint64_t delay = (uint64_t)ward_option(WARD_OPTION_DECAY_MS) * 1000000u;
    bool kept_empty = false;
    last_purge_ns = now;
    for (ward_segment_t *seg = all_segments, *next; seg; seg = next) {
        next = seg->next;
        if (seg->dirty_mask)
            segment_decommit(seg, force ? seg->dirty_mask : slices_due(seg, now, delay));
        if (seg->free_mask == USER_SLICES && seg->dirty_mask == 0) {
            /* Keep one empty segment mapped (only its header is resident)
             * so that a program hovering at a boundary does not remap. */
            if (kept_empty || force)
                segment_release(seg);
            else
                kept_empty = true;
        }
    }
}

static void maybe_purge_locked(void)
{
    uint64_t now = _ward_os_now_ns();
    uint64_t delay = (uint64_t)ward_option(WARD_OPTION_DECAY_MS) * 1000000u;
    if (now - last_purge_ns >= delay / 4)
        purge_locked(now, false);
}

/* Bytes that taking the run would commit: its slices not resident. (lock) */
static size_t run_fresh_bytes(const ward_segment_t *seg, unsigned first, unsigned count)
{
    return (size_t)_ward_popcount64(run_mask(first, count) & ~seg->dirty_mask) * WARD_SLICE_SIZE;
}

/* Takes the run; its fresh bytes were admitted by the caller. (lock) */
static ward_page_t *take_run(ward_segment_t *seg, unsigned first, unsigned count)
{
    uint64_t run = run_mask(first, count);
    dirty_slices -= (size_t)_ward_popcount64(run & seg->dirty_mask);
    seg->free_mask &= ~run;
    seg->dirty_mask &= ~run;
    seg->in_use_slices += count;
    for (unsigned i = 0; i < count; i++)
        seg->slice_first[first + i] = (uint8_t)first;
    ward_page_t *page = &seg->pages[first];
    page->start = _ward_segment_base(seg) + (size_t)first * WARD_SLICE_SIZE;
    page->slice_count = (uint8_t)count;
    page->bits = &seg->bits[(size_t)first * WARD_BITMAP_WORDS_PER_SLICE];
    page->kind = WARD_PAGE_UNUSED;
    return page;
}

/* Where a span of `slices` would go: a run of resident free slices first
 * (no page faults, no new RSS), else any free run; NULL for a new segment.
 * (lock) */
static ward_segment_t *find_span(unsigned slices, unsigned *first_out)
{
    /* Every header read is a cache miss of its own: a heap that only grows
     * (no free slice is resident) skips the walk that could not succeed,
     * which for 1 GiB of small blocks was a walk of up to 256 segments per
     * new page. */
    for (ward_segment_t *seg = dirty_slices >= slices ? all_segments : NULL; seg; seg = seg->next) {
        int first = find_run(seg->free_mask & seg->dirty_mask, slices);
        if (first >= 0) {
            *first_out = (unsigned)first;
            return seg;
        }
    }
    for (ward_segment_t *seg = all_segments; seg; seg = seg->next) {
        int first = find_run(seg->free_mask, slices);
        if (first >= 0) {
            *first_out = (unsigned)first;
            return seg;
        }
    }
    return NULL;
}

ward_page_t *_ward_span_alloc(unsigned slices, struct ward_heap_s *heap)
{
    ward_assert(slices >= 1 && slices < WARD_SLICES_PER_SEGMENT);
    size_t span_bytes = (size_t)slices * WARD_SLICE_SIZE;
    pthread_mutex_lock(&segment_lock);
    for (int tries = 0;; tries++) {
        unsigned first = 1;
        ward_segment_t *seg = find_span(slices, &first);
        size_t commit = seg ? run_fresh_bytes(seg, first, slices) : metadata_bytes + span_bytes;
        size_t reserve = seg ? 0 : WARD_SEGMENT_SIZE;
        if (_ward_budget_commit(commit, reserve, heap, span_bytes)) {
            if (seg == NULL && (seg = segment_new()) == NULL) {
                pthread_mutex_unlock(&segment_lock);
                _ward_budget_uncommit(commit, reserve, heap, span_bytes);
                errno = ENOMEM;
                return NULL;
            }
            ward_page_t *page = take_run(seg, first, slices);
            pthread_mutex_unlock(&segment_lock);
            return page;
        }
        /* Over a limit: free slices still resident go first (they count
         * as committed), then the admission is tried once more. */
        if (tries > 0 || dirty_slices == 0)
            break;
        purge_locked(_ward_os_now_ns(), true);
    }
    pthread_mutex_unlock(&segment_lock);
    errno = ENOMEM;
    return NULL;
}

void _ward_span_free(ward_page_t *page)
{
    ward_segment_t *seg = _ward_segment_of_page(page);
    unsigned first = (unsigned)(page - seg->pages);
    uint64_t run = run_mask(first, page->slice_count);
    pthread_mutex_lock(&segment_lock);
    ward_check_cheap((seg->free_mask & run) == 0, "span freed twice");
    _ward_budget_heap_release(_ward_page_owner(page, memory_order_relaxed),
                              (size_t)page->slice_count * WARD_SLICE_SIZE);
    page->kind = WARD_PAGE_UNUSED;
    _ward_page_set_slice_class(page, WARD_SLICE_NONE);
    _ward_page_set_owner(page, NULL, memory_order_relaxed);
    seg->free_mask |= run;
    seg->in_use_slices -= page->slice_count;
    uint64_t now = _ward_os_now_ns();
    for (unsigned i = 0; i < page->slice_count; i++)
        seg->dirty_time[first + i] = now;
    seg->dirty_mask |= run;
    dirty_slices += page->slice_count;
    if (ward_option(WARD_OPTION_DECAY_MS) == 0) {
        purge_locked(now, false);
    } else if (dirty_slices > dirty_max_slices()) {
        /* Over the cap: decommit whole segments' dirty slices, from the
         * list's tail (the oldest segments), down to half the cap. */
        size_t target = dirty_max_slices() / 2;
        for (ward_segment_t *s = all_segments_tail(); s && dirty_slices > target; s = s->prev)
            segment_decommit(s, s->dirty_mask);
    } else {
        maybe_purge_locked();
    }
    pthread_mutex_unlock(&segment_lock);
}

void _ward_segments_purge(bool force)
{
    pthread_mutex_lock(&segment_lock);
    purge_locked(_ward_os_now_ns(), force);
    pthread_mutex_unlock(&segment_lock);
}

void _ward_segments_each_span(void (*fn)(ward_page_t *page, void *ctx), void *ctx)
{
    pthread_mutex_lock(&segment_lock);
    for (ward_segment_t *seg = all_segments; seg; seg = seg->next) {
        uint64_t used = ~seg->free_mask & USER_SLICES;
        while (used) {
            unsigned first = (unsigned)__builtin_ctzll(used);
            ward_page_t *page = &seg->pages[first];
            used &= ~run_mask(first, page->slice_count);
            fn(page, ctx);
        }
    }
    pthread_mutex_unlock(&segment_lock);
}
