/*
 * oom.c - the OOM policy and the low-memory killer.
 *
 * A candidate is a user heap with an OOM callback and adj > -1000.  Its
 * badness is
 *     committed bytes of the heap + adj * basis / 1000
 * where basis is the limit that refused (the heap's own limit, or the
 * process limit, else the cgroup's memory limit).  The victim is the
 * candidate of highest badness not yet chosen in the current pass (equal
 * badness: the most recently created heap).  It is chosen under the
 * registry lock; its callback runs after every lock is released.
 */
#include <errno.h>

#include "budget/budget.h"
#include "heap/heap.h"
#include "support/counters.h"

static _Atomic(uint64_t) pass_counter;
static _Atomic(int) lmk_level = WARD_PRESSURE_NONE; /* NONE: off */
static _Atomic(int) lmk_min_adj = 1000;

uint64_t _ward_budget_new_pass(void)
{
    return atomic_fetch_add_explicit(&pass_counter, 1, memory_order_relaxed) + 1;
}

WARD_API int ward_heap_set_oom(ward_heap_t *heap, int adj, void (*callback)(ward_heap_t *heap, void *ctx), void *ctx)
{
    if (heap == NULL || callback == NULL || adj < -1000 || adj > 1000) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&_ward_budget_lock);
    atomic_store_explicit(&heap->budget.oom_adj, adj, memory_order_relaxed);
    heap->budget.oom_fn = callback;
    heap->budget.oom_ctx = ctx;
    pthread_mutex_unlock(&_ward_budget_lock);
    return 0;
}

WARD_API int ward_lmk_set(ward_pressure_t level, int min_adj)
{
    if ((unsigned)level >= WARD_PRESSURE_COUNT_ || min_adj < -999 || min_adj > 1000) {
        errno = EINVAL;
        return -1;
    }
    atomic_store_explicit(&lmk_min_adj, min_adj, memory_order_relaxed);
    atomic_store_explicit(&lmk_level, (int)level, memory_order_relaxed);
    return 0;
}

typedef struct choice_s {
    ward_heap_t *over;  /* only this heap may be chosen (its own limit), or NULL */
    uint64_t pass;
    int min_adj;
    int64_t basis;
    ward_heap_t *victim;
    int64_t badness;
    void (*fn)(ward_heap_t *heap, void *ctx);
    void *ctx;
} choice_t;

/* Under the registry lock; takes the budget lock. */
static void consider(ward_heap_t *h, void *arg)
{
    choice_t *c = arg;
    if (c->over && h != c->over)
        return;
    pthread_mutex_lock(&_ward_budget_lock);
    int64_t adj = atomic_load_explicit(&h->budget.oom_adj, memory_order_relaxed);
    if (h->budget.oom_fn && adj > -1000 && adj >= c->min_adj && h->budget.oom_pass != c->pass) {
        int64_t badness = atomic_load_explicit(&h->budget.committed, memory_order_relaxed) + adj * c->basis / 1000;
        if (c->victim == NULL || badness > c->badness) {
            c->victim = h;
            c->badness = badness;
            c->fn = h->budget.oom_fn;
            c->ctx = h->budget.oom_ctx;
        }
    }
    pthread_mutex_unlock(&_ward_budget_lock);
}

bool _ward_budget_oom_kill(ward_heap_t *over, uint64_t pass, int min_adj, bool lmk)
{
    choice_t c = {.over = over, .pass = pass, .min_adj = min_adj};
    c.basis = over ? (int64_t)atomic_load_explicit(&over->budget.limit, memory_order_relaxed)
                   : (int64_t)_ward_budget_basis();
    _ward_heaps_each_user(consider, &c);
    if (c.victim == NULL)
        return false;
    /* Mark it under the registry lock again: the heap may have been
     * destroyed since (then it is no longer in the registry). */
    ward_heap_t *victim = c.victim;
    int64_t heap_committed = atomic_load_explicit(&victim->budget.committed, memory_order_relaxed);
    pthread_mutex_lock(&_ward_budget_lock);
    victim->budget.oom_pass = pass;
    pthread_mutex_unlock(&_ward_budget_lock);
    atomic_fetch_add_explicit(&victim->budget.oom_events, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(lmk ? &_ward_budget_counters.lmk_events : &_ward_budget_counters.oom_events, 1,
                              memory_order_relaxed);
    static const char *const keys[] = {"heap", "adj", "committed", "badness", "basis"};
    int64_t values[] = {(int64_t)(uintptr_t)victim, atomic_load_explicit(&victim->budget.oom_adj, memory_order_relaxed),
                        heap_committed, c.badness, c.basis};
    _ward_budget_log(lmk ? "lmk victim" : "oom victim", keys, values, 5);
    int64_t before = ward_counter_get(committed);
    c.fn(victim, c.ctx);
    _ward_heaps_collect(true);
    int64_t drop = before - ward_counter_get(committed);
    if (drop > 0)
        atomic_fetch_add_explicit(&_ward_budget_counters.reclaimed_oom, (uint64_t)drop, memory_order_relaxed);
    return true;
}

void _ward_budget_lmk_check(unsigned crossed)
{
    int level = atomic_load_explicit(&lmk_level, memory_order_relaxed);
    /* Any rise that ends at or above the level: one victim. */
    if (level == WARD_PRESSURE_NONE || (crossed >> level) == 0)
        return;
    _ward_budget_oom_kill(NULL, _ward_budget_new_pass(), atomic_load_explicit(&lmk_min_adj, memory_order_relaxed),
                          true);
}
