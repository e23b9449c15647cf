/*
 * oom.c - the OOM policy: the victim is the candidate heap of highest
 * badness (committed + adj * limit / 1000), its callback may destroy it,
 * the allocation then succeeds; adj -1000 is never chosen; with no
 * candidate left the allocation fails with ENOMEM.  The low-memory killer
 * picks a victim with adj at or above its threshold when pressure rises.
 */
#include "budget/helpers.h"

#define BLOCK (256 * KiB)

typedef struct victim_s {
    const char *name;
    ward_heap_t *heap;
    int calls;
} victim_t;

static victim_t a = {"a", NULL, 0}, b = {"b", NULL, 0}, c = {"c", NULL, 0}, d = {"d", NULL, 0};

static void destroy(ward_heap_t *heap, void *ctx)
{
    victim_t *v = ctx;
    CHECKF(heap == v->heap, "callback of %s got another heap", v->name);
    v->calls++;
    ward_heap_destroy(heap);
    v->heap = NULL;
}

static ward_heap_t *heap_with(victim_t *v, size_t bytes, int adj)
{
    v->heap = ward_heap_new();
    CHECK(v->heap != NULL);
    for (size_t got = 0; got < bytes; got += BLOCK) {
        void *p = ward_heap_malloc(v->heap, BLOCK);
        CHECK(p != NULL);
        memset(p, 5, BLOCK);
    }
    CHECK(ward_heap_set_oom(v->heap, adj, destroy, v) == 0);
    return v->heap;
}

static int lmk_calls;
static void lmk_victim(ward_heap_t *heap, void *ctx)
{
    victim_t *v = ctx;
    CHECK(heap == v->heap);
    v->calls++;
    lmk_calls++;
    ward_heap_destroy(heap);
    v->heap = NULL;
}

static void test_oom(void)
{
    const size_t limit = 24 * MiB;
    CHECK(ward_set_limit(limit) == 0);
    /* badness: a = 6 MiB, b = 2 MiB + 500 * 24 MiB / 1000 = 14 MiB, c never */
    heap_with(&a, 6 * MiB, 0);
    heap_with(&b, 2 * MiB, 500);
    heap_with(&c, 8 * MiB, -1000);
    ward_stats_t s = stats_now();
    size_t room = usable_limit(limit) - s.committed;
    CHECKF(room < 8 * MiB, "room %zu", room);

    /* Short by less than b holds: b goes, the block fits. */
    void *p = ward_malloc(room + MiB / 2);
    CHECKF(p != NULL, "errno %d", errno);
    CHECK(a.calls == 0 && b.calls == 1 && c.calls == 0);
    s = stats_now();
    CHECK(s.oom_events == 1 && s.reclaimed_oom >= 2 * MiB && s.committed_peak <= limit);
    ward_free(p);

    /* Next: a, the only candidate left (c never is). */
    ward_collect(true);
    room = usable_limit(limit) - stats_now().committed;
    p = ward_malloc(room + 3 * MiB);
    CHECKF(p != NULL, "errno %d", errno);
    CHECK(a.calls == 1 && c.calls == 0);
    ward_free(p);

    /* Nobody left to choose: ENOMEM, and c still untouched. */
    ward_collect(true);
    room = usable_limit(limit) - stats_now().committed;
    errno = 0;
    CHECK(ward_malloc(room + 2 * MiB) == NULL && errno == ENOMEM);
    CHECK(c.calls == 0 && stats_now().oom_events == 2);
    ward_heap_stats_t hs;
    CHECK(ward_heap_stats_get(c.heap, &hs) == 0 && hs.oom_events == 0 && hs.oom_adj == -1000);
    ward_heap_destroy(c.heap);
    c.heap = NULL;
    CHECK(ward_set_limit(0) == 0);
    ward_collect(true);
}

/* A heap over its own limit can only choose itself. */
static void test_heap_oom(void)
{
    CHECK(ward_set_limit(0) == 0);
    victim_t other = {"other", NULL, 0}, self = {"self", NULL, 0};
    heap_with(&other, MiB, 1000);
    heap_with(&self, MiB, 0);
    CHECK(ward_heap_set_limit(self.heap, MiB) == 0);
    /* The victim is the heap itself, destroyed by its callback: the
     * allocation from the destroyed heap fails instead of being retried. */
    errno = 0;
    CHECK(ward_heap_malloc(self.heap, BLOCK) == NULL && errno == ENOMEM);
    CHECK(self.calls == 1 && other.calls == 0);
    ward_heap_destroy(other.heap);
}

static void test_lmk(void)
{
    const size_t limit = 32 * MiB;
    CHECK(ward_set_limit(limit) == 0);
    victim_t low_adj = {"low", NULL, 0}, high_adj = {"high", NULL, 0};
    heap_with(&low_adj, 2 * MiB, 100);
    heap_with(&high_adj, MiB, 800);
    CHECK(ward_heap_set_oom(low_adj.heap, 100, lmk_victim, &low_adj) == 0);
    CHECK(ward_heap_set_oom(high_adj.heap, 800, lmk_victim, &high_adj) == 0);
    CHECK(ward_lmk_set(WARD_PRESSURE_MEDIUM, 500) == 0);
    void *held[128];
    int n = 0;
    while (ward_pressure_get() < WARD_PRESSURE_MEDIUM && n < 128) {
        held[n] = ward_malloc(BLOCK);
        CHECK(held[n] != NULL);
        n++;
    }
    CHECKF(lmk_calls == 1 && high_adj.calls == 1 && low_adj.calls == 0, "lmk %d high %d low %d", lmk_calls,
           high_adj.calls, low_adj.calls);
    CHECK(stats_now().lmk_events == 1);
    for (int i = 0; i < n; i++)
        ward_free(held[i]);
    ward_heap_destroy(low_adj.heap);
    CHECK(ward_lmk_set(WARD_PRESSURE_NONE, 0) == 0);
    CHECK(ward_set_limit(0) == 0);
}

int main(void)
{
    if (test_diagnostics_on())
        test_skip("budgets are measured on the core's blocks; the diagnostics' bigger blocks and quarantine change what fits");
    /* The figures below assume the default accounting, whatever the environment says. */
    CHECK(ward_option_set(WARD_OPTION_OVERCOMMIT, WARD_OVERCOMMIT_GUESS) == 0);
    (void)d;
    test_oom();
    test_heap_oom();
    test_lmk();
    printf("budget oom: ok\n");
    return 0;
}
