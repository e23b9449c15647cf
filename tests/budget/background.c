/*
 * background.c - the background reclaimer (run with WARD_BACKGROUND=1):
 * after a program frees a large amount of small blocks and goes quiet,
 * without any further call into ward, its RSS falls below 5 % of what it
 * freed.  A forked child gets a reclaimer of its own and exits normally.
 */
#include "budget/helpers.h"

#define TOTAL (256 * MiB)

int main(void)
{
    if (test_diagnostics_on())
        test_skip("budgets are measured on the core's blocks; the diagnostics' bigger blocks and quarantine change what fits");
    CHECK(ward_option_get(WARD_OPTION_BACKGROUND) == 1);
    size_t rss_base = rss_bytes();
    void **first = fill_small_blocks(TOTAL, 777, 0x6b);
    free_block_list(first);
    /* Poll the kernel's figure only: no allocator call from here on. */
    size_t rss = rss_bytes();
    for (int i = 0; i < 100 && rss >= rss_base + TOTAL / 20; i++) {
        struct timespec pause = {0, 50 * 1000 * 1000};
        nanosleep(&pause, NULL);
        rss = rss_bytes();
    }
    printf("background: base %zu KiB, after the frees %zu KiB\n", rss_base >> 10, rss >> 10);
    CHECKF(rss < rss_base + TOTAL / 20, "RSS still %zu KiB above base", (rss - rss_base) >> 10);
    CHECK(stats_now().reclaimed_background > 0);

    fflush(stdout); /* the child must not print the parent's buffered lines again */
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        void *p = ward_malloc(3 * MiB);
        if (p == NULL)
            _exit(2);
        ward_free(p);
        for (int i = 0; i < 1000; i++)
            ward_free(ward_malloc(100));
        exit(0);
    }
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    return 0;
}
