/*
 * counters.h - process-wide byte and event counters, fed by every layer and
 * read by the statistics.  All are relaxed atomics: they count, they do not
 * order anything.
 *
 * Invariants (at quiescence):
 *   committed <= reserved;  allocated <= committed;
 *   *_peak >= the value it shadows.
 */
#ifndef WARD_COUNTERS_H
#define WARD_COUNTERS_H

#include <stdatomic.h>

#include "support/internal.h"

typedef struct ward_counters_s {
    _Atomic int64_t allocated;        /* flushed from heaps in batches, plus large and huge at once */
    _Atomic int64_t allocated_peak;
    _Atomic int64_t committed;
    _Atomic int64_t committed_peak;
    _Atomic int64_t unused_at_peak;   /* committed - allocated when committed_peak was set */
    _Atomic int64_t reserved;
    _Atomic int64_t metadata;
    _Atomic int64_t large_count;
    _Atomic int64_t huge_count;
    _Atomic int64_t segments;
    _Atomic int64_t pages_abandoned;
    _Atomic int64_t decommitted_total;
    _Atomic int64_t threads;
    /* Counts of heaps that are gone (exited threads, destroyed heaps). */
    _Atomic uint64_t retired_mallocs;
    _Atomic uint64_t retired_frees;
    _Atomic uint64_t retired_class_mallocs[64];
    _Atomic uint64_t retired_class_frees[64];
    /* Large and huge blocks (made and freed outside heaps' class counters). */
    _Atomic uint64_t big_mallocs;
    _Atomic uint64_t big_frees;
} ward_counters_t;

WARD_HIDDEN extern ward_counters_t _ward_counters;

WARD_INLINE void _ward_peak_raise(_Atomic int64_t *peak, int64_t value)
{
    int64_t seen = atomic_load_explicit(peak, memory_order_relaxed);
    while (value > seen &&
           !atomic_compare_exchange_weak_explicit(peak, &seen, value, memory_order_relaxed, memory_order_relaxed)) {
    }
}

WARD_INLINE void _ward_allocated_add(int64_t delta)
{
    int64_t now = atomic_fetch_add_explicit(&_ward_counters.allocated, delta, memory_order_relaxed) + delta;
    if (delta > 0) {
        _ward_peak_raise(&_ward_counters.allocated_peak, now);
        /* A block's memory is committed before the block is counted as
         * allocated: when that commit set the peak, the unused share at the
         * peak is measured again now that the block is counted. */
        int64_t committed = atomic_load_explicit(&_ward_counters.committed, memory_order_relaxed);
        if (committed == atomic_load_explicit(&_ward_counters.committed_peak, memory_order_relaxed))
            atomic_store_explicit(&_ward_counters.unused_at_peak, committed - now, memory_order_relaxed);
    }
}

WARD_INLINE void _ward_committed_add(int64_t delta)
{
    int64_t now = atomic_fetch_add_explicit(&_ward_counters.committed, delta, memory_order_relaxed) + delta;
    if (delta > 0 && now > atomic_load_explicit(&_ward_counters.committed_peak, memory_order_relaxed)) {
        _ward_peak_raise(&_ward_counters.committed_peak, now);
        atomic_store_explicit(&_ward_counters.unused_at_peak,
                              now - atomic_load_explicit(&_ward_counters.allocated, memory_order_relaxed),
                              memory_order_relaxed);
    }
    if (delta < 0)
        atomic_fetch_add_explicit(&_ward_counters.decommitted_total, -delta, memory_order_relaxed);
}

#define ward_counter_add(field, v) atomic_fetch_add_explicit(&_ward_counters.field, (v), memory_order_relaxed)
#define ward_counter_get(field) atomic_load_explicit(&_ward_counters.field, memory_order_relaxed)

/*
 * A counter owned by one thread and read by others: no read-modify-write.
 * Readers load it relaxed; an aligned word store is never torn on the
 * targets ward supports, so outside ThreadSanitizer builds the owner's
 * update is a plain add (one instruction); under TSan it is a relaxed
 * atomic load and store, which is what the plain add means.
 */
#if defined(WARD_TSAN)
#define ward_owned_add(lvalue, v) \
    __atomic_store_n(&(lvalue), __atomic_load_n(&(lvalue), __ATOMIC_RELAXED) + (v), __ATOMIC_RELAXED)
#else
#define ward_owned_add(lvalue, v) ((lvalue) += (v))
#endif

/* Stores a value that other threads read relaxed (plain outside TSan). */
#if defined(WARD_TSAN)
#define ward_owned_store(lvalue, v) __atomic_store_n(&(lvalue), (v), __ATOMIC_RELAXED)
#else
#define ward_owned_store(lvalue, v) ((lvalue) = (v))
#endif

#define ward_owned_get(lvalue) __atomic_load_n(&(lvalue), __ATOMIC_RELAXED)

#endif
