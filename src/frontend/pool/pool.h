/*
 * pool.h - private to the buffer pools: the pool, its chunks, and the
 * interface between the pool (pool.c) and the per-thread caches (cache.c).
 *
 * A pool owns chunks; a chunk is a header, one state byte per buffer, then
 * the buffers, each `stride` bytes apart:
 *
 *   chunk (aligned to chunk_bytes when the pool grows)
 *   | header | state[capacity] | pad | buffer 0 | buffer 1 | ... | buffer capacity-1 |
 *                                    ^ first
 *   buffer: | block_size usable bytes | canary (debug) | pad to alignment |
 *
 * Where a buffer is:
 *   held        by the program: state HELD;
 *   free        on the pool's free list (linked through its first word);
 *   cached      in one thread's cache (cache.c), state FREE;
 *   uncarved    index >= chunk->carved: never handed out yet.
 * The state byte, kept apart from the buffer, makes double puts exact and
 * lets the pool list leaks without trusting buffer contents.
 */
#ifndef WARD_POOL_H
#define WARD_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "support/internal.h"
#include "ward.h"

#define POOL_MAGIC UINT64_C(0x706f6f6c77617264) /* "poolward", xored with the pool's address */
#define CHUNK_MAGIC UINT64_C(0x6368756e6b776172) /* xored with the chunk's address */
#define POOL_CANARY_BYTES 8
#define POOL_DEFAULT_ALIGNMENT 16
#define POOL_DEFAULT_CHUNK_BYTES (64 * WARD_KiB)

enum { POOL_STATE_FREE = 0, POOL_STATE_HELD = 1 };

typedef struct pool_chunk_s {
    uint64_t magic;            /* CHUNK_MAGIC ^ address of this chunk */
    ward_pool_t *pool;         /* owner */
    struct pool_chunk_s *next; /* the pool's chunks, newest first */
    char *first;               /* buffer 0, aligned to the pool's alignment */
    size_t capacity;           /* buffers in this chunk */
    atomic_size_t carved;      /* buffers [0, carved) have been handed out at least once */
    /* POOL_STATE_* of each buffer.  Aligned to a cache line, so that the
     * states of one thread's batch (carved together) do not share a line
     * with the header or, mostly, with another thread's batch. */
    _Alignas(64) atomic_uchar state[];
} pool_chunk_t;

/*
 * Invariants (ward_pool_check):
 *   stride >= block_size (+ POOL_CANARY_BYTES when debug), a multiple of alignment;
 *   buffers == sum of chunk->carved; buffers <= max_buffers when that is set;
 *   free_count == length of the free list, whose members are FREE;
 *   buffers == held + free_count + buffers in thread caches (0 when !cached),
 *   so the program's count needs no shared counter on the fast path;
 *   single_chunk: the pool never grows and chunks is its one chunk; otherwise
 *   every chunk is chunk_bytes long and aligned to chunk_bytes, and
 *   [lowest, highest) spans them all.
 */
struct ward_pool_s {
    uint64_t magic;          /* POOL_MAGIC ^ address of the pool */
    uint64_t serial;         /* unique in the process: names the pool in thread caches */
    uint64_t secret;         /* masks free-list links, seeds canaries */
    size_t block_size;
    size_t stride;
    uint64_t stride_reciprocal; /* 2^64 / stride rounded up: exact division of offsets below 2^32 */
    size_t alignment;
    size_t chunk_bytes;      /* growing pools: bytes (a power of two) and alignment of each chunk */
    size_t chunk_capacity;   /* buffers per chunk */
    size_t max_buffers;      /* 0: no limit */
    unsigned flags;
    bool debug;              /* canaries */
    bool single_chunk;       /* fixed: ward_pool_init or WARD_POOL_FIXED */
    bool caller_memory;      /* ward_pool_init: nothing to free */
    bool cached;             /* gets and puts go through thread caches */
    pthread_mutex_t lock;    /* guards the fields below up to the span */
    pool_chunk_t *chunks;
    uintptr_t free_head;     /* encoded: buffer address ^ secret, secret for none */
    size_t free_count;
    size_t buffers;
    size_t chunk_count;
    atomic_uintptr_t lowest;  /* address span of the chunks, read without the lock */
    atomic_uintptr_t highest;
    ward_pool_t *registry_prev; /* live pools (cache.c), under its lock */
    ward_pool_t *registry_next;
};

/* ---- pool.c, for cache.c ------------------------------------------------ */

/* Takes up to `want` buffers (free list first, then carving, then a new
 * chunk) into out[]; returns how many.  Caller holds pool->lock. */
WARD_HIDDEN size_t _ward_pool_take_locked(ward_pool_t *pool, void **out, size_t want);
/* Puts `count` buffers (already marked FREE) on the free list.  Caller holds pool->lock. */
WARD_HIDDEN void _ward_pool_give_locked(ward_pool_t *pool, void *const *buffers, size_t count);

/* ---- cache.c ----------------------------------------------------------------- */

/* One buffer from this thread's cache of pool, refilled from the pool when
 * empty; NULL (errno set) when the pool has none to give. */
WARD_HIDDEN void *_ward_pool_cache_get(ward_pool_t *pool);
/* Keeps a buffer (already marked FREE) in this thread's cache of pool,
 * sending a batch back to the pool when the cache is full. */
WARD_HIDDEN void _ward_pool_cache_put(ward_pool_t *pool, void *buffer);
/* Makes a pool known to the caches and to fork(), or forgets it (at
 * destroy: later flushes from other threads drop its buffers instead). */
WARD_HIDDEN void _ward_pool_cache_register(ward_pool_t *pool);
WARD_HIDDEN void _ward_pool_cache_unregister(ward_pool_t *pool);
/* The caches' registry lock.  Whoever needs it and a pool's lock takes it
 * first (the one order every path uses). */
WARD_HIDDEN void _ward_pool_cache_lock(void);
WARD_HIDDEN void _ward_pool_cache_unlock(void);
/* Buffers of pool held in all threads' caches, read without stopping those
 * threads.  Caller holds the registry lock. */
WARD_HIDDEN size_t _ward_pool_cache_count_locked(const ward_pool_t *pool);

#endif
