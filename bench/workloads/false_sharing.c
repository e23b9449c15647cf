/*
 * false_sharing.c - small blocks written hard by several threads at once:
 * does the allocator put blocks of different threads in one cache line?
 *
 * Modelled on Hoard's "cache-scratch" and "cache-thrash" (Berger et al.,
 * ASPLOS 2000; both in mimalloc-bench):
 *
 *   --passive 1 (cache-scratch, "share-passive"): the main thread allocates
 *   one small block per worker, all adjacent, and hands them out; each
 *   worker frees its block and then repeatedly allocates a block of the same
 *   size, writes it many times and frees it.  An allocator that gives a
 *   freed block back to the thread that freed it places the workers' blocks
 *   in the main thread's cache lines: every write then bounces a line
 *   between cores.
 *
 *   --passive 0 (cache-thrash, "share-active"): no hand-out; each worker
 *   repeatedly allocates, writes and frees its own small blocks.  An
 *   allocator that serves several threads from one page without per-thread
 *   separation puts their blocks side by side in a line.
 *
 * With no false sharing the time is the writes' own cost; with it the time
 * grows by an order of magnitude, so this shows as a large ratio.
 *
 * Both need the threads to run at the same time on different cores: on a
 * machine busy with other work they share cores part of the time and the
 * effect shrinks.
 *
 * Options: --passive 1 or 0 (default 1), --size BYTES (default 8),
 * --objects N per thread (default 16000, times --scale), --writes N per
 * object (default 4000).  Threads: --threads (2 or more make sense; 1 is
 * allowed and shows the cost without any sharing).
 */
#include "common.h"

#include <stdlib.h>

typedef struct scratch {
    int passive;
    size_t size;
    uint64_t objects, writes;
    unsigned char **handed_out; /* passive mode: one block per worker */
} scratch_t;

static void hammer(unsigned index, void *arg)
{
    const scratch_t *s = arg;
    if (s->passive)
        free(s->handed_out[index]);
    for (uint64_t object = 0; object < s->objects; object++) {
        volatile unsigned char *block = malloc(s->size);
        if (!block)
            bench_fail("malloc returned NULL");
        for (size_t b = 0; b < s->size; b++)
            block[b] = 0;
        for (uint64_t w = 0; w < s->writes; w++)
            for (size_t b = 0; b < s->size; b++)
                block[b] = (unsigned char)(block[b] + 1);
        if (block[0] != (unsigned char)s->writes)
            bench_fail("block changed under its owner: it is shared with another thread");
        free((void *)block);
    }
}

int main(int argc, char **argv)
{
    bench_config_t config = bench_init(argc, argv, "false_sharing", "--passive --size --objects --writes");
    scratch_t s = {
        .passive = bench_option_long("--passive", 1) != 0,
        .size = (size_t)bench_option_long("--size", 8),
        .objects = bench_scaled(&config, (uint64_t)bench_option_long("--objects", 16000)),
        .writes = (uint64_t)bench_option_long("--writes", 4000),
    };
    config.name = s.passive ? "share-passive" : "share-active";
    if (s.size < 1)
        bench_fail("--size must be at least 1");

    unsigned char *handed_out[config.threads];
    s.handed_out = handed_out;
    uint64_t start = bench_now_ns();
    if (s.passive)
        for (unsigned i = 0; i < config.threads; i++) {
            handed_out[i] = malloc(s.size);
            if (!handed_out[i])
                bench_fail("malloc returned NULL");
        }
    bench_run_threads(config.threads, hammer, &s);
    uint64_t elapsed = bench_now_ns() - start;

    return bench_report(&config, elapsed, config.threads * s.objects * s.writes);
}
