/*
 * overcommit.c - the accounting modes.  guess: a single request larger
 * than the limit (or, with no limit, than RAM + swap) is refused at once,
 * without reclaim; always: only the limit counts; never: reserved address
 * space counts against the limit, so segments stop before committed bytes
 * would.
 */
#include <sys/sysinfo.h>

#include "budget/helpers.h"

static int reclaim_calls;
static size_t count_calls(void *ctx, size_t want)
{
    (void)ctx;
    (void)want;
    reclaim_calls++;
    return 0;
}

int main(void)
{
    if (test_diagnostics_on())
        test_skip("budgets are measured on the core's blocks; the diagnostics' bigger blocks and quarantine change what fits");
    struct sysinfo si;
    CHECK(sysinfo(&si) == 0);
    size_t ram_swap = ((size_t)si.totalram + si.totalswap) * si.mem_unit;
    CHECK(ward_reclaimer_add(count_calls, NULL, 0) == 0);

    /* guess (the default), no limit: more than RAM + swap at once fails. */
    CHECK(ward_option_set(WARD_OPTION_OVERCOMMIT, WARD_OVERCOMMIT_GUESS) == 0);
    CHECK(ward_set_limit(0) == 0);
    errno = 0;
    CHECK(ward_malloc(ram_swap + 64 * MiB) == NULL && errno == ENOMEM);
    /* guess, with a limit: more than the limit at once fails, no reclaim. */
    CHECK(ward_set_limit(64 * MiB) == 0);
    errno = 0;
    CHECK(ward_malloc(65 * MiB) == NULL && errno == ENOMEM);
    CHECK(reclaim_calls == 0);
    CHECK(ward_set_limit(0) == 0);

    /* always: the same request is mapped (the kernel backs it on touch). */
    CHECK(ward_option_set(WARD_OPTION_OVERCOMMIT, WARD_OVERCOMMIT_ALWAYS) == 0);
    void *p = ward_malloc(ram_swap + 64 * MiB);
    CHECKF(p != NULL, "errno %d", errno);
    ((char *)p)[0] = 1;
    ward_free(p);

    /* never: 4 MiB segments are reserved whole and count. */
    CHECK(ward_option_set(WARD_OPTION_OVERCOMMIT, WARD_OVERCOMMIT_NEVER) == 0);
    const size_t limit = 32 * MiB;
    CHECK(ward_set_limit(limit) == 0);
    void *held[1024];
    int n = 0;
    while (n < 1024 && (held[n] = ward_malloc(64 * KiB)) != NULL)
        n++;
    CHECK(n < 1024 && errno == ENOMEM);
    ward_stats_t s = stats_now();
    CHECKF(s.reserved <= limit, "reserved %llu", (unsigned long long)s.reserved);
    CHECK(s.committed < s.reserved);
    for (int i = 0; i < n; i++)
        ward_free(held[i]);
    CHECK(ward_set_limit(0) == 0);
    printf("overcommit: ok (%d blocks of 64 KiB under never)\n", n);
    return 0;
}
