/*
 * api.c - the documented results of the pool functions: sizes, EINVAL for
 * bad arguments and oversize requests, ENOMEM when a fixed or limited pool
 * is exhausted, growth past one chunk, alignment, the caller-memory variant
 * (which writes nothing outside its memory), counters and the checker.
 */
#include <errno.h>

#include "region/harness.h"

#define CHECK_POOL(pool)                                                                          \
    do {                                                                                          \
        const char *problem_ = NULL;                                                              \
        if (!ward_pool_check((pool), &problem_)) {                                                \
            fprintf(stderr, "%s:%d: pool check failed: %s\n", __FILE__, __LINE__, problem_);      \
            exit(1);                                                                              \
        }                                                                                         \
    } while (0)

static void arguments(void)
{
    errno = 0;
    CHECK(ward_pool_new(0, 0) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(ward_pool_new(64, 0x100) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(ward_pool_new_ex(NULL) == NULL && errno == EINVAL);
    ward_pool_config_t odd = {.block_size = 64, .alignment = 48};
    errno = 0;
    CHECK(ward_pool_new_ex(&odd) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(ward_pool_get(NULL, 1) == NULL && errno == EINVAL);
    ward_pool_put(NULL, NULL);
    ward_pool_destroy(NULL);
    CHECK(ward_pool_outstanding(NULL) == 0 && ward_pool_block_size(NULL) == 0);
    CHECK(ward_pool_stats(NULL, NULL) == EINVAL && !ward_pool_check(NULL, NULL));

    ward_pool_t *pool = ward_pool_new(100, 0);
    CHECK(pool != NULL && ward_pool_block_size(pool) == 100);
    errno = 0;
    CHECK(ward_pool_get(pool, 101) == NULL && errno == EINVAL); /* oversize */
    errno = 0;
    CHECK(ward_pool_get(pool, SIZE_MAX) == NULL && errno == EINVAL);
    unsigned char *whole = ward_pool_get(pool, 100), *none = ward_pool_get(pool, 0);
    CHECK(whole && none && whole != none);
    memset(whole, 1, 100);
    memset(none, 2, 100); /* every buffer has the block size, whatever was asked */
    CHECK(ward_pool_outstanding(pool) == 2);
    CHECK(ward_pool_walk(pool, NULL, NULL) == EINVAL);
    ward_pool_put(pool, whole);
    ward_pool_put(pool, none);
    CHECK(ward_pool_outstanding(pool) == 0);
    CHECK_POOL(pool);
    ward_pool_destroy(pool);
}

static void growth(void)
{
    ward_pool_t *pool = ward_pool_new(48, 0);
    enum { COUNT = 5000 };
    static unsigned char *held[COUNT];
    for (int i = 0; i < COUNT; i++) {
        held[i] = ward_pool_get(pool, 48);
        CHECK(held[i] != NULL && (uintptr_t)held[i] % 16 == 0);
        memset(held[i], i, 48);
    }
    ward_pool_stats_t stats;
    CHECK(ward_pool_stats(pool, &stats) == 0);
    CHECK(stats.chunks > 1 && stats.outstanding == COUNT && stats.buffers >= COUNT && stats.stride >= 48);
    CHECK_POOL(pool);
    for (int i = 0; i < COUNT; i += 2) {
        for (int j = 0; j < 48; j++)
            CHECK(held[i][j] == (unsigned char)i);
        ward_pool_put(pool, held[i]);
    }
    CHECK(ward_pool_outstanding(pool) == COUNT / 2);
    CHECK_POOL(pool);
    for (int i = 1; i < COUNT; i += 2)
        ward_pool_put(pool, held[i]);
    CHECK(ward_pool_outstanding(pool) == 0);
    CHECK_POOL(pool);
    ward_pool_destroy(pool);
}

static void aligned(void)
{
    ward_pool_config_t config = {.block_size = 100, .alignment = 4096, .chunk_buffers = 3};
    ward_pool_t *pool = ward_pool_new_ex(&config);
    CHECK(pool != NULL);
    void *held[20];
    for (int i = 0; i < 20; i++) {
        held[i] = ward_pool_get(pool, 100);
        CHECK(held[i] && (uintptr_t)held[i] % 4096 == 0);
    }
    for (int i = 0; i < 20; i++)
        ward_pool_put(pool, held[i]);
    CHECK_POOL(pool);
    ward_pool_destroy(pool);
}

static void exhaustion(void)
{
    /* A fixed pool of exactly ten buffers. */
    ward_pool_config_t config = {.block_size = 32, .chunk_buffers = 10, .flags = WARD_POOL_FIXED};
    ward_pool_t *pool = ward_pool_new_ex(&config);
    CHECK(pool != NULL);
    void *held[16];
    size_t count = 0;
    while ((held[count] = ward_pool_get(pool, 32)) != NULL)
        CHECK(++count <= 16);
    CHECK(errno == ENOMEM && count >= 10);
    ward_pool_put(pool, held[3]);
    held[3] = ward_pool_get(pool, 1);
    CHECK(held[3] != NULL && ward_pool_get(pool, 1) == NULL && errno == ENOMEM);
    for (size_t i = 0; i < count; i++)
        ward_pool_put(pool, held[i]);
    CHECK_POOL(pool);
    ward_pool_destroy(pool);

    /* A growing pool with a limit stops at it. */
    config = (ward_pool_config_t){.block_size = 200, .chunk_buffers = 4, .max_buffers = 9};
    pool = ward_pool_new_ex(&config);
    for (count = 0; count < 9; count++)
        CHECK((held[count] = ward_pool_get(pool, 200)) != NULL);
    errno = 0;
    CHECK(ward_pool_get(pool, 200) == NULL && errno == ENOMEM);
    CHECK_POOL(pool);
    for (size_t i = 0; i < count; i++)
        ward_pool_put(pool, held[i]);
    ward_pool_destroy(pool);
}

static void caller_memory(void)
{
    static _Alignas(16) unsigned char memory[64 + 4096 + 64];
    unsigned char *mem = memory + 64;
    errno = 0;
    CHECK(ward_pool_init(mem + 8, 4096, 64, 0) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(ward_pool_init(mem, 100, 64, 0) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(ward_pool_init(mem, 4096, 0, 0) == NULL && errno == EINVAL);
    CHECK(ward_pool_init(NULL, 4096, 64, 0) == NULL);

    memset(memory, 0xa5, sizeof memory);
    ward_pool_t *pool = ward_pool_init(mem, 4096, 64, 0);
    CHECK(pool == (ward_pool_t *)mem);
    void *held[128];
    size_t count = 0;
    while ((held[count] = ward_pool_get(pool, 64)) != NULL) {
        CHECK((unsigned char *)held[count] >= mem && (unsigned char *)held[count] + 64 <= mem + 4096);
        memset(held[count], 0xff, 64);
        CHECK(++count < 128);
    }
    CHECK(errno == ENOMEM && count > 20);
    CHECK(ward_pool_outstanding(pool) == count);
    CHECK_POOL(pool);
    for (size_t i = 0; i < count; i++)
        ward_pool_put(pool, held[i]);
    CHECK_POOL(pool);
    ward_pool_stats_t stats;
    CHECK(ward_pool_stats(pool, &stats) == 0 && stats.bytes <= 4096 && stats.chunks == 1);
    ward_pool_destroy(pool);
    for (int i = 0; i < 64; i++)
        CHECK(memory[i] == 0xa5 && memory[64 + 4096 + i] == 0xa5);
}

static void debug_canaries(void)
{
    ward_pool_t *pool = ward_pool_new(24, WARD_POOL_DEBUG);
    ward_pool_stats_t stats;
    CHECK(ward_pool_stats(pool, &stats) == 0 && stats.stride >= 24 + 8);
    unsigned char *p = ward_pool_get(pool, 24);
    memset(p, 0, 24); /* the whole block is the program's */
    CHECK_POOL(pool);
    ward_pool_put(pool, p);
    ward_pool_destroy(pool);
}

int main(void)
{
    arguments();
    growth();
    aligned();
    exhaustion();
    caller_memory();
    debug_canaries();
    printf("pool api ok\n");
    return 0;
}
