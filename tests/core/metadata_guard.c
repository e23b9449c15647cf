/*
 * Allocator metadata that sits next to memory another mapping's overflow
 * can reach is protected:
 *   - the first page of every sliced segment is inaccessible, so a write
 *     running off the end of the mapping below a segment faults at once
 *     (SIGSEGV) instead of rewriting the segment header behind it;
 *   - a huge block's header carries a seal: a free after the header was
 *     overwritten stops with one line naming the error.
 * Builds without hardening (WARD_HARDEN=OFF) skip.
 */
#include <stdint.h>

#include "common/check.h"
#include "ward.h"

#define SEGMENT_SIZE ((uintptr_t)4 << 20)

static void write_segment_start(void *arg)
{
    (void)arg;
    unsigned char *p = ward_malloc(64);
    CHECK(p != NULL);
    volatile unsigned char *segment_start = (unsigned char *)((uintptr_t)p & ~(SEGMENT_SIZE - 1));
    segment_start[100] = 0x41;
    _exit(0);
}

static void *huge_block;

static void overwrite_huge_header(void *arg)
{
    (void)arg;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *header = (unsigned char *)huge_block - page;
    memset(header + 8, 0x41, 16); /* what an overflow out of the memory below writes */
    ward_free(huge_block);
}

int main(void)
{
#if defined(WARD_TEST_NO_HARDEN)
    puts("hardening is off in this build: skipped");
    return TEST_SKIP_CODE;
#endif
    if (test_diagnostics_on())
        test_skip("the diagnostics lay blocks out their own way");
    if (sysconf(_SC_PAGESIZE) != 4096) {
        puts("the segment guard needs 4 KiB pages: skipped");
        return TEST_SKIP_CODE;
    }
    death_result_t r;
    death_run(write_segment_start, NULL, &r);
    if (r.signal != SIGSEGV) {
        death_describe_(&r);
        CHECK(r.signal == SIGSEGV);
    }
    puts("segment guard: a write before the segment header faults");

    huge_block = ward_malloc(8 << 20);
    CHECK(huge_block != NULL);
    death_run(overwrite_huge_header, NULL, &r);
    CHECK(death_expect_fatal(&r, "free", "huge block header overwritten", huge_block, 0));
    ward_free(huge_block);
    puts("huge header seal: an overwritten header is named on free");
    return 0;
}
