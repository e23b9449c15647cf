/*
 * reclaim.c - direct reclaim: what an allocation refused by a limit does
 * before it fails, and the reclaim callbacks ("shrinkers").
 *
 * Stages, one per attempt of _ward_budget_retry:
 *   0 .. RECLAIM_ROUNDS-1: ward's own free memory (ward_collect(true)), then
 *      the callbacks in increasing cost until they report the shortfall
 *      freed, then ward_collect(true) again to return what they freed.  A
 *      round can fall short although the callbacks freed enough: freed
 *      small blocks return memory to the OS only when whole pages empty.
 *      So further rounds follow while rounds make progress, round k asking
 *      for 2^k times the shortfall (the first round asks for exactly it);
 *   then: one OOM victim per attempt (oom.c), until none is left.
 * An allocation is refused for good when no victim is left.  A
 * thread runs one pass at a time: allocations made by a callback never
 * start a pass of their own (budget.in_reclaim).
 */
#include <errno.h>
#include <pthread.h>

#include "budget/budget.h"
#include "heap/heap.h"
#include "os/os.h"
#include "support/counters.h"
#include "support/fatal.h"
#include "support/options.h"

#define RECLAIMERS_MAX 32
#define RECLAIM_ROUNDS 8

typedef struct reclaimer_s {
    size_t (*fn)(void *ctx, size_t want);
    void *ctx;
    unsigned cost;
} reclaimer_t;

pthread_mutex_t _ward_budget_lock = PTHREAD_MUTEX_INITIALIZER;
static reclaimer_t reclaimers[RECLAIMERS_MAX]; /* (budget lock) sorted by cost, stable */
static unsigned reclaimer_count;               /* (budget lock) */

ward_budget_counters_t _ward_budget_counters;

WARD_API int ward_reclaimer_add(size_t (*fn)(void *ctx, size_t want), void *ctx, unsigned cost)
{
    if (fn == NULL) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&_ward_budget_lock);
    if (reclaimer_count == RECLAIMERS_MAX) {
        pthread_mutex_unlock(&_ward_budget_lock);
        errno = ENOSPC;
        return -1;
    }
    unsigned at = reclaimer_count;
    while (at > 0 && reclaimers[at - 1].cost > cost) {
        reclaimers[at] = reclaimers[at - 1];
        at--;
    }
    reclaimers[at] = (reclaimer_t){fn, ctx, cost};
    reclaimer_count++;
    pthread_mutex_unlock(&_ward_budget_lock);
    return 0;
}

WARD_API int ward_reclaimer_remove(size_t (*fn)(void *ctx, size_t want), void *ctx)
{
    pthread_mutex_lock(&_ward_budget_lock);
    for (unsigned i = 0; i < reclaimer_count; i++) {
        if (reclaimers[i].fn == fn && reclaimers[i].ctx == ctx) {
            for (unsigned j = i + 1; j < reclaimer_count; j++)
                reclaimers[j - 1] = reclaimers[j];
            reclaimer_count--;
            pthread_mutex_unlock(&_ward_budget_lock);
            return 0;
        }
    }
    pthread_mutex_unlock(&_ward_budget_lock);
    errno = ENOENT;
    return -1;
}

static int64_t committed_now(void) { return ward_counter_get(committed); }

/* ward_collect(true), counting what it returned. */
static size_t collect_own(_Atomic uint64_t *counter)
{
    int64_t before = committed_now();
    _ward_heaps_collect(true);
    int64_t drop = before - committed_now();
    if (drop > 0) {
        atomic_fetch_add_explicit(counter, (uint64_t)drop, memory_order_relaxed);
        return (size_t)drop;
    }
    return 0;
}

size_t _ward_budget_reclaim(size_t want, bool background)
{
    _Atomic uint64_t *own = background ? &_ward_budget_counters.reclaimed_background
                                       : &_ward_budget_counters.reclaimed_collect;
    size_t got = collect_own(own);
    if (got >= want)
        return got;
    /* A snapshot, so that callbacks may add and remove callbacks. */
    reclaimer_t list[RECLAIMERS_MAX];
    pthread_mutex_lock(&_ward_budget_lock);
    unsigned count = reclaimer_count;
    for (unsigned i = 0; i < count; i++)
        list[i] = reclaimers[i];
    pthread_mutex_unlock(&_ward_budget_lock);
    size_t missing = want - got, reported = 0;
    for (unsigned i = 0; i < count && missing > 0; i++) {
        size_t freed = list[i].fn(list[i].ctx, missing);
        reported += freed;
        missing -= freed < missing ? freed : missing;
    }
    if (count) {
        atomic_fetch_add_explicit(&_ward_budget_counters.reclaimed_callbacks, reported, memory_order_relaxed);
        got += collect_own(own);
    }
    return got + reported;
}

/* The allocation fails for good: count it, say so, release the reserve. */
static void refuse(ward_heap_t *t)
{
    ward_heap_t *over = t->budget.shortfall_heap;
    atomic_fetch_add_explicit(&_ward_budget_counters.limit_failures, 1, memory_order_relaxed);
    if (over)
        atomic_fetch_add_explicit(&over->budget.limit_failures, 1, memory_order_relaxed);
    else if (!t->budget.shortfall_hopeless && _ward_budget_limit())
        _ward_budget_open_reserve();
    static const char *const keys[] = {"missing", "limit", "committed", "heap_limit"};
    int64_t values[] = {(int64_t)t->budget.shortfall, (int64_t)_ward_budget_limit(), committed_now(),
                        over ? (int64_t)atomic_load_explicit(&over->budget.limit, memory_order_relaxed) : 0};
    _ward_budget_log("ENOMEM", keys, values, 4);
    _ward_budget_note_rise(WARD_PRESSURE_MEDIUM, WARD_PRESSURE_CRITICAL);
    t->budget.shortfall = 0;
    t->budget.shortfall_heap = NULL;
    t->budget.shortfall_hopeless = false;
    errno = ENOMEM;
}

bool _ward_budget_retry(unsigned attempt)
{
    ward_heap_t *t = _ward_tls_heap;
    if (t == NULL || atomic_load_explicit(&t->kind, memory_order_relaxed) != WARD_HEAP_THREAD ||
        t->budget.shortfall == 0)
        return false;
    if (t->budget.in_reclaim || t->budget.shortfall_hopeless) {
        refuse(t);
        return false;
    }
    size_t want = t->budget.shortfall;
    ward_heap_t *over = t->budget.shortfall_heap;
    t->budget.shortfall = 0;
    t->budget.in_reclaim = true;
    if (attempt == 0) {
        atomic_fetch_add_explicit(&_ward_budget_counters.reclaim_passes, 1, memory_order_relaxed);
        t->budget.pass = _ward_budget_new_pass();
        t->budget.reclaim_done = false;
    }
    bool progress = false;
    if (attempt < RECLAIM_ROUNDS && !t->budget.reclaim_done) {
        size_t ask = want << attempt;
        progress = _ward_budget_reclaim(ask >> attempt == want ? ask : SIZE_MAX, false) > 0;
        t->budget.reclaim_done = !progress;
    }
    if (!progress)
        progress = _ward_budget_oom_kill(over, t->budget.pass, -999, false);
    t->budget.in_reclaim = false;
    if (!progress) {
        t->budget.shortfall = want;
        t->budget.shortfall_heap = over;
        refuse(t);
        return false;
    }
    return true;
}

void _ward_budget_log(const char *event, const char *const *keys, const int64_t *values, unsigned count)
{
    if (!ward_option(WARD_OPTION_VERBOSE))
        return;
    char text[256];
    ward_buf_t b = {text, sizeof text, 0};
    _ward_buf_str(&b, "ward: ");
    _ward_buf_str(&b, event);
    for (unsigned i = 0; i < count; i++) {
        _ward_buf_str(&b, " ");
        _ward_buf_str(&b, keys[i]);
        _ward_buf_str(&b, values[i] < 0 ? "=-" : "=");
        _ward_buf_u64(&b, values[i] < 0 ? (uint64_t)0 - (uint64_t)values[i] : (uint64_t)values[i]);
    }
    _ward_buf_str(&b, "\n");
    _ward_buf_finish(&b);
    _ward_os_write_stderr(text, b.len < b.cap ? b.len : b.cap - 1);
}

