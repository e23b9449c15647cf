/*
 * churn.c - random replacement in a live set of a fixed number of objects.
 *
 * Modelled on the steady-state phase of mimalloc-bench's "mstress" and
 * rpmalloc's "rptest" reduced to a single thread: fill N slots, then many
 * times free a random slot and allocate a block of a random size into it,
 * then free everything.  With a small live set (1 K) it measures the
 * allocator's fast paths with mixed size classes; with a large one (1 M) it
 * adds cache and TLB misses on the allocator's metadata and shows how
 * densely the allocator packs a big heap (peak RSS); with a wide size range
 * (8 B .. 64 KiB, log-uniform) it mixes small, medium and page-sized blocks
 * so freed memory must be reused across size classes.
 *
 * Every block has one byte written in each of its pages (common.h), so the
 * resident set is what a program that fills its blocks would have.
 *
 * Options: --live N (default 1000), --min and --max BYTES (default 16, 512),
 * --log 1 for log-uniform sizes (default 0: uniform), --ops N replacements
 * (default 20 million, times --scale).  The timed section covers the fill,
 * the replacements and the final frees.
 */
#include "common.h"

#include <stdlib.h>

int main(int argc, char **argv)
{
    bench_config_t config = bench_init(argc, argv, "churn", "--live --min --max --log --ops");
    size_t live = (size_t)bench_option_long("--live", 1000);
    size_t min_size = (size_t)bench_option_long("--min", 16);
    size_t max_size = (size_t)bench_option_long("--max", 512);
    int log_sizes = bench_option_long("--log", 0) != 0;
    uint64_t ops = bench_scaled(&config, (uint64_t)bench_option_long("--ops", 20000000));
    if (live < 1 || min_size < 1 || max_size < min_size)
        bench_fail("need --live >= 1 and 1 <= --min <= --max");

    bench_rng_t rng = bench_rng_make(config.seed, 0);
    /* The slot table is the program's own data; it is allocated the same way
     * under every allocator, before the clock starts. */
    unsigned char **slots = malloc(live * sizeof *slots);
    size_t *sizes = malloc(live * sizeof *sizes);
    if (!slots || !sizes)
        bench_fail("slot table");

    uint64_t checksum = 0;
    uint64_t start = bench_now_ns();
    for (size_t i = 0; i < live; i++) {
        size_t size = log_sizes ? bench_rng_log_range(&rng, min_size, max_size)
                                : bench_rng_range(&rng, min_size, max_size);
        slots[i] = malloc(size);
        if (!slots[i])
            bench_fail("malloc returned NULL");
        sizes[i] = size;
        bench_touch(slots[i], size, (unsigned char)i);
    }
    for (uint64_t op = 0; op < ops; op++) {
        size_t slot = bench_rng_below(&rng, (uint32_t)live);
        checksum += slots[slot][sizes[slot] - 1];
        free(slots[slot]);
        size_t size = log_sizes ? bench_rng_log_range(&rng, min_size, max_size)
                                : bench_rng_range(&rng, min_size, max_size);
        slots[slot] = malloc(size);
        if (!slots[slot])
            bench_fail("malloc returned NULL");
        sizes[slot] = size;
        bench_touch(slots[slot], size, (unsigned char)op);
    }
    for (size_t i = 0; i < live; i++)
        free(slots[i]);
    uint64_t elapsed = bench_now_ns() - start;

    free(sizes);
    free(slots);
    bench_sink = checksum;
    return bench_report(&config, elapsed, ops + 2 * live);
}
