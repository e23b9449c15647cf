/*
 * huge.c - blocks with a mapping of their own; realloc grows them with
 * mremap, in place where the neighbourhood is free.
 */
#include "segment/huge.h"

#include <errno.h>
#include <pthread.h>

#include "budget/budget.h"
#include "os/os.h"

static pthread_mutex_t huge_lock = PTHREAD_MUTEX_INITIALIZER;
static ward_huge_t *huge_list; /* (huge_lock) */

/* A huge block's mapping is gone once freed, so a second free finds no
 * segment; remembering the last few addresses names that error right. */
#define RECENT_FREES 64
static _Atomic(uintptr_t) recent_frees[RECENT_FREES];
static _Atomic(unsigned) recent_next;

bool _ward_huge_recently_freed(const void *p)
{
    for (unsigned i = 0; i < RECENT_FREES; i++)
        if (atomic_load_explicit(&recent_frees[i], memory_order_relaxed) == (uintptr_t)p)
            return true;
    return false;
}

static void remember_free(const void *p)
{
    unsigned slot = atomic_fetch_add_explicit(&recent_next, 1, memory_order_relaxed) % RECENT_FREES;
    atomic_store_explicit(&recent_frees[slot], (uintptr_t)p, memory_order_relaxed);
}

static void forget_free(const void *p)
{
    for (unsigned i = 0; i < RECENT_FREES; i++) {
        uintptr_t seen = (uintptr_t)p;
        atomic_compare_exchange_strong_explicit(&recent_frees[i], &seen, 0, memory_order_relaxed,
                                                memory_order_relaxed);
    }
}

void _ward_huge_check(const ward_huge_t *h, const void *p, const char *operation)
{
    if (WARD_UNLIKELY(h->seal != _ward_huge_seal(h)))
        _ward_fatal_op(operation, "huge block header overwritten (overflow from the memory below it)", p, 0);
}

void _ward_huge_lock(void) { pthread_mutex_lock(&huge_lock); }
void _ward_huge_unlock(void) { pthread_mutex_unlock(&huge_lock); }
void _ward_huge_reset_lock(void) { pthread_mutex_init(&huge_lock, NULL); }

static void list_insert(ward_huge_t *h)
{
    pthread_mutex_lock(&huge_lock);
    h->prev = NULL;
    h->next = huge_list;
    if (huge_list)
        huge_list->prev = h;
    huge_list = h;
    pthread_mutex_unlock(&huge_lock);
}

static void list_unlink_locked(ward_huge_t *h)
{
    if (h->prev)
        h->prev->next = h->next;
    else
        huge_list = h->next;
    if (h->next)
        h->next->prev = h->prev;
}

/* Admits bytes of a new mapping (committed and reserved: the kernel backs
 * them on touch) under the limits; over one, free slices of the segments
 * are decommitted first and the admission tried again. */
static bool admit(size_t bytes, struct ward_heap_s *heap)
{
    if (_ward_budget_commit(bytes, bytes, heap, bytes))
        return true;
    _ward_segments_purge(true);
    return _ward_budget_commit(bytes, bytes, heap, bytes);
}

void *_ward_huge_alloc(size_t n, size_t alignment, struct ward_heap_s *heap)
{
    size_t page = _ward_os_page_size();
    size_t offset = alignment > page ? alignment : page;
    if (n > PTRDIFF_MAX - offset - WARD_SEGMENT_SIZE) {
        errno = ENOMEM;
        return NULL;
    }
    size_t map_size = WARD_ALIGN_UP(offset + n, page);
    if (!admit(map_size, heap)) {
        errno = ENOMEM;
        return NULL;
    }
    /* The mapping is aligned to the requested alignment when that is more
     * than a segment, so that user = start + offset is aligned too. */
    ward_huge_t *h = _ward_os_map_aligned(map_size, alignment > WARD_SEGMENT_SIZE ? alignment : WARD_SEGMENT_SIZE);
    if (h == NULL) {
        _ward_budget_uncommit(map_size, map_size, heap, map_size);
        return NULL;
    }
    if (!_ward_segmap_add(h, map_size, false)) {
        _ward_os_unmap(h, map_size);
        _ward_budget_uncommit(map_size, map_size, heap, map_size);
        errno = ENOMEM;
        return NULL;
    }
    h->kind = WARD_SEGMENT_HUGE;
    h->map_size = map_size;
    h->offset = offset;
    h->usable = map_size - offset;
    h->user = (char *)h + offset;
    h->heap = heap;
    h->seal = _ward_huge_seal(h);
    atomic_store_explicit(&h->live, 1, memory_order_relaxed);
    forget_free(h->user); /* the address is live again */
    list_insert(h);
    ward_counter_add(huge_count, 1);
    ward_counter_add(big_mallocs, 1);
    _ward_allocated_add((int64_t)h->usable);
    return h->user;
}

static void release(ward_huge_t *h)
{
    size_t map_size = h->map_size;
    ward_counter_add(reserved, -(int64_t)map_size);
    ward_counter_add(huge_count, -1);
    ward_counter_add(big_frees, 1);
    _ward_allocated_add(-(int64_t)h->usable);
    _ward_committed_add(-(int64_t)map_size);
    _ward_budget_heap_release(h->heap, map_size);
    _ward_segmap_remove(h, map_size);
    _ward_os_unmap(h, map_size);
}

void _ward_huge_free(ward_huge_t *h, void *p, const char *operation)
{
    _ward_huge_check(h, p, operation);
    if (WARD_UNLIKELY((char *)p != h->user))
        _ward_fatal_op(operation,
                       (char *)p > h->user && (char *)p < h->user + h->usable ? "interior pointer"
                                                                            : "pointer not allocated by ward",
                       p, h->usable);
    uint32_t expected = 1;
    if (!atomic_compare_exchange_strong_explicit(&h->live, &expected, 0, memory_order_acq_rel, memory_order_relaxed))
        _ward_fatal_op(operation, "double free", p, h->usable);
    pthread_mutex_lock(&huge_lock);
    list_unlink_locked(h);
    pthread_mutex_unlock(&huge_lock);
    release(h);
    remember_free(p);
}

void *_ward_huge_realloc(ward_huge_t *h, size_t n)
{
    size_t page = _ward_os_page_size();
    if (n > PTRDIFF_MAX - h->offset - WARD_SEGMENT_SIZE) {
        errno = ENOMEM;
        return NULL;
    }
    size_t new_map = WARD_ALIGN_UP(h->offset + n, page);
    size_t old_map = h->map_size;
    if (new_map == old_map)
        return h->user;
    if (new_map > old_map && !admit(new_map - old_map, h->heap)) {
        errno = ENOMEM;
        return NULL;
    }
    ward_huge_t *moved = h;
    pthread_mutex_lock(&huge_lock);
    list_unlink_locked(h);
    pthread_mutex_unlock(&huge_lock);
    _ward_segmap_remove(h, old_map);
    if (!_ward_os_remap_in_place(h, old_map, new_map)) {
        /* Reserve an aligned range and move the pages into it. */
        void *target = _ward_os_map_aligned(new_map, WARD_SEGMENT_SIZE);
        if (target == NULL || !_ward_os_remap_to(h, old_map, new_map, target)) {
            if (target)
                _ward_os_unmap(target, new_map);
            _ward_segmap_add(h, old_map, false);
            list_insert(h);
            if (new_map > old_map)
                _ward_budget_uncommit(new_map - old_map, new_map - old_map, h->heap, new_map - old_map);
            errno = ENOMEM;
            return NULL;
        }
        moved = target;
    }
    ward_check_cheap(_ward_segmap_add(moved, new_map, false), "a moved huge block lies within 48 bits");
    size_t old_usable = moved->usable;
    moved->map_size = new_map;
    moved->usable = new_map - moved->offset;
    moved->user = (char *)moved + moved->offset;
    moved->seal = _ward_huge_seal(moved);
    list_insert(moved);
    _ward_allocated_add((int64_t)moved->usable - (int64_t)old_usable);
    if (new_map < old_map) {
        ward_counter_add(reserved, (int64_t)new_map - (int64_t)old_map);
        _ward_committed_add((int64_t)new_map - (int64_t)old_map);
        _ward_budget_heap_release(moved->heap, old_map - new_map);
    }
    return moved->user;
}

void _ward_huge_disown(struct ward_heap_s *heap)
{
    pthread_mutex_lock(&huge_lock);
    for (ward_huge_t *h = huge_list; h; h = h->next)
        if (h->heap == heap)
            h->heap = NULL;
    pthread_mutex_unlock(&huge_lock);
}

void _ward_huge_free_heap(struct ward_heap_s *heap)
{
    for (;;) {
        ward_huge_t *victim = NULL;
        pthread_mutex_lock(&huge_lock);
        for (ward_huge_t *h = huge_list; h; h = h->next)
            if (h->heap == heap) {
                victim = h;
                list_unlink_locked(h);
                break;
            }
        pthread_mutex_unlock(&huge_lock);
        if (!victim)
            return;
        atomic_store_explicit(&victim->live, 0, memory_order_relaxed);
        release(victim);
    }
}
