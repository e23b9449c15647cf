/*
 * lifetimes.c - blocks of random sizes with random lifetimes, some freed by
 * another thread, over a large live set.
 *
 * Modelled on rpmalloc's "rptest" benchmark (Mattias Jansson; in
 * mimalloc-bench): every thread, loop after loop, allocates a batch of
 * blocks whose sizes follow a skewed distribution (16 B .. 16 KiB,
 * log-uniform, 1 % up to 128 KiB) and gives each a lifetime of 1..64 loops;
 * blocks whose lifetime has run out are freed, one in eight of them by the
 * next thread (sent through a lock-free inbox).  The live set settles at
 * about batch x 32 blocks per thread, tens of MiB, so the allocator must
 * keep a big fragmented heap dense while serving a steady stream.
 *
 * Lifetimes are kept in a timing wheel of 64 lists threaded through the
 * blocks themselves: word 0 links the list, word 1 holds a cookie checked
 * before the free.
 *
 * Options: --batch N blocks per loop (default 400), --loops N per thread
 * (default 2500, times --scale).
 */
#include "common.h"

#include <stdlib.h>

#define WHEEL 64 /* lifetimes 1..WHEEL loops */
#define COOKIE_KEY 0xbb67ae8584caa73bu

typedef struct inbox {
    _Alignas(64) _Atomic(uint64_t *) head; /* a stack linked through word 0 */
} inbox_t;

typedef struct lifetimes {
    inbox_t inbox[1024];
    unsigned threads;
    uint64_t loops;
    size_t batch;
    uint64_t seed;
    _Atomic uint64_t remote_frees;
} lifetimes_t;

static size_t pick_size(bench_rng_t *rng)
{
    if (bench_rng_below(rng, 100) == 0)
        return bench_rng_log_range(rng, 16 * 1024 + 1, 128 * 1024);
    return bench_rng_log_range(rng, 16, 16 * 1024);
}

static void check_block(const uint64_t *block)
{
    if ((block[1] & ~(uint64_t)1) != (((uint64_t)(uintptr_t)block ^ COOKIE_KEY) & ~(uint64_t)1))
        bench_fail("block cookie overwritten");
}

static void send_to(inbox_t *inbox, uint64_t *block)
{
    uint64_t *head = atomic_load_explicit(&inbox->head, memory_order_relaxed);
    do
        block[0] = (uint64_t)(uintptr_t)head;
    while (!atomic_compare_exchange_weak_explicit(&inbox->head, &head, block, memory_order_release,
                                                  memory_order_relaxed));
}

/* Takes the whole stack at once (so no ABA problem) and frees it. */
static uint64_t drain(inbox_t *inbox)
{
    uint64_t *block = atomic_exchange_explicit(&inbox->head, NULL, memory_order_acquire);
    uint64_t freed = 0;
    while (block) {
        uint64_t *next = (uint64_t *)(uintptr_t)block[0];
        check_block(block);
        free(block);
        block = next;
        freed++;
    }
    return freed;
}

static void run_thread(unsigned index, void *arg)
{
    lifetimes_t *l = arg;
    bench_rng_t rng = bench_rng_make(l->seed, index);
    uint64_t *wheel[WHEEL] = {0};
    inbox_t *next_thread = &l->inbox[(index + 1) % l->threads];
    uint64_t remote = 0;

    for (uint64_t loop = 0; loop < l->loops; loop++) {
        for (size_t i = 0; i < l->batch; i++) {
            size_t size = pick_size(&rng);
            uint64_t *block = malloc(size);
            if (!block)
                bench_fail("malloc returned NULL");
            unsigned life = 1 + bench_rng_below(&rng, WHEEL - 1);
            int send_away = bench_rng_below(&rng, 8) == 0;
            /* The cookie's low bit says whether this block is freed remotely. */
            block[1] = (((uint64_t)(uintptr_t)block ^ COOKIE_KEY) & ~(uint64_t)1) | (uint64_t)send_away;
            bench_touch(block + 2, size - 2 * sizeof(uint64_t), (unsigned char)loop);
            uint64_t **list = &wheel[(loop + life) % WHEEL];
            block[0] = (uint64_t)(uintptr_t)*list;
            *list = block;
        }
        uint64_t *expired = wheel[loop % WHEEL];
        wheel[loop % WHEEL] = NULL;
        while (expired) {
            uint64_t *next = (uint64_t *)(uintptr_t)expired[0];
            check_block(expired);
            if (expired[1] & 1) {
                send_to(next_thread, expired);
                remote++;
            } else {
                free(expired);
            }
            expired = next;
        }
        drain(&l->inbox[index]);
    }
    for (unsigned slot = 0; slot < WHEEL; slot++)
        for (uint64_t *block = wheel[slot]; block;) {
            uint64_t *next = (uint64_t *)(uintptr_t)block[0];
            check_block(block);
            free(block);
            block = next;
        }
    atomic_fetch_add(&l->remote_frees, remote);
}

int main(int argc, char **argv)
{
    bench_config_t config = bench_init(argc, argv, "lifetimes", "--batch --loops");
    static lifetimes_t l;
    if (config.threads > 1024)
        bench_fail("at most 1024 threads");
    l.threads = config.threads;
    l.batch = (size_t)bench_option_long("--batch", 400);
    l.loops = bench_scaled(&config, (uint64_t)bench_option_long("--loops", 2500));
    l.seed = config.seed;

    uint64_t start = bench_now_ns();
    bench_run_threads(config.threads, run_thread, &l);
    /* Blocks sent after their receiver's last drain are freed here. */
    for (unsigned i = 0; i < config.threads; i++)
        drain(&l.inbox[i]);
    uint64_t elapsed = bench_now_ns() - start;

    bench_extra("check_remote_frees", (double)atomic_load(&l.remote_frees));
    return bench_report(&config, elapsed, (uint64_t)config.threads * l.loops * l.batch);
}
