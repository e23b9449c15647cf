/*
 * loop.c - tight allocate-then-free loops over a handful of sizes, in one
 * thread.
 *
 * Modelled on glibc's benchtests/bench-malloc-simple: for each of several
 * block sizes (16 B .. 4 KiB), allocate a batch of blocks and free them all,
 * over and over.  Unlike the single pair (pairs.c), a batch makes the
 * allocator carve and refill: its per-thread cache overflows into the
 * shared structures and back.
 *
 * Options: --batch N blocks (default 200), --ops N allocations per size
 * (default 1.5 million, times --scale).
 */
#include "common.h"

#include <stdlib.h>

int main(int argc, char **argv)
{
    bench_config_t config = bench_init(argc, argv, "loop", "--batch --ops");
    size_t batch = (size_t)bench_option_long("--batch", 200);
    uint64_t ops_per_size = bench_scaled(&config, (uint64_t)bench_option_long("--ops", 1500000));
    config.threads = 1;
    if (batch < 1 || batch > 100000)
        bench_fail("--batch must be 1..100000");
    static const size_t sizes[] = {16, 64, 256, 1024, 4096};
    const size_t size_count = sizeof sizes / sizeof sizes[0];
    unsigned char *blocks[batch];
    uint64_t repeats = ops_per_size / batch ? ops_per_size / batch : 1;

    uint64_t checksum = 0;
    uint64_t start = bench_now_ns();
    for (size_t s = 0; s < size_count; s++) {
        uint64_t size_start = bench_now_ns();
        for (uint64_t r = 0; r < repeats; r++) {
            for (size_t i = 0; i < batch; i++) {
                blocks[i] = malloc(sizes[s]);
                if (!blocks[i])
                    bench_fail("malloc returned NULL");
                blocks[i][0] = (unsigned char)i;
            }
            for (size_t i = 0; i < batch; i++) {
                checksum += blocks[i][0];
                free(blocks[i]);
            }
        }
        /* Per-size cost of one malloc/free pair, to show which size a
         * slow total comes from. */
        static const char *const pair_names[] = {"pair_ns_16", "pair_ns_64", "pair_ns_256", "pair_ns_1024",
                                                 "pair_ns_4096"};
        bench_extra(pair_names[s], (double)(bench_now_ns() - size_start) / (double)(repeats * batch));
    }
    uint64_t elapsed = bench_now_ns() - start;
    bench_sink = checksum;
    return bench_report(&config, elapsed, size_count * repeats * batch);
}
