/*
 * budget.h - layer 5: limits, pressure, reclaim callbacks, the OOM policy
 * and the background reclaimer.  docs/budgets.md describes the model.
 *
 * The lower layers call three hooks, all lock-free and callable under any
 * ward lock:
 *   _ward_budget_commit    before memory is committed or address space
 *                          reserved: admits the bytes under the limits
 *                          (adds them to the counters) or refuses;
 *   _ward_budget_uncommit  gives back an admission that was not used;
 *   _ward_budget_heap_release  a user heap's span or huge block is gone.
 * A refusal is remembered in the refusing thread's heap (the shortfall);
 * the layers above then call _ward_budget_retry at a point where they hold
 * no lock: it runs a reclaim pass (which may call user callbacks) and says
 * whether to try again.
 *
 * Invariants:
 *   with a process limit L and reserve R (see limit.c), the counter the
 *       mode charges (committed, or reserved for WARD_OVERCOMMIT=never)
 *       never exceeds L - R while the reserve is armed, and never exceeds L;
 *   a user heap's budget.committed is the bytes of the spans and huge
 *       blocks it owns, and never exceeds its limit when it has one;
 *   no user callback runs while the calling thread holds a ward lock.
 */
#ifndef WARD_BUDGET_H
#define WARD_BUDGET_H

#include <pthread.h>
#include <stdatomic.h>

#include "support/internal.h"
#include "ward.h"

/* Budget state kept in every heap struct (cleared when a struct is reused). */
typedef struct ward_heap_budget_s {
    /* User heaps. */
    _Atomic int64_t committed;       /* bytes of the spans and huge blocks the heap owns */
    _Atomic int64_t committed_peak;
    _Atomic uint64_t limit;          /* 0 = none */
    _Atomic int64_t oom_adj;
    _Atomic uint64_t oom_events;
    _Atomic uint64_t limit_failures;
    void (*oom_fn)(ward_heap_t *heap, void *ctx); /* (oom lock) NULL: not a candidate */
    void *oom_ctx;                   /* (oom lock) */
    uint64_t oom_pass;               /* (oom lock) the last pass that chose it */
    /* Thread heaps (owner only): the last refused admission. */
    size_t shortfall;                /* bytes missing; 0 = nothing refused */
    ward_heap_t *shortfall_heap;     /* the user heap whose limit refused, or NULL */
    bool shortfall_hopeless;         /* refused whatever is freed (overcommit guess) */
    bool in_reclaim;                 /* a reclaim pass or a callback is running */
    bool reclaim_done;               /* this pass's reclaim rounds stopped helping */
    uint64_t pass;                   /* the current allocation's pass number */
} ward_heap_budget_t;

/* Admits commit bytes of memory and reserve bytes of address space, and
 * heap_bytes for heap (a user heap, or NULL / a thread heap: no heap
 * limit).  Adds them to the counters and returns true, or returns false
 * and records the shortfall for the calling thread. */
WARD_HIDDEN bool _ward_budget_commit(size_t commit, size_t reserve, ward_heap_t *heap, size_t heap_bytes);
/* Takes back an admission whose memory was never committed. */
WARD_HIDDEN void _ward_budget_uncommit(size_t commit, size_t reserve, ward_heap_t *heap, size_t heap_bytes);
/* heap (any heap, or NULL) no longer owns bytes of spans or huge blocks. */
WARD_HIDDEN void _ward_budget_heap_release(ward_heap_t *heap, size_t bytes);

/* Called with no ward lock held after an allocation returned NULL; attempt
 * counts from 0.  Runs the reclaim stage for that attempt when a limit
 * refused the allocation and returns true when the allocation should be
 * tried again; false when it must fail (errno is ENOMEM). */
WARD_HIDDEN bool _ward_budget_retry(unsigned attempt);

/* Bits of pressure levels crossed upward and not yet reported. */
WARD_HIDDEN extern _Atomic(unsigned) _ward_budget_pending;
/* Nonzero while the background reclaimer is wanted but not running. */
WARD_HIDDEN bool _ward_budget_background_wanted(void);
/* Reports pending pressure changes and starts the background reclaimer if
 * it is wanted.  No ward lock held. */
WARD_HIDDEN void _ward_budget_deliver(void);
/* Starts the background reclaimer unless it runs or is starting. */
WARD_HIDDEN void _ward_budget_start_background(void);

/* A point where the caller holds no ward lock: cheap unless there is work. */
WARD_INLINE void _ward_budget_safe_point(void)
{
    if (WARD_UNLIKELY(atomic_load_explicit(&_ward_budget_pending, memory_order_relaxed) != 0 ||
                      _ward_budget_background_wanted()))
        _ward_budget_deliver();
}

/* ---- shared between the files of this layer ---- */

/* The process limit in force (0 = none) and the counter it bounds. */
WARD_HIDDEN size_t _ward_budget_limit(void);
WARD_HIDDEN int64_t _ward_budget_usage(void);
/* The bytes pressure is measured against: the limit, else the cgroup's
 * memory limit; 0 when there is neither. */
WARD_HIDDEN size_t _ward_budget_basis(void);
WARD_HIDDEN ward_pressure_t _ward_budget_level_of(int64_t usage, size_t basis);
/* Marks levels (from, to] as crossed upward. */
WARD_HIDDEN void _ward_budget_note_rise(ward_pressure_t from, ward_pressure_t to);
/* The cgroup's memory limit (0 = none), read at start; the level pressure
 * stall information gives (read by the background reclaimer). */
WARD_HIDDEN size_t _ward_budget_cgroup_limit(void);
WARD_HIDDEN void _ward_budget_read_cgroup(void);
WARD_HIDDEN ward_pressure_t _ward_budget_psi_level(void);
WARD_HIDDEN void _ward_budget_read_psi(void);

/* The emergency reserve is released after a refusal of the process limit. */
WARD_HIDDEN void _ward_budget_open_reserve(void);

/* Direct reclaim for want bytes: ward's own free memory, then the reclaim
 * callbacks.  Returns the bytes reclaimed (as measured or reported). */
WARD_HIDDEN size_t _ward_budget_reclaim(size_t want, bool background);
/* One OOM victim for the process limit (over_heap NULL) or for over_heap's
 * own limit, not yet chosen in this pass; min_adj filters candidates (the
 * LMK).  Returns false when there is none. */
WARD_HIDDEN bool _ward_budget_oom_kill(ward_heap_t *over_heap, uint64_t pass, int min_adj, bool lmk);
WARD_HIDDEN uint64_t _ward_budget_new_pass(void);
/* Calls the low-memory killer when level reaches its threshold. */
WARD_HIDDEN void _ward_budget_lmk_check(unsigned crossed);

/* Guards the layer's tables (callbacks, subscriptions, OOM candidates).
 * Taken after the heap registry's lock when both are held; nothing is
 * called with it held. */
WARD_HIDDEN extern pthread_mutex_t _ward_budget_lock;

/* Event counters of the layer (relaxed). */
typedef struct ward_budget_counters_s {
    _Atomic uint64_t reclaimed_collect, reclaimed_background, reclaimed_callbacks, reclaimed_oom;
    _Atomic uint64_t reclaim_passes, oom_events, lmk_events, limit_failures;
} ward_budget_counters_t;
WARD_HIDDEN extern ward_budget_counters_t _ward_budget_counters;
WARD_HIDDEN bool _ward_budget_reserve_is_open(void);

/* One line on stderr when WARD_VERBOSE=1: "ward: EVENT key=value ...". */
WARD_HIDDEN void _ward_budget_log(const char *event, const char *const *keys, const int64_t *values,
                                  unsigned count);

/* Statistics and fork. */
struct ward_stats_s;
WARD_HIDDEN void _ward_budget_add_stats(struct ward_stats_s *out);
WARD_HIDDEN void _ward_budget_fork_prepare(void);
WARD_HIDDEN void _ward_budget_fork_parent(void);
WARD_HIDDEN void _ward_budget_fork_child(void);

#endif
