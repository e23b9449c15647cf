/*
 * ward_calloc: zeroed memory in every size range, also when the memory was
 * used and freed before (by this thread or by another one), and NULL/ENOMEM
 * when count * size overflows or passes PTRDIFF_MAX.
 */
#include <pthread.h>
#include <stdint.h>

#include "common/check.h"
#include "ward.h"

static const size_t sizes[] = {
    1, 8, 16, 24, 100, 512, 1000, 4096, 10000, 65536, 128 * 1024,     /* small */
    128 * 1024 + 16, 200 * 1024, 1024 * 1024, 2 * 1024 * 1024,       /* large page runs */
    2 * 1024 * 1024 + 4096, 3 * 1024 * 1024 + 1, 16 * 1024 * 1024,   /* huge */
};
enum { SIZE_COUNT = sizeof sizes / sizeof sizes[0] };

/* Blocks per size: enough to take the freed ones again. */
static size_t blocks_for(size_t size)
{
    return size <= 4096 ? 256 : size <= 128 * 1024 ? 32 : 4;
}

static void expect_zero(const unsigned char *p, size_t n)
{
    for (size_t at = 0; at < n; at++)
        CHECKF(p[at] == 0, "calloc'ed block %p of %zu bytes has %#x at byte %zu", (void *)p, n, p[at],
               at);
}

static void fill_dirty(unsigned char **blocks, size_t count, size_t size)
{
    for (size_t i = 0; i < count; i++) {
        blocks[i] = ward_malloc(size);
        CHECK(blocks[i] != NULL);
        memset(blocks[i], 0xa5, ward_usable_size(blocks[i]));
    }
}

/* Dirty blocks freed by this thread are zeroed when calloc takes them again;
 * the product is split in several ways (count 1, elements of 8, of 1). */
static void test_recycled_memory_is_zeroed(void)
{
    static unsigned char *blocks[256];
    for (size_t s = 0; s < SIZE_COUNT; s++) {
        size_t size = sizes[s], count = blocks_for(size);
        for (int split = 0; split < 3; split++) {
            fill_dirty(blocks, count, size);
            for (size_t i = 0; i < count; i++)
                ward_free(blocks[i]);
            for (size_t i = 0; i < count; i++) {
                if (split == 0)
                    blocks[i] = ward_calloc(1, size);
                else if (split == 1 && size % 8 == 0)
                    blocks[i] = ward_calloc(size / 8, 8);
                else
                    blocks[i] = ward_calloc(size, 1);
                CHECKF(blocks[i] != NULL, "ward_calloc for %zu bytes", size);
                CHECK(((uintptr_t)blocks[i] & 15) == 0);
                CHECK(ward_usable_size(blocks[i]) >= size);
                expect_zero(blocks[i], size);
            }
            for (size_t i = 0; i < count; i++)
                ward_free(blocks[i]);
        }
    }
}

typedef struct handoff_s {
    unsigned char **blocks;
    size_t count;
} handoff_t;

static void *free_blocks_thread(void *arg)
{
    handoff_t *handoff = arg;
    for (size_t i = 0; i < handoff->count; i++)
        ward_free(handoff->blocks[i]);
    return NULL;
}

/* Blocks freed by another thread come back through the owner's remote-free
 * list: calloc must zero them as well. */
static void test_remotely_freed_memory_is_zeroed(void)
{
    static unsigned char *blocks[256];
    for (size_t s = 0; s < SIZE_COUNT; s++) {
        size_t size = sizes[s], count = blocks_for(size);
        for (int round = 0; round < 4; round++) {
            fill_dirty(blocks, count, size);
            handoff_t handoff = {blocks, count};
            pthread_t thread;
            CHECK(pthread_create(&thread, NULL, free_blocks_thread, &handoff) == 0);
            CHECK(pthread_join(thread, NULL) == 0);
            for (size_t i = 0; i < count; i++) {
                blocks[i] = ward_calloc(1, size);
                CHECK(blocks[i] != NULL);
                expect_zero(blocks[i], size);
            }
            for (size_t i = 0; i < count; i++)
                ward_free(blocks[i]);
        }
    }
}

static void test_overflow(void)
{
    const size_t pairs[][2] = {
        {SIZE_MAX / 2 + 1, 2},
        {2, SIZE_MAX / 2 + 1},
        {SIZE_MAX, SIZE_MAX},
        {(size_t)1 << 32, (size_t)1 << 32},
        {(size_t)PTRDIFF_MAX / 2 + 1, 2},       /* no overflow, but above PTRDIFF_MAX */
        {1, (size_t)PTRDIFF_MAX + 1},
        {(size_t)PTRDIFF_MAX + 1, 1},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        errno = 0;
        CHECKF(ward_calloc(pairs[i][0], pairs[i][1]) == NULL, "ward_calloc(%zu, %zu)", pairs[i][0],
               pairs[i][1]);
        CHECKF(errno == ENOMEM, "ward_calloc(%zu, %zu): errno %d", pairs[i][0], pairs[i][1], errno);
    }
}

static void test_zero_elements(void)
{
    void *a = ward_calloc(0, 16);
    void *b = ward_calloc(16, 0);
    void *c = ward_calloc(0, 0);
    CHECK(a != NULL && b != NULL && c != NULL);
    CHECK(a != b && b != c && a != c);
    ward_free(a);
    ward_free(b);
    ward_free(c);
}

int main(void)
{
    test_zero_elements();
    test_overflow();
    test_recycled_memory_is_zeroed();
    test_remotely_freed_memory_is_zeroed();
    puts("ok");
    return 0;
}
