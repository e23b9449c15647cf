/*
 * ward.h - the public interface of ward, a memory-management library for C.
 *
 * One header, one prefix: functions are ward_*, types ward_*_t, macros and
 * environment variables WARD_*.  Every function is thread-safe unless its
 * comment says otherwise.
 *
 * Failure results (the same everywhere):
 *   - out of memory or over a limit: NULL with errno = ENOMEM;
 *   - invalid arguments: NULL with errno = EINVAL, or the error code POSIX
 *     names for that function;
 *   - heap misuse (double free, a pointer ward never returned, an interior
 *     pointer): one line on stderr naming the error, the address and the
 *     size class, then abort().  ward never continues on a corrupted heap.
 */
#ifndef WARD_H
#define WARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(WARD_BUILDING_LIBRARY)
#define WARD_API __attribute__((visibility("default")))
#else
#define WARD_API
#endif

#define WARD_VERSION_MAJOR 0
#define WARD_VERSION_MINOR 1
#define WARD_VERSION_PATCH 0

/* ------------------------------------------------------------------------
 * The general-purpose allocator
 *
 * These behave as their C / POSIX namesakes.  libward.so also exports the
 * standard names (malloc, free, ...), so a program linked with -lward or run
 * with LD_PRELOAD=libward.so uses ward for every allocation.
 * ---------------------------------------------------------------------- */

/* n bytes aligned to 16; NULL/ENOMEM when n > PTRDIFF_MAX or memory is out.
 * ward_malloc(0) returns a unique pointer that may be freed. */
WARD_API void *ward_malloc(size_t n);

/* count * size zeroed bytes; NULL/ENOMEM when the product overflows. */
WARD_API void *ward_calloc(size_t count, size_t size);

/* Resizes p keeping min(old, n) bytes.  ward_realloc(NULL, n) is
 * ward_malloc(n); ward_realloc(p, 0) frees p and returns NULL.  On failure
 * returns NULL/ENOMEM and p is left untouched. */
WARD_API void *ward_realloc(void *p, size_t n);

/* ward_realloc(p, count * size) with overflow checked (NULL/ENOMEM). */
WARD_API void *ward_reallocarray(void *p, size_t count, size_t size);

/* Frees a block from any ward allocation function, from any thread.
 * NULL is ignored.  A pointer ward did not return, an interior pointer or a
 * second free of the same block stops the program (see the top comment). */
WARD_API void ward_free(void *p);

/* Frees p, which the caller says is a block of n bytes (C23 free_sized):
 * n must be the size given to the ward_malloc, ward_calloc or ward_realloc
 * call that returned p (any size from the block's usable size down to the
 * least request that could have produced it is accepted).  A size that
 * cannot belong to the block stops the program like a double free does,
 * naming the size.  NULL is ignored. */
WARD_API void ward_free_sized(void *p, size_t n);

/* The same for a block from ward_aligned_alloc(alignment, n) or
 * ward_posix_memalign (C23 free_aligned_sized). */
WARD_API void ward_free_aligned_sized(void *p, size_t alignment, size_t n);

/* n bytes aligned to alignment, which must be a power of two (else
 * NULL/EINVAL).  Unlike C11 n need not be a multiple of alignment. */
WARD_API void *ward_aligned_alloc(size_t alignment, size_t n);

/* POSIX: alignment must be a power of two multiple of sizeof(void *);
 * returns 0, EINVAL or ENOMEM and leaves *out untouched on failure. */
WARD_API int ward_posix_memalign(void **out, size_t alignment, size_t n);

/* The bytes usable at p (at least what was asked); 0 for NULL. */
WARD_API size_t ward_usable_size(const void *p);

/* ------------------------------------------------------------------------
 * First-class heaps
 *
 * A heap owns the blocks allocated from it.  ward_heap_destroy releases all
 * of them at once.  Any thread may allocate from a heap (calls on one heap
 * are serialised by the heap's own lock) and any thread may free a heap's
 * block with ward_free or resize it with ward_realloc (the block then stays
 * in the heap that first allocated it only for ward_heap_realloc).
 * ---------------------------------------------------------------------- */

typedef struct ward_heap_s ward_heap_t;

/* A new empty heap, or NULL/ENOMEM. */
WARD_API ward_heap_t *ward_heap_new(void);
WARD_API void *ward_heap_malloc(ward_heap_t *heap, size_t n);
WARD_API void *ward_heap_calloc(ward_heap_t *heap, size_t count, size_t size);
/* Like ward_realloc; a moved block is allocated from heap. */
WARD_API void *ward_heap_realloc(ward_heap_t *heap, void *p, size_t n);
WARD_API void *ward_heap_aligned_alloc(ward_heap_t *heap, size_t alignment, size_t n);
/* Releases every block of the heap and the heap itself.  Pointers into it
 * are dangling afterwards; NULL is ignored. */
WARD_API void ward_heap_destroy(ward_heap_t *heap);

/* ------------------------------------------------------------------------
 * Statistics
 *
 * One versioned struct.  The scalar fields come from one list
 * (WARD_STATS_FIELDS) that also drives the text and JSON reports, so the
 * three never drift apart.  Byte counts are process-wide.  "allocated" is
 * what callers hold (block sizes, i.e. usable sizes); "committed" is memory
 * ward has made resident or may have touched and not yet returned to the OS.
 * Counters of other threads are read without stopping them, so a snapshot
 * taken while threads allocate is accurate to within a few pages per thread.
 * ---------------------------------------------------------------------- */

#define WARD_STATS_VERSION 2
#define WARD_STATS_CLASSES 64

/* X(name, description) */
#define WARD_STATS_FIELDS(X)                                                              \
    X(allocated, "bytes in blocks held by the program")                                   \
    X(allocated_peak, "highest value of allocated")                                       \
    X(committed, "bytes ward holds from the OS and has not decommitted")                  \
    X(committed_peak, "highest value of committed")                                       \
    X(unused_at_peak, "committed minus allocated when committed reached its peak")        \
    X(reserved, "address space ward has mapped (committed or not)")                       \
    X(metadata, "bytes of committed memory used for ward's own bookkeeping")              \
    X(malloc_count, "allocations made (all sizes, all threads)")                          \
    X(free_count, "blocks freed")                                                         \
    X(large_count, "live blocks served by page runs")                                     \
    X(huge_count, "live blocks with a mapping of their own")                              \
    X(segments, "segments mapped")                                                        \
    X(pages_abandoned, "pages left by exited threads and not yet adopted")                \
    X(decommitted_total, "bytes returned to the OS so far")                               \
    X(threads, "threads with a live heap")                                                \
    X(limit, "process limit on committed bytes (0 = none)")                              \
    X(cgroup_limit, "memory limit of the process's cgroup (0 = none or unknown)")        \
    X(pressure, "current ward_pressure_t level")                                          \
    X(reclaimed_collect, "bytes returned by ward_collect and by direct reclaim of ward's own memory") \
    X(reclaimed_background, "bytes returned by the background reclaimer")                \
    X(reclaimed_callbacks, "bytes reclaim callbacks said they freed")                     \
    X(reclaimed_oom, "bytes OOM and low-memory-killer victims gave back")                 \
    X(reclaim_passes, "direct reclaim passes run for allocations over a limit")           \
    X(oom_events, "OOM victims chosen (their callback called)")                           \
    X(lmk_events, "low-memory-killer victims chosen")                                     \
    X(limit_failures, "allocations refused with ENOMEM because of a limit")               \
    X(reserve_open, "1 while the emergency reserve is released")

typedef struct ward_class_stats_s {
    size_t block_size;    /* bytes of every block of this class; 0 ends the list */
    uint64_t mallocs;     /* blocks of this class handed out */
    uint64_t frees;       /* blocks of this class taken back */
    size_t pages;         /* pages currently serving this class */
} ward_class_stats_t;

typedef struct ward_stats_s {
    uint32_t version;     /* WARD_STATS_VERSION of the library that filled it */
    uint32_t size;        /* sizeof(ward_stats_t) of the library that filled it */
#define WARD_STATS_DECLARE_(name, description) uint64_t name;
    WARD_STATS_FIELDS(WARD_STATS_DECLARE_)
#undef WARD_STATS_DECLARE_
    uint32_t class_count; /* entries of classes[] in use */
    ward_class_stats_t classes[WARD_STATS_CLASSES];
} ward_stats_t;

/* Fills *out with a snapshot.  Returns 0, or EINVAL for NULL. */
WARD_API int ward_stats_get(ward_stats_t *out);
/* Writes the statistics as text to out (stderr when NULL). */
WARD_API void ward_stats_print(FILE *out);
/* Writes the statistics as one JSON object to out (stderr when NULL). */
WARD_API void ward_stats_print_json(FILE *out);

/* Returns memory ward holds but does not use to the OS: free pages whose
 * decay delay has passed, or, when force is true, everything it can reach
 * now: the calling thread's cached blocks and empty pages, pages of exited
 * threads that emptied, every user heap's cached blocks and empty pages,
 * and all free pages (RSS falls at once).  Other live threads' cached
 * blocks (up to about 256 KiB a size class) and spare empty pages (up to
 * 1 MiB) belong to them alone: they return them on their next slow path or
 * heartbeat. */
WARD_API void ward_collect(bool force);

/* ------------------------------------------------------------------------
 * Budgets: limits, pressure, reclaim callbacks, the OOM policy
 * (docs/budgets.md explains the model)
 *
 * A limit bounds the bytes ward has committed (the committed figure of the
 * statistics, which follows the RSS of ward's memory).  An allocation that
 * would pass a limit first reclaims: ward's own free memory, then the
 * reclaim callbacks (cheapest first), then OOM victims; it fails with
 * NULL/ENOMEM only when that makes no room.  Callbacks of this section are
 * never called while ward holds a lock: they may call malloc and free (an
 * allocation made inside a callback does not start another reclaim pass,
 * it fails with ENOMEM if it does not fit).  They run on the thread whose
 * allocation needed room, or on the background reclaimer's thread, so they
 * must not wait for locks that code allocating memory may hold.
 *
 * Functions returning int give 0 on success, else -1 with errno set.
 * ---------------------------------------------------------------------- */

/* Sets the process-wide limit on committed bytes (also WARD_LIMIT); 0 means
 * no limit.  A limit below what is committed now makes later allocations
 * reclaim.  The last min(1 MiB, limit / 8) bytes of the limit are the
 * emergency reserve: ordinary allocations stop short of it; after the first
 * allocation refused with ENOMEM the reserve is released, so that the
 * program can unwind (log, free, report), and it is re-armed once committed
 * memory falls below the limit by twice the reserve.  Never fails. */
WARD_API int ward_set_limit(size_t bytes);
/* The process limit (0 = none). */
WARD_API size_t ward_get_limit(void);

/* Limits the bytes of spans and huge blocks heap owns (0 = no limit).  Only
 * user heaps have limits: blocks of the default allocator count toward the
 * process limit only.  -1/EINVAL for a NULL heap. */
WARD_API int ward_heap_set_limit(ward_heap_t *heap, size_t bytes);

typedef enum ward_pressure_e {
    WARD_PRESSURE_NONE,     /* below 75 % of the basis, no stalls reported */
    WARD_PRESSURE_LOW,      /* at least 75 % (the low watermark) */
    WARD_PRESSURE_MEDIUM,   /* at least 90 % (the high watermark) */
    WARD_PRESSURE_CRITICAL, /* at least 97 %, or a limit refused an allocation */
    WARD_PRESSURE_COUNT_
} ward_pressure_t;

/* The current level: committed bytes against the basis (the process limit,
 * else the cgroup's memory limit: v2 memory.max, v1 memory.limit_in_bytes),
 * raised by the kernel's pressure stall information when the background
 * reclaimer reads it. */
WARD_API ward_pressure_t ward_pressure_get(void);

/* Calls callback(level, ctx) each time the level rises to or past `level`
 * (level is then the new current level).  Up to 32 subscriptions.
 * -1/EINVAL for a NULL callback or a level that is not LOW, MEDIUM or
 * CRITICAL; -1/ENOSPC when the table is full. */
WARD_API int ward_pressure_subscribe(ward_pressure_t level, void (*callback)(ward_pressure_t level, void *ctx),
                                     void *ctx);
/* Removes the subscription (callback, ctx); -1/ENOENT if there is none. */
WARD_API int ward_pressure_unsubscribe(void (*callback)(ward_pressure_t level, void *ctx), void *ctx);

/* Adds a reclaim callback: fn(ctx, want) frees up to want bytes (for
 * example by dropping cache entries) and returns how many it freed.  When an
 * allocation needs room, callbacks are called in increasing cost (equal
 * costs in the order added); want is what is still missing: the shortfall
 * minus what the callbacks before it returned.  Up to 32 callbacks.
 * -1/EINVAL for a NULL fn, -1/ENOSPC when the table is full. */
WARD_API int ward_reclaimer_add(size_t (*fn)(void *ctx, size_t want), void *ctx, unsigned cost);
/* Removes the callback (fn, ctx); -1/ENOENT if there is none. */
WARD_API int ward_reclaimer_remove(size_t (*fn)(void *ctx, size_t want), void *ctx);

/* Makes heap a candidate OOM victim.  When reclaim cannot make room under
 * the process limit, the candidate with the highest badness
 *     committed bytes of the heap + adj * limit / 1000
 * has callback(heap, ctx) called (it may destroy the heap or drop part of
 * it), and the allocation is tried again; each candidate at most once per
 * allocation.  adj -1000 means never chosen.  A heap over its own limit can
 * only choose itself.  -1/EINVAL for a NULL heap or callback or adj outside
 * -1000..1000. */
WARD_API int ward_heap_set_oom(ward_heap_t *heap, int adj, void (*callback)(ward_heap_t *heap, void *ctx), void *ctx);

/* The low-memory killer: each time the pressure level rises to `level` or
 * past it, the OOM candidate with adj >= min_adj and the highest badness
 * has its callback called (one victim per rise), before memory runs out.
 * level WARD_PRESSURE_NONE turns it off.  -1/EINVAL for an unknown level
 * or min_adj outside -999..1000. */
WARD_API int ward_lmk_set(ward_pressure_t level, int min_adj);

typedef struct ward_heap_stats_s {
    uint64_t committed;      /* bytes of the spans and huge blocks the heap owns */
    uint64_t committed_peak; /* highest value of committed */
    uint64_t limit;          /* the heap's limit (0 = none) */
    int64_t oom_adj;         /* set by ward_heap_set_oom (0 if never) */
    uint64_t oom_events;     /* times the heap was chosen as a victim (OOM or LMK) */
    uint64_t limit_failures; /* allocations refused because of the heap's limit */
} ward_heap_stats_t;

/* Fills *out for heap.  -1/EINVAL for a NULL argument. */
WARD_API int ward_heap_stats_get(ward_heap_t *heap, ward_heap_stats_t *out);

/* ------------------------------------------------------------------------
 * Region heaps
 *
 * A region heap lives entirely inside memory the caller already has (a
 * static buffer, an arena in a file or a device, a slab for one subsystem):
 * its control block, its block headers and its free lists are all inside
 * [mem, mem + size).  It makes no OS call and keeps no global state, so it
 * works on bare metal too.  Every link inside a region is an offset from the
 * region's start, never a pointer: a region copied with memcpy (or mapped
 * at another address) keeps working at its new place.  Blocks handed out
 * before the move are then found at the same offsets from the new start.
 *
 * The placement policy is chosen once, at ward_region_init; free neighbours
 * are always merged at once.  docs/regions.md compares the policies.
 *
 *   policy            malloc                free          block search
 *   WARD_FIT_FIRST    O(free blocks)        O(free blocks) lowest address
 *   WARD_FIT_NEXT     O(free blocks)        O(free blocks) next from the last hit
 *   WARD_FIT_BEST     O(free blocks)        O(1)           smallest that fits
 *   WARD_FIT_WORST    O(free blocks)        O(1)           largest
 *   WARD_FIT_QUICK    O(1) below 1 KiB,     O(1)           exact-size lists,
 *                     else O(large blocks)                 then first fit
 *   WARD_FIT_TLSF     O(1)                  O(1)           two-level good fit
 *   WARD_FIT_BUDDY    O(log size)           O(log size)    power-of-two buddies
 *
 * Without WARD_REGION_LOCKED a region is not thread-safe and costs no
 * locking; with it every call takes the region's own spin lock (kept inside
 * the region, so it also works between processes sharing the memory).
 * Every returned block is aligned to WARD_REGION_ALIGN.
 *
 * Misuse (freeing a block twice, a pointer the region never returned or an
 * interior one, a block header overwritten by the program) stops the
 * program as described at the top of this file.
 * ---------------------------------------------------------------------- */

typedef struct ward_region_s ward_region_t;

typedef enum ward_fit_e {
    WARD_FIT_FIRST, /* the free block at the lowest address that fits */
    WARD_FIT_NEXT,  /* first fit, starting where the last search stopped */
    WARD_FIT_BEST,  /* the smallest free block that fits */
    WARD_FIT_WORST, /* the largest free block */
    WARD_FIT_QUICK, /* exact-size lists for blocks below 1 KiB, first fit above */
    WARD_FIT_TLSF,  /* two-level segregated good fit, O(1) */
    WARD_FIT_BUDDY, /* binary buddy system: blocks of 2^k bytes */
    WARD_FIT_COUNT_
} ward_fit_t;

/* Flags of ward_region_init. */
#define WARD_REGION_LOCKED 1u /* serialise every call with the region's lock */

/* Alignment of the memory given to a region and of every block it returns. */
#define WARD_REGION_ALIGN 16

/* The policy's name ("first", "next", "best", "worst", "quick", "tlsf",
 * "buddy"), or NULL for an unknown policy. */
WARD_API const char *ward_fit_name(ward_fit_t fit);

/* The smallest size ward_region_init accepts for this policy (its control
 * block plus one minimal block), or 0 for an unknown policy. */
WARD_API size_t ward_region_min_size(ward_fit_t fit);

/* Builds a region heap in [mem, mem + size) and returns its handle, which
 * points to mem.  mem must be aligned to WARD_REGION_ALIGN; size must be at
 * least ward_region_min_size(fit); flags is 0 or WARD_REGION_LOCKED.
 * Returns NULL/EINVAL when mem is NULL or misaligned, size is too small, fit
 * is unknown or flags has an unknown bit.  Of a piece of memory larger than
 * 1 TiB only the first TiB is used (add the rest with ward_region_add).
 * Writes nothing outside
 * [mem, mem + size), now or later.  The caller keeps the memory alive while
 * the region is used; there is nothing to destroy. */
WARD_API ward_region_t *ward_region_init(void *mem, size_t size, ward_fit_t fit, unsigned flags);

/* Gives the region the further memory [mem, mem + size), aligned and sized
 * as for ward_region_init (a few dozen bytes is the least worth adding).
 * The memory must not overlap memory the region already has.  Offsets to
 * it are taken from the region's start, so a region that moves must move
 * its added memory along with it, at the same distance.  Returns 0, or
 * EINVAL for a NULL region, misaligned, overlapping or too small memory. */
WARD_API int ward_region_add(ward_region_t *region, void *mem, size_t size);

/* n bytes aligned to WARD_REGION_ALIGN.  ward_region_malloc(r, 0) returns a
 * unique block that may be freed.  NULL/ENOMEM when no free block is large
 * enough; NULL/EINVAL for a NULL region. */
WARD_API void *ward_region_malloc(ward_region_t *region, size_t n);

/* n bytes aligned to alignment, which must be a power of two (else
 * NULL/EINVAL); n need not be a multiple of it.  NULL/ENOMEM when no free
 * block can hold the aligned block. */
WARD_API void *ward_region_aligned_alloc(ward_region_t *region, size_t alignment, size_t n);

/* Resizes p keeping min(old, n) bytes, in place when the block or its free
 * right neighbour allows.  ward_region_realloc(r, NULL, n) is
 * ward_region_malloc(r, n); ward_region_realloc(r, p, 0) frees p and
 * returns NULL.  On failure returns NULL/ENOMEM and p is untouched.  A block
 * that moves loses any alignment above WARD_REGION_ALIGN. */
WARD_API void *ward_region_realloc(ward_region_t *region, void *p, size_t n);

/* Returns p's block to the region and merges it with free neighbours.
 * NULL is ignored.  p must come from this region: anything else stops the
 * program. */
WARD_API void ward_region_free(ward_region_t *region, void *p);

/* The bytes usable at p, at least what was asked; 0 for NULL. */
WARD_API size_t ward_region_usable_size(const ward_region_t *region, const void *p);

/* Walks every block and free list of the region and verifies every
 * invariant (sizes, boundary tags, merged neighbours, list links, class
 * bitmaps, counters).  Returns true when all hold; otherwise false and,
 * when problem is not NULL, a fixed text naming the first broken invariant.
 * O(blocks); meant for tests and debugging. */
WARD_API bool ward_region_check(const ward_region_t *region, const char **problem);

/* Fragmentation figures of ward_region_stats:
 *   internal = 1 - requested / used: the share of allocated blocks that the
 *              program did not ask for (headers, rounding, split leftovers);
 *   external = 1 - (largest free block, header included) / free: the share
 *              of free memory that a single request cannot get because it
 *              lies in smaller pieces.
 * Both are 0 when their denominator is 0. */
typedef struct ward_region_stats_s {
    size_t size;          /* bytes given to the region (all areas) */
    size_t overhead;      /* control block, area headers and end markers */
    size_t used;          /* bytes in allocated blocks, headers included */
    size_t requested;     /* bytes the program asked for in live blocks */
    size_t free;          /* bytes in free blocks, headers included */
    size_t largest_free;  /* usable bytes of the largest free block */
    size_t used_blocks;   /* allocated blocks */
    size_t free_blocks;   /* free blocks */
    double internal_fragmentation;
    double external_fragmentation;
} ward_region_stats_t;

/* Fills *out (O(blocks)).  Returns 0, or EINVAL for a NULL argument. */
WARD_API int ward_region_stats(const ward_region_t *region, ward_region_stats_t *out);

/* Called by ward_region_walk for every block in address order, area by
 * area: ptr and size are the block's usable bytes, used tells whether it is
 * allocated.  A nonzero return stops the walk. */
typedef int (*ward_region_visitor_t)(void *ptr, size_t size, bool used, void *arg);

/* Visits every block.  Returns the visitor's nonzero result that stopped
 * the walk, 0 after the last block, or EINVAL for a NULL region or visitor.
 * The visitor runs under the region's lock: it must not call the region. */
WARD_API int ward_region_walk(const ward_region_t *region, ward_region_visitor_t visit, void *arg);

/* ------------------------------------------------------------------------
 * Buffer pools
 *
 * A pool hands out buffers of one size in O(1): ward_pool_get returns a
 * buffer of max(n, block size) bytes, ward_pool_put takes it back.  A pool
 * grows by chunks taken from ward's heaps (ward_aligned_alloc) unless it is
 * fixed, or lives in caller memory (ward_pool_init).  Every call is
 * thread-safe, and a buffer may be put back by any thread.  In a pool that
 * may grow without limit each thread keeps a small cache of buffers, so
 * that get and put rarely touch the pool's lock; a thread's cache goes back
 * to the pool when the thread exits.  A fixed pool, or one with
 * max_buffers, keeps no thread caches (every free buffer stays available
 * to every thread) and takes its lock on each call.
 *
 * The pool knows which buffers are held: ward_pool_outstanding counts them,
 * ward_pool_walk lists them, and ward_pool_destroy reports those still held
 * (leaks) on stderr.  Putting a buffer twice, or one the pool never gave,
 * stops the program.  In debug mode (flag WARD_POOL_DEBUG, WARD_DEBUG=1 in
 * the environment, read once, or WARD_OPTION_DEBUG set to 1 before the pool
 * is made) a canary follows every buffer and is checked when the buffer is
 * put back.
 * ---------------------------------------------------------------------- */

typedef struct ward_pool_s ward_pool_t;

/* Flags of the pool constructors. */
#define WARD_POOL_FIXED 1u /* never grow: one chunk only (always so for ward_pool_init) */
#define WARD_POOL_DEBUG 2u /* canaries after buffers, as WARD_DEBUG=1 does */
#define WARD_POOL_QUIET 4u /* no leak report at ward_pool_destroy */

typedef struct ward_pool_config_s {
    size_t block_size;    /* bytes of every buffer, at least 1 */
    size_t alignment;     /* of every buffer: a power of two, 0 for 16 */
    size_t chunk_buffers; /* buffers per chunk the pool grows by, 0 for a default */
    size_t max_buffers;   /* most buffers the pool will ever hold, 0 for no limit */
    unsigned flags;       /* WARD_POOL_* */
} ward_pool_config_t;

/* A pool of buffers of block_size bytes aligned to 16, growing by default
 * chunks.  NULL/EINVAL for block_size 0 or unknown flags; NULL/ENOMEM when
 * memory for its control block (and, when fixed, its chunk) is out. */
WARD_API ward_pool_t *ward_pool_new(size_t block_size, unsigned flags);

/* As ward_pool_new with every parameter given.  NULL/EINVAL for a NULL
 * config, block_size 0, an alignment that is not a power of two or unknown
 * flags. */
WARD_API ward_pool_t *ward_pool_new_ex(const ward_pool_config_t *config);

/* A fixed pool inside [mem, mem + size), control block included; it never
 * grows and never writes outside that memory.  mem must be aligned to 16.
 * NULL/EINVAL for NULL or misaligned mem, block_size 0, unknown flags, or
 * memory too small for the control block and one buffer. */
WARD_API ward_pool_t *ward_pool_init(void *mem, size_t size, size_t block_size, unsigned flags);

/* A buffer of max(n, block size) bytes, i.e. of block size bytes.
 * NULL/EINVAL when n exceeds the block size or pool is NULL; NULL/ENOMEM
 * when the pool is fixed (or at max_buffers) and every buffer is held, or
 * when ward's heaps cannot give another chunk.  O(1). */
WARD_API void *ward_pool_get(ward_pool_t *pool, size_t n);

/* Returns buffer p to the pool.  NULL is ignored.  A buffer put twice, a
 * pointer that is not a buffer of this pool, or (in debug mode) an
 * overwritten canary stops the program.  O(1). */
WARD_API void ward_pool_put(ward_pool_t *pool, void *p);

/* Buffers handed out and not yet put back; 0 for NULL.  Exact when no
 * other thread is using the pool; it takes the pool's lock and looks at
 * every thread's cache, so it is meant for checks, not for hot paths. */
WARD_API size_t ward_pool_outstanding(const ward_pool_t *pool);

/* The pool's block size; 0 for NULL. */
WARD_API size_t ward_pool_block_size(const ward_pool_t *pool);

typedef struct ward_pool_stats_s {
    size_t block_size;  /* usable bytes of every buffer */
    size_t stride;      /* bytes each buffer takes in its chunk (canary, alignment) */
    size_t buffers;     /* buffers carved from chunks so far */
    size_t outstanding; /* buffers held by the program */
    size_t chunks;      /* chunks the pool owns */
    size_t bytes;       /* memory the pool holds, control block included */
} ward_pool_stats_t;

/* Fills *out.  Returns 0, or EINVAL for a NULL argument. */
WARD_API int ward_pool_stats(const ward_pool_t *pool, ward_pool_stats_t *out);

/* Verifies the pool's invariants (chunk headers, free list, the held
 * count, canaries of held buffers in debug mode).  Returns true when all
 * hold; otherwise false and, when problem is not NULL, a fixed text naming
 * the first broken one.  O(buffers). */
WARD_API bool ward_pool_check(const ward_pool_t *pool, const char **problem);

/* Calls visit(buffer, arg) for every buffer held by the program (not yet
 * put back) until visit returns nonzero, whose value is returned; else 0,
 * or EINVAL for a NULL argument.  The visitor must not call the pool. */
WARD_API int ward_pool_walk(const ward_pool_t *pool, int (*visit)(void *buffer, void *arg), void *arg);

/* Releases the pool and its chunks (not the caller's memory of
 * ward_pool_init).  Buffers still held are listed on stderr first, unless
 * the pool has WARD_POOL_QUIET; pointers to them dangle afterwards.  No
 * thread may use the pool during or after this call.  NULL is ignored. */
WARD_API void ward_pool_destroy(ward_pool_t *pool);

/* ------------------------------------------------------------------------
 * Options
 *
 * Read once at start from the environment:
 *   WARD_DECAY_MS=N     delay before free pages are returned to the OS
 *                       (default 100, 0 = at once, range 0..60000)
 *   WARD_VERBOSE=0|1    log option problems and decisions to stderr
 *   WARD_STATS=0|1      print ward_stats_print() at exit
 *   WARD_DEBUG=0|1      debug checks (canaries) where a front end offers them
 *   WARD_LIMIT=SIZE     process limit on committed bytes (k/m/g suffixes;
 *                       0 = none, the default)
 *   WARD_BACKGROUND=0|1 run the background reclaimer thread
 *   WARD_OVERCOMMIT=always|guess|never  (default guess)
 *                       always: no check besides the limits;
 *                       guess: also refuse a single request larger than
 *                       the limit, or than RAM + swap without a limit;
 *                       never: count reserved address space, not only
 *                       committed bytes, against the process limit
 *   WARD_DEBUG=0|1      debug checks: canaries in pools, and for malloc a
 *                       canary after every block, junk-filled new and freed
 *                       memory, and a quarantine that delays reuse
 *   WARD_GUARD_SAMPLE=N one malloc in N (0 = none, 1 = every one that fits
 *                       a page) placed against an inaccessible guard page,
 *                       and made inaccessible when freed
 *   WARD_LEAKS=0|1      at exit, report the blocks still allocated, grouped
 *                       by the stack that allocated them
 * An unknown WARD_ variable or a malformed value is reported on stderr once
 * and the default kept.
 *
 * The malloc diagnostics (WARD_DEBUG, WARD_GUARD_SAMPLE, WARD_LEAKS) are
 * chosen once, when the allocator starts: setting them later through
 * ward_option_set changes nothing for malloc.  docs/hardening.md describes
 * them, their report and their cost.
 * ---------------------------------------------------------------------- */

/* The largest values the numeric options take (ward_option_set refuses
 * larger ones; from the environment they are reported and ignored).  ward
 * builds for LP64 targets, where long has 64 bits. */
#define WARD_DECAY_MS_MAX 60000L
#define WARD_LIMIT_MAX (1L << 60)
#define WARD_GUARD_SAMPLE_MAX (1L << 30)

typedef enum ward_overcommit_e {
    WARD_OVERCOMMIT_ALWAYS,
    WARD_OVERCOMMIT_GUESS,
    WARD_OVERCOMMIT_NEVER
} ward_overcommit_t;

typedef enum ward_option_e {
    WARD_OPTION_DECAY_MS,
    WARD_OPTION_VERBOSE,
    WARD_OPTION_STATS,
    WARD_OPTION_DEBUG,
    WARD_OPTION_LIMIT,      /* bytes, 0 = none */
    WARD_OPTION_BACKGROUND, /* 0 or 1 */
    WARD_OPTION_OVERCOMMIT, /* a ward_overcommit_t */
    WARD_OPTION_GUARD_SAMPLE,
    WARD_OPTION_LEAKS,
    WARD_OPTION_COUNT_
} ward_option_t;

/* Returns 0, or EINVAL for an unknown option or a value out of range. */
WARD_API int ward_option_set(ward_option_t option, long value);
WARD_API long ward_option_get(ward_option_t option);

/* ------------------------------------------------------------------------
 * Consistency check
 * ---------------------------------------------------------------------- */

/* What ward_check found broken first (0: nothing). */
typedef enum ward_check_result_e {
    WARD_CHECK_OK = 0,
    WARD_CHECK_SEGMENT = 1,    /* a segment's slice tables disagree with its spans */
    WARD_CHECK_PAGE = 2,       /* a page descriptor breaks its invariants */
    WARD_CHECK_FREE_LIST = 3,  /* a free list links a block outside its page, twice, or in a loop; or a cached free block was written */
    WARD_CHECK_BITMAP = 4,     /* an allocation bit disagrees with a page's or cache's blocks */
    WARD_CHECK_COUNTERS = 5,   /* page counts disagree with the class counters */
    WARD_CHECK_CANARY = 6,     /* WARD_DEBUG: a live block's canary was overwritten */
    WARD_CHECK_QUARANTINE = 7, /* WARD_DEBUG: a freed block was written after its free */
    WARD_CHECK_GUARD = 8,      /* WARD_GUARD_SAMPLE: a guarded block's tail was overwritten */
    WARD_CHECK_HEADER = 9,     /* diagnostics: a block's header was overwritten */
} ward_check_result_t;

/*
 * Walks every segment, page and heap ward has and verifies every invariant
 * it can: slice tables against spans, page descriptors, the free lists and
 * allocation bits of the calling thread's pages, page counts against the
 * class counters, and with the malloc diagnostics on the header and
 * canaries of every live block, the junk of every block in quarantine and
 * the tails of guarded blocks.  Returns WARD_CHECK_OK when all hold, else
 * the code of the first broken one, which it also describes in one line on
 * stderr ("ward: check: ...").  It never stops the program.
 *
 * Pages of other threads are checked for what does not change under them;
 * their free lists, and the counters, only when no other thread allocates
 * or frees during the call (the counters are then exact).  Call it when the
 * program is quiet for the fullest check.
 */
WARD_API int ward_check(void);

/* "ward 0.1.0" */
WARD_API const char *ward_version(void);

#ifdef __cplusplus
}
#endif

#endif /* WARD_H */
