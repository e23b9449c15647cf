/*
 * A program that is not linked with ward, run with LD_PRELOAD=libward.so:
 * blocks allocated before main (in a constructor), in threads, in thread-key
 * destructors, in children forked while threads allocate, in a library
 * opened with dlopen (argv[1]) and at exit are all ward's and all free
 * cleanly.  A block that ward did not allocate makes ward_usable_size stop
 * the program, so owns_block() is a real check of where a block came from.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "common/check.h"

static size_t (*ward_usable_size_fn)(const void *);

static void owns_block(const void *p, size_t at_least)
{
    CHECK(p != NULL);
    CHECKF(ward_usable_size_fn(p) >= at_least, "block %p: usable size %zu < %zu", p,
           ward_usable_size_fn(p), at_least);
}

/* ---- before main ---- */

static const size_t early_sizes[] = {10, 1000, 300 * 1024, 5 * 1024 * 1024};
enum { EARLY = sizeof early_sizes / sizeof early_sizes[0] };
static unsigned char *early_blocks[EARLY];

__attribute__((constructor)) static void allocate_before_main(void)
{
    for (int i = 0; i < EARLY; i++) {
        early_blocks[i] = malloc(early_sizes[i]);
        if (early_blocks[i] != NULL)
            memset(early_blocks[i], 0x30 + i, early_sizes[i]);
    }
}

static void test_before_main(void)
{
    for (int i = 0; i < EARLY; i++) {
        owns_block(early_blocks[i], early_sizes[i]);
        for (size_t at = 0; at < early_sizes[i]; at += 997)
            CHECK(early_blocks[i][at] == 0x30 + i);
        free(early_blocks[i]);
    }
}

/* ---- threads, with a thread-key destructor that frees at thread exit ---- */

static pthread_key_t exit_block_key;
static atomic_int exit_frees;

static void free_at_thread_exit(void *block)
{
    owns_block(block, 200);
    free(block);
    atomic_fetch_add(&exit_frees, 1);
}

#define SLOTS 128
static _Atomic(uintptr_t) slots[SLOTS];
static atomic_bool stop_threads;

static void *allocating_thread(void *arg)
{
    uint64_t state = (uintptr_t)arg + 1;
    CHECK(pthread_setspecific(exit_block_key, malloc(200)) == 0);
    for (unsigned long i = 0; !atomic_load(&stop_threads) || i < 20000; i++) {
        size_t size = 1 + test_random(&state) % (i % 64 == 0 ? 200000 : 500);
        char *mine = malloc(size);
        CHECK(mine != NULL);
        memset(mine, 1, size);
        char *theirs = (char *)atomic_exchange(&slots[test_random(&state) % SLOTS], (uintptr_t)mine);
        free(theirs);
    }
    return NULL;
}

/* ---- fork while the threads allocate ---- */

static void test_fork_while_allocating(void)
{
    for (int round = 0; round < 20; round++) {
        pid_t child = fork();
        CHECK(child >= 0);
        if (child == 0) {
            for (int i = 0; i < 5000; i++) {
                void *p = malloc((size_t)(i % 700) + 1);
                owns_block(p, (size_t)(i % 700) + 1);
                free(p);
            }
            char *big = malloc(4 << 20);
            owns_block(big, 4 << 20);
            big = realloc(big, 9 << 20);
            owns_block(big, 9 << 20);
            free(big);
            free((void *)atomic_exchange(&slots[round], 0)); /* a block of a parent thread */
            _exit(0);
        }
        int status;
        CHECK(waitpid(child, &status, 0) == child);
        CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fork %d: child status %#x", round,
               status);
    }
}

/* ---- a library opened with dlopen ---- */

static void test_dlopen(const char *library)
{
    void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    CHECKF(handle != NULL, "dlopen(%s): %s", library, dlerror());
    char *(*constructor_block)(void) =
        (char *(*)(void))dlsym(handle, "preload_lib_constructor_block");
    char *(*make_string)(size_t) = (char *(*)(size_t))dlsym(handle, "preload_lib_make_string");
    void (*lib_free)(void *) = (void (*)(void *))dlsym(handle, "preload_lib_free");
    CHECK(constructor_block && make_string && lib_free);
    owns_block(constructor_block(), 10);
    for (size_t length = 1; length < 3000000; length = length * 3 + 1) {
        char *s = make_string(length);
        owns_block(s, length + 1);
        CHECK(strlen(s) == length);
        free(s);
        void *mine = malloc(length);
        lib_free(mine);
    }
    CHECK(dlclose(handle) == 0);
    void *after = malloc(100);
    owns_block(after, 100);
    free(after);
}

static void allocate_at_exit(void)
{
    void *p = malloc(5000);
    CHECK(p != NULL);
    memset(p, 1, 5000);
    owns_block(p, 5000);
    free(p);
}

int main(int argc, char **argv)
{
    CHECKF(argc == 2, "usage: %s LIBRARY-TO-DLOPEN", argv[0]);
    ward_usable_size_fn = (size_t(*)(const void *))dlsym(RTLD_DEFAULT, "ward_usable_size");
    CHECKF(ward_usable_size_fn != NULL, "libward is not loaded (run with LD_PRELOAD)");
    test_before_main();
    CHECK(atexit(allocate_at_exit) == 0);
    CHECK(pthread_key_create(&exit_block_key, free_at_thread_exit) == 0);

    enum { THREADS = 3 };
    pthread_t threads[THREADS];
    for (uintptr_t t = 0; t < THREADS; t++)
        CHECK(pthread_create(&threads[t], NULL, allocating_thread, (void *)t) == 0);
    test_fork_while_allocating();
    test_dlopen(argv[1]);
    atomic_store(&stop_threads, true);
    for (int t = 0; t < THREADS; t++)
        CHECK(pthread_join(threads[t], NULL) == 0);
    CHECK(atomic_load(&exit_frees) == THREADS);
    for (int i = 0; i < SLOTS; i++)
        free((void *)atomic_exchange(&slots[i], 0));
    puts("ok");
    return 0;
}
