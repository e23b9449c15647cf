/*
 * phase_change.c - a program that changes phase: many small blocks, most of
 * them freed at random, then large blocks.
 *
 * Modelled on the phase behaviour described in Wilson, Johnstone, Neely and
 * Boles, "Dynamic Storage Allocation: A Survey and Critical Review" (1995),
 * where a program's peaks of one kind of object give way to another and
 * fragmentation is measured as memory used against memory live: fill the
 * heap with small blocks (16 .. 256 B), free 90 % of them chosen at random,
 * then allocate large blocks (64 KiB .. 1 MiB) adding up to what was freed.  The 10 % survivors
 * pin the small blocks' pages, so the freed memory cannot simply become the
 * large blocks; an allocator that returns those mostly-empty pages to the OS
 * (or reuses them) keeps peak RSS near the peak of live bytes, one that does
 * neither ends near twice that.
 *
 * Figures: rss_peak_kb against live_peak_kb (bytes requested and not yet
 * freed, at their highest), their ratio peak_over_live, and the resident set
 * right after the 90 % were freed (rss_after_free_kb).
 *
 * Options: --small-mib N of small blocks (default 256), --freed-percent N
 * (default 90).
 */
#include "common.h"

#include <stdlib.h>

int main(int argc, char **argv)
{
    bench_config_t config = bench_init(argc, argv, "phase-change", "--small-mib --freed-percent");
    uint64_t small_mib = bench_scaled(&config, (uint64_t)bench_option_long("--small-mib", 256));
    size_t small_target = (size_t)small_mib << 20;
    uint32_t freed_percent = (uint32_t)bench_option_long("--freed-percent", 90);
    config.threads = 1;
    if (freed_percent > 100)
        bench_fail("--freed-percent must be 0..100");
    bench_rng_t rng = bench_rng_make(config.seed, 0);

    /* Upper bound on the number of small blocks (all at the minimum size). */
    size_t capacity = small_target / 16 + 1;
    unsigned char **small = malloc(capacity * sizeof *small);
    uint32_t *small_size = malloc(capacity * sizeof *small_size);
    if (!small || !small_size)
        bench_fail("malloc returned NULL");
    size_t live = 0, live_peak = 0, count = 0;
    uint64_t ops = 0;

    uint64_t start = bench_now_ns();
    /* Phase 1: small blocks. */
    while (live < small_target) {
        size_t size = bench_rng_range(&rng, 16, 256);
        small[count] = malloc(size);
        if (!small[count])
            bench_fail("malloc returned NULL");
        small_size[count] = (uint32_t)size;
        bench_touch(small[count], size, (unsigned char)count);
        live += size;
        count++;
    }
    live_peak = live;
    ops += count;

    /* Phase 2: free most of them, scattered. */
    size_t freed_bytes = 0;
    for (size_t i = 0; i < count; i++) {
        if (bench_rng_below(&rng, 100) < freed_percent) {
            if (small[i][small_size[i] - 1] != (unsigned char)i)
                bench_fail("small block lost its contents");
            freed_bytes += small_size[i];
            free(small[i]);
            small[i] = NULL;
            ops++;
        }
    }
    live -= freed_bytes;
    uint64_t rss_after_free = bench_status_kb("VmRSS");

    /* Phase 3: large blocks, as many bytes as were freed. */
    size_t large_capacity = freed_bytes / (64 * 1024) + 1;
    unsigned char **large = malloc(large_capacity * sizeof *large);
    if (!large)
        bench_fail("malloc returned NULL");
    size_t large_count = 0, large_bytes = 0;
    while (large_bytes < freed_bytes && large_count < large_capacity) {
        size_t size = bench_rng_log_range(&rng, 64 * 1024, 1024 * 1024);
        large[large_count] = malloc(size);
        if (!large[large_count])
            bench_fail("malloc returned NULL");
        bench_touch(large[large_count], size, 0x3c);
        large_bytes += size;
        large_count++;
        live += size;
        if (live > live_peak)
            live_peak = live;
    }
    ops += large_count;

    for (size_t i = 0; i < large_count; i++)
        free(large[i]);
    for (size_t i = 0; i < count; i++)
        free(small[i]);
    uint64_t elapsed = bench_now_ns() - start;
    free(large);
    free(small_size);
    free(small);

    uint64_t rss_peak = bench_status_kb("VmHWM");
    bench_extra("live_peak_kb", (double)(live_peak >> 10));
    bench_extra("peak_over_live", (double)rss_peak / (double)(live_peak >> 10));
    bench_extra("rss_after_free_kb", (double)rss_after_free);
    return bench_report(&config, elapsed, ops);
}
