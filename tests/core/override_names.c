/*
 * The drop-in override: libward.so exports malloc, free, calloc, realloc,
 * reallocarray, posix_memalign, aligned_alloc, memalign, valloc, pvalloc,
 * malloc_usable_size, malloc_trim, mallinfo2 and malloc_stats, and a program
 * that links libward or runs with LD_PRELOAD=libward.so gets them, also for
 * allocations made inside libc (strdup, getline, fopen, threads).
 *
 * Built twice: linked with libward, and without it for an LD_PRELOAD run, so
 * ward's own functions are reached through dlsym only.  A block that ward did
 * not allocate makes ward_usable_size stop the program, so every
 * owns_block() below is a real check of where a block came from.
 */
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>

#include "common/check.h"

static size_t (*ward_usable_size_fn)(const void *);
/* Results that are only compared with NULL go through here: a compiler may
 * otherwise drop the allocation and take the comparison as false. */
static void *volatile kept;
static void *(*ward_malloc_fn)(size_t);
static void (*ward_free_fn)(void *);

static const char *const override_names[] = {
    "malloc", "free", "calloc", "realloc", "reallocarray", "posix_memalign", "aligned_alloc",
    "memalign", "valloc", "pvalloc", "malloc_usable_size", "malloc_trim", "mallinfo2",
    "malloc_stats", "free_sized", "free_aligned_sized",
};

/* True when the symbol the program resolves by that name lives in libward. */
static bool resolves_to_libward(const char *name)
{
    void *symbol = dlsym(RTLD_DEFAULT, name);
    Dl_info info;
    return symbol != NULL && dladdr(symbol, &info) != 0 && info.dli_fname != NULL &&
           strstr(info.dli_fname, "libward") != NULL;
}

static void owns_block(const void *p, size_t at_least)
{
    CHECK(p != NULL);
    size_t usable = ward_usable_size_fn(p);
    CHECKF(usable >= at_least, "ward_usable_size(%p) = %zu, expected at least %zu", p, usable,
           at_least);
}

static void test_symbols(void)
{
    ward_usable_size_fn = (size_t(*)(const void *))dlsym(RTLD_DEFAULT, "ward_usable_size");
    ward_malloc_fn = (void *(*)(size_t))dlsym(RTLD_DEFAULT, "ward_malloc");
    ward_free_fn = (void (*)(void *))dlsym(RTLD_DEFAULT, "ward_free");
    CHECKF(ward_usable_size_fn && ward_malloc_fn && ward_free_fn, "libward is not loaded");
    for (size_t i = 0; i < sizeof override_names / sizeof override_names[0]; i++)
        CHECKF(resolves_to_libward(override_names[i]), "%s does not resolve to libward",
               override_names[i]);
    /* the program's own references, not only dlsym's answer */
    Dl_info info;
    CHECK(dladdr((void *)(uintptr_t)&malloc, &info) != 0 && strstr(info.dli_fname, "libward"));
    CHECK(dladdr((void *)(uintptr_t)&free, &info) != 0 && strstr(info.dli_fname, "libward"));
}

static void test_functions(void)
{
    /* volatile: the compiler would reject the constant sizes outright */
    volatile size_t too_large = (size_t)PTRDIFF_MAX + 1, too_many = SIZE_MAX / 4, not_pow2 = 3;
    void *p = malloc(100);
    owns_block(p, 100);
    CHECK(malloc_usable_size(p) == ward_usable_size_fn(p));
    free(p);
    CHECK(malloc_usable_size(NULL) == 0);
    free(NULL);

    p = malloc(0);
    owns_block(p, 0);
    free(p);

    unsigned char *z = calloc(300, 7);
    owns_block(z, 2100);
    for (int i = 0; i < 2100; i++)
        CHECK(z[i] == 0);
    z = realloc(z, 100000);
    owns_block(z, 100000);
    for (int i = 0; i < 2100; i++)
        CHECK(z[i] == 0);
    z = reallocarray(z, 10, 10);
    owns_block(z, 100);
    /* a failed resize leaves the block alone; the compiler cannot know that
     * it failed, so the block is reached again through a volatile copy */
    unsigned char *volatile same_block = z;
    errno = 0;
    kept = reallocarray(z, too_many, 4);
    CHECK(kept == NULL && errno == ENOMEM);
    CHECK(same_block[99] == 0);
    free(same_block);

    /* blocks are interchangeable between the two names */
    p = ward_malloc_fn(50);
    free(p);
    p = malloc(50);
    ward_free_fn(p);

    errno = 0;
    kept = malloc(too_large);
    CHECK(kept == NULL && errno == ENOMEM);
    errno = 0;
    kept = calloc(too_many, 8);
    CHECK(kept == NULL && errno == ENOMEM);

    void *out = NULL;
    CHECK(posix_memalign(&out, 4096, 10) == 0 && (uintptr_t)out % 4096 == 0);
    owns_block(out, 10);
    free(out);
    out = &out;
    CHECK(posix_memalign(&out, 24, 10) == EINVAL && out == &out);
    CHECK(posix_memalign(&out, 4, 10) == EINVAL && out == &out);

    p = aligned_alloc(256, 1000);
    CHECK(p != NULL && (uintptr_t)p % 256 == 0);
    owns_block(p, 1000);
    free(p);
    errno = 0;
    kept = aligned_alloc(not_pow2, 16);
    CHECK(kept == NULL && errno == EINVAL);

    p = memalign(1 << 16, 123);
    CHECK(p != NULL && (uintptr_t)p % (1 << 16) == 0);
    owns_block(p, 123);
    free(p);

    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    p = valloc(100);
    CHECK(p != NULL && (uintptr_t)p % page == 0);
    owns_block(p, 100);
    free(p);
    p = pvalloc(100);
    CHECK(p != NULL && (uintptr_t)p % page == 0);
    owns_block(p, page); /* pvalloc rounds the size up to a whole page */
    free(p);

    /* POSIX.1-2024: free does not change errno */
    p = malloc(64);
    errno = 12345;
    free(p);
    CHECK(errno == 12345);
}

static void test_reports(void)
{
    enum { BLOCKS = 16 };
    void *blocks[BLOCKS];
    for (int i = 0; i < BLOCKS; i++) {
        blocks[i] = malloc(1 << 20);
        CHECK(blocks[i] != NULL);
        memset(blocks[i], 1, 1 << 20);
    }
    struct mallinfo2 info = mallinfo2();
    CHECKF(info.uordblks + info.hblkhd >= (size_t)BLOCKS << 20,
           "mallinfo2: uordblks %zu + hblkhd %zu while %d MiB are held", info.uordblks,
           info.hblkhd, BLOCKS);
    for (int i = 0; i < BLOCKS; i++)
        free(blocks[i]);
    int trimmed = malloc_trim(0);
    CHECK(trimmed == 0 || trimmed == 1);

    /* malloc_stats writes to stderr */
    FILE *capture = tmpfile();
    CHECK(capture != NULL);
    int saved = dup(STDERR_FILENO);
    fflush(stderr);
    CHECK(dup2(fileno(capture), STDERR_FILENO) == STDERR_FILENO);
    malloc_stats();
    fflush(stderr);
    CHECK(dup2(saved, STDERR_FILENO) == STDERR_FILENO);
    close(saved);
    CHECK(lseek(fileno(capture), 0, SEEK_END) > 0);
    fclose(capture);
}

/* libc allocates with malloc internally; those blocks are ward's too. */
static void test_libc_internal(void)
{
    char *copy = strdup("a string copied by libc");
    owns_block(copy, 24);
    free(copy);

    FILE *maps = fopen("/proc/self/maps", "r");
    CHECK(maps != NULL);
    char *line = NULL;
    size_t capacity = 0;
    bool mapped = false;
    while (getline(&line, &capacity, maps) > 0)
        mapped |= strstr(line, "libward") != NULL;
    owns_block(line, 1);
    free(line);
    fclose(maps);
    CHECK(mapped);
}

static void *thread_main(void *arg)
{
    char **blocks = arg;
    for (int i = 0; i < 1000; i++) {
        owns_block(blocks[i], 32);
        free(blocks[i]);
        blocks[i] = malloc(64);
        owns_block(blocks[i], 64);
    }
    return NULL;
}

static void test_threads(void)
{
    static char *blocks[4][1000];
    pthread_t threads[4];
    for (int t = 0; t < 4; t++) {
        for (int i = 0; i < 1000; i++)
            blocks[t][i] = malloc(32);
        CHECK(pthread_create(&threads[t], NULL, thread_main, blocks[t]) == 0);
    }
    for (int t = 0; t < 4; t++) {
        CHECK(pthread_join(threads[t], NULL) == 0);
        for (int i = 0; i < 1000; i++)
            free(blocks[t][i]);
    }
}

int main(void)
{
    test_symbols();
    test_functions();
    test_reports();
    test_libc_internal();
    test_threads();
    puts("ok");
    return 0;
}
