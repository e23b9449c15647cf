/*
 * First-class heaps: ward_heap_new / malloc / calloc / realloc /
 * aligned_alloc / destroy.  Each function behaves as its ward_malloc
 * namesake; blocks can be freed by ward_free from any thread; destroy
 * releases every block of the heap, wherever it was allocated, and the
 * statistics fall back to what they were before the heap.
 */
#include <pthread.h>
#include <stdint.h>

#include "core/stats_helpers.h"


static size_t size_for(uint64_t random, size_t index)
{
    if (index % 500 == 499)
        return 2 * MiB + 1 + random % (3 * MiB);         /* huge */
    if (index % 50 == 49)
        return 128 * KiB + 1 + random % (900 * KiB);     /* large */
    return 1 + random % (index % 8 == 0 ? 16 * KiB : 512); /* small */
}

static void test_functions(void)
{
    ward_heap_t *heap = ward_heap_new();
    CHECK(heap != NULL);

    const size_t sizes[] = {0, 1, 16, 100, 4000, 128 * KiB, 200 * KiB, 2 * MiB, 5 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = ward_heap_malloc(heap, sizes[i]);
        CHECKF(p != NULL, "ward_heap_malloc(%zu)", sizes[i]);
        CHECK(((uintptr_t)p & 15) == 0);
        CHECK(ward_usable_size(p) >= sizes[i]);
        memset(p, 0xc3, ward_usable_size(p));
        ward_free(p);
        unsigned char *z = ward_heap_calloc(heap, 1, sizes[i]);
        CHECKF(z != NULL, "ward_heap_calloc(1, %zu)", sizes[i]);
        for (size_t at = 0; at < sizes[i]; at++)
            CHECKF(z[at] == 0, "ward_heap_calloc(1, %zu): byte %zu is %#x", sizes[i], at, z[at]);
        ward_free(z);
    }

    for (size_t alignment = 1; alignment <= 4 * MiB; alignment *= 2) {
        void *p = ward_heap_aligned_alloc(heap, alignment, 100);
        CHECKF(p != NULL && (uintptr_t)p % alignment == 0, "ward_heap_aligned_alloc(%zu) = %p",
               alignment, p);
        CHECK(ward_usable_size(p) >= 100);
        ward_free(p);
    }

    errno = 0;
    CHECK(ward_heap_aligned_alloc(heap, 48, 100) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(ward_heap_aligned_alloc(heap, 0, 100) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(ward_heap_malloc(heap, (size_t)PTRDIFF_MAX + 1) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(ward_heap_calloc(heap, SIZE_MAX / 2 + 1, 2) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(ward_heap_calloc(heap, (size_t)PTRDIFF_MAX / 2 + 1, 2) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(ward_heap_aligned_alloc(heap, 64, SIZE_MAX) == NULL && errno == ENOMEM);

    /* heap realloc: NULL, growth through every range, failure, 0 */
    unsigned char *p = ward_heap_realloc(heap, NULL, 10);
    CHECK(p != NULL);
    size_t size = 10;
    unsigned step = 0;
    for (size_t at = 0; at < size; at++)
        p[at] = (unsigned char)(at * 3 + step);
    const size_t growth[] = {100, 3000, 100 * KiB, 300 * KiB, 3 * MiB, 9 * MiB, 50};
    for (size_t i = 0; i < sizeof growth / sizeof growth[0]; i++) {
        unsigned char *q = ward_heap_realloc(heap, p, growth[i]);
        CHECKF(q != NULL, "ward_heap_realloc to %zu", growth[i]);
        size_t kept = size < growth[i] ? size : growth[i];
        for (size_t at = 0; at < kept; at++)
            CHECKF(q[at] == (unsigned char)(at * 3 + step), "ward_heap_realloc to %zu lost byte %zu",
                   growth[i], at);
        step++;
        for (size_t at = 0; at < growth[i]; at++)
            q[at] = (unsigned char)(at * 3 + step);
        p = q;
        size = growth[i];
    }
    errno = 0;
    CHECK(ward_heap_realloc(heap, p, (size_t)PTRDIFF_MAX + 1) == NULL && errno == ENOMEM);
    for (size_t at = 0; at < size; at++)
        CHECKF(p[at] == (unsigned char)(at * 3 + step), "a failed ward_heap_realloc changed the block");
    CHECK(ward_heap_realloc(heap, p, 0) == NULL);

    ward_heap_destroy(heap);
    ward_heap_destroy(NULL);
}

/* A heap full of blocks of every range, some freed, some resized: destroy
 * brings allocated, large_count and huge_count back exactly, and blocks of the
 * default heap are left alone. */
static void test_destroy_releases_everything(void)
{
    enum { COUNT = 3000, OUTSIDE = 100 };
    static unsigned char *blocks[COUNT];
    unsigned char *outside[OUTSIDE];
    for (int i = 0; i < OUTSIDE; i++) {
        outside[i] = ward_malloc(64 + (size_t)i * 40);
        CHECK(outside[i] != NULL);
        memset(outside[i], i, 64 + (size_t)i * 40);
    }
    ward_collect(true);
    ward_stats_t before = stats_now();

    ward_heap_t *heap = ward_heap_new();
    CHECK(heap != NULL);
    uint64_t random_state = 77;
    uint64_t held = 0;
    for (size_t i = 0; i < COUNT; i++) {
        size_t n = size_for(test_random(&random_state), i);
        blocks[i] = i % 7 == 3 ? ward_heap_calloc(heap, 1, n)
                  : i % 11 == 5 ? ward_heap_aligned_alloc(heap, 256, n)
                                : ward_heap_malloc(heap, n);
        CHECK(blocks[i] != NULL);
        memset(blocks[i], 0x77, n);
        held += ward_usable_size(blocks[i]);
    }
    for (size_t i = 0; i < COUNT; i += 5) {
        held -= ward_usable_size(blocks[i]);
        ward_free(blocks[i]);
        blocks[i] = NULL;
    }
    for (size_t i = 1; i < COUNT; i += 9) {
        held -= ward_usable_size(blocks[i]);
        blocks[i] = ward_heap_realloc(heap, blocks[i], ward_usable_size(blocks[i]) * 2 + 1);
        CHECK(blocks[i] != NULL);
        held += ward_usable_size(blocks[i]);
    }
    ward_stats_t full = stats_now();
    CHECKF(full.allocated == before.allocated + held,
           "allocated %llu, expected %llu before the heap + %llu held in it",
           (unsigned long long)full.allocated, (unsigned long long)before.allocated,
           (unsigned long long)held);
    CHECK(full.committed >= full.allocated);

    ward_heap_destroy(heap);
    ward_collect(true);
    ward_stats_t after = stats_now();
    CHECKF(after.allocated == before.allocated, "allocated %llu after destroy, %llu before the heap",
           (unsigned long long)after.allocated, (unsigned long long)before.allocated);
    CHECK(after.large_count == before.large_count);
    CHECK(after.huge_count == before.huge_count);
    CHECKF(after.committed + held / 2 <= full.committed,
           "committed %llu with the heap, %llu after destroy: less than half of %llu returned",
           (unsigned long long)full.committed, (unsigned long long)after.committed,
           (unsigned long long)held);

    for (int i = 0; i < OUTSIDE; i++) {
        for (size_t at = 0; at < 64 + (size_t)i * 40; at++)
            CHECKF(outside[i][at] == (unsigned char)i, "a default-heap block changed on destroy");
        ward_free(outside[i]);
    }
}

typedef struct shared_heap_s {
    ward_heap_t *heap;
    unsigned index;
    unsigned char **blocks; /* each thread fills its own slice */
    size_t per_thread;
    unsigned char **to_free; /* blocks of another thread, freed here */
    size_t to_free_count;
} shared_heap_t;

static void *allocate_from_shared_heap(void *arg)
{
    shared_heap_t *job = arg;
    uint64_t random_state = 1000 + job->index;
    for (size_t i = 0; i < job->to_free_count; i++)
        ward_free(job->to_free[i]);
    for (size_t i = 0; i < job->per_thread; i++) {
        size_t n = size_for(test_random(&random_state), i);
        unsigned char *p = ward_heap_malloc(job->heap, n);
        CHECK(p != NULL);
        memset(p, (int)job->index, n);
        if (i % 3 == 0) {
            ward_free(p); /* some blocks die young, in the allocating thread */
            p = ward_heap_malloc(job->heap, 48);
            CHECK(p != NULL);
        }
        job->blocks[i] = p;
    }
    return NULL;
}

/* Several threads allocate from one heap at the same time (and free blocks
 * of a heap they did not allocate); then the main thread destroys it. */
static void test_destroy_after_many_threads(void)
{
    enum { THREADS = 4, PER_THREAD = 1500, EARLY = 300 };
    test_prewarm_threads(THREADS);
    ward_collect(true);
    ward_stats_t before = stats_now();
    for (int round = 0; round < 3; round++) {
        ward_heap_t *heap = ward_heap_new();
        CHECK(heap != NULL);
        static unsigned char *early[EARLY];
        for (int i = 0; i < EARLY; i++) {
            early[i] = ward_heap_malloc(heap, 32 + (size_t)i);
            CHECK(early[i] != NULL);
        }
        static unsigned char *blocks[THREADS][PER_THREAD];
        shared_heap_t jobs[THREADS];
        pthread_t threads[THREADS];
        for (unsigned t = 0; t < THREADS; t++) {
            jobs[t] = (shared_heap_t){heap, t, blocks[t], PER_THREAD, early + t * (EARLY / THREADS),
                                      EARLY / THREADS};
            CHECK(pthread_create(&threads[t], NULL, allocate_from_shared_heap, &jobs[t]) == 0);
        }
        for (unsigned t = 0; t < THREADS; t++)
            CHECK(pthread_join(threads[t], NULL) == 0);
        ward_stats_t full = stats_now();
        CHECK(full.allocated > before.allocated);
        ward_heap_destroy(heap);
        ward_collect(true);
        ward_stats_t after = stats_now();
        CHECKF(after.allocated == before.allocated,
               "round %d: allocated %llu after destroy, %llu before the heap", round,
               (unsigned long long)after.allocated, (unsigned long long)before.allocated);
        CHECK(after.large_count == before.large_count);
        CHECK(after.huge_count == before.huge_count);
    }
}

/* Creating and destroying many small heaps does not keep memory: after the
 * first few, committed memory stays where it was. */
static void test_heap_churn(void)
{
    unsigned cycles = 400 * test_stress();
    uint64_t committed_after_warmup = 0;
    for (unsigned cycle = 0; cycle < cycles; cycle++) {
        ward_heap_t *heap = ward_heap_new();
        CHECK(heap != NULL);
        for (int i = 0; i < 50; i++)
            CHECK(ward_heap_malloc(heap, 16 + (size_t)i * 100) != NULL);
        CHECK(ward_heap_malloc(heap, 300 * KiB) != NULL);
        CHECK(ward_heap_malloc(heap, 3 * MiB) != NULL);
        ward_heap_destroy(heap);
        if (cycle == 9) {
            ward_collect(true);
            committed_after_warmup = stats_now().committed;
        }
    }
    ward_collect(true);
    uint64_t committed_at_end = stats_now().committed;
    printf("heap churn: committed %llu after 10 heaps, %llu after %u\n",
           (unsigned long long)committed_after_warmup, (unsigned long long)committed_at_end, cycles);
    /* each heap touched more than 3 MiB: keeping even a page per heap shows */
    CHECKF(committed_at_end <= committed_after_warmup + 4 * MiB,
           "committed memory grew from %llu to %llu over %u heaps",
           (unsigned long long)committed_after_warmup, (unsigned long long)committed_at_end, cycles);
}

/* A thread leaves blocks behind when it exits (their page is abandoned);
 * a user heap must not adopt that page, or destroying the heap would take
 * the program's live blocks with it. */
#define LEFT_BLOCKS 3
static unsigned char *left_behind[LEFT_BLOCKS];

static void *leaves_blocks(void *arg)
{
    (void)arg;
    for (int i = 0; i < LEFT_BLOCKS; i++) {
        CHECK((left_behind[i] = ward_malloc(100)) != NULL);
        memset(left_behind[i], 0x5a, 100);
    }
    return NULL;
}

static void test_user_heap_adopts_nothing(void)
{
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, leaves_blocks, NULL) == 0);
    CHECK(pthread_join(thread, NULL) == 0);
    ward_heap_t *heap = ward_heap_new();
    CHECK(heap != NULL);
    unsigned char *own = ward_heap_malloc(heap, 100);
    CHECK(own != NULL);
    for (int i = 0; i < LEFT_BLOCKS; i++)
        CHECK((uintptr_t)own / (64 * 1024) != (uintptr_t)left_behind[i] / (64 * 1024));
    ward_heap_destroy(heap);
    void *later = ward_malloc(100); /* may reuse what the heap gave back */
    CHECK(later != NULL);
    memset(later, 0xa5, 100);
    for (int i = 0; i < LEFT_BLOCKS; i++) {
        for (int k = 0; k < 100; k++)
            CHECK(left_behind[i][k] == 0x5a);
        CHECK(ward_check() == 0);
        ward_free(left_behind[i]);
    }
    ward_free(later);
}

int main(void)
{
    test_functions();
    test_user_heap_adopts_nothing();
    test_destroy_releases_everything();
    test_destroy_after_many_threads();
    test_heap_churn();
    puts("ok");
    return 0;
}
