/*
 * ward_realloc and ward_reallocarray: contents kept across every size range
 * (small up to 128 KiB, large page runs up to 2 MiB, huge beyond, including
 * huge growth that remaps), in both directions, from another thread too; the
 * edge cases (NULL, 0, failure leaves the block untouched, overflow).
 */
#include <pthread.h>
#include <stdint.h>

#include "common/check.h"
#include "ward.h"

#define KiB ((size_t)1024)
#define MiB (KiB * 1024)

/* A byte that depends on the offset (so moved data is seen) and on the step
 * (so stale data is seen). */
static unsigned char pattern_byte(size_t offset, unsigned step)
{
    return (unsigned char)(offset * 7 + (offset >> 11) + step * 13 + 1);
}

static void fill_pattern(unsigned char *p, size_t n, unsigned step)
{
    for (size_t at = 0; at < n; at++)
        p[at] = pattern_byte(at, step);
}

static void expect_pattern(const unsigned char *p, size_t n, unsigned step, const char *what)
{
    for (size_t at = 0; at < n; at++)
        CHECKF(p[at] == pattern_byte(at, step), "%s: byte %zu of %zu lost (block %p)", what, at, n,
               (void *)p);
}

static uint64_t allocated_now(void)
{
    ward_stats_t stats;
    CHECK(ward_stats_get(&stats) == 0);
    return stats.allocated;
}

static const size_t chain[] = {
    1, 8, 15, 16, 17, 100, 1000, 4096, 20000, 100 * KiB, 128 * KiB,   /* small */
    128 * KiB + 1, 300 * KiB, 1 * MiB, 2 * MiB - 1, 2 * MiB,           /* large page runs */
    2 * MiB + 1, 3 * MiB, 8 * MiB, 8 * MiB + 4096, 33 * MiB, 96 * MiB, /* huge */
};
enum { CHAIN_LENGTH = sizeof chain / sizeof chain[0] };

/* Grows a block through every range, then shrinks it back, checking at every
 * step that min(old, new) bytes survived. */
static void test_chain(void *(*resize)(void *, size_t), const char *name)
{
    unsigned step = 0;
    unsigned char *p = resize(NULL, chain[0]);
    CHECK(p != NULL);
    fill_pattern(p, chain[0], step);
    size_t old_size = chain[0];
    for (int i = 1; i < 2 * CHAIN_LENGTH - 1; i++) {
        size_t new_size = i < CHAIN_LENGTH ? chain[i] : chain[2 * CHAIN_LENGTH - 2 - i];
        unsigned char *q = resize(p, new_size);
        CHECKF(q != NULL, "%s from %zu to %zu bytes", name, old_size, new_size);
        CHECK(((uintptr_t)q & 15) == 0);
        CHECKF(ward_usable_size(q) >= new_size, "%s to %zu: usable %zu", name, new_size,
               ward_usable_size(q));
        char what[96];
        snprintf(what, sizeof what, "%s from %zu to %zu bytes", name, old_size, new_size);
        expect_pattern(q, old_size < new_size ? old_size : new_size, step, what);
        step++;
        fill_pattern(q, new_size, step);
        p = q;
        old_size = new_size;
    }
    ward_free(p);
}

static void *resize_with_realloc(void *p, size_t n)
{
    return ward_realloc(p, n);
}

static void *resize_with_reallocarray(void *p, size_t n)
{
    return n % 4 == 0 ? ward_reallocarray(p, n / 4, 4) : ward_reallocarray(p, n, 1);
}

/* A huge block grown in small and big steps next to other huge blocks, so
 * that growing in place is not always possible and the mapping must move. */
static void test_huge_growth(void)
{
    unsigned char *p = ward_malloc(4 * MiB);
    CHECK(p != NULL);
    size_t size = 4 * MiB;
    fill_pattern(p, size, 0);
    unsigned char *neighbours[6];
    unsigned moves = 0;
    for (unsigned step = 1; step <= 6; step++) {
        neighbours[step - 1] = ward_malloc(3 * MiB);
        CHECK(neighbours[step - 1] != NULL);
        memset(neighbours[step - 1], 0x5a, 3 * MiB);
        size_t new_size = step % 2 ? size + 4096 : size * 2;
        unsigned char *q = ward_realloc(p, new_size);
        CHECKF(q != NULL, "ward_realloc of a huge block from %zu to %zu", size, new_size);
        moves += q != p;
        expect_pattern(q, size, step - 1, "huge growth");
        fill_pattern(q, new_size, step);
        p = q;
        size = new_size;
    }
    printf("huge growth to %zu bytes moved the block %u times\n", size, moves);
    for (int i = 0; i < 6; i++) {
        for (size_t at = 0; at < 3 * MiB; at += 4096)
            CHECKF(neighbours[i][at] == 0x5a, "a neighbour changed when a huge block grew");
        ward_free(neighbours[i]);
    }
    ward_free(p);
}

static void test_null_and_zero(void)
{
    unsigned char *p = ward_realloc(NULL, 100);
    CHECK(p != NULL);
    CHECK(ward_usable_size(p) >= 100);
    ward_free(p);

    const size_t sizes[] = {24, 5000, 500 * KiB, 5 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint64_t before = allocated_now();
        p = ward_malloc(sizes[i]);
        CHECK(p != NULL);
        CHECK(allocated_now() > before);
        CHECKF(ward_realloc(p, 0) == NULL, "ward_realloc(p, 0) must free p and return NULL");
        CHECKF(allocated_now() == before, "ward_realloc(p, 0) of %zu bytes: allocated %llu -> %llu",
               sizes[i], (unsigned long long)before, (unsigned long long)allocated_now());
    }

    uint64_t before = allocated_now();
    p = ward_reallocarray(NULL, 10, 10);
    CHECK(p != NULL);
    CHECK(ward_usable_size(p) >= 100);
    CHECK(ward_reallocarray(p, 0, 10) == NULL);
    CHECK(allocated_now() == before);
}

/* A failed resize returns NULL/ENOMEM and leaves the block as it was. */
static void test_failure_keeps_block(void)
{
    const size_t sizes[] = {40, 50 * KiB, 700 * KiB, 6 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = ward_malloc(sizes[i]);
        CHECK(p != NULL);
        fill_pattern(p, sizes[i], 3);
        size_t usable = ward_usable_size(p);

        errno = 0;
        CHECK(ward_realloc(p, (size_t)PTRDIFF_MAX + 1) == NULL);
        CHECK(errno == ENOMEM);
        errno = 0;
        CHECK(ward_realloc(p, SIZE_MAX) == NULL);
        CHECK(errno == ENOMEM);
        errno = 0;
        CHECK(ward_reallocarray(p, SIZE_MAX / 2 + 1, 2) == NULL);
        CHECK(errno == ENOMEM);
        errno = 0;
        CHECK(ward_reallocarray(p, (size_t)1 << 40, (size_t)1 << 40) == NULL);
        CHECK(errno == ENOMEM);
        errno = 0;
        CHECK(ward_reallocarray(p, (size_t)PTRDIFF_MAX / 4 + 1, 4) == NULL);
        CHECK(errno == ENOMEM);

        CHECK(ward_usable_size(p) == usable);
        expect_pattern(p, sizes[i], 3, "after a failed resize");
        p = ward_realloc(p, sizes[i] * 2);
        CHECK(p != NULL);
        expect_pattern(p, sizes[i], 3, "resize after a failed one");
        ward_free(p);
    }
}

/* Blocks from ward_aligned_alloc and ward_calloc resize like any other. */
static void test_other_origins(void)
{
    unsigned char *p = ward_aligned_alloc(4096, 3000);
    CHECK(p != NULL);
    fill_pattern(p, 3000, 9);
    p = ward_realloc(p, 70000);
    CHECK(p != NULL);
    expect_pattern(p, 3000, 9, "realloc of an aligned block");
    ward_free(p);

    p = ward_aligned_alloc(1 * MiB, 10);
    CHECK(p != NULL);
    fill_pattern(p, 10, 4);
    p = ward_realloc(p, 3 * MiB);
    CHECK(p != NULL);
    expect_pattern(p, 10, 4, "realloc of a 1 MiB-aligned block");
    ward_free(p);

    p = ward_calloc(100, 3);
    CHECK(p != NULL);
    fill_pattern(p, 300, 2);
    p = ward_realloc(p, 100);
    CHECK(p != NULL);
    expect_pattern(p, 100, 2, "shrinking a calloc'ed block");
    ward_free(p);
}

typedef struct cross_thread_s {
    unsigned char *block;
    size_t size;
    unsigned step;
} cross_thread_t;

static void *resize_elsewhere(void *arg)
{
    cross_thread_t *job = arg;
    const size_t targets[] = {64, 100 * KiB, 600 * KiB, 5 * MiB, 200};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        unsigned char *q = ward_realloc(job->block, targets[i]);
        CHECK(q != NULL);
        expect_pattern(q, job->size < targets[i] ? job->size : targets[i], job->step,
                       "realloc in another thread");
        job->step++;
        fill_pattern(q, targets[i], job->step);
        job->block = q;
        job->size = targets[i];
    }
    return NULL;
}

/* A block allocated here is resized by another thread and freed back here. */
static void test_cross_thread(void)
{
    const size_t starts[] = {32, 3000, 200 * KiB, 3 * MiB};
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
        cross_thread_t job = {ward_malloc(starts[i]), starts[i], 20};
        CHECK(job.block != NULL);
        fill_pattern(job.block, job.size, job.step);
        pthread_t thread;
        CHECK(pthread_create(&thread, NULL, resize_elsewhere, &job) == 0);
        CHECK(pthread_join(thread, NULL) == 0);
        expect_pattern(job.block, job.size, job.step, "back from the other thread");
        ward_free(job.block);
    }
}

int main(void)
{
    test_null_and_zero();
    test_chain(resize_with_realloc, "ward_realloc");
    test_chain(resize_with_reallocarray, "ward_reallocarray");
    test_huge_growth();
    test_failure_keeps_block();
    test_other_origins();
    test_cross_thread();
    puts("ok");
    return 0;
}
