/*
 * handoff.c - two threads, one allocates and the other frees: every free is
 * a cross-thread free.
 *
 * Modelled on the producer/consumer pattern of Lever and Boreham's
 * xmalloc-test (and mimalloc-bench's xmalloc-testN), cut down to one
 * producer and one consumer joined by a lock-free single-producer /
 * single-consumer ring.  It measures how an allocator takes back blocks freed
 * by a thread that did not allocate them, and whether the producer gets that
 * memory back (peak RSS stays bounded by the ring's few thousand blocks).
 *
 * The producer writes a tag into each block; the consumer checks it before
 * freeing, so a block handed out twice would stop the run.  Pointers move in
 * batches so the ring's own synchronisation stays small next to the
 * allocator's work; a side that must wait spins briefly, then sleeps
 * (common.h: bench_event_t) so a busy machine does not leave it spinning
 * while its partner queues for a core.
 *
 * Options: --ops N blocks (default 8 million, times --scale), --min and
 * --max BYTES (default 16, 256).  Always two threads.
 */
#include "common.h"

#include <stdlib.h>

#define RING_SLOTS 4096u /* power of two: index by mask */
#define BATCH 64u

typedef struct handoff {
    _Alignas(64) _Atomic uint64_t produced; /* written by the producer only */
    bench_event_t produced_event;
    _Alignas(64) _Atomic uint64_t consumed; /* written by the consumer only */
    bench_event_t consumed_event;
    _Alignas(64) uint64_t *ring[RING_SLOTS];
    uint64_t ops;
    size_t min_size, max_size;
    uint64_t seed;
    uint64_t consumer_checksum;
    uint64_t producer_head;   /* the producer's position, for room_for_batch */
    uint64_t consumer_tail;   /* the consumer's position, for items_ready */
} handoff_t;

/* The producer may write a batch when the consumer has taken enough. */
static int room_for_batch(void *arg)
{
    handoff_t *h = arg;
    return h->producer_head + BATCH - atomic_load(&h->consumed) <= RING_SLOTS;
}

static int items_ready(void *arg)
{
    handoff_t *h = arg;
    return atomic_load(&h->produced) != h->consumer_tail;
}

static void produce(handoff_t *h)
{
    bench_rng_t rng = bench_rng_make(h->seed, 1);
    uint64_t head = 0;
    while (head < h->ops) {
        uint64_t batch = h->ops - head < BATCH ? h->ops - head : BATCH;
        h->producer_head = head;
        bench_event_wait_until(&h->consumed_event, room_for_batch, h);
        for (uint64_t i = 0; i < batch; i++) {
            size_t size = bench_rng_range(&rng, h->min_size, h->max_size);
            uint64_t *block = malloc(size);
            if (!block)
                bench_fail("malloc returned NULL");
            block[0] = head + i; /* the tag the consumer checks */
            h->ring[(head + i) & (RING_SLOTS - 1)] = block;
        }
        head += batch;
        atomic_store(&h->produced, head);
        bench_event_signal(&h->produced_event);
    }
}

static void consume(handoff_t *h)
{
    uint64_t tail = 0;
    uint64_t checksum = 0;
    while (tail < h->ops) {
        h->consumer_tail = tail;
        bench_event_wait_until(&h->produced_event, items_ready, h);
        uint64_t available = atomic_load(&h->produced);
        for (; tail < available; tail++) {
            uint64_t *block = h->ring[tail & (RING_SLOTS - 1)];
            if (block[0] != tail)
                bench_fail("handed-off block does not hold its tag");
            checksum += block[0];
            free(block);
        }
        atomic_store(&h->consumed, tail);
        bench_event_signal(&h->consumed_event);
    }
    h->consumer_checksum = checksum;
}

static void run_side(unsigned index, void *arg)
{
    if (index == 0)
        produce(arg);
    else
        consume(arg);
}

int main(int argc, char **argv)
{
    bench_config_t config = bench_init(argc, argv, "handoff", "--ops --min --max");
    config.threads = 2;
    static handoff_t h; /* static: 32 KiB of ring, outside the heap */
    h.ops = bench_scaled(&config, (uint64_t)bench_option_long("--ops", 8000000));
    h.min_size = (size_t)bench_option_long("--min", 16);
    h.max_size = (size_t)bench_option_long("--max", 256);
    h.seed = config.seed;
    if (h.min_size < sizeof(uint64_t) || h.max_size < h.min_size)
        bench_fail("need 8 <= --min <= --max");

    uint64_t start = bench_now_ns(), cpu_start = bench_cpu_ns();
    bench_run_threads(2, run_side, &h);
    uint64_t elapsed = bench_now_ns() - start;
    bench_sink = h.consumer_checksum;
    /* CPU time of both threads: waiting sleeps, so this is the work itself
     * (allocator, ring and wake-ups), less sensitive to a busy machine than
     * the elapsed time, though it hides time lost blocked on a lock. */
    bench_extra("cpu_ms", (double)(bench_cpu_ns() - cpu_start) / 1e6);
    return bench_report(&config, elapsed, h.ops);
}
