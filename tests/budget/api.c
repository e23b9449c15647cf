/*
 * api.c - the budget functions' argument checks and defined errors, the
 * budget options, and the budget fields of the statistics.
 */
#include "budget/helpers.h"

static size_t reclaim_nothing(void *ctx, size_t want)
{
    (void)ctx;
    (void)want;
    return 0;
}

static void on_pressure(ward_pressure_t level, void *ctx)
{
    (void)level;
    (void)ctx;
}

static void on_oom(ward_heap_t *heap, void *ctx)
{
    (void)heap;
    (void)ctx;
}

#define CHECK_ERR(call, code) \
    do { errno = 0; CHECK((call) == -1); CHECKF(errno == (code), "errno %d", errno); } while (0)

int main(void)
{
    if (test_diagnostics_on())
        test_skip("budgets are measured on the core's blocks; the diagnostics' bigger blocks and quarantine change what fits");
    ward_heap_t *heap = ward_heap_new();
    CHECK(heap != NULL);

    /* OOM settings: adj range, NULL heap, NULL callback. */
    CHECK_ERR(ward_heap_set_oom(heap, 1001, on_oom, NULL), EINVAL);
    CHECK_ERR(ward_heap_set_oom(heap, -1001, on_oom, NULL), EINVAL);
    CHECK_ERR(ward_heap_set_oom(NULL, 0, on_oom, NULL), EINVAL);
    CHECK_ERR(ward_heap_set_oom(heap, 0, NULL, NULL), EINVAL);
    CHECK(ward_heap_set_oom(heap, -1000, on_oom, NULL) == 0);
    CHECK(ward_heap_set_oom(heap, 1000, on_oom, NULL) == 0);

    /* Pressure subscriptions: a level that cannot rise, unknown levels, NULL. */
    CHECK_ERR(ward_pressure_subscribe(WARD_PRESSURE_NONE, on_pressure, NULL), EINVAL);
    CHECK_ERR(ward_pressure_subscribe(WARD_PRESSURE_COUNT_, on_pressure, NULL), EINVAL);
    CHECK_ERR(ward_pressure_subscribe((ward_pressure_t)-1, on_pressure, NULL), EINVAL);
    CHECK_ERR(ward_pressure_subscribe(WARD_PRESSURE_LOW, NULL, NULL), EINVAL);
    CHECK_ERR(ward_pressure_unsubscribe(on_pressure, NULL), ENOENT);
    CHECK(ward_pressure_subscribe(WARD_PRESSURE_LOW, on_pressure, NULL) == 0);
    CHECK(ward_pressure_unsubscribe(on_pressure, NULL) == 0);

    /* Reclaimers: NULL, removal of an unknown one, a full table. */
    CHECK_ERR(ward_reclaimer_add(NULL, NULL, 0), EINVAL);
    CHECK_ERR(ward_reclaimer_remove(reclaim_nothing, NULL), ENOENT);
    int added = 0;
    while (ward_reclaimer_add(reclaim_nothing, (void *)(intptr_t)added, 1) == 0)
        added++;
    CHECKF(added == 32 && errno == ENOSPC, "%d reclaimers added, errno %d", added, errno);
    for (int i = 0; i < added; i++)
        CHECK(ward_reclaimer_remove(reclaim_nothing, (void *)(intptr_t)i) == 0);

    /* The low-memory killer. */
    CHECK_ERR(ward_lmk_set(WARD_PRESSURE_COUNT_, 0), EINVAL);
    CHECK_ERR(ward_lmk_set(WARD_PRESSURE_LOW, -1000), EINVAL);
    CHECK_ERR(ward_lmk_set(WARD_PRESSURE_LOW, 1001), EINVAL);
    CHECK(ward_lmk_set(WARD_PRESSURE_NONE, 0) == 0);

    /* Heap limits and heap statistics. */
    ward_heap_stats_t hs;
    CHECK_ERR(ward_heap_set_limit(NULL, MiB), EINVAL);
    CHECK_ERR(ward_heap_stats_get(NULL, &hs), EINVAL);
    CHECK_ERR(ward_heap_stats_get(heap, NULL), EINVAL);
    CHECK(ward_heap_set_limit(heap, 3 * MiB) == 0);
    void *p = ward_heap_malloc(heap, 300 * KiB);
    CHECK(p != NULL);
    CHECK(ward_heap_stats_get(heap, &hs) == 0);
    CHECKF(hs.limit == 3 * MiB && hs.oom_adj == 1000 && hs.committed >= 300 * KiB && hs.committed <= 3 * MiB,
           "limit %llu adj %lld committed %llu", (unsigned long long)hs.limit, (long long)hs.oom_adj,
           (unsigned long long)hs.committed);
    ward_free(p);
    CHECK(ward_heap_stats_get(heap, &hs) == 0);
    CHECKF(hs.committed < 300 * KiB, "committed %llu after the free", (unsigned long long)hs.committed);
    ward_heap_destroy(heap);

    /* The process limit and the options behind it. */
    CHECK(ward_set_limit(64 * MiB) == 0);
    CHECK(ward_get_limit() == 64 * MiB);
    CHECK(ward_option_get(WARD_OPTION_LIMIT) == (long)(64 * MiB));
    ward_stats_t s = stats_now();
    CHECK(s.version == 2 && s.limit == 64 * MiB && s.reserve_open == 0);
    CHECK(s.committed <= s.limit);
    CHECK(ward_set_limit(0) == 0);
    CHECK(ward_get_limit() == 0);
    CHECK(ward_option_set(WARD_OPTION_OVERCOMMIT, WARD_OVERCOMMIT_NEVER) == 0);
    CHECK(ward_option_set(WARD_OPTION_OVERCOMMIT, 3) == EINVAL);
    CHECK(ward_option_set(WARD_OPTION_OVERCOMMIT, WARD_OVERCOMMIT_GUESS) == 0);
    CHECK(ward_option_set(WARD_OPTION_BACKGROUND, 2) == EINVAL);
    CHECK(ward_pressure_get() == WARD_PRESSURE_NONE || s.cgroup_limit != 0);
    printf("budget api: ok\n");
    return 0;
}
