/*
 * cases.c - one small program per heap bug class, for the detection table
 * of docs/hardening.md (bench/hardening/run.sh runs it under each
 * allocator).  Uses only the standard malloc API, so any allocator can be
 * preloaded.  After the bug the program keeps allocating and freeing for a
 * while (allocators that check late get their chance), then exits 0: an
 * exit status of 0 means the bug went unnoticed.
 *
 * Usage: cases CASE      (cases --list prints the cases)
 * Exit status 3: the case needs a function the allocator does not have.
 */
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define KiB ((size_t)1024)
#define MiB (KiB * 1024)

/* Calls through a volatile pointer: the compiler may not reason about
 * them (a free it can see through could be optimised or warned about). */
static void *(*volatile do_malloc)(size_t) = malloc;
static void (*volatile do_free)(void *) = free;
static volatile unsigned char sink;

static void aftermath(void)
{
    void *keep[64] = {0};
    for (int i = 0; i < 50000; i++) {
        int k = i % 64;
        do_free(keep[k]);
        keep[k] = do_malloc((size_t)(16 + (i % 4) * 8 + (i % 7 == 0 ? 300 * KiB : 0)));
        memset(keep[k], 0, 16);
    }
    for (int k = 0; k < 64; k++)
        do_free(keep[k]);
}

static void overflow_one_byte(void)
{
    unsigned char *p = do_malloc(24);
    memset(p, 1, 24);
    p[24] = 0x41;
    do_free(p);
}

/* One byte past the whole usable block, into the neighbour, which (the size
 * is one the program has not used yet) the allocator has not handed out:
 * what an allocator keeps in a free neighbour (a free-list link, a chunk
 * header) is what the byte lands on.  Then the neighbours are allocated. */
static void overflow_into_free_neighbour(void)
{
    unsigned char *p = do_malloc(400);
    size_t usable = malloc_usable_size(p);
    memset(p, 1, usable);
    p[usable] ^= 0x41;
    for (int i = 0; i < 64; i++)
        sink = *(unsigned char *)do_malloc(400);
}

static void underflow_one_byte(void)
{
    unsigned char *p = do_malloc(24);
    p[-1] = 0x41;
    do_free(p);
}

static void write_after_free(void)
{
    unsigned char *p = do_malloc(40);
    do_free(p);
    memset(p, 0x41, 16);
}

static void read_after_free(void)
{
    unsigned char *p = do_malloc(40);
    strcpy((char *)p, "secret");
    do_free(p);
    sink = p[0];
}

static void double_free_size(size_t n)
{
    void *p = do_malloc(n);
    memset(p, 1, 16);
    do_free(p);
    do_free(p);
}

static void double_free_small(void) { double_free_size(32); }
static void double_free_large(void) { double_free_size(300 * KiB); }
static void double_free_huge(void) { double_free_size(64 * MiB); }

static void *free_it(void *p)
{
    do_free(p);
    return NULL;
}

static void double_free_cross_thread(void)
{
    void *p = do_malloc(32);
    pthread_t t;
    pthread_create(&t, NULL, free_it, p);
    pthread_join(t, NULL);
    do_free(p);
}

static void invalid_free_stack(void)
{
    unsigned char local[64];
    memset(local, 1, sizeof local);
    do_free(local + 16);
}

static void invalid_free_foreign(void)
{
    unsigned char *m = mmap(NULL, 64 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(m, 0, 64 * KiB);
    do_free(m + 4096);
}

static void interior_free(void)
{
    unsigned char *p = do_malloc(64);
    do_free(p + 16);
}

static void free_sized_wrong(void)
{
    const char *name = getenv("HARDENING_FREE_SIZED");
    void (*free_sized)(void *, size_t) = (void (*)(void *, size_t))dlsym(RTLD_DEFAULT, name ? name : "free_sized");
    if (free_sized == NULL)
        exit(3);
    void *p = do_malloc(64);
    free_sized(p, 4096);
}

static const struct {
    const char *name;
    void (*run)(void);
} cases[] = {
    {"overflow_one_byte", overflow_one_byte},
    {"overflow_into_free_neighbour", overflow_into_free_neighbour},
    {"underflow_one_byte", underflow_one_byte},
    {"write_after_free", write_after_free},
    {"read_after_free", read_after_free},
    {"double_free_small", double_free_small},
    {"double_free_large", double_free_large},
    {"double_free_huge", double_free_huge},
    {"double_free_cross_thread", double_free_cross_thread},
    {"invalid_free_stack", invalid_free_stack},
    {"invalid_free_foreign", invalid_free_foreign},
    {"interior_free", interior_free},
    {"free_sized_wrong", free_sized_wrong},
};

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            puts(cases[i].name);
        return 0;
    }
    for (size_t i = 0; argc == 2 && i < sizeof cases / sizeof cases[0]; i++) {
        if (strcmp(argv[1], cases[i].name) == 0) {
            cases[i].run();
            aftermath();
            return 0;
        }
    }
    fprintf(stderr, "usage: cases CASE | --list\n");
    return 2;
}
