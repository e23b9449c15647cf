/*
 * ward_malloc, ward_free and ward_usable_size: every size class is walked
 * (small up to 128 KiB, large page runs up to 2 MiB, huge beyond), each block
 * is aligned to 16, usable for at least what was asked, and disjoint from
 * every other live block.
 */
#include <stdint.h>

#include "common/check.h"
#include "ward.h"

#define SMALL_LIMIT ((size_t)128 * 1024)
#define LARGE_LIMIT ((size_t)2 * 1024 * 1024)
#define WALK_LIMIT (LARGE_LIMIT + (size_t)256 * 1024)
#define PAGE ((size_t)4096)

/* Fills a block with a byte that names it; large blocks get one byte per page
 * plus the last one, which is enough to see two blocks that share memory. */
static void mark_block(unsigned char *p, size_t n, unsigned char tag)
{
    if (n <= SMALL_LIMIT) {
        memset(p, tag, n);
        return;
    }
    for (size_t at = 0; at < n; at += PAGE)
        p[at] = tag;
    p[n - 1] = tag;
}

static void expect_mark(const unsigned char *p, size_t n, unsigned char tag)
{
    if (n <= SMALL_LIMIT) {
        for (size_t at = 0; at < n; at++)
            CHECKF(p[at] == tag, "block %p of %zu bytes: byte %zu is %#x, expected %#x", (void *)p, n,
                   at, p[at], tag);
        return;
    }
    for (size_t at = 0; at < n; at += PAGE)
        CHECKF(p[at] == tag, "block %p of %zu bytes: byte %zu changed", (void *)p, n, at);
    CHECK(p[n - 1] == tag);
}

typedef struct class_block_s {
    unsigned char *first, *second;
    size_t block_size;
} class_block_t;

/* Walks the sizes from 1 up: each step asks for one byte more than the last
 * block's usable size, so every size class is visited exactly once.  Two
 * blocks of every small class stay live until the end to show none overlaps. */
static void test_every_size_class(void)
{
    static class_block_t classes[8192];
    size_t class_count = 0;
    size_t small_classes = 0;
    for (size_t n = 1; n <= WALK_LIMIT;) {
        CHECK(small_classes < sizeof classes / sizeof classes[0]);
        unsigned char *p = ward_malloc(n);
        CHECKF(p != NULL, "ward_malloc(%zu)", n);
        size_t usable = ward_usable_size(p);
        CHECKF(usable >= n, "ward_usable_size(ward_malloc(%zu)) = %zu", n, usable);
        CHECKF(((uintptr_t)p & 15) == 0, "ward_malloc(%zu) = %p is not aligned to 16", n, (void *)p);
        if (n >= 64 && usable <= SMALL_LIMIT) {
            /* about four classes per doubling: a request never wastes a third */
            CHECKF((usable - n) * 3 <= n, "ward_malloc(%zu) gives a block of %zu bytes", n, usable);
        }
        /* the class size itself falls into the same class */
        unsigned char *second = ward_malloc(usable);
        CHECK(second != NULL);
        CHECKF(ward_usable_size(second) == usable, "ward_malloc(%zu) has usable size %zu", usable,
               ward_usable_size(second));
        CHECK(((uintptr_t)second & 15) == 0);
        unsigned char tag = (unsigned char)(class_count * 2 + 1);
        mark_block(p, usable, tag);
        mark_block(second, usable, (unsigned char)(tag + 1));
        if (usable <= SMALL_LIMIT) {
            classes[small_classes++] = (class_block_t){p, second, usable};
        } else {
            /* keeping every large class live would hold a gigabyte */
            expect_mark(p, usable, tag);
            expect_mark(second, usable, (unsigned char)(tag + 1));
            ward_free(p);
            ward_free(second);
        }
        class_count++;
        n = usable + 1;
    }
    printf("%zu size classes up to %zu bytes, %zu of them small\n", class_count, WALK_LIMIT,
           small_classes);
    CHECK(small_classes >= 20);
    for (size_t i = 0; i < small_classes; i++) {
        unsigned char tag = (unsigned char)(i * 2 + 1);
        expect_mark(classes[i].first, classes[i].block_size, tag);
        expect_mark(classes[i].second, classes[i].block_size, (unsigned char)(tag + 1));
        ward_free(classes[i].first);
        ward_free(classes[i].second);
    }
}

/* The classes the statistics list are real block sizes. */
static void test_stats_classes_are_block_sizes(void)
{
    static ward_stats_t stats;
    void *warm = ward_malloc(24);
    CHECK(ward_stats_get(&stats) == 0);
    ward_free(warm);
    CHECK(stats.class_count <= WARD_STATS_CLASSES);
    for (uint32_t i = 0; i < stats.class_count; i++) {
        size_t block_size = stats.classes[i].block_size;
        if (block_size == 0)
            break;
        void *p = ward_malloc(block_size);
        CHECK(p != NULL);
        CHECKF(ward_usable_size(p) == block_size, "class %u lists %zu bytes, a block of it has %zu",
               i, block_size, ward_usable_size(p));
        ward_free(p);
    }
}

static void test_zero_and_null(void)
{
    void *a = ward_malloc(0);
    void *b = ward_malloc(0);
    CHECK(a != NULL && b != NULL);
    CHECK(a != b);
    CHECK(((uintptr_t)a & 15) == 0);
    ward_free(a);
    ward_free(b);
    ward_free(NULL);
    CHECK(ward_usable_size(NULL) == 0);
}

static void test_too_large(void)
{
    const size_t sizes[] = {(size_t)PTRDIFF_MAX + 1, SIZE_MAX, SIZE_MAX - 15, (size_t)PTRDIFF_MAX};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        errno = 0;
        CHECKF(ward_malloc(sizes[i]) == NULL, "ward_malloc(%zu)", sizes[i]);
        CHECKF(errno == ENOMEM, "ward_malloc(%zu): errno %d", sizes[i], errno);
    }
}

/* Large and huge blocks: usable, aligned, and their memory is there. */
static void test_large_and_huge(void)
{
    const size_t sizes[] = {SMALL_LIMIT + 1, 256 * 1024, 1024 * 1024 - 1, LARGE_LIMIT,
                            LARGE_LIMIT + 1, 4 * 1024 * 1024 + 123, 32 * 1024 * 1024, 64 * 1024 * 1024};
    enum { COUNT = sizeof sizes / sizeof sizes[0] };
    unsigned char *blocks[COUNT];
    for (size_t i = 0; i < COUNT; i++) {
        blocks[i] = ward_malloc(sizes[i]);
        CHECKF(blocks[i] != NULL, "ward_malloc(%zu)", sizes[i]);
        CHECK(((uintptr_t)blocks[i] & 15) == 0);
        CHECK(ward_usable_size(blocks[i]) >= sizes[i]);
        mark_block(blocks[i], sizes[i], (unsigned char)(0x40 + i));
    }
    for (size_t i = 0; i < COUNT; i++) {
        expect_mark(blocks[i], sizes[i], (unsigned char)(0x40 + i));
        ward_free(blocks[i]);
    }
}

/* Many small blocks of mixed sizes, freed in a scrambled order and taken
 * again: every block keeps its own bytes. */
static void test_many_small_blocks(void)
{
    enum { COUNT = 20000 };
    static unsigned char *blocks[COUNT];
    static size_t sizes[COUNT];
    uint64_t random_state = 0x9e3779b97f4a7c15u;
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < COUNT; i++) {
            if (blocks[i] != NULL)
                continue;
            sizes[i] = 1 + test_random(&random_state) % (i % 16 == 0 ? 4096 : 256);
            blocks[i] = ward_malloc(sizes[i]);
            CHECK(blocks[i] != NULL);
            memset(blocks[i], (int)(i & 0xff), sizes[i]);
        }
        for (size_t i = 0; i < COUNT; i++) {
            for (size_t at = 0; at < sizes[i]; at++)
                CHECKF(blocks[i][at] == (unsigned char)(i & 0xff), "block %zu byte %zu", i, at);
        }
        for (size_t i = 0; i < COUNT; i++) {
            size_t victim = test_random(&random_state) % COUNT;
            ward_free(blocks[victim]);
            blocks[victim] = NULL;
        }
    }
    for (size_t i = 0; i < COUNT; i++)
        ward_free(blocks[i]);
}

/* Every size a program may name to ward_free_sized is accepted: the size it
 * asked malloc, calloc or realloc for, and the usable size. */
static void test_free_sized_accepts_the_sizes_asked(void)
{
    for (size_t n = 0; n <= 300 * 1024; n += n < 2048 ? 1 : n < 70000 ? 97 : 4099) {
        void *p = ward_malloc(n);
        CHECK(p != NULL);
        ward_free_sized(p, n);
        p = ward_calloc(1, n);
        CHECK(p != NULL);
        ward_free_sized(p, ward_usable_size(p));
    }
    const size_t huge_sizes[] = {3 << 20, (5 << 20) + 1, 33 << 20};
    for (size_t i = 0; i < sizeof huge_sizes / sizeof huge_sizes[0]; i++) {
        void *p = ward_malloc(huge_sizes[i]);
        CHECK(p != NULL);
        ward_free_sized(p, huge_sizes[i]);
    }
    /* realloc may keep a block it shrinks: the new size is the one to name */
    const size_t shrink[][2] = {{512, 300}, {200 * 1024, 101 * 1024}, {600, 20}, {8 << 20, 4 << 20}, {40, 3 << 20}};
    for (size_t i = 0; i < sizeof shrink / sizeof shrink[0]; i++) {
        void *p = ward_malloc(shrink[i][0]);
        CHECK(p != NULL);
        p = ward_realloc(p, shrink[i][1]);
        CHECK(p != NULL);
        ward_free_sized(p, shrink[i][1]);
    }
    for (size_t alignment = 16; alignment <= (4 << 20); alignment *= 4) {
        const size_t sizes[] = {1, alignment / 2 + 3, alignment * 3, 100000};
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            void *p = ward_aligned_alloc(alignment, sizes[s]);
            CHECK(p != NULL);
            ward_free_aligned_sized(p, alignment, sizes[s]);
        }
    }
    ward_free_sized(NULL, 12);
    ward_free_aligned_sized(NULL, 3, 12);
}

int main(void)
{
    if (test_diagnostics_on())
        test_skip("the diagnostics give blocks of the size asked, not of the core's classes");
    test_free_sized_accepts_the_sizes_asked();
    test_zero_and_null();
    test_too_large();
    test_every_size_class();
    test_stats_classes_are_block_sizes();
    test_large_and_huge();
    test_many_small_blocks();
    puts("ok");
    return 0;
}
