/*
 * fork while other threads allocate: the child (which has only the forking
 * thread) must be able to allocate, resize and free in every size range, and
 * free blocks that the parent's other threads allocated, without deadlock.
 * Repeated many times, forking from the main thread and from other threads;
 * WARD_STRESS scales the number of forks.  A deadlocked child shows as the
 * test's timeout.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "common/check.h"
#include "ward.h"

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifndef UNDER_TSAN
#define UNDER_TSAN 0
#endif

#define KiB ((size_t)1024)
#define MiB (KiB * 1024)
#define WORKERS 3
#define SLOTS 256

/* Blocks in flight between the workers; each starts with its size and is
 * filled with a byte derived from that size. */
static _Atomic(uintptr_t) slots[SLOTS];
static atomic_bool stop_workers;

static unsigned char fill_byte(size_t size)
{
    return (unsigned char)(size * 13 + 5);
}

static unsigned char *make_block(size_t size)
{
    unsigned char *p = ward_malloc(size);
    CHECK(p != NULL);
    memcpy(p, &size, sizeof size);
    memset(p + sizeof size, fill_byte(size), size - sizeof size);
    return p;
}

static void check_and_free(unsigned char *p)
{
    size_t size;
    memcpy(&size, p, sizeof size);
    for (size_t at = sizeof size; at < size; at += 61)
        CHECKF(p[at] == fill_byte(size), "block %p of %zu bytes changed at %zu", (void *)p, size, at);
    ward_free(p);
}

static size_t random_size(uint64_t *state)
{
    uint64_t r = test_random(state);
    unsigned kind = (unsigned)(r % 200);
    r >>= 8;
    if (kind == 0)
        return 2 * MiB + r % MiB;
    if (kind < 4)
        return 128 * KiB + r % (256 * KiB);
    return 16 + r % (kind < 40 ? 8 * KiB : 512);
}

static void *worker(void *arg)
{
    uint64_t state = (uintptr_t)arg * 7919 + 1;
    while (!atomic_load_explicit(&stop_workers, memory_order_relaxed)) {
        unsigned char *mine = make_block(random_size(&state));
        size_t slot = (size_t)(test_random(&state) % SLOTS);
        unsigned char *theirs = (unsigned char *)atomic_exchange(&slots[slot], (uintptr_t)mine);
        if (theirs != NULL)
            check_and_free(theirs);
        void *scratch = ward_calloc(1, 1 + test_random(&state) % 2000);
        CHECK(scratch != NULL);
        ward_free(scratch);
    }
    return NULL;
}

static void *child_thread(void *arg)
{
    uint64_t state = (uintptr_t)arg;
    for (int i = 0; i < 2000; i++)
        check_and_free(make_block(random_size(&state)));
    return NULL;
}

/* Everything the child does; returns only if all went well. */
static void child_work(unsigned char **parent_blocks, size_t parent_count, unsigned round)
{
    for (size_t i = 0; i < parent_count; i++)
        check_and_free(parent_blocks[i]);
    /* blocks of threads that do not exist in the child */
    for (size_t slot = 0; slot < SLOTS; slot += 2) {
        unsigned char *p = (unsigned char *)atomic_exchange(&slots[slot], 0);
        if (p != NULL)
            check_and_free(p);
    }
    uint64_t state = round + 99;
    unsigned char *kept[64];
    for (int i = 0; i < 3000; i++) {
        unsigned char *p = make_block(random_size(&state));
        if (i % 50 == 0) {
            kept[i / 50] = p;
            continue;
        }
        check_and_free(p);
    }
    for (int i = 0; i < 60; i++)
        check_and_free(kept[i]);
    unsigned char *grown = ward_realloc(NULL, 100);
    CHECK(grown != NULL);
    grown = ward_realloc(grown, 5 * MiB);
    CHECK(grown != NULL);
    ward_free(grown);
    void *aligned = ward_aligned_alloc(64 * KiB, 1000);
    CHECK(aligned != NULL && (uintptr_t)aligned % (64 * KiB) == 0);
    ward_free(aligned);
    ward_heap_t *heap = ward_heap_new();
    CHECK(heap != NULL);
    for (int i = 0; i < 100; i++)
        CHECK(ward_heap_malloc(heap, 100 + (size_t)i * 50) != NULL);
    ward_heap_destroy(heap);
    ward_stats_t stats;
    CHECK(ward_stats_get(&stats) == 0);
    if (!UNDER_TSAN) {
        /* TSan stops a child of a threaded parent that starts threads */
        pthread_t thread;
        CHECK(pthread_create(&thread, NULL, child_thread, (void *)(uintptr_t)round) == 0);
        CHECK(pthread_join(thread, NULL) == 0);
    }
}

typedef struct fork_job_s {
    unsigned round;
    int status;
} fork_job_t;

static void fork_once(fork_job_t *job)
{
    enum { PARENT_BLOCKS = 40 };
    unsigned char *parent_blocks[PARENT_BLOCKS];
    uint64_t state = job->round * 31 + 7;
    for (int i = 0; i < PARENT_BLOCKS; i++)
        parent_blocks[i] = make_block(random_size(&state));
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        child_work(parent_blocks, PARENT_BLOCKS, job->round);
        _exit(0);
    }
    CHECK(waitpid(child, &job->status, 0) == child);
    for (int i = 0; i < PARENT_BLOCKS; i++)
        check_and_free(parent_blocks[i]);
}

static void *fork_from_thread(void *arg)
{
    fork_once(arg);
    return NULL;
}

int main(void)
{
    pthread_t workers[WORKERS];
    for (uintptr_t w = 0; w < WORKERS; w++)
        CHECK(pthread_create(&workers[w], NULL, worker, (void *)w) == 0);
    unsigned forks = 40 * test_stress();
    for (unsigned round = 0; round < forks; round++) {
        fork_job_t job = {round, 0};
        if (round % 2 == 0) {
            fork_once(&job);
        } else {
            pthread_t forker;
            CHECK(pthread_create(&forker, NULL, fork_from_thread, &job) == 0);
            CHECK(pthread_join(forker, NULL) == 0);
        }
        CHECKF(WIFEXITED(job.status) && WEXITSTATUS(job.status) == 0,
               "fork %u (from %s): child status %#x%s%s", round,
               round % 2 == 0 ? "the main thread" : "another thread", job.status,
               WIFSIGNALED(job.status) ? ", killed by " : "",
               WIFSIGNALED(job.status) ? strsignal(WTERMSIG(job.status)) : "");
    }
    atomic_store(&stop_workers, true);
    for (int w = 0; w < WORKERS; w++)
        CHECK(pthread_join(workers[w], NULL) == 0);
    for (size_t slot = 0; slot < SLOTS; slot++) {
        unsigned char *p = (unsigned char *)atomic_exchange(&slots[slot], 0);
        if (p != NULL)
            check_and_free(p);
    }
    printf("%u forks while %d threads allocated: every child allocated and freed\n", forks, WORKERS);
    puts("ok");
    return 0;
}
