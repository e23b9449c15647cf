/*
 * server.c - a server simulation: threads replace random objects in a shared
 * array, and every object is freed by a later thread than the one that made
 * it.
 *
 * Modelled on Larson and Krishnan's "larson" benchmark (Microsoft Research,
 * in Hoard and mimalloc-bench): each worker owns a slice of a shared table
 * of pointers and repeatedly frees a random entry and allocates a new block
 * of random size (8 .. 1000 bytes) in its place; after a fixed number of
 * replacements the worker starts its successor on the same slice and exits,
 * like a server's connection threads.  Objects therefore outlive the thread
 * that allocated them and are freed by another: the allocator must take
 * back memory of exited threads and not leak or hoard it.
 *
 * Each block carries its slot number in its first word, checked before the
 * block is freed.
 *
 * Options: --slots N per thread (default 2000), --generations N workers per
 * slice one after another (default 100), --rounds N replacements per worker
 * (default 50000, times --scale), --min / --max BYTES (default 8, 1000).
 */
#include "common.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct server {
    uint64_t **table;
    size_t slots_per_thread;
    unsigned generations;
    uint64_t rounds;
    size_t min_size, max_size;
    uint64_t seed;
} server_t;

typedef struct worker {
    const server_t *server;
    unsigned slice;
    unsigned generation;
} worker_t;

static void *work(void *raw)
{
    const worker_t *worker = raw;
    const server_t *s = worker->server;
    bench_rng_t rng = bench_rng_make(s->seed, (uint64_t)worker->slice << 32 | worker->generation);
    uint64_t **slice = s->table + (size_t)worker->slice * s->slots_per_thread;
    for (uint64_t round = 0; round < s->rounds; round++) {
        size_t slot = bench_rng_below(&rng, (uint32_t)s->slots_per_thread);
        if (slice[slot][0] != slot)
            bench_fail("block does not hold its slot number");
        free(slice[slot]);
        size_t size = bench_rng_range(&rng, s->min_size, s->max_size);
        uint64_t *block = malloc(size);
        if (!block)
            bench_fail("malloc returned NULL");
        block[0] = slot;
        if (size > sizeof(uint64_t)) /* touch the far end, clear of the slot number */
            ((unsigned char *)block)[size - 1] = (unsigned char)round;
        slice[slot] = block;
    }
    return NULL;
}

/* One slice's life: each generation is a fresh thread that inherits the
 * blocks its predecessor allocated. */
static void run_slice(unsigned index, void *arg)
{
    const server_t *s = arg;
    for (unsigned generation = 0; generation < s->generations; generation++) {
        worker_t worker = {.server = s, .slice = index, .generation = generation};
        pthread_t thread;
        if (pthread_create(&thread, NULL, work, &worker) != 0)
            bench_fail("pthread_create");
        pthread_join(thread, NULL);
    }
}

int main(int argc, char **argv)
{
    bench_config_t config = bench_init(argc, argv, "server", "--slots --generations --rounds --min --max");
    server_t s = {
        .slots_per_thread = (size_t)bench_option_long("--slots", 2000),
        .generations = (unsigned)bench_option_long("--generations", 100),
        .rounds = bench_scaled(&config, (uint64_t)bench_option_long("--rounds", 50000)),
        .min_size = (size_t)bench_option_long("--min", 8),
        .max_size = (size_t)bench_option_long("--max", 1000),
        .seed = config.seed,
    };
    if (s.slots_per_thread < 1 || s.generations < 1 || s.min_size < sizeof(uint64_t) ||
        s.max_size < s.min_size)
        bench_fail("need --slots >= 1, --generations >= 1, 8 <= --min <= --max");
    size_t total_slots = s.slots_per_thread * config.threads;

    uint64_t start = bench_now_ns();
    /* The main thread fills the table, so even the first workers free blocks
     * they did not allocate. */
    s.table = malloc(total_slots * sizeof *s.table);
    if (!s.table)
        bench_fail("malloc returned NULL");
    bench_rng_t rng = bench_rng_make(config.seed, ~0ull);
    for (size_t i = 0; i < total_slots; i++) {
        s.table[i] = malloc(bench_rng_range(&rng, s.min_size, s.max_size));
        if (!s.table[i])
            bench_fail("malloc returned NULL");
        s.table[i][0] = i % s.slots_per_thread;
    }
    bench_run_threads(config.threads, run_slice, &s);
    for (size_t i = 0; i < total_slots; i++)
        free(s.table[i]);
    free(s.table);
    uint64_t elapsed = bench_now_ns() - start;

    return bench_report(&config, elapsed, (uint64_t)config.threads * s.generations * s.rounds);
}
