/*
 * limit.c - admission of memory under the process limit and the heaps'
 * limits, the emergency reserve, the overcommit modes, and the limit API.
 *
 * Admission is a compare-and-swap on the counter the mode bounds, so that
 * two threads can never both pass a limit that only one of them fits
 * under; it runs under whatever lock the caller holds and never calls out.
 */
#include <errno.h>

#include "budget/budget.h"
#include "heap/heap.h"
#include "os/os.h"
#include "support/counters.h"
#include "support/options.h"

/* The emergency reserve: min(1 MiB, limit / 8) at the top of the limit.
 * Armed, ordinary allocations stop short of it; released (open) after the
 * first refusal, so that the program can unwind; re-armed once usage falls
 * below limit - 2 * reserve. */
static _Atomic(bool) reserve_open;

static size_t reserve_size(size_t limit)
{
    size_t eighth = limit / 8;
    return eighth < WARD_MiB ? eighth : WARD_MiB;
}

bool _ward_budget_reserve_is_open(void) { return atomic_load_explicit(&reserve_open, memory_order_relaxed); }

void _ward_budget_open_reserve(void)
{
    if (!atomic_exchange_explicit(&reserve_open, true, memory_order_relaxed)) {
        static const char *const keys[] = {"limit", "reserve"};
        size_t limit = _ward_budget_limit();
        int64_t values[] = {(int64_t)limit, (int64_t)reserve_size(limit)};
        _ward_budget_log("reserve released", keys, values, 2);
    }
}

size_t _ward_budget_limit(void) { return (size_t)ward_option(WARD_OPTION_LIMIT); }

static bool mode_never(void) { return ward_option(WARD_OPTION_OVERCOMMIT) == WARD_OVERCOMMIT_NEVER; }

int64_t _ward_budget_usage(void)
{
    return mode_never() ? ward_counter_get(reserved) : ward_counter_get(committed);
}

size_t _ward_budget_basis(void)
{
    size_t limit = _ward_budget_limit();
    return limit ? limit : _ward_budget_cgroup_limit();
}

/* Records what the calling thread's allocation lacks, for _ward_budget_retry. */
static void note_shortfall(size_t bytes, ward_heap_t *heap, bool hopeless)
{
    ward_heap_t *t = _ward_tls_heap;
    if (t == NULL)
        return;
    t->budget.shortfall = bytes ? bytes : 1;
    t->budget.shortfall_heap = heap;
    t->budget.shortfall_hopeless = hopeless;
}

static bool is_user_heap(const ward_heap_t *heap)
{
    return heap != NULL && atomic_load_explicit(&heap->kind, memory_order_relaxed) == WARD_HEAP_SHARED;
}

/* Admits bytes for a user heap under its own limit. */
static bool heap_admit(ward_heap_t *heap, size_t bytes)
{
    ward_heap_budget_t *b = &heap->budget;
    uint64_t limit = atomic_load_explicit(&b->limit, memory_order_relaxed);
    int64_t cur = atomic_load_explicit(&b->committed, memory_order_relaxed);
    do {
        if (limit && (uint64_t)cur + bytes > limit) {
            note_shortfall((size_t)((uint64_t)cur + bytes - limit), heap, bytes > limit);
            return false;
        }
    } while (!atomic_compare_exchange_weak_explicit(&b->committed, &cur, cur + (int64_t)bytes, memory_order_relaxed,
                                                    memory_order_relaxed));
    _ward_peak_raise(&b->committed_peak, cur + (int64_t)bytes);
    return true;
}

/* Adds amount to the bounded counter if it stays within the limit. */
static bool process_admit(_Atomic int64_t *counter, size_t amount, size_t limit)
{
    size_t reserve = reserve_size(limit);
    int64_t cur = atomic_load_explicit(counter, memory_order_relaxed);
    bool open = atomic_load_explicit(&reserve_open, memory_order_relaxed);
    if (open && (size_t)(cur > 0 ? cur : 0) + 2 * reserve < limit) {
        atomic_store_explicit(&reserve_open, false, memory_order_relaxed);
        open = false;
    }
    size_t allowed = open ? limit : limit - reserve;
    do {
        size_t used = cur > 0 ? (size_t)cur : 0;
        if (used + amount > allowed) {
            note_shortfall(used + amount - allowed, NULL, false);
            return false;
        }
    } while (!atomic_compare_exchange_weak_explicit(counter, &cur, cur + (int64_t)amount, memory_order_relaxed,
                                                    memory_order_relaxed));
    return true;
}

/* Bytes no single request may exceed in the guess mode. */
static size_t guess_ceiling(size_t limit)
{
    static _Atomic(size_t) ram_and_swap;
    if (limit)
        return limit;
    size_t total = atomic_load_explicit(&ram_and_swap, memory_order_relaxed);
    if (total == 0) {
        total = _ward_os_ram_and_swap();
        atomic_store_explicit(&ram_and_swap, total ? total : SIZE_MAX, memory_order_relaxed);
    }
    return total ? total : SIZE_MAX;
}

bool _ward_budget_commit(size_t commit, size_t reserve, ward_heap_t *heap, size_t heap_bytes)
{
    size_t limit = _ward_budget_limit();
    long mode = ward_option(WARD_OPTION_OVERCOMMIT);
    if (mode == WARD_OVERCOMMIT_GUESS && heap_bytes > guess_ceiling(limit)) {
        note_shortfall(heap_bytes, NULL, true);
        return false;
    }
    bool heap_counted = is_user_heap(heap) && heap_bytes;
    if (heap_counted && !heap_admit(heap, heap_bytes))
        return false;
    int64_t before = mode == WARD_OVERCOMMIT_NEVER ? ward_counter_get(reserved) : ward_counter_get(committed);
    if (limit == 0) {
        ward_counter_add(committed, (int64_t)commit);
        ward_counter_add(reserved, (int64_t)reserve);
    } else if (mode == WARD_OVERCOMMIT_NEVER) {
        if (!process_admit(&_ward_counters.reserved, reserve, limit))
            goto refused;
        ward_counter_add(committed, (int64_t)commit);
    } else {
        if (!process_admit(&_ward_counters.committed, commit, limit))
            goto refused;
        ward_counter_add(reserved, (int64_t)reserve);
    }
    if (commit) {
        int64_t now = ward_counter_get(committed);
        if (now > ward_counter_get(committed_peak)) {
            _ward_peak_raise(&_ward_counters.committed_peak, now);
            atomic_store_explicit(&_ward_counters.unused_at_peak, now - ward_counter_get(allocated),
                                  memory_order_relaxed);
        }
    }
    ward_heap_t *t = _ward_tls_heap;
    if (t && t->budget.shortfall)
        t->budget.shortfall = 0; /* an earlier refusal of this allocation was overcome */
    size_t basis = _ward_budget_basis();
    if (basis) {
        int64_t after = before + (int64_t)(mode == WARD_OVERCOMMIT_NEVER ? reserve : commit);
        ward_pressure_t from = _ward_budget_level_of(before, basis), to = _ward_budget_level_of(after, basis);
        if (to > from)
            _ward_budget_note_rise(from, to);
    }
    return true;
refused:
    if (heap_counted)
        atomic_fetch_sub_explicit(&heap->budget.committed, (int64_t)heap_bytes, memory_order_relaxed);
    return false;
}

void _ward_budget_uncommit(size_t commit, size_t reserve, ward_heap_t *heap, size_t heap_bytes)
{
    ward_counter_add(committed, -(int64_t)commit);
    ward_counter_add(reserved, -(int64_t)reserve);
    _ward_budget_heap_release(heap, heap_bytes);
}

void _ward_budget_heap_release(ward_heap_t *heap, size_t bytes)
{
    if (is_user_heap(heap) && bytes)
        atomic_fetch_sub_explicit(&heap->budget.committed, (int64_t)bytes, memory_order_relaxed);
}

/* ------------------------------------------------------------------ API */

WARD_API int ward_set_limit(size_t bytes)
{
    _ward_options_init();
    if (bytes > ((size_t)1 << 60))
        bytes = (size_t)1 << 60;
    __atomic_store_n(&_ward_options[WARD_OPTION_LIMIT], (long)bytes, __ATOMIC_RELAXED);
    atomic_store_explicit(&reserve_open, false, memory_order_relaxed);
    return 0;
}

WARD_API size_t ward_get_limit(void)
{
    _ward_options_init();
    return _ward_budget_limit();
}

WARD_API int ward_heap_set_limit(ward_heap_t *heap, size_t bytes)
{
    if (heap == NULL) {
        errno = EINVAL;
        return -1;
    }
    atomic_store_explicit(&heap->budget.limit, (uint64_t)bytes, memory_order_relaxed);
    return 0;
}

WARD_API int ward_heap_stats_get(ward_heap_t *heap, ward_heap_stats_t *out)
{
    if (heap == NULL || out == NULL) {
        errno = EINVAL;
        return -1;
    }
    const ward_heap_budget_t *b = &heap->budget;
    int64_t committed = atomic_load_explicit(&b->committed, memory_order_relaxed);
    int64_t peak = atomic_load_explicit(&b->committed_peak, memory_order_relaxed);
    out->committed = committed > 0 ? (uint64_t)committed : 0;
    out->committed_peak = peak > 0 ? (uint64_t)peak : 0;
    out->limit = atomic_load_explicit(&b->limit, memory_order_relaxed);
    out->oom_adj = atomic_load_explicit(&b->oom_adj, memory_order_relaxed);
    out->oom_events = atomic_load_explicit(&b->oom_events, memory_order_relaxed);
    out->limit_failures = atomic_load_explicit(&b->limit_failures, memory_order_relaxed);
    return 0;
}
