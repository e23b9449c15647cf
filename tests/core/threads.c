/*
 * Multi-thread stress:
 *  - exchange: threads allocate blocks and swap them through a shared table,
 *    so most blocks are checked, resized and freed by a thread other than the
 *    one that allocated them;
 *  - churn: waves of short-lived threads leave blocks behind that are freed
 *    by later threads after their owner has exited; the pages of the exited
 *    threads must be adopted or released, so committed memory stays level
 *    however many threads come and go;
 *  - handoff: one thread allocates and another frees every block, so each
 *    free goes through the owner's inbox (whose lanes the blocks spread
 *    over); the owner must take every block back and reuse its memory.
 * After each part every block is freed, and once ward has collected the
 * frees (ward_collect) the statistics must show it.
 * WARD_STRESS scales the work.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "core/stats_helpers.h"


/* Every block starts with a header saying how to check the rest of it. */
typedef struct block_header_s {
    uint64_t magic;
    uint64_t size;
    uint64_t seed;
} block_header_t;

#define BLOCK_MAGIC UINT64_C(0x77617264626c6b21)

static unsigned char body_byte(uint64_t seed, size_t at)
{
    return (unsigned char)(seed + at * 31 + (at >> 9));
}

static void *make_block(size_t size, uint64_t seed)
{
    if (size < sizeof(block_header_t))
        size = sizeof(block_header_t);
    unsigned char *p = ward_malloc(size);
    CHECKF(p != NULL, "ward_malloc(%zu) in a thread", size);
    block_header_t header = {BLOCK_MAGIC, size, seed};
    memcpy(p, &header, sizeof header);
    for (size_t at = sizeof header; at < size; at++)
        p[at] = body_byte(seed, at);
    return p;
}

/* Checks the block; returns its size. */
static size_t check_block(const unsigned char *p)
{
    block_header_t header;
    memcpy(&header, p, sizeof header);
    CHECKF(header.magic == BLOCK_MAGIC, "block %p lost its header", (const void *)p);
    CHECKF(ward_usable_size(p) >= header.size, "block %p: usable %zu < %llu", (const void *)p,
           ward_usable_size(p), (unsigned long long)header.size);
    for (size_t at = sizeof header; at < header.size; at++)
        CHECKF(p[at] == body_byte(header.seed, at), "block %p of %llu bytes changed at byte %zu",
               (const void *)p, (unsigned long long)header.size, at);
    return (size_t)header.size;
}

static size_t stress_size(uint64_t r)
{
    unsigned kind = (unsigned)(r % 1000);
    r >>= 10;
    if (kind == 0)
        return 2 * MiB + r % MiB;          /* huge */
    if (kind < 15)
        return 128 * KiB + r % (512 * KiB); /* large */
    if (kind < 100)
        return 1 + r % (16 * KiB);
    return 1 + r % 256;
}

/* ---- exchange ---- */

#define EXCHANGE_SLOTS 512
static _Atomic(uintptr_t) exchange[EXCHANGE_SLOTS];

typedef struct exchange_job_s {
    unsigned index;
    unsigned long operations;
} exchange_job_t;

static void *exchange_thread(void *arg)
{
    const exchange_job_t *job = arg;
    uint64_t random_state = 0x1234567ull * (job->index + 1);
    for (unsigned long i = 0; i < job->operations; i++) {
        uint64_t r = test_random(&random_state);
        void *mine = make_block(stress_size(r >> 8), r);
        size_t slot = (size_t)(r % EXCHANGE_SLOTS);
        unsigned char *theirs =
            (unsigned char *)atomic_exchange_explicit(&exchange[slot], (uintptr_t)mine,
                                                      memory_order_acq_rel);
        if (theirs == NULL)
            continue;
        size_t size = check_block(theirs);
        if (r % 8 == 0) {
            /* resize a block that another thread allocated */
            size_t new_size = size / 2 + sizeof(block_header_t) + (size_t)(r % 3000);
            theirs = ward_realloc(theirs, new_size);
            CHECK(theirs != NULL);
            block_header_t header;
            memcpy(&header, theirs, sizeof header);
            for (size_t at = sizeof header; at < size && at < new_size; at++)
                CHECKF(theirs[at] == body_byte(header.seed, at),
                       "realloc in another thread lost byte %zu", at);
            header.size = new_size;
            memcpy(theirs, &header, sizeof header);
            for (size_t at = size; at < new_size; at++)
                theirs[at] = body_byte(header.seed, at);
            check_block(theirs);
        }
        ward_free(theirs);
    }
    return NULL;
}

static void test_exchange(void)
{
    enum { THREADS = 4 };
    /* Frees still held back from earlier work (the diagnostics' quarantine)
     * must not land inside the window measured here. */
    ward_collect(true);
    ward_stats_t before = stats_now();
    pthread_t threads[THREADS];
    exchange_job_t jobs[THREADS];
    for (unsigned t = 0; t < THREADS; t++) {
        jobs[t] = (exchange_job_t){t, 25000UL * test_stress()};
        CHECK(pthread_create(&threads[t], NULL, exchange_thread, &jobs[t]) == 0);
    }
    for (unsigned t = 0; t < THREADS; t++)
        CHECK(pthread_join(threads[t], NULL) == 0);
    size_t left = 0;
    for (size_t slot = 0; slot < EXCHANGE_SLOTS; slot++) {
        unsigned char *p = (unsigned char *)atomic_exchange(&exchange[slot], 0);
        if (p != NULL) {
            check_block(p);
            ward_free(p);
            left++;
        }
    }
    /* frees by other threads are counted when their owner collects them */
    ward_collect(true);
    ward_stats_t after = stats_now();
    printf("exchange: %d threads, %lu operations each, %zu blocks left for the main thread\n",
           THREADS, jobs[0].operations, left);
    CHECKF(after.allocated == before.allocated,
           "allocated %llu after every block was freed, %llu before",
           (unsigned long long)after.allocated, (unsigned long long)before.allocated);
    CHECK(after.free_count - before.free_count == after.malloc_count - before.malloc_count);
}

/* ---- handoff ---- */

enum { HANDOFF_BLOCKS = 4096 };

typedef struct handoff_job_s {
    unsigned char **blocks;
    size_t count;
} handoff_job_t;

static void *handoff_consumer(void *arg)
{
    handoff_job_t *job = arg;
    for (size_t i = 0; i < job->count; i++) {
        check_block(job->blocks[i]);
        ward_free(job->blocks[i]);
    }
    return NULL;
}

/* Allocates `count` blocks of 16 .. 512 bytes into blocks[], has another
 * thread free them all, and returns how many bytes they came to. */
static size_t handoff_round(unsigned char **blocks, size_t count, uint64_t seed)
{
    size_t bytes = 0;
    for (size_t i = 0; i < count; i++) {
        size_t size = 16 + (size_t)((seed + i * 7919) % 497);
        blocks[i] = make_block(size, seed + i);
        bytes += ward_usable_size(blocks[i]);
    }
    handoff_job_t job = {blocks, count};
    pthread_t consumer;
    CHECK(pthread_create(&consumer, NULL, handoff_consumer, &job) == 0);
    CHECK(pthread_join(consumer, NULL) == 0);
    return bytes;
}

static void test_handoff(void)
{
    static unsigned char *blocks[HANDOFF_BLOCKS];
    ward_collect(true);
    ward_stats_t before = stats_now();
    /* The first round makes the pages; every later round must be served
     * from the blocks the owner took back, so committed memory stays where
     * the first round left it. */
    size_t bytes = handoff_round(blocks, HANDOFF_BLOCKS, 1);
    ward_collect(true);
    CHECK(ward_check() == 0);
    ward_stats_t first = stats_now();
    CHECKF(first.allocated == before.allocated, "allocated %llu after the consumer freed %zu bytes, %llu before",
           (unsigned long long)first.allocated, bytes, (unsigned long long)before.allocated);
    unsigned long rounds = 20UL * test_stress();
    for (unsigned long r = 0; r < rounds; r++) {
        handoff_round(blocks, HANDOFF_BLOCKS, 1);
        CHECK(ward_check() == 0);
    }
    ward_collect(true);
    ward_stats_t after = stats_now();
    printf("handoff: %lu rounds of %d blocks (%zu bytes) freed by another thread; committed %llu after the "
           "first round, %llu after the last\n",
           rounds + 1, HANDOFF_BLOCKS, bytes, (unsigned long long)first.committed,
           (unsigned long long)after.committed);
    CHECK(after.allocated == before.allocated);
    CHECK(after.free_count - before.free_count == after.malloc_count - before.malloc_count);
    /* The diagnostics serve every block from heaps of their own and keep
     * freed ones in quarantine: committed memory then says nothing of the
     * inbox. */
    if (!test_diagnostics_on())
        CHECKF(after.committed <= first.committed + 256 * KiB,
               "committed grew from %llu to %llu: remote frees were not taken back",
               (unsigned long long)first.committed, (unsigned long long)after.committed);
}

/* ---- churn ---- */

/* Blocks left behind by exited threads: a lock-free stack through the blocks'
 * own header space (the header's magic word stays intact behind the link). */
typedef struct orphan_s {
    struct orphan_s *next;
} orphan_t;

static _Atomic(orphan_t *) orphans;

static void push_orphan(unsigned char *block)
{
    /* the link lives in the seed word, which check_block does not need */
    orphan_t *node = (orphan_t *)(block + offsetof(block_header_t, seed));
    node->next = atomic_load_explicit(&orphans, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&orphans, &node->next, node, memory_order_release,
                                                  memory_order_relaxed)) {
    }
}

/* Takes the whole stack and frees every block on it. */
static size_t free_orphans(void)
{
    orphan_t *node = atomic_exchange_explicit(&orphans, NULL, memory_order_acquire);
    size_t count = 0;
    while (node != NULL) {
        orphan_t *next = node->next;
        unsigned char *block = (unsigned char *)node - offsetof(block_header_t, seed);
        block_header_t header;
        memcpy(&header, block, sizeof header);
        CHECKF(header.magic == BLOCK_MAGIC, "orphan block %p lost its header", (void *)block);
        ward_free(block);
        count++;
        node = next;
    }
    return count;
}

static void *short_lived_thread(void *arg)
{
    uint64_t random_state = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
    /* first free what earlier threads left: their owners are gone */
    if ((uintptr_t)arg % 2 == 0)
        free_orphans();
    unsigned char *mine[300];
    for (int i = 0; i < 300; i++) {
        uint64_t r = test_random(&random_state);
        size_t size = i % 100 == 7 ? 150 * KiB + r % (200 * KiB) : 1 + r % (i % 10 == 0 ? 4000 : 300);
        mine[i] = make_block(size, r);
    }
    for (int i = 0; i < 300; i++) {
        check_block(mine[i]);
        if (i % 3 == 0)
            ward_free(mine[i]);
        else
            push_orphan(mine[i]);
    }
    return NULL;
}

static void test_churn(void)
{
    enum { PER_WAVE = 4, WARMUP_WAVES = 5 };
    unsigned waves = 60 * test_stress();
    ward_stats_t before = stats_now();
    uint64_t committed_after_warmup = 0, committed_peak_seen = 0;
    uintptr_t thread_number = 0;
    for (unsigned wave = 0; wave < waves; wave++) {
        pthread_t threads[PER_WAVE];
        for (int t = 0; t < PER_WAVE; t++)
            CHECK(pthread_create(&threads[t], NULL, short_lived_thread, (void *)++thread_number) == 0);
        for (int t = 0; t < PER_WAVE; t++)
            CHECK(pthread_join(threads[t], NULL) == 0);
        if (wave % 3 == 2)
            free_orphans();
        ward_stats_t now = stats_now();
        if (wave == WARMUP_WAVES - 1) {
            free_orphans();
            ward_collect(true);
            committed_after_warmup = stats_now().committed;
        }
        if (now.committed > committed_peak_seen)
            committed_peak_seen = now.committed;
    }
    free_orphans();
    ward_collect(true);
    ward_stats_t after = stats_now();
    printf("churn: %lu threads; committed %llu after warm-up, %llu at the end, at most %llu; "
           "%llu pages abandoned\n",
           (unsigned long)thread_number, (unsigned long long)committed_after_warmup,
           (unsigned long long)after.committed, (unsigned long long)committed_peak_seen,
           (unsigned long long)after.pages_abandoned);
    CHECKF(after.allocated == before.allocated,
           "allocated %llu after every block was freed, %llu before",
           (unsigned long long)after.allocated, (unsigned long long)before.allocated);
    CHECKF(after.threads == before.threads, "%llu threads with a live heap at the end, %llu before",
           (unsigned long long)after.threads, (unsigned long long)before.threads);
    /* every thread held most of a MiB: pages kept per exited thread would show */
    CHECKF(after.committed <= committed_after_warmup + 8 * MiB,
           "committed grew from %llu to %llu while %lu threads came and went",
           (unsigned long long)committed_after_warmup, (unsigned long long)after.committed,
           (unsigned long)thread_number);
}

/* ---- a size query while another thread writes the block ---- */

/* ward_usable_size reads ward's metadata only: the block's bytes are the
 * program's, and another thread may be writing them (the ThreadSanitizer
 * build reports a race if the query reads them). */
typedef struct written_block_s {
    unsigned char *block;
    atomic_int stop;
} written_block_t;

static void *block_writer(void *arg)
{
    written_block_t *w = arg;
    for (unsigned i = 0; !atomic_load_explicit(&w->stop, memory_order_relaxed); i++)
        w->block[i % 16] = (unsigned char)i; /* the first words, where free lists and tags go */
    return NULL;
}

static void test_usable_size_while_written(void)
{
    written_block_t w = {.block = ward_malloc(48)};
    CHECK(w.block != NULL);
    size_t usable = ward_usable_size(w.block);
    CHECK(usable >= 48);
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, block_writer, &w) == 0);
    for (int i = 0; i < 100000; i++)
        CHECK(ward_usable_size(w.block) == usable);
    atomic_store(&w.stop, 1);
    CHECK(pthread_join(thread, NULL) == 0);
    ward_free(w.block);
}

/* ---- collections racing heap destruction and abandoned pages ---- */

static atomic_int collecting_stop;

static void *collects(void *arg)
{
    bool force = arg != NULL;
    while (!atomic_load(&collecting_stop))
        ward_collect(force);
    return NULL;
}

#define LEFT_PER_THREAD 64
static void *leaves_blocks(void *arg)
{
    void **blocks = arg;
    for (int i = 0; i < LEFT_PER_THREAD; i++)
        CHECK((blocks[i] = ward_malloc(700 + 40 * (i % 8))) != NULL);
    return NULL;
}

/* A thread collecting all the time (ward_collect(true) walks user heaps;
 * ward_collect(false) frees abandoned pages that emptied) while others
 * destroy user heaps and free blocks that exited threads left behind: no
 * page may be freed twice, and a remote free into a page that a collection
 * frees at that moment must not crash. */
static void test_collect_races(void)
{
    for (int force = 0; force < 2; force++) {
        atomic_store(&collecting_stop, 0);
        pthread_t collector;
        CHECK(pthread_create(&collector, NULL, collects, force ? (void *)1 : NULL) == 0);
        for (int round = 0; round < 2000; round++) {
            ward_heap_t *heap = ward_heap_new();
            CHECK(heap != NULL);
            void *own[20];
            for (int i = 0; i < 20; i++)
                CHECK((own[i] = ward_heap_malloc(heap, 64 + 100 * (size_t)i)) != NULL);
            for (int i = 0; i < 20; i++)
                ward_free(own[i]);
            ward_heap_destroy(heap);
            if (round % 8 == 0) {
                void *left[LEFT_PER_THREAD];
                pthread_t thread;
                CHECK(pthread_create(&thread, NULL, leaves_blocks, left) == 0);
                CHECK(pthread_join(thread, NULL) == 0);
                for (int i = 0; i < LEFT_PER_THREAD; i++)
                    ward_free(left[i]);
            }
        }
        atomic_store(&collecting_stop, 1);
        CHECK(pthread_join(collector, NULL) == 0);
    }
}

int main(void)
{
    /* the main thread's heap and the C library's thread bookkeeping exist
     * before the first snapshot */
    ward_free(ward_malloc(1));
    test_prewarm_threads(4);
    test_exchange();
    test_handoff();
    test_churn();
    test_usable_size_while_written();
    test_collect_races();
    puts("ok");
    return 0;
}
