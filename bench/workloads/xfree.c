/*
 * xfree.c - producer and consumer threads: every block is freed by a thread
 * other than the one that allocated it.
 *
 * Modelled on Lever and Boreham's "xmalloc-test" (in mimalloc-bench as
 * xmalloc-testN): half the threads allocate blocks and pass them, in
 * batches, through a shared queue guarded by a mutex; the other half take
 * the batches and free every block.  The batch records are heap blocks too,
 * freed by the consumer.  It measures the cross-thread free path under
 * contention and whether memory freed remotely returns to the producers
 * (peak RSS stays bounded by the queue limit).
 *
 * Producers write a tag into every block, consumers check it.
 *
 * Threads: producers = max(1, T/2), consumers = max(1, T - producers), so
 * --threads 1 still runs one of each.
 * Options: --blocks N in all (default 6 million, times --scale), --min /
 * --max BYTES (default 16, 512), --batch N blocks per batch (default 100).
 */
#include "common.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#define QUEUE_LIMIT 64 /* batches in flight: bounds the live set */

typedef struct batch {
    struct batch *next;
    size_t count;
    uint64_t *blocks[];
} batch_t;

typedef struct exchange {
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    batch_t *head, *tail;
    unsigned queued;
    unsigned producers_left;
    unsigned producers;
    uint64_t blocks_per_producer;
    size_t batch_size, min_size, max_size;
    uint64_t seed;
    _Atomic uint64_t freed;
} exchange_t;

static void produce(exchange_t *x, unsigned index)
{
    bench_rng_t rng = bench_rng_make(x->seed, index);
    uint64_t made = 0;
    while (made < x->blocks_per_producer) {
        uint64_t left = x->blocks_per_producer - made;
        size_t count = left < x->batch_size ? (size_t)left : x->batch_size;
        batch_t *batch = malloc(sizeof(batch_t) + count * sizeof(uint64_t *));
        if (!batch)
            bench_fail("malloc returned NULL");
        batch->next = NULL;
        batch->count = count;
        for (size_t i = 0; i < count; i++) {
            uint64_t *block = malloc(bench_rng_range(&rng, x->min_size, x->max_size));
            if (!block)
                bench_fail("malloc returned NULL");
            block[0] = (uint64_t)(uintptr_t)block ^ 0x5a5a5a5a5a5a5a5au;
            batch->blocks[i] = block;
        }
        made += count;

        pthread_mutex_lock(&x->lock);
        while (x->queued >= QUEUE_LIMIT)
            pthread_cond_wait(&x->not_full, &x->lock);
        if (x->tail)
            x->tail->next = batch;
        else
            x->head = batch;
        x->tail = batch;
        x->queued++;
        pthread_cond_signal(&x->not_empty);
        pthread_mutex_unlock(&x->lock);
    }
    pthread_mutex_lock(&x->lock);
    x->producers_left--;
    pthread_cond_broadcast(&x->not_empty);
    pthread_mutex_unlock(&x->lock);
}

static void consume(exchange_t *x)
{
    uint64_t freed = 0;
    for (;;) {
        pthread_mutex_lock(&x->lock);
        while (!x->head && x->producers_left > 0)
            pthread_cond_wait(&x->not_empty, &x->lock);
        batch_t *batch = x->head;
        if (batch) {
            x->head = batch->next;
            if (!x->head)
                x->tail = NULL;
            x->queued--;
            pthread_cond_signal(&x->not_full);
        }
        pthread_mutex_unlock(&x->lock);
        if (!batch)
            break;
        for (size_t i = 0; i < batch->count; i++) {
            uint64_t *block = batch->blocks[i];
            if (block[0] != ((uint64_t)(uintptr_t)block ^ 0x5a5a5a5a5a5a5a5au))
                bench_fail("handed-off block does not hold its tag");
            free(block);
        }
        freed += batch->count;
        free(batch);
    }
    atomic_fetch_add(&x->freed, freed);
}

static void run_side(unsigned index, void *arg)
{
    exchange_t *x = arg;
    if (index < x->producers)
        produce(x, index);
    else
        consume(x);
}

int main(int argc, char **argv)
{
    bench_config_t config = bench_init(argc, argv, "xfree", "--blocks --min --max --batch");
    static exchange_t x = {.lock = PTHREAD_MUTEX_INITIALIZER,
                           .not_empty = PTHREAD_COND_INITIALIZER,
                           .not_full = PTHREAD_COND_INITIALIZER};
    unsigned producers = config.threads / 2 ? config.threads / 2 : 1;
    unsigned consumers = config.threads > producers ? config.threads - producers : 1;
    uint64_t blocks = bench_scaled(&config, (uint64_t)bench_option_long("--blocks", 6000000));
    x.producers = x.producers_left = producers;
    x.blocks_per_producer = blocks / producers;
    x.batch_size = (size_t)bench_option_long("--batch", 100);
    x.min_size = (size_t)bench_option_long("--min", 16);
    x.max_size = (size_t)bench_option_long("--max", 512);
    x.seed = config.seed;
    if (x.batch_size < 1 || x.min_size < sizeof(uint64_t) || x.max_size < x.min_size)
        bench_fail("need --batch >= 1 and 8 <= --min <= --max");

    uint64_t start = bench_now_ns();
    bench_run_threads(producers + consumers, run_side, &x);
    uint64_t elapsed = bench_now_ns() - start;
    if (atomic_load(&x.freed) != x.blocks_per_producer * producers)
        bench_fail("not every block was freed");

    config.threads = producers + consumers;
    return bench_report(&config, elapsed, x.blocks_per_producer * producers);
}
