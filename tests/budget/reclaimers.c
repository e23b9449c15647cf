/*
 * reclaimers.c - reclaim callbacks: called cheapest first, each asked for
 * what is still missing; a callback may free and allocate itself; removed
 * callbacks are not called; an allocation succeeds once they made room.
 */
#include "budget/helpers.h"

#define BLOCK (256 * KiB)
#define MAX_BLOCKS 1024

/* The program's "cache": blocks it may drop when ward asks. */
static void *cache[MAX_BLOCKS];
static size_t cached;

typedef struct call_s {
    int seq;      /* order of the call among all callbacks */
    size_t want;
    size_t freed;
} call_t;

static int next_seq;
static call_t cheap_call, costly_call, removed_call;

static size_t drop_blocks(size_t count)
{
    size_t freed = 0;
    while (count-- > 0 && cached > 0) {
        ward_free(cache[--cached]);
        freed += BLOCK;
    }
    return freed;
}

/* Frees one block whatever is asked, and allocates and frees on the way. */
static size_t cheap(void *ctx, size_t want)
{
    CHECK(ctx == &cheap_call);
    void *scratch = ward_malloc(100);
    CHECK(scratch != NULL);
    ward_free(scratch);
    cheap_call = (call_t){++next_seq, want, drop_blocks(1)};
    return cheap_call.freed;
}

/* Frees what is asked, in whole blocks. */
static size_t costly(void *ctx, size_t want)
{
    CHECK(ctx == &costly_call);
    costly_call = (call_t){++next_seq, want, drop_blocks((want + BLOCK - 1) / BLOCK)};
    return costly_call.freed;
}

static size_t removed(void *ctx, size_t want)
{
    (void)ctx;
    removed_call = (call_t){++next_seq, want, 0};
    return 0;
}

int main(void)
{
    if (test_diagnostics_on())
        test_skip("budgets are measured on the core's blocks; the diagnostics' bigger blocks and quarantine change what fits");
    /* The figures below assume the default accounting, whatever the environment says. */
    CHECK(ward_option_set(WARD_OPTION_OVERCOMMIT, WARD_OVERCOMMIT_GUESS) == 0);
    const size_t limit = 32 * MiB;
    CHECK(ward_set_limit(limit) == 0);
    /* Fill to within a block and a half of the usable limit. */
    while (stats_now().committed + BLOCK + BLOCK / 2 <= usable_limit(limit)) {
        CHECK(cached < MAX_BLOCKS);
        cache[cached] = ward_malloc(BLOCK);
        CHECK(cache[cached] != NULL);
        memset(cache[cached++], 3, BLOCK);
    }
    CHECK(stats_now().reclaim_passes == 0);
    /* Added costliest first: the order of calls must follow the cost. */
    CHECK(ward_reclaimer_add(removed, NULL, 0) == 0);
    CHECK(ward_reclaimer_add(costly, &costly_call, 50) == 0);
    CHECK(ward_reclaimer_add(cheap, &cheap_call, 5) == 0);
    CHECK(ward_reclaimer_remove(removed, NULL) == 0);

    size_t before = cached;
    void *big = ward_malloc(MiB);
    CHECKF(big != NULL, "errno %d", errno);
    memset(big, 4, MiB);
    ward_stats_t s = stats_now();
    CHECK(s.reclaim_passes == 1 && s.limit_failures == 0);
    CHECK(removed_call.seq == 0);
    CHECKF(cheap_call.seq == 1 && costly_call.seq == 2, "cheap #%d, costly #%d", cheap_call.seq, costly_call.seq);
    /* The shortfall of a 1 MiB block with less than 1.5 blocks of room:
     * more than half a MiB, at most the block plus a segment header. */
    CHECKF(cheap_call.want > MiB / 2 && cheap_call.want <= MiB + 64 * KiB, "cheap asked for %zu", cheap_call.want);
    CHECKF(costly_call.want == cheap_call.want - BLOCK, "costly asked for %zu after %zu", costly_call.want,
           cheap_call.want);
    CHECK(cached == before - 1 - (costly_call.want + BLOCK - 1) / BLOCK);
    CHECK(s.reclaimed_callbacks == cheap_call.freed + costly_call.freed);
    CHECK(s.committed <= limit && s.committed_peak <= limit);

    /* With nothing left to drop, allocations stop at the limit. */
    CHECK(ward_reclaimer_remove(cheap, &cheap_call) == 0);
    CHECK(ward_reclaimer_remove(costly, &costly_call) == 0);
    ward_free(big);
    printf("budget reclaimers: ok\n");
    return 0;
}
