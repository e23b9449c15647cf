/*
 * leaks.c - buffers still held are visible: ward_pool_outstanding counts
 * them, ward_pool_walk visits exactly them, and ward_pool_destroy lists
 * them on stderr (unless the pool is quiet).
 */
#include <fcntl.h>

#include "region/harness.h"

static void *held[5];

static int collect(void *buffer, void *arg)
{
    int *count = arg;
    int known = 0;
    for (int i = 0; i < 5; i++)
        known |= held[i] == buffer;
    CHECK(known);
    (*count)++;
    return 0;
}

static int stop_at_first(void *buffer, void *arg)
{
    (void)buffer;
    (void)arg;
    return 7;
}

/* Runs destroy with stderr sent to a file; returns what it wrote. */
static char *destroy_captured(ward_pool_t *pool)
{
    static char text[8192];
    char name[] = "/tmp/ward-pool-leaksXXXXXX";
    int fd = mkstemp(name);
    CHECK(fd >= 0);
    unlink(name);
    int saved = dup(2);
    fflush(stderr);
    dup2(fd, 2);
    ward_pool_destroy(pool);
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    CHECK(n >= 0);
    text[n] = '\0';
    close(fd);
    return text;
}

int main(void)
{
    ward_pool_t *pool = ward_pool_new(256, 0);
    void *returned[3];
    for (int i = 0; i < 5; i++)
        held[i] = ward_pool_get(pool, 256);
    for (int i = 0; i < 3; i++)
        returned[i] = ward_pool_get(pool, 256);
    for (int i = 0; i < 3; i++)
        ward_pool_put(pool, returned[i]);
    CHECK(ward_pool_outstanding(pool) == 5);

    int count = 0;
    CHECK(ward_pool_walk(pool, collect, &count) == 0 && count == 5);
    CHECK(ward_pool_walk(pool, stop_at_first, NULL) == 7);

    char *report = destroy_captured(pool);
    CHECK(strstr(report, "destroyed with 5 buffers still held (block size 256 bytes)") != NULL);
    for (int i = 0; i < 5; i++) {
        char address[32];
        snprintf(address, sizeof address, "leaked buffer 0x%lx\n", (unsigned long)(uintptr_t)held[i]);
        CHECK(strstr(report, address) != NULL);
    }
    for (int i = 0; i < 3; i++) {
        char address[32];
        snprintf(address, sizeof address, "0x%lx\n", (unsigned long)(uintptr_t)returned[i]);
        int also_held = 0;
        for (int j = 0; j < 5; j++)
            also_held |= returned[i] == held[j];
        CHECK(also_held || strstr(report, address) == NULL);
    }

    /* Many leaks: the list is cut and the rest counted. */
    pool = ward_pool_new(16, 0);
    for (int i = 0; i < 100; i++)
        CHECK(ward_pool_get(pool, 16) != NULL);
    report = destroy_captured(pool);
    CHECK(strstr(report, "100 buffers still held") != NULL && strstr(report, "... and 68 more") != NULL);

    /* Quiet pools say nothing; pools without leaks say nothing. */
    pool = ward_pool_new(16, WARD_POOL_QUIET);
    CHECK(ward_pool_get(pool, 16) != NULL);
    CHECK(destroy_captured(pool)[0] == '\0');
    pool = ward_pool_new(16, 0);
    ward_pool_put(pool, ward_pool_get(pool, 16));
    CHECK(destroy_captured(pool)[0] == '\0');
    printf("pool leak listing ok\n");
    return 0;
}
