/*
 * pool.c - buffer pools: construction, chunks, the free list, get and put,
 * validation, leak listing.
 *
 * get and put are O(1): a thread cache pop or push in the common case
 * (cache.c), else the pool's free list under its lock, else carving the
 * next buffer of the newest chunk, else one new chunk from ward's heaps.
 * A buffer is found from its address by masking (growing pools keep chunks
 * aligned to their size) or by one range check (fixed pools), then by a
 * division by the stride: never by a search.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/pool/pool.h"
#include "segment/layout.h"
#include "support/fatal.h"

static atomic_uint_least64_t next_serial = 1;

/* Debug mode: the option WARD_OPTION_DEBUG (set through ward_option_set,
 * or from WARD_DEBUG by the option table once the core has started), or
 * WARD_DEBUG=1 read here once, for pools made before the core started
 * (a pool in caller memory may be the first thing a program makes). */
static bool debug_mode(void)
{
    if (ward_option_get(WARD_OPTION_DEBUG) == 1)
        return true;
    static atomic_int cached = -1;
    int value = atomic_load_explicit(&cached, memory_order_relaxed);
    if (value < 0) {
        const char *text = getenv("WARD_DEBUG");
        value = text && text[0] == '1' && text[1] == '\0';
        atomic_store_explicit(&cached, value, memory_order_relaxed);
    }
    return value == 1;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= UINT64_C(0x7fb5d329728ea185);
    x ^= x >> 27;
    x *= UINT64_C(0x81dadef4bc2dd44d);
    return x ^ (x >> 33);
}

static size_t next_pow2(size_t x)
{
    size_t p = 1;
    while (p < x)
        p <<= 1;
    return p;
}

static _Noreturn void misuse(const char *error, const void *p, const ward_pool_t *pool)
{
    _ward_fatal(error, p, pool ? pool->block_size : 0);
}

static void check_handle(const ward_pool_t *pool)
{
    if (pool->magic != (POOL_MAGIC ^ (uintptr_t)pool))
        _ward_fatal("pool: not a pool handle (destroyed or overwritten)", pool, 0);
}

/* ---- chunks ------------------------------------------------------------------ */

/* Bytes before buffer 0 of a chunk at `chunk` holding `capacity` buffers. */
static size_t chunk_header_bytes(uintptr_t chunk, size_t capacity, size_t alignment)
{
    uintptr_t states_end = chunk + offsetof(pool_chunk_t, state) + capacity;
    return (size_t)(WARD_ALIGN_UP(states_end, alignment) - chunk);
}

/* Buffers that fit in `bytes` at `chunk`. */
static size_t chunk_capacity_for(uintptr_t chunk, size_t bytes, size_t stride, size_t alignment)
{
    if (bytes < offsetof(pool_chunk_t, state) + alignment)
        return 0;
    size_t capacity = (bytes - offsetof(pool_chunk_t, state)) / (stride + 1);
    while (capacity && chunk_header_bytes(chunk, capacity, alignment) + capacity * stride > bytes)
        capacity--;
    return capacity;
}

static void chunk_format(ward_pool_t *pool, pool_chunk_t *chunk, size_t capacity)
{
    chunk->magic = CHUNK_MAGIC ^ (uintptr_t)chunk;
    chunk->pool = pool;
    chunk->first = (char *)chunk + chunk_header_bytes((uintptr_t)chunk, capacity, pool->alignment);
    chunk->capacity = capacity;
    atomic_init(&chunk->carved, 0);
    for (size_t i = 0; i < capacity; i++)
        atomic_init(&chunk->state[i], POOL_STATE_FREE);
}

/* Links a formatted chunk into the pool.  Caller holds the lock (or owns
 * the pool alone, during construction). */
static void chunk_attach(ward_pool_t *pool, pool_chunk_t *chunk, size_t bytes)
{
    chunk->next = pool->chunks;
    pool->chunks = chunk;
    pool->chunk_count++;
    uintptr_t lo = (uintptr_t)chunk, hi = lo + bytes;
    if (!atomic_load_explicit(&pool->lowest, memory_order_relaxed) ||
        lo < atomic_load_explicit(&pool->lowest, memory_order_relaxed))
        atomic_store_explicit(&pool->lowest, lo, memory_order_relaxed);
    if (hi > atomic_load_explicit(&pool->highest, memory_order_relaxed))
        atomic_store_explicit(&pool->highest, hi, memory_order_relaxed);
}

static bool grow(ward_pool_t *pool)
{
    pool_chunk_t *chunk = ward_aligned_alloc(pool->chunk_bytes, pool->chunk_bytes);
    if (!chunk)
        return false;
    chunk_format(pool, chunk, pool->chunk_capacity);
    chunk_attach(pool, chunk, pool->chunk_bytes);
    return true;
}

/* offset / stride.  A multiplication by the rounded-up reciprocal is exact
 * for every offset below 2^32 (Lemire, Kaser and Kurz, 2019): the common
 * case, since chunks are rarely that large. */
static size_t buffer_index(const ward_pool_t *pool, size_t offset)
{
    if ((uint64_t)offset >> 32)
        return offset / pool->stride;
    return (size_t)(((unsigned __int128)pool->stride_reciprocal * offset) >> 64);
}

/*
 * The chunk and index of buffer p, or the program stops.  Reads nothing at
 * p itself, and nothing outside the pool's chunks for a growing pool whose
 * chunk span does not contain p.
 */
static pool_chunk_t *locate(const ward_pool_t *pool, const void *p, size_t *index_out)
{
    uintptr_t at = (uintptr_t)p;
    pool_chunk_t *chunk;
    if (pool->single_chunk) {
        chunk = pool->chunks;
        if (at < (uintptr_t)chunk->first || at >= (uintptr_t)chunk->first + chunk->capacity * pool->stride)
            misuse("pool: pointer not from this pool", p, pool);
    } else {
        if (at < atomic_load_explicit(&pool->lowest, memory_order_relaxed) ||
            at >= atomic_load_explicit(&pool->highest, memory_order_relaxed))
            misuse("pool: pointer not from this pool", p, pool);
        chunk = (pool_chunk_t *)WARD_ALIGN_DOWN(at, pool->chunk_bytes);
        /* Chunks are ward blocks, but the span between the lowest and the
         * highest may hold holes and other mappings: read a header only
         * where ward has memory. */
        if (!_ward_segmap_readable(chunk) || chunk->magic != (CHUNK_MAGIC ^ (uintptr_t)chunk) || chunk->pool != pool || at < (uintptr_t)chunk->first)
            misuse("pool: pointer not from this pool", p, pool);
    }
    size_t offset = (size_t)(at - (uintptr_t)chunk->first);
    size_t index = buffer_index(pool, offset);
    if (offset != index * pool->stride)
        misuse("pool: interior pointer (not the start of a buffer)", p, pool);
    if (index >= atomic_load_explicit(&chunk->carved, memory_order_acquire))
        misuse("pool: pointer not from this pool (never handed out)", p, pool);
    *index_out = index;
    return chunk;
}

static void canary_write(const ward_pool_t *pool, char *p)
{
    uint64_t canary = pool->secret ^ (uintptr_t)p;
    memcpy(p + pool->block_size, &canary, sizeof canary);
}

static bool canary_intact(const ward_pool_t *pool, const char *p)
{
    uint64_t canary;
    memcpy(&canary, p + pool->block_size, sizeof canary);
    return canary == (pool->secret ^ (uintptr_t)p);
}

/* ---- the free list and carving (under the lock) ------------------------------- */

size_t _ward_pool_take_locked(ward_pool_t *pool, void **out, size_t want)
{
    size_t got = 0;
    while (got < want && pool->free_count) {
        void *p = (void *)(pool->free_head ^ pool->secret);
        size_t index;
        pool_chunk_t *chunk = locate(pool, p, &index);
        if (atomic_load_explicit(&chunk->state[index], memory_order_relaxed) != POOL_STATE_FREE)
            misuse("pool: free list corrupted (a buffer written after it was put?)", p, pool);
        uintptr_t link;
        memcpy(&link, p, sizeof link);
        pool->free_head = link;
        pool->free_count--;
        out[got++] = p;
    }
    while (got < want && (!pool->max_buffers || pool->buffers < pool->max_buffers)) {
        pool_chunk_t *chunk = pool->chunks;
        size_t carved = chunk ? atomic_load_explicit(&chunk->carved, memory_order_relaxed) : 0;
        if (!chunk || carved == chunk->capacity) {
            if (pool->single_chunk || !grow(pool))
                break;
            continue;
        }
        out[got++] = chunk->first + carved * pool->stride;
        atomic_store_explicit(&chunk->carved, carved + 1, memory_order_release);
        pool->buffers++;
    }
    return got;
}

void _ward_pool_give_locked(ward_pool_t *pool, void *const *buffers, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        uintptr_t link = pool->free_head;
        memcpy(buffers[i], &link, sizeof link);
        pool->free_head = (uintptr_t)buffers[i] ^ pool->secret;
        pool->free_count++;
    }
}

/* ---- construction ---------------------------------------------------------------- */

#define POOL_FLAGS (WARD_POOL_FIXED | WARD_POOL_DEBUG | WARD_POOL_QUIET)

/* Fills the fields every pool has; false for an impossible configuration. */
static bool pool_setup(ward_pool_t *pool, size_t block_size, size_t alignment, unsigned flags)
{
    memset(pool, 0, sizeof *pool);
    pool->serial = atomic_fetch_add(&next_serial, 1);
    pool->secret = mix(pool->serial ^ (uintptr_t)pool) | 1;
    pool->block_size = block_size;
    pool->alignment = alignment < POOL_DEFAULT_ALIGNMENT ? POOL_DEFAULT_ALIGNMENT : alignment;
    pool->flags = flags;
    pool->debug = (flags & WARD_POOL_DEBUG) || debug_mode();
    size_t payload = block_size + (pool->debug ? POOL_CANARY_BYTES : 0);
    if (payload < block_size || payload > SIZE_MAX / 4 - pool->alignment)
        return false;
    pool->stride = WARD_ALIGN_UP(payload, pool->alignment);
    pool->stride_reciprocal = UINT64_MAX / pool->stride + 1;
    pool->free_head = pool->secret; /* encodes "none" */
    atomic_init(&pool->lowest, 0);
    atomic_init(&pool->highest, 0);
    return pthread_mutex_init(&pool->lock, NULL) == 0;
}

ward_pool_t *ward_pool_new_ex(const ward_pool_config_t *config)
{
    if (!config || config->block_size == 0 || (config->alignment && !WARD_IS_POW2(config->alignment)) ||
        (config->flags & ~POOL_FLAGS)) {
        errno = EINVAL;
        return NULL;
    }
    ward_pool_t *pool = ward_malloc(sizeof *pool);
    if (!pool) {
        errno = ENOMEM;
        return NULL;
    }
    if (!pool_setup(pool, config->block_size, config->alignment, config->flags)) {
        ward_free(pool);
        errno = ENOMEM;
        return NULL;
    }
    pool->max_buffers = config->max_buffers;
    pool->single_chunk = (config->flags & WARD_POOL_FIXED) != 0;
    /* Thread caches would hide free buffers from other threads of a pool
     * that cannot grow past a limit: such pools share one free list. */
    pool->cached = !pool->single_chunk && !pool->max_buffers;

    size_t per_chunk = config->chunk_buffers;
    if (!per_chunk) {
        per_chunk = pool->single_chunk && pool->max_buffers ? pool->max_buffers
                                                            : POOL_DEFAULT_CHUNK_BYTES / pool->stride;
        if (per_chunk < 8)
            per_chunk = 8;
    }
    if (pool->max_buffers && per_chunk > pool->max_buffers)
        per_chunk = pool->max_buffers;
    size_t wanted = per_chunk > (SIZE_MAX / 4 - 4096) / pool->stride
                        ? SIZE_MAX
                        : offsetof(pool_chunk_t, state) + per_chunk * (pool->stride + 1) + pool->alignment;
    if (wanted == SIZE_MAX) {
        pthread_mutex_destroy(&pool->lock);
        ward_free(pool);
        errno = ENOMEM;
        return NULL;
    }
    if (pool->single_chunk) {
        size_t chunk_alignment = pool->alignment > alignof(pool_chunk_t) ? pool->alignment : alignof(pool_chunk_t);
        pool_chunk_t *chunk = ward_aligned_alloc(chunk_alignment, wanted);
        if (!chunk) {
            pthread_mutex_destroy(&pool->lock);
            ward_free(pool);
            errno = ENOMEM;
            return NULL;
        }
        pool->chunk_bytes = wanted;
        pool->chunk_capacity = chunk_capacity_for((uintptr_t)chunk, wanted, pool->stride, pool->alignment);
        chunk_format(pool, chunk, pool->chunk_capacity);
        chunk_attach(pool, chunk, wanted);
    } else {
        /* A power of two, so that masking a buffer's address finds its chunk;
         * the capacity then fills it (any alignment up to it is kept). */
        pool->chunk_bytes = next_pow2(wanted);
        pool->chunk_capacity = chunk_capacity_for(0, pool->chunk_bytes, pool->stride, pool->alignment);
    }
    _ward_pool_cache_register(pool);
    pool->magic = POOL_MAGIC ^ (uintptr_t)pool;
    return pool;
}

ward_pool_t *ward_pool_new(size_t block_size, unsigned flags)
{
    ward_pool_config_t config = {.block_size = block_size, .flags = flags};
    return ward_pool_new_ex(&config);
}

ward_pool_t *ward_pool_init(void *mem, size_t size, size_t block_size, unsigned flags)
{
    if (!mem || (uintptr_t)mem % 16 || block_size == 0 || (flags & ~POOL_FLAGS) || size < sizeof(ward_pool_t)) {
        errno = EINVAL;
        return NULL;
    }
    ward_pool_t *pool = mem;
    if (!pool_setup(pool, block_size, 0, flags | WARD_POOL_FIXED)) {
        errno = EINVAL;
        return NULL;
    }
    uintptr_t chunk_at = WARD_ALIGN_UP((uintptr_t)mem + sizeof *pool, alignof(pool_chunk_t));
    size_t room = size - (size_t)(chunk_at - (uintptr_t)mem);
    size_t capacity = chunk_at < (uintptr_t)mem + size
                          ? chunk_capacity_for(chunk_at, room, pool->stride, pool->alignment)
                          : 0;
    if (capacity == 0) {
        pthread_mutex_destroy(&pool->lock);
        errno = EINVAL;
        return NULL;
    }
    pool->single_chunk = true;
    pool->caller_memory = true;
    pool->chunk_bytes = room;
    pool->chunk_capacity = capacity;
    chunk_format(pool, (pool_chunk_t *)chunk_at, capacity);
    chunk_attach(pool, (pool_chunk_t *)chunk_at, room);
    _ward_pool_cache_register(pool);
    pool->magic = POOL_MAGIC ^ (uintptr_t)pool;
    return pool;
}

/* ---- get and put ----------------------------------------------------------------------- */

/* Marks p held (it has just left the free list or a cache). */
static void mark_held(ward_pool_t *pool, void *p)
{
    size_t index;
    pool_chunk_t *chunk = locate(pool, p, &index);
    atomic_store_explicit(&chunk->state[index], POOL_STATE_HELD, memory_order_relaxed);
    if (pool->debug)
        canary_write(pool, p);
}

/* Marks p free, or stops the program if it is not a held buffer of pool. */
static void mark_free(ward_pool_t *pool, void *p)
{
    size_t index;
    pool_chunk_t *chunk = locate(pool, p, &index);
    /* An exchange, so that two racing puts of one buffer cannot both pass. */
    if (atomic_exchange_explicit(&chunk->state[index], POOL_STATE_FREE, memory_order_relaxed) != POOL_STATE_HELD)
        misuse("pool: double put", p, pool);
    if (pool->debug && !canary_intact(pool, p))
        misuse("pool: canary overwritten (buffer overflow)", p, pool);
}

/*
 * A pool without caches changes a buffer's state and its list under the
 * lock together, so its counts are exact at every moment the lock is free
 * (and in a child forked at any moment).  A cached pool does so only in the
 * calling thread's own cache.
 */
void *ward_pool_get(ward_pool_t *pool, size_t n)
{
    if (!pool) {
        errno = EINVAL;
        return NULL;
    }
    check_handle(pool);
    if (n > pool->block_size) {
        errno = EINVAL;
        return NULL;
    }
    void *p = NULL;
    if (pool->cached) {
        p = _ward_pool_cache_get(pool);
        if (p)
            mark_held(pool, p);
        return p;
    }
    pthread_mutex_lock(&pool->lock);
    if (_ward_pool_take_locked(pool, &p, 1))
        mark_held(pool, p);
    pthread_mutex_unlock(&pool->lock);
    if (!p)
        errno = ENOMEM;
    return p;
}

void ward_pool_put(ward_pool_t *pool, void *p)
{
    if (!p)
        return;
    if (!pool)
        _ward_fatal("pool: put with a NULL pool", p, 0);
    check_handle(pool);
    if (pool->cached) {
        mark_free(pool, p);
        _ward_pool_cache_put(pool, p);
        return;
    }
    pthread_mutex_lock(&pool->lock);
    mark_free(pool, p);
    _ward_pool_give_locked(pool, &p, 1);
    pthread_mutex_unlock(&pool->lock);
}

/* ---- inspection --------------------------------------------------------------------- */

static pthread_mutex_t *lock_of(const ward_pool_t *pool) { return (pthread_mutex_t *)&pool->lock; }

/* Held buffers: all carved ones less the free and the cached.  Caller holds
 * the registry lock (cached pools) and the pool's lock. */
static size_t outstanding_locked(const ward_pool_t *pool)
{
    size_t idle = pool->free_count + (pool->cached ? _ward_pool_cache_count_locked(pool) : 0);
    return idle < pool->buffers ? pool->buffers - idle : 0;
}

static void lock_both(const ward_pool_t *pool)
{
    if (pool->cached)
        _ward_pool_cache_lock();
    pthread_mutex_lock(lock_of(pool));
}

static void unlock_both(const ward_pool_t *pool)
{
    pthread_mutex_unlock(lock_of(pool));
    if (pool->cached)
        _ward_pool_cache_unlock();
}

size_t ward_pool_outstanding(const ward_pool_t *pool)
{
    if (!pool)
        return 0;
    check_handle(pool);
    lock_both(pool);
    size_t held = outstanding_locked(pool);
    unlock_both(pool);
    return held;
}

size_t ward_pool_block_size(const ward_pool_t *pool)
{
    if (!pool)
        return 0;
    check_handle(pool);
    return pool->block_size;
}

int ward_pool_stats(const ward_pool_t *pool, ward_pool_stats_t *out)
{
    if (!pool || !out)
        return EINVAL;
    check_handle(pool);
    lock_both(pool);
    *out = (ward_pool_stats_t){
        .block_size = pool->block_size,
        .stride = pool->stride,
        .buffers = pool->buffers,
        .outstanding = outstanding_locked(pool),
        .chunks = pool->chunk_count,
        .bytes = pool->caller_memory ? sizeof *pool + pool->chunk_bytes
                                     : sizeof *pool + pool->chunk_count * pool->chunk_bytes,
    };
    unlock_both(pool);
    return 0;
}

int ward_pool_walk(const ward_pool_t *pool, int (*visit)(void *buffer, void *arg), void *arg)
{
    if (!pool || !visit)
        return EINVAL;
    check_handle(pool);
    pthread_mutex_lock(lock_of(pool));
    int result = 0;
    for (pool_chunk_t *chunk = pool->chunks; chunk && !result; chunk = chunk->next) {
        size_t carved = atomic_load_explicit(&chunk->carved, memory_order_relaxed);
        for (size_t i = 0; i < carved && !result; i++)
            if (atomic_load_explicit(&chunk->state[i], memory_order_relaxed) == POOL_STATE_HELD)
                result = visit(chunk->first + i * pool->stride, arg);
    }
    pthread_mutex_unlock(lock_of(pool));
    return result;
}

static const char *check_locked(const ward_pool_t *pool)
{
    size_t held = 0, carved_total = 0, chunks = 0;
    for (pool_chunk_t *chunk = pool->chunks; chunk; chunk = chunk->next) {
        if (++chunks > pool->chunk_count)
            return "the chunk list is longer than the chunk count";
        if (chunk->magic != (CHUNK_MAGIC ^ (uintptr_t)chunk) || chunk->pool != pool)
            return "a chunk header is overwritten";
        if (!pool->single_chunk && ((uintptr_t)chunk % pool->chunk_bytes || chunk->capacity != pool->chunk_capacity))
            return "a chunk is misaligned or of the wrong capacity";
        size_t carved = atomic_load_explicit(&chunk->carved, memory_order_relaxed);
        if (carved > chunk->capacity || (chunk != pool->chunks && carved != chunk->capacity))
            return "a chunk has carved more buffers than it holds, or an old chunk is not fully carved";
        for (size_t i = 0; i < chunk->capacity; i++) {
            unsigned char state = atomic_load_explicit(&chunk->state[i], memory_order_relaxed);
            if (state > POOL_STATE_HELD || (i >= carved && state != POOL_STATE_FREE))
                return "a buffer state byte is invalid";
            if (state == POOL_STATE_HELD) {
                held++;
                if (pool->debug && !canary_intact(pool, chunk->first + i * pool->stride))
                    return "the canary of a held buffer is overwritten";
            }
        }
        carved_total += carved;
    }
    if (chunks != pool->chunk_count || carved_total != pool->buffers)
        return "the chunk or buffer counts disagree with the chunks";
    if (pool->max_buffers && pool->buffers > pool->max_buffers)
        return "the pool holds more buffers than its limit";
    uintptr_t link = pool->free_head;
    for (size_t i = 0; i < pool->free_count; i++) {
        const char *p = (const char *)(link ^ pool->secret);
        const pool_chunk_t *owner = NULL;
        for (pool_chunk_t *chunk = pool->chunks; chunk && !owner; chunk = chunk->next) {
            size_t carved = atomic_load_explicit(&chunk->carved, memory_order_relaxed);
            if (p >= chunk->first && p < chunk->first + carved * pool->stride)
                owner = chunk;
        }
        if (!owner || (size_t)(p - owner->first) % pool->stride)
            return "the free list links outside the pool";
        if (atomic_load_explicit(&owner->state[(size_t)(p - owner->first) / pool->stride], memory_order_relaxed) !=
            POOL_STATE_FREE)
            return "the free list holds a held buffer";
        memcpy(&link, p, sizeof link);
    }
    if (link != pool->secret)
        return "the free list is longer than its count";
    if (held + pool->free_count + (pool->cached ? _ward_pool_cache_count_locked(pool) : 0) != pool->buffers)
        return "held, free and cached buffers do not add up to the carved ones";
    return NULL;
}

bool ward_pool_check(const ward_pool_t *pool, const char **problem)
{
    const char *found;
    if (!pool) {
        found = "NULL pool";
    } else if (pool->magic != (POOL_MAGIC ^ (uintptr_t)pool)) {
        found = "the pool's magic is wrong";
    } else {
        lock_both(pool);
        found = check_locked(pool);
        unlock_both(pool);
    }
    if (problem)
        *problem = found;
    return found == NULL;
}

/* ---- destruction ------------------------------------------------------------------- */

#define LEAKS_LISTED 32

static void emit(ward_buf_t *line)
{
    const char *text = _ward_buf_finish(line);
    _ward_write_all(2, text, strlen(text));
}

/* One line per buffer still held (up to LEAKS_LISTED), on stderr. */
static void report_leaks(const ward_pool_t *pool, size_t held)
{
    char text[160];
    ward_buf_t line = {text, sizeof text, 0};
    _ward_buf_str(&line, "ward: pool ");
    _ward_buf_hex(&line, (uintptr_t)pool);
    _ward_buf_str(&line, " destroyed with ");
    _ward_buf_u64(&line, held);
    _ward_buf_str(&line, held == 1 ? " buffer" : " buffers");
    _ward_buf_str(&line, " still held (block size ");
    _ward_buf_u64(&line, pool->block_size);
    _ward_buf_str(&line, " bytes):\n");
    emit(&line);
    size_t listed = 0;
    for (pool_chunk_t *chunk = pool->chunks; chunk; chunk = chunk->next) {
        size_t carved = atomic_load_explicit(&chunk->carved, memory_order_relaxed);
        for (size_t i = 0; i < carved && listed < LEAKS_LISTED; i++) {
            if (atomic_load_explicit(&chunk->state[i], memory_order_relaxed) != POOL_STATE_HELD)
                continue;
            line.len = 0;
            _ward_buf_str(&line, "ward:   leaked buffer ");
            _ward_buf_hex(&line, (uintptr_t)(chunk->first + i * pool->stride));
            _ward_buf_str(&line, "\n");
            emit(&line);
            listed++;
        }
    }
    if (held > listed) {
        line.len = 0;
        _ward_buf_str(&line, "ward:   ... and ");
        _ward_buf_u64(&line, held - listed);
        _ward_buf_str(&line, " more\n");
        emit(&line);
    }
}

void ward_pool_destroy(ward_pool_t *pool)
{
    if (!pool)
        return;
    check_handle(pool);
    _ward_pool_cache_unregister(pool);
    size_t held = 0;
    for (pool_chunk_t *chunk = pool->chunks; chunk; chunk = chunk->next)
        for (size_t i = 0; i < atomic_load_explicit(&chunk->carved, memory_order_relaxed); i++)
            held += atomic_load_explicit(&chunk->state[i], memory_order_relaxed) == POOL_STATE_HELD;
    if (held && !(pool->flags & WARD_POOL_QUIET))
        report_leaks(pool, held);
    pool->magic = 0;
    if (!pool->caller_memory) {
        pool_chunk_t *chunk = pool->chunks;
        while (chunk) {
            pool_chunk_t *next = chunk->next;
            chunk->magic = 0;
            ward_free(chunk);
            chunk = next;
        }
    }
    pthread_mutex_destroy(&pool->lock);
    if (!pool->caller_memory)
        ward_free(pool);
}
