/*
 * threads.c - pools shared by four threads: gets, writes, checks and puts,
 * with buffers handed between threads through a shared table so that many
 * are put by a thread other than the one that got them; a growing pool
 * (thread caches) and a fixed one (one shared free list).  Afterwards no
 * buffer is outstanding, and the buffers a finished thread had cached are
 * back in the pool.  A process forked while another thread works on pools
 * can use them in the child.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "region/harness.h"

#define THREADS 4
#define SHARED_SLOTS 128
#define BLOCK 72

static ward_pool_t *pool;
static _Atomic(unsigned char *) shared[SHARED_SLOTS];
static unsigned steps;

static void *worker(void *arg)
{
    rng_t rng = rng_seeded((uint64_t)(uintptr_t)arg);
    unsigned char *mine[32] = {0};
    for (unsigned step = 0; step < steps; step++) {
        unsigned k = (unsigned)rng_below(&rng, 32);
        if (mine[k]) {
            for (int i = 0; i < BLOCK; i++)
                CHECK(mine[k][i] == (unsigned char)k);
            unsigned char *other = atomic_exchange(&shared[rng_below(&rng, SHARED_SLOTS)], mine[k]);
            if (other) {
                CHECK(other[0] == other[BLOCK - 1]);
                ward_pool_put(pool, other);
            }
            mine[k] = NULL;
        } else {
            mine[k] = ward_pool_get(pool, (size_t)rng_below(&rng, BLOCK + 1));
            if (mine[k])
                memset(mine[k], k, BLOCK);
            else
                CHECK(errno == ENOMEM); /* only the fixed pool runs out */
        }
    }
    for (unsigned k = 0; k < 32; k++)
        ward_pool_put(pool, mine[k]);
    return NULL;
}

static void run(ward_pool_t *tested, const char *what)
{
    pool = tested;
    pthread_t threads[THREADS];
    for (uintptr_t t = 0; t < THREADS; t++)
        CHECK(pthread_create(&threads[t], NULL, worker, (void *)(t + 1)) == 0);
    for (int t = 0; t < THREADS; t++)
        CHECK(pthread_join(threads[t], NULL) == 0);
    for (int i = 0; i < SHARED_SLOTS; i++)
        ward_pool_put(pool, atomic_exchange(&shared[i], NULL));
    CHECK(ward_pool_outstanding(pool) == 0);
    const char *problem = NULL;
    CHECK(ward_pool_check(pool, &problem));
    printf("%s: %d threads x %u steps ok\n", what, THREADS, steps);
}

static void *get_and_put_some(void *arg)
{
    void *held[50];
    for (int i = 0; i < 50; i++)
        CHECK((held[i] = ward_pool_get(arg, 8)) != NULL);
    for (int i = 0; i < 50; i++)
        ward_pool_put(arg, held[i]);
    return NULL; /* the 50 buffers sit in this thread's cache until it exits */
}

/* A thread's cached buffers go back to the pool when the thread ends. */
static void exit_flush(void)
{
    ward_pool_t *p = ward_pool_new(8, 0);
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, get_and_put_some, p) == 0);
    CHECK(pthread_join(thread, NULL) == 0);
    ward_pool_stats_t before, after;
    CHECK(ward_pool_stats(p, &before) == 0 && before.buffers >= 50);
    void *held[50];
    for (int i = 0; i < 50; i++)
        CHECK((held[i] = ward_pool_get(p, 8)) != NULL);
    CHECK(ward_pool_stats(p, &after) == 0 && after.buffers == before.buffers);
    for (int i = 0; i < 50; i++)
        ward_pool_put(p, held[i]);
    ward_pool_destroy(p);
    printf("thread exit returns cached buffers ok\n");
}

static atomic_bool hammering;

static void *hammer(void *arg)
{
    ward_pool_t **both = arg;
    while (atomic_load(&hammering))
        for (int i = 0; i < 2; i++) {
            void *p = ward_pool_get(both[i], 16);
            ward_pool_put(both[i], p);
        }
    return NULL;
}

/* fork() while another thread is inside the pools: the child must find
 * every pool lock free (the pools hold them across fork). */
static void fork_safety(void)
{
    ward_pool_config_t config = {.block_size = 16, .chunk_buffers = 64, .flags = WARD_POOL_FIXED};
    ward_pool_t *both[2] = {ward_pool_new(16, 0), ward_pool_new_ex(&config)};
    CHECK(both[0] && both[1]);
    atomic_store(&hammering, true);
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, hammer, both) == 0);
    for (int round = 0; round < 20; round++) {
        pid_t child = fork();
        CHECK(child >= 0);
        if (child == 0) {
            alarm(10); /* a deadlock ends as SIGALRM, not as a hung test */
            for (int i = 0; i < 1000; i++)
                for (int k = 0; k < 2; k++)
                    ward_pool_put(both[k], ward_pool_get(both[k], 16));
            /* The fixed pool keeps no caches: it is exact even here.  The
             * growing one may have lost buffers that were in flight in the
             * thread the child does not have, which its check would see. */
            _exit(ward_pool_check(both[1], NULL) && ward_pool_outstanding(both[1]) <= 1 ? 0 : 3);
        }
        int status;
        CHECK(waitpid(child, &status, 0) == child);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    atomic_store(&hammering, false);
    CHECK(pthread_join(thread, NULL) == 0);
    ward_pool_destroy(both[0]);
    ward_pool_destroy(both[1]);
    printf("fork while pools are in use ok\n");
}

int main(void)
{
    steps = 50000 * stress_scale();
    ward_pool_t *growing = ward_pool_new(BLOCK, 0);
    run(growing, "growing pool");
    ward_pool_config_t config = {.block_size = BLOCK, .chunk_buffers = 100, .flags = WARD_POOL_FIXED};
    ward_pool_t *fixed = ward_pool_new_ex(&config);
    run(fixed, "fixed pool");
    ward_pool_t *checked = ward_pool_new(BLOCK, WARD_POOL_DEBUG);
    run(checked, "debug pool");
    ward_pool_destroy(growing);
    ward_pool_destroy(fixed);
    ward_pool_destroy(checked);
    exit_flush();
    fork_safety();
    return 0;
}
