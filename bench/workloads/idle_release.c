/*
 * idle_release.c - does the allocator give memory back to the OS once the
 * program has freed it and gone quiet?
 *
 * Not a copy of one published benchmark: it checks what time-based purging
 * (jemalloc's dirty_decay_ms, mimalloc's purge delay, ward's decay) is for.
 * Allocate 1 GiB in small blocks (16 .. 512 B), free every one of them, then
 * make no allocator call at all and read the resident set at once, after 1 s
 * and after 5 s.  A program that frees a big cache at the end of a burst
 * and then idles (a server between requests, a desktop program in the
 * background) keeps whatever the allocator holds on to; time-based purging
 * only helps such a program if it runs without further allocator calls.
 *
 * Figures: rss_full_kb with everything allocated, rss_0s_kb right after the
 * last free, rss_1s_kb and rss_5s_kb after idling; time_ns covers the
 * allocations and frees only, not the waiting.
 *
 * Options: --mib N to allocate (default 1024), --wait-ms N for the second
 * reading (default 5000; the first is always at 1 s), --collect 1 to ask
 * the allocator to give memory back right after the last free:
 * ward_collect(true) under ward, malloc_trim(0) under the others (which
 * only glibc acts on).  rss_0s_kb is read after that call.
 */
#include "common.h"

#include <dlfcn.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>

/* ward_collect(true) when ward is the allocator, else malloc_trim(0). */
static void give_back(void)
{
    void (*collect)(bool) = (void (*)(bool))dlsym(RTLD_DEFAULT, "ward_collect");
    if (collect)
        collect(true);
    else
        malloc_trim(0);
}

int main(int argc, char **argv)
{
    bench_config_t config = bench_init(argc, argv, "idle-release", "--mib --wait-ms --collect");
    size_t target = (size_t)bench_option_long("--mib", 1024) << 20;
    unsigned wait_ms = (unsigned)bench_option_long("--wait-ms", 5000);
    bool collect = bench_option_long("--collect", 0) != 0;
    config.threads = 1;
    if (wait_ms < 1000)
        bench_fail("--wait-ms must be at least 1000");
    bench_rng_t rng = bench_rng_make(config.seed, 0);

    /* The blocks form a list through their first word, so holding a
     * gigabyte of them needs no side table that would blur the figures. */
    uint64_t *first = NULL, *last = NULL;
    size_t total = 0;
    uint64_t count = 0;
    uint64_t start = bench_now_ns();
    while (total < target) {
        size_t size = bench_rng_range(&rng, 16, 512);
        uint64_t *block = malloc(size);
        if (!block)
            bench_fail("malloc returned NULL");
        block[0] = 0;
        bench_touch(block + 1, size - sizeof(uint64_t), 0x77);
        if (last)
            last[0] = (uint64_t)(uintptr_t)block;
        else
            first = block;
        last = block;
        total += size;
        count++;
    }
    uint64_t rss_full = bench_status_kb("VmRSS");
    for (uint64_t *block = first; block;) {
        uint64_t *next = (uint64_t *)(uintptr_t)block[0];
        free(block);
        block = next;
    }
    uint64_t elapsed = bench_now_ns() - start;
    if (collect)
        give_back();

    uint64_t rss_0s = bench_status_kb("VmRSS");
    bench_sleep_ms(1000);
    uint64_t rss_1s = bench_status_kb("VmRSS");
    bench_sleep_ms(wait_ms - 1000);
    uint64_t rss_5s = bench_status_kb("VmRSS");

    bench_extra("rss_full_kb", (double)rss_full);
    bench_extra("rss_0s_kb", (double)rss_0s);
    bench_extra("rss_1s_kb", (double)rss_1s);
    bench_extra("rss_5s_kb", (double)rss_5s);
    return bench_report(&config, elapsed, 2 * count);
}
