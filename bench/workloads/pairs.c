/*
 * pairs.c - same-thread malloc/free pairs of one size.
 *
 * The classic malloc/free microbenchmark: the batch-of-one case of glibc's
 * benchtests/bench-malloc-simple (loop.c runs the batched form).  It
 * measures the fastest path an allocator has, the one that takes a block
 * from the calling thread's cache and puts it straight back.  Each block gets
 * its first and last byte written and read so the pair is a real use, not
 * something a cache could satisfy without handing out memory.
 *
 * Options: --size BYTES (default 32), --ops N (default 40 million, times
 * --scale).
 */
#include "common.h"

#include <stdlib.h>

int main(int argc, char **argv)
{
    bench_config_t config = bench_init(argc, argv, "pairs", "--size --ops");
    size_t size = (size_t)bench_option_long("--size", 32);
    uint64_t ops = bench_scaled(&config, (uint64_t)bench_option_long("--ops", 40000000));
    if (size < 1)
        bench_fail("--size must be at least 1");

    uint64_t checksum = 0;
    uint64_t start = bench_now_ns();
    for (uint64_t i = 0; i < ops; i++) {
        unsigned char *block = malloc(size);
        if (!block)
            bench_fail("malloc returned NULL");
        block[0] = (unsigned char)i;
        block[size - 1] = (unsigned char)(i >> 8);
        checksum += block[0] + block[size - 1];
        free(block);
    }
    uint64_t elapsed = bench_now_ns() - start;
    bench_sink = checksum;
    return bench_report(&config, elapsed, ops);
}
