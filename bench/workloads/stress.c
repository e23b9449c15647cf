/*
 * stress.c - threads allocate, free and trade blocks of random sizes and
 * lifetimes over a large live set; threads come and go between rounds.
 *
 * Modelled on mimalloc's "mstress" test (in mimalloc-bench): each round
 * starts fresh threads; each keeps a large set of live blocks and in a
 * random mix allocates (mostly small blocks, a few up to 256 KiB), frees a
 * random block of its own, or swaps a block with a shared transfer table
 * that outlives the round, so blocks move between threads and between
 * generations of threads.  A thread's remaining blocks are freed when it
 * ends, except those in the transfer table.  It stresses every path at once:
 * local and remote frees, pages of exited threads, and fragmentation across
 * size classes over a big heap.
 *
 * Every block carries a cookie derived from its address and size in its
 * first two words, checked before it is freed.
 *
 * Options: --live N blocks per thread at most (default 40000), --steps N
 * per thread and round (default 500000, times --scale), --rounds N
 * (default 6).
 */
#include "common.h"

#include <stdlib.h>

#define TRANSFER_SLOTS 1024
#define COOKIE_KEY 0x6a09e667f3bcc909u

typedef struct stress {
    _Atomic(uint64_t *) transfer[TRANSFER_SLOTS];
    size_t live_limit;
    uint64_t steps;
    uint64_t seed;
    unsigned round;
} stress_t;

/* Mostly small, sometimes medium, rarely large: 90 % 8..256 B,
 * 9.9 % 257 B..8 KiB, 0.1 % 8..256 KiB. */
static size_t pick_size(bench_rng_t *rng)
{
    uint32_t dice = bench_rng_below(rng, 1000);
    if (dice < 900)
        return bench_rng_range(rng, 16, 256);
    if (dice < 999)
        return bench_rng_log_range(rng, 257, 8192);
    return bench_rng_log_range(rng, 8193, 256 * 1024);
}

static uint64_t *make_block(bench_rng_t *rng)
{
    size_t size = pick_size(rng);
    uint64_t *block = malloc(size);
    if (!block)
        bench_fail("malloc returned NULL");
    block[0] = (uint64_t)(uintptr_t)block ^ COOKIE_KEY;
    block[1] = size;
    bench_touch(block + 2, size - 2 * sizeof(uint64_t), 0xa5);
    return block;
}

static void check_block(const uint64_t *block)
{
    if (block[0] != ((uint64_t)(uintptr_t)block ^ COOKIE_KEY) || block[1] < 16 || block[1] > 256 * 1024)
        bench_fail("block cookie overwritten");
}

static void run_thread(unsigned index, void *arg)
{
    stress_t *s = arg;
    bench_rng_t rng = bench_rng_make(s->seed, (uint64_t)s->round << 32 | index);
    uint64_t **live = malloc(s->live_limit * sizeof *live);
    if (!live)
        bench_fail("malloc returned NULL");
    size_t count = 0;

    for (uint64_t step = 0; step < s->steps; step++) {
        uint32_t action = bench_rng_below(&rng, 100);
        if (action < 55) { /* allocate */
            if (count < s->live_limit)
                live[count++] = make_block(&rng);
        } else if (action < 95) { /* free one of ours */
            if (count > 0) {
                size_t victim = bench_rng_below(&rng, (uint32_t)count);
                check_block(live[victim]);
                free(live[victim]);
                live[victim] = live[--count];
            }
        } else { /* trade with the transfer table */
            size_t slot = bench_rng_below(&rng, TRANSFER_SLOTS);
            uint64_t *given = NULL;
            if (count > 0) {
                size_t pick = bench_rng_below(&rng, (uint32_t)count);
                given = live[pick];
                live[pick] = live[--count];
            }
            uint64_t *taken = atomic_exchange(&s->transfer[slot], given);
            if (taken) {
                check_block(taken);
                if (count < s->live_limit)
                    live[count++] = taken;
                else
                    free(taken);
            }
        }
    }
    for (size_t i = 0; i < count; i++) {
        check_block(live[i]);
        free(live[i]);
    }
    free(live);
}

int main(int argc, char **argv)
{
    bench_config_t config = bench_init(argc, argv, "stress", "--live --steps --rounds");
    static stress_t s;
    s.live_limit = (size_t)bench_option_long("--live", 40000);
    s.steps = bench_scaled(&config, (uint64_t)bench_option_long("--steps", 500000));
    s.seed = config.seed;
    unsigned rounds = (unsigned)bench_option_long("--rounds", 6);
    if (s.live_limit < 1 || rounds < 1)
        bench_fail("need --live >= 1 and --rounds >= 1");

    uint64_t start = bench_now_ns();
    for (s.round = 0; s.round < rounds; s.round++)
        bench_run_threads(config.threads, run_thread, &s);
    for (size_t slot = 0; slot < TRANSFER_SLOTS; slot++) {
        uint64_t *block = atomic_load(&s.transfer[slot]);
        if (block) {
            check_block(block);
            free(block);
        }
    }
    uint64_t elapsed = bench_now_ns() - start;
    return bench_report(&config, elapsed, (uint64_t)rounds * config.threads * s.steps);
}
