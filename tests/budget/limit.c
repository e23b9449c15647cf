/*
 * limit.c - the process limit: allocations stop at it with NULL/ENOMEM when
 * nothing can be reclaimed, committed memory never passes it, the
 * emergency reserve lets the program unwind and is re-armed; heap limits.
 */
#include "budget/helpers.h"

#define BLOCK (256 * KiB)
#define MAX_BLOCKS 4096

static void *blocks[MAX_BLOCKS];
static void *filler[MAX_BLOCKS * 4];

/* Allocates BLOCK-sized blocks until one is refused; returns the count. */
static size_t fill(void)
{
    size_t n = 0;
    for (;;) {
        CHECK(n < MAX_BLOCKS);
        errno = 0;
        void *p = ward_malloc(BLOCK);
        if (p == NULL) {
            CHECKF(errno == ENOMEM, "errno %d", errno);
            return n;
        }
        memset(p, 1, BLOCK);
        blocks[n++] = p;
        ward_stats_t s = stats_now();
        CHECKF(s.committed <= s.limit, "committed %llu over limit %llu", (unsigned long long)s.committed,
               (unsigned long long)s.limit);
    }
}

static void release(size_t n)
{
    for (size_t i = 0; i < n; i++)
        ward_free(blocks[i]);
}

static void test_enomem_and_reserve(void)
{
    const size_t limit = 24 * MiB;
    CHECK(ward_set_limit(limit) == 0);
    size_t n = fill();
    ward_stats_t s = stats_now();
    CHECKF(n * BLOCK > usable_limit(limit) - 4 * MiB, "only %zu blocks fit", n);
    CHECK(s.committed <= usable_limit(limit) && s.committed_peak <= limit);
    CHECK(s.limit_failures == 1 && s.reserve_open == 1);

    /* The reserve is open: the program can still allocate a little. */
    void *note = ward_malloc(200);
    CHECK(note != NULL);
    void *more = ward_malloc(BLOCK);
    CHECK(more != NULL);
    s = stats_now();
    CHECK(s.committed <= limit && s.committed_peak <= limit);
    ward_free(more);
    ward_free(note);

    /* Usage falls: the next admission re-arms it. */
    release(n);
    ward_collect(true);
    void *again = ward_malloc(BLOCK);
    CHECK(again != NULL);
    s = stats_now();
    CHECKF(s.reserve_open == 0, "reserve still open at %llu committed", (unsigned long long)s.committed);
    ward_free(again);
    ward_collect(true);
    CHECK(ward_set_limit(0) == 0);
}

static void test_huge_over_limit(void)
{
    CHECK(ward_set_limit(16 * MiB) == 0);
    errno = 0;
    CHECK(ward_malloc(32 * MiB) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(ward_calloc(1, 20 * MiB) == NULL && errno == ENOMEM);
    void *p = ward_malloc(8 * MiB);
    CHECK(p != NULL);
    errno = 0;
    CHECK(ward_realloc(p, 30 * MiB) == NULL && errno == ENOMEM); /* p stays valid */
    memset(p, 2, 8 * MiB);
    ward_free(p);
    CHECK(ward_set_limit(0) == 0);
    ward_collect(true);
}

static void test_heap_limit(void)
{
    ward_heap_t *heap = ward_heap_new();
    CHECK(heap != NULL);
    CHECK(ward_heap_set_limit(heap, MiB) == 0);
    void *held[8];
    int n = 0;
    for (; n < 8; n++) {
        errno = 0;
        held[n] = ward_heap_malloc(heap, BLOCK);
        if (held[n] == NULL)
            break;
    }
    CHECKF(n == 4 && errno == ENOMEM, "%d blocks of 256 KiB under 1 MiB, errno %d", n, errno);
    ward_heap_stats_t hs;
    CHECK(ward_heap_stats_get(heap, &hs) == 0);
    CHECK(hs.committed == MiB && hs.committed_peak == MiB && hs.limit_failures == 1);
    /* Small blocks need a page of their own: refused too, then fine once
     * room is made. */
    ward_free(held[0]);
    void *small = ward_heap_malloc(heap, 100);
    CHECK(small != NULL);
    CHECK(ward_heap_stats_get(heap, &hs) == 0 && hs.committed <= MiB);
    /* The process limit does not apply to this heap's limit failures. */
    CHECK(stats_now().reserve_open == 0);
    ward_heap_destroy(heap);
}

/* At the limit, with the reserve spent, a request of a small class that has
 * no free block may be served by a free block of a larger class (a
 * "stand-in"), and free_sized with the size asked for accepts it: a 1-byte
 * request is never served by a 32-byte block, which free_sized(p, 1) would
 * reject.  Aligned requests never get a stand-in: they may be much smaller
 * than their class (ward_aligned_alloc(32, 72) takes the 96-byte class) and
 * need its alignment.  Runs in a thread of its own, whose heap has pages of
 * the spare blocks' classes only, so that the asked sizes find no page of
 * their own. */
static void *stand_ins_at_limit(void *unused)
{
    (void)unused;
    enum { SPARE = 56 };
    static const size_t spare_sizes[] = {48, 80, 112, 128, 144, 160, 192};
    static const size_t asked_sizes[] = {1, 8, 17, 20, 24, 90, 170};
    static const struct { size_t alignment, size, class_size; } aligned_asks[] = {
        {32, 72, 96}, {32, 96, 96}, {64, 64, 64}, {128, 100, 128}};
    enum {
        KINDS = sizeof spare_sizes / sizeof spare_sizes[0],
        ASKED = sizeof asked_sizes / sizeof asked_sizes[0],
        ALIGNED = sizeof aligned_asks / sizeof aligned_asks[0],
    };
    void *spare[SPARE], *anchor[KINDS];
    for (int i = 0; i < SPARE; i++)
        CHECK((spare[i] = ward_malloc(spare_sizes[i % KINDS])) != NULL);
    /* A live block on each spare page: reclaim cannot empty and release
     * them, so the freed spares stay the only free blocks there are. */
    for (int i = 0; i < KINDS; i++)
        CHECK((anchor[i] = ward_malloc(spare_sizes[i])) != NULL);
    /* Fill the limit and the reserve it opens with 4000-byte blocks, then
     * the last partial page of 64-byte ones. */
    size_t n = 0;
    for (int refusals = 0; refusals < 3;) {
        CHECK(n < MAX_BLOCKS * 4);
        void *p = ward_malloc(4000);
        if (p == NULL) {
            CHECK(errno == ENOMEM);
            refusals++;
            continue;
        }
        filler[n++] = p;
    }
    while (n < MAX_BLOCKS * 4 && (filler[n] = ward_malloc(64)) != NULL)
        n++;
    CHECK(n < MAX_BLOCKS * 4);
    for (int i = 0; i < SPARE; i++)
        ward_free(spare[i]);
    for (int i = 0; i < ALIGNED; i++) {
        size_t alignment = aligned_asks[i].alignment, size = aligned_asks[i].size;
        void *p = ward_aligned_alloc(alignment, size);
        if (p == NULL)
            continue;
        CHECKF(((uintptr_t)p & (alignment - 1)) == 0 && ward_usable_size(p) == aligned_asks[i].class_size,
               "ward_aligned_alloc(%zu, %zu) at the limit gave %p of %zu bytes", alignment, size, p,
               ward_usable_size(p));
        ward_free_aligned_sized(p, alignment, size);
    }
    int stood_in = 0;
    for (int i = 0; i < ASKED; i++) {
        void *p = ward_malloc(asked_sizes[i]);
        if (p == NULL)
            continue;
        if (ward_usable_size(p) > (asked_sizes[i] + 15) / 16 * 16)
            stood_in++;
        ward_free_sized(p, asked_sizes[i]);
    }
    CHECKF(stood_in > 0, "no request at the limit was served by a larger class's free block");
    for (size_t i = 0; i < n; i++)
        ward_free(filler[i]);
    for (int i = 0; i < KINDS; i++)
        ward_free(anchor[i]);
    return NULL;
}

static void test_stand_ins_at_limit(void)
{
    CHECK(ward_set_limit(8 * MiB) == 0);
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, stand_ins_at_limit, NULL) == 0);
    CHECK(pthread_join(thread, NULL) == 0);
    ward_collect(true);
    CHECK(ward_set_limit(0) == 0);
}

int main(void)
{
    if (test_diagnostics_on())
        test_skip("budgets are measured on the core's blocks; the diagnostics' bigger blocks and quarantine change what fits");
    /* The figures below assume the default accounting, whatever the environment says. */
    CHECK(ward_option_set(WARD_OPTION_OVERCOMMIT, WARD_OVERCOMMIT_GUESS) == 0);
    test_enomem_and_reserve();
    test_huge_over_limit();
    test_heap_limit();
    test_stand_ins_at_limit();
    printf("budget limit: ok\n");
    return 0;
}
