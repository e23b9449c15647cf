/*
 * Running out of memory gives NULL and ENOMEM, never a crash, for every size
 * range and every allocation function; after the memory is freed, allocation
 * works again.  Each case runs in a child under a small RLIMIT_AS (the address
 * space it already has plus a little), so that the limit hurts no one else.
 */
#include <stdint.h>

#include "common/check.h"
#include "ward.h"

#define MiB ((size_t)1024 * 1024)
#define HEADROOM (192 * MiB)

static size_t address_space_in_use(void)
{
    FILE *statm = fopen("/proc/self/statm", "r");
    CHECK(statm != NULL);
    unsigned long pages = 0;
    CHECK(fscanf(statm, "%lu", &pages) == 1);
    fclose(statm);
    return pages * (size_t)sysconf(_SC_PAGESIZE);
}

static void limit_address_space(void)
{
    /* let ward set itself up (thread heap, first segment) before the limit */
    ward_free(ward_malloc(16));
    struct rlimit limit;
    limit.rlim_cur = limit.rlim_max = address_space_in_use() + HEADROOM;
    CHECK(setrlimit(RLIMIT_AS, &limit) == 0);
}

typedef enum how_e { BY_MALLOC, BY_CALLOC, BY_ALIGNED, BY_POSIX_MEMALIGN, BY_HEAP } how_t;

typedef struct exhaust_job_s {
    how_t how;
    size_t size;
} exhaust_job_t;

/* Allocates blocks of one size until ward says no; the blocks form a list
 * through their first word, so the test needs no memory of its own. */
static void exhaust(void *arg)
{
    const exhaust_job_t *job = arg;
    limit_address_space();
    ward_heap_t *heap = job->how == BY_HEAP ? ward_heap_new() : NULL;
    CHECK(job->how != BY_HEAP || heap != NULL);
    void *list = NULL;
    size_t count = 0;
    for (;;) {
        void *p = NULL;
        errno = 0;
        switch (job->how) {
        case BY_MALLOC: p = ward_malloc(job->size); break;
        case BY_CALLOC: p = ward_calloc(1, job->size); break;
        case BY_ALIGNED: p = ward_aligned_alloc(4096, job->size); break;
        case BY_HEAP: p = ward_heap_malloc(heap, job->size); break;
        case BY_POSIX_MEMALIGN: {
            void *out = &out;
            int error = ward_posix_memalign(&out, 64, job->size);
            CHECKF(error == 0 || error == ENOMEM, "ward_posix_memalign returned %d", error);
            CHECK(error == 0 || out == &out);
            p = error == 0 ? out : NULL;
            if (error != 0)
                errno = error;
            break;
        }
        }
        if (p == NULL) {
            CHECKF(errno == ENOMEM, "allocation %zu of %zu bytes failed with errno %d", count,
                   job->size, errno);
            break;
        }
        *(void **)p = list;
        list = p;
        count++;
        CHECKF(count * job->size <= HEADROOM + 16 * MiB,
               "%zu blocks of %zu bytes fit in %zu MiB of address space", count, job->size,
               HEADROOM / MiB);
    }
    /* a block aligned to a page takes at least a page */
    size_t footprint = job->how == BY_ALIGNED && job->size < 4096 ? 4096 : job->size;
    CHECKF(count * footprint >= HEADROOM / 4, "only %zu blocks of %zu bytes before ENOMEM", count,
           job->size);

    /* a resize that cannot be served leaves the block as it was */
    if (list != NULL) {
        void *next = *(void **)list;
        errno = 0;
        CHECK(ward_realloc(list, job->size + 64 * MiB) == NULL);
        CHECK(errno == ENOMEM);
        CHECK(*(void **)list == next);
    }

    while (list != NULL) {
        void *next = *(void **)list;
        ward_free(list);
        list = next;
    }
    ward_heap_destroy(heap);
    ward_collect(true);

    /* memory is back: the same amount can be taken again */
    for (size_t i = 0; i < count / 2; i++) {
        void *p = ward_malloc(job->size);
        CHECKF(p != NULL, "after freeing everything, allocation %zu of %zu bytes failed", i,
               job->size);
        *(void **)p = list;
        list = p;
    }
    while (list != NULL) {
        void *next = *(void **)list;
        ward_free(list);
        list = next;
    }
}

/* Large requests that cannot fit at all fail at once, also under the limit. */
static void impossible_requests(void *arg)
{
    (void)arg;
    limit_address_space();
    const size_t sizes[] = {HEADROOM * 2, 1024 * MiB, 64 * 1024 * MiB};
    for (size_t i = 0; i < 3; i++) {
        errno = 0;
        CHECK(ward_malloc(sizes[i]) == NULL && errno == ENOMEM);
        errno = 0;
        CHECK(ward_calloc(sizes[i] / 8, 8) == NULL && errno == ENOMEM);
        errno = 0;
        CHECK(ward_aligned_alloc(2 * MiB, sizes[i]) == NULL && errno == ENOMEM);
        void *p = ward_malloc(100);
        CHECK(p != NULL);
        errno = 0;
        CHECK(ward_realloc(p, sizes[i]) == NULL && errno == ENOMEM);
        ward_free(p);
    }
}

int main(void)
{
    if (test_diagnostics_on())
        test_skip("the diagnostics' blocks take more room: fewer fit below the same ceiling");
    const size_t sizes[] = {64, 1000, 24 * 1024, 300 * 1024, 1536 * 1024, 8 * MiB};
    const how_t ways[] = {BY_MALLOC, BY_CALLOC, BY_ALIGNED, BY_POSIX_MEMALIGN, BY_HEAP};
    const char *way_names[] = {"ward_malloc", "ward_calloc", "ward_aligned_alloc",
                               "ward_posix_memalign", "ward_heap_malloc"};
    for (size_t w = 0; w < sizeof ways / sizeof ways[0]; w++) {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            /* every way for the three ranges, every size for malloc */
            if (w != 0 && s % 2 == 1)
                continue;
            exhaust_job_t job = {ways[w], sizes[s]};
            death_result_t result;
            death_run(exhaust, &job, &result);
            if (result.signal != 0 || result.exit_code != 0) {
                fprintf(stderr, "exhausting memory with %s(%zu) did not end cleanly\n",
                        way_names[w], sizes[s]);
                CHECK(death_expect_clean(&result));
            }
            printf("%s(%zu): NULL/ENOMEM at the limit, recovered after free\n", way_names[w],
                   sizes[s]);
        }
    }
    death_result_t result;
    death_run(impossible_requests, NULL, &result);
    CHECK(death_expect_clean(&result));
    puts("ok");
    return 0;
}
