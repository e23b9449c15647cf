/*
 * rss.c - committed bytes follow the resident set: after a program fills
 * and then frees a large amount of small blocks, ward_collect(true) gives
 * the memory back to the OS at once, and the RSS ward's statistics explain
 * agrees with what the kernel reports.
 */
#include "budget/helpers.h"

#define TOTAL (256 * MiB)

int main(void)
{
    if (test_diagnostics_on())
        test_skip("budgets are measured on the core's blocks; the diagnostics' bigger blocks and quarantine change what fits");
    ward_collect(true);
    size_t rss_base = rss_bytes();
    size_t committed_base = stats_now().committed;

    void **first = fill_small_blocks(TOTAL, 12345, 0x5a);
    size_t rss_full = rss_bytes();
    size_t committed_full = stats_now().committed;
    /* Resident growth and committed growth agree within 3 % of the total. */
    long long diff = (long long)(rss_full - rss_base) - (long long)(committed_full - committed_base);
    CHECKF(llabs(diff) <= (long long)(TOTAL / 33), "RSS grew %zu, committed %zu", rss_full - rss_base,
           committed_full - committed_base);

    free_block_list(first);
    ward_collect(true);
    size_t rss_after = rss_bytes();
    size_t committed_after = stats_now().committed;
    printf("rss: base %zu KiB, full %zu KiB, after collect %zu KiB; committed full %zu KiB, after %zu KiB\n",
           rss_base >> 10, rss_full >> 10, rss_after >> 10, committed_full >> 10, committed_after >> 10);
    /* At once: less than 5 % of what was freed is still resident. */
    CHECKF(rss_after < rss_base + TOTAL / 20, "RSS %zu KiB after collect", rss_after >> 10);
    CHECKF(committed_after < committed_base + TOTAL / 20, "committed %zu KiB after collect", committed_after >> 10);
    diff = (long long)(rss_after - rss_base) - (long long)(committed_after - committed_base);
    CHECKF(llabs(diff) <= (long long)(4 * MiB), "RSS %zu KiB above base, committed %zu KiB above base",
           (rss_after - rss_base) >> 10, (committed_after - committed_base) >> 10);
    CHECK(stats_now().reclaimed_collect > 0);
    return 0;
}
