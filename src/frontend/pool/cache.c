/*
 * cache.c - per-thread caches of pool buffers, so that get and put of a
 * growing pool touch only memory of their own thread in the common case.
 *
 * Each thread has a small table of slots; a pool uses slot serial % SLOTS.
 * A slot remembers its pool by address and serial (an address alone could
 * be reused by a newer pool).  A slot that is empty on get takes a batch
 * from the pool under its lock; a full one on put gives a batch back.  When
 * a slot changes pool, or its thread exits, its buffers go back to their
 * pool if that pool is still alive: the registry of live pools answers
 * that, under its own lock, taken before any pool's lock.  The registry
 * also lets fork() take every pool's lock first, so that a child never
 * inherits a lock held by a thread it does not have.
 *
 * The table itself comes from ward_malloc on a thread's first use and goes
 * back at thread exit (a pthread key destructor).  Tables are listed in the
 * registry too, so that ward_pool_outstanding can subtract the buffers
 * every thread has cached: the fast path then updates no shared counter.
 */
#include <errno.h>

#include "frontend/pool/pool.h"
#include "os/os.h"

#define SLOTS 8
/* A batch fills one cache line of chunk state bytes; a slot holds two, so
 * that a thread alternating runs of up to BATCH gets and puts never takes
 * the pool's lock. */
#define BATCH 64
#define SLOT_CAPACITY (2 * BATCH)

/*
 * Invariant: count <= SLOT_CAPACITY; items[0..count) are FREE buffers of
 * the pool (pool, serial), or of a destroyed pool when the registry no
 * longer has it.  Only the owning thread writes a slot; serial and count
 * are atomics (plain loads and stores, relaxed) because other threads read
 * them to count cached buffers.
 */
typedef struct cache_slot_s {
    ward_pool_t *pool;
    atomic_uint_least64_t serial; /* 0: no pool */
    atomic_size_t count;
    void *items[SLOT_CAPACITY];
} cache_slot_t;

typedef struct cache_table_s {
    cache_slot_t slots[SLOTS];
    struct cache_table_s *prev, *next; /* all live tables, under registry_lock */
} cache_table_t;

static _Thread_local cache_table_t *thread_table;

/* Guards the list of live pools and the list of tables; taken before any
 * pool's lock. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static ward_pool_t *registry_head;
static cache_table_t *tables_head;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t table_key;
static bool key_ready;

/* ---- the registry ---------------------------------------------------------- */

static size_t load(atomic_size_t *x) { return atomic_load_explicit(x, memory_order_relaxed); }
static void store(atomic_size_t *x, size_t v) { atomic_store_explicit(x, v, memory_order_relaxed); }

void _ward_pool_cache_lock(void) { pthread_mutex_lock(&registry_lock); }
void _ward_pool_cache_unlock(void) { pthread_mutex_unlock(&registry_lock); }

size_t _ward_pool_cache_count_locked(const ward_pool_t *pool)
{
    size_t cached = 0;
    for (cache_table_t *table = tables_head; table; table = table->next) {
        cache_slot_t *slot = &table->slots[pool->serial % SLOTS];
        if (atomic_load_explicit(&slot->serial, memory_order_relaxed) == pool->serial)
            cached += load(&slot->count);
    }
    return cached;
}

/* fork(): the registry and every pool's lock are held across it, so the
 * child starts with all of them free and consistent. */
static void fork_prepare(void)
{
    pthread_mutex_lock(&registry_lock);
    for (ward_pool_t *pool = registry_head; pool; pool = pool->registry_next)
        pthread_mutex_lock(&pool->lock);
}

static void fork_release(void)
{
    for (ward_pool_t *pool = registry_head; pool; pool = pool->registry_next)
        pthread_mutex_unlock(&pool->lock);
    pthread_mutex_unlock(&registry_lock);
}

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void fork_handlers_install(void) { _ward_os_atfork(fork_prepare, fork_release, fork_release); }

void _ward_pool_cache_register(ward_pool_t *pool)
{
    pthread_once(&fork_once, fork_handlers_install);
    pthread_mutex_lock(&registry_lock);
    pool->registry_prev = NULL;
    pool->registry_next = registry_head;
    if (registry_head)
        registry_head->registry_prev = pool;
    registry_head = pool;
    pthread_mutex_unlock(&registry_lock);
}

void _ward_pool_cache_unregister(ward_pool_t *pool)
{
    pthread_mutex_lock(&registry_lock);
    if (pool->registry_prev)
        pool->registry_prev->registry_next = pool->registry_next;
    else
        registry_head = pool->registry_next;
    if (pool->registry_next)
        pool->registry_next->registry_prev = pool->registry_prev;
    pthread_mutex_unlock(&registry_lock);
    /* This thread's own slot would otherwise keep the dead pool's buffers. */
    if (thread_table) {
        cache_slot_t *slot = &thread_table->slots[pool->serial % SLOTS];
        if (slot->pool == pool && atomic_load_explicit(&slot->serial, memory_order_relaxed) == pool->serial) {
            store(&slot->count, 0);
            atomic_store_explicit(&slot->serial, 0, memory_order_relaxed);
            slot->pool = NULL;
        }
    }
}

/* Sends the slot's buffers back to their pool if it is alive, else drops
 * them (their memory went with the pool), and empties the slot. */
static void slot_flush(cache_slot_t *slot)
{
    size_t count = load(&slot->count);
    uint64_t serial = atomic_load_explicit(&slot->serial, memory_order_relaxed);
    if (count) {
        pthread_mutex_lock(&registry_lock);
        ward_pool_t *alive = registry_head;
        while (alive && !(alive == slot->pool && alive->serial == serial))
            alive = alive->registry_next;
        if (alive) {
            pthread_mutex_lock(&alive->lock);
            _ward_pool_give_locked(alive, slot->items, count);
            pthread_mutex_unlock(&alive->lock);
        }
        store(&slot->count, 0);
        pthread_mutex_unlock(&registry_lock);
    }
    atomic_store_explicit(&slot->serial, 0, memory_order_relaxed);
    slot->pool = NULL;
}

/* ---- the thread's table ------------------------------------------------------ */

static void table_release(void *value)
{
    cache_table_t *table = value;
    for (unsigned i = 0; i < SLOTS; i++)
        slot_flush(&table->slots[i]);
    pthread_mutex_lock(&registry_lock);
    if (table->prev)
        table->prev->next = table->next;
    else
        tables_head = table->next;
    if (table->next)
        table->next->prev = table->prev;
    pthread_mutex_unlock(&registry_lock);
    if (thread_table == table)
        thread_table = NULL;
    ward_free(table);
}

static void key_create(void) { key_ready = pthread_key_create(&table_key, table_release) == 0; }

/* This thread's table, made on first use; NULL when memory is out. */
static cache_table_t *table_get(void)
{
    if (WARD_LIKELY(thread_table != NULL))
        return thread_table;
    pthread_once(&key_once, key_create);
    if (!key_ready)
        return NULL;
    cache_table_t *table = ward_calloc(1, sizeof *table);
    if (!table)
        return NULL;
    if (pthread_setspecific(table_key, table) != 0) {
        ward_free(table);
        return NULL;
    }
    pthread_mutex_lock(&registry_lock);
    table->prev = NULL;
    table->next = tables_head;
    if (tables_head)
        tables_head->prev = table;
    tables_head = table;
    pthread_mutex_unlock(&registry_lock);
    thread_table = table;
    return table;
}

/* The slot of pool in this thread's table, taken over from another pool if
 * needed; NULL when there is no table. */
static cache_slot_t *slot_for(ward_pool_t *pool)
{
    cache_table_t *table = table_get();
    if (!table)
        return NULL;
    cache_slot_t *slot = &table->slots[pool->serial % SLOTS];
    if (WARD_UNLIKELY(slot->pool != pool ||
                      atomic_load_explicit(&slot->serial, memory_order_relaxed) != pool->serial)) {
        slot_flush(slot);
        slot->pool = pool;
        atomic_store_explicit(&slot->serial, pool->serial, memory_order_relaxed);
    }
    return slot;
}

/* ---- get and put ---------------------------------------------------------------- */

void *_ward_pool_cache_get(ward_pool_t *pool)
{
    cache_slot_t *slot = slot_for(pool);
    size_t count = slot ? load(&slot->count) : 0;
    if (WARD_LIKELY(count)) {
        store(&slot->count, count - 1);
        return slot->items[count - 1];
    }
    void *one = NULL;
    pthread_mutex_lock(&pool->lock);
    if (slot) {
        /* Taken and counted as cached under the pool's lock, so that a
         * count never misses buffers on their way into a cache. */
        count = _ward_pool_take_locked(pool, slot->items, BATCH);
        if (count) {
            one = slot->items[count - 1];
            store(&slot->count, count - 1);
        }
    } else {
        _ward_pool_take_locked(pool, &one, 1);
    }
    pthread_mutex_unlock(&pool->lock);
    if (!one)
        errno = ENOMEM;
    return one;
}

void _ward_pool_cache_put(ward_pool_t *pool, void *buffer)
{
    cache_slot_t *slot = slot_for(pool);
    size_t count = slot ? load(&slot->count) : 0;
    if (WARD_LIKELY(slot && count < SLOT_CAPACITY)) {
        slot->items[count] = buffer;
        store(&slot->count, count + 1);
        return;
    }
    pthread_mutex_lock(&pool->lock);
    if (slot) {
        count -= BATCH;
        _ward_pool_give_locked(pool, slot->items + count, BATCH);
        slot->items[count] = buffer;
        store(&slot->count, count + 1);
    } else {
        _ward_pool_give_locked(pool, &buffer, 1);
    }
    pthread_mutex_unlock(&pool->lock);
}
