/*
 * loop_mt.c - every thread replaces random blocks of its own small working
 * set in a tight loop: many threads on the fast path at once.
 *
 * Modelled on glibc's benchtests/bench-malloc-thread: each thread owns an
 * array of slots and, in a loop, frees a random slot and allocates a new
 * block there, with sizes drawn with probability falling as the size grows
 * (log-uniform 8 B .. 32 KiB).  Nothing is shared, so an allocator with
 * per-thread caches should scale with the cores; one with a shared lock or
 * shared counters will not.
 *
 * Options: --slots N per thread (default 1024), --ops N per thread (default
 * 6 million, times --scale).
 */
#include "common.h"

#include <stdlib.h>

typedef struct loop_mt {
    size_t slots;
    uint64_t ops;
    uint64_t seed;
    _Atomic uint64_t checksum;
} loop_mt_t;

static void run_thread(unsigned index, void *arg)
{
    loop_mt_t *l = arg;
    bench_rng_t rng = bench_rng_make(l->seed, index);
    unsigned char **slot = calloc(l->slots, sizeof *slot);
    if (!slot)
        bench_fail("calloc returned NULL");
    uint64_t checksum = 0;
    for (uint64_t op = 0; op < l->ops; op++) {
        size_t i = bench_rng_below(&rng, (uint32_t)l->slots);
        if (slot[i])
            checksum += slot[i][0];
        free(slot[i]);
        size_t size = bench_rng_log_range(&rng, 8, 32 * 1024);
        slot[i] = malloc(size);
        if (!slot[i])
            bench_fail("malloc returned NULL");
        slot[i][0] = (unsigned char)op;
        slot[i][size - 1] = (unsigned char)op;
    }
    for (size_t i = 0; i < l->slots; i++)
        free(slot[i]);
    free(slot);
    atomic_fetch_add(&l->checksum, checksum);
}

int main(int argc, char **argv)
{
    bench_config_t config = bench_init(argc, argv, "loop-mt", "--slots --ops");
    loop_mt_t l = {
        .slots = (size_t)bench_option_long("--slots", 1024),
        .ops = bench_scaled(&config, (uint64_t)bench_option_long("--ops", 6000000)),
        .seed = config.seed,
    };
    if (l.slots < 1)
        bench_fail("--slots must be at least 1");
    uint64_t start = bench_now_ns();
    bench_run_threads(config.threads, run_thread, &l);
    uint64_t elapsed = bench_now_ns() - start;
    bench_sink = atomic_load(&l.checksum);
    return bench_report(&config, elapsed, config.threads * l.ops);
}
