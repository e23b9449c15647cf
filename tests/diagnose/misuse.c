/*
 * Death tests of the diagnostics: each bug class stops the program with
 * SIGABRT after a report whose first line is
 *   ward: <operation>: <kind> at 0x<address> ...
 * and whose further lines (indented) give the block and the stacks.  The
 * diagnostic each case needs (WARD_DEBUG=1 or WARD_GUARD_SAMPLE=1) is set
 * in its CTest environment: the mode is chosen when the allocator starts.
 *
 * Usage: diag_misuse CASE
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>

#include "common/check.h"
#include "ward.h"

typedef struct expected_s {
    void *address;
} expected_t;

static expected_t *expected;

static void *volatile last;

/* Small functions the stacks must name: exported (the project hides
 * symbols by default; the program is linked with -rdynamic) so that dladdr
 * finds them.  The store after each call keeps it from being a tail call,
 * which would drop the function's frame. */
#define EXPORTED __attribute__((visibility("default"), noinline))
EXPORTED unsigned char *diag_test_allocate(size_t n);
EXPORTED void diag_test_release(void *p);

unsigned char *diag_test_allocate(size_t n)
{
    unsigned char *p = ward_malloc(n);
    CHECK(p != NULL);
    last = p;
    return p;
}

void diag_test_release(void *p)
{
    ward_free(p);
    last = p;
}

static void overflow_one_byte(void)
{
    unsigned char *p = diag_test_allocate(37);
    expected->address = p;
    p[37] = 1;
    diag_test_release(p);
}

static void overflow_realloc(void)
{
    unsigned char *p = diag_test_allocate(64);
    expected->address = p;
    p[64] = 1;
    p = ward_realloc(p, 200);
}

static void underflow_one_byte(void)
{
    unsigned char *p = diag_test_allocate(48);
    expected->address = p;
    p[-1] = 1;
    diag_test_release(p);
}

static void write_after_free(void)
{
    unsigned char *p = diag_test_allocate(40);
    expected->address = p;
    diag_test_release(p);
    p[3] = 7;
    /* push it out of the quarantine (bounded by count) */
    for (int i = 0; i < 40000; i++)
        ward_free(ward_malloc(40));
}

static void double_free_debug(void)
{
    unsigned char *p = diag_test_allocate(100);
    expected->address = p;
    diag_test_release(p);
    diag_test_release(p);
}

static void double_free_large_debug(void)
{
    unsigned char *p = diag_test_allocate(300 * 1024);
    expected->address = p;
    diag_test_release(p);
    diag_test_release(p);
}

static void double_free_huge_debug(void)
{
    unsigned char *p = diag_test_allocate(64 << 20);
    expected->address = p;
    diag_test_release(p);
    diag_test_release(p);
}

static void invalid_free_stack(void)
{
    unsigned char local[64];
    memset(local, 1, sizeof local);
    expected->address = local + 16;
    ward_free(local + 16);
}

static void interior_free(void)
{
    unsigned char *p = diag_test_allocate(100);
    expected->address = p + 16;
    ward_free(p + 16);
}

static void read_after_free_guarded(void)
{
    volatile unsigned char *p = diag_test_allocate(32);
    expected->address = (void *)p;
    diag_test_release((void *)p);
    unsigned char c = p[0];
    (void)c;
}

static void overflow_guarded(void)
{
    volatile unsigned char *p = diag_test_allocate(64);
    expected->address = (void *)(p + 64);
    p[64] = 1;
}

static void underflow_guarded(void)
{
    /* a block that fills its page: one byte before it is the previous
     * slot's guard page */
    volatile unsigned char *p = diag_test_allocate(4096);
    expected->address = (void *)(p - 1);
    p[-1] = 1;
}

static void underflow_guarded_in_page(void)
{
    /* a small block: one byte before it is still in its data page */
    unsigned char *p = diag_test_allocate(32);
    expected->address = p;
    p[-1] = 1;
    diag_test_release(p);
}

static void overflow_guarded_slack(void)
{
    unsigned char *p = diag_test_allocate(37);
    expected->address = p;
    p[37] = 1;
    diag_test_release(p);
}

static void double_free_guarded(void)
{
    unsigned char *p = diag_test_allocate(32);
    expected->address = p;
    diag_test_release(p);
    diag_test_release(p);
}

static void *churn_thread(void *arg)
{
    (void)arg;
    void *keep[64] = {0};
    for (int i = 0; i < 20000; i++) {
        int k = i % 64;
        ward_free(keep[k]);
        keep[k] = (i % 3) ? ward_malloc((size_t)(i % 700)) : ward_calloc(3, (size_t)(i % 50));
        CHECK(keep[k] != NULL);
        if (i % 5 == 0) {
            keep[k] = ward_realloc(keep[k], (size_t)(i % 2000) + 1);
            CHECK(keep[k] != NULL);
        }
    }
    for (int k = 0; k < 64; k++)
        ward_free(keep[k]);
    return NULL;
}

/* Correct use: silent, whatever the diagnostics. */
static void clean(void)
{
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        CHECK(pthread_create(&t[i], NULL, churn_thread, NULL) == 0);
    churn_thread(NULL);
    for (int i = 0; i < 3; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    for (size_t alignment = 16; alignment <= 1 << 20; alignment *= 4) {
        void *p = ward_aligned_alloc(alignment, 100);
        CHECK(p != NULL && ((uintptr_t)p & (alignment - 1)) == 0 && ward_usable_size(p) >= 100);
        ward_free(p);
    }
    unsigned char *z = ward_calloc(1, 5 << 20);
    CHECK(z != NULL && z[0] == 0 && z[(5 << 20) - 1] == 0);
    ward_free(z);
    ward_heap_t *heap = ward_heap_new();
    CHECK(heap != NULL);
    void *h = ward_heap_malloc(heap, 77);
    CHECK(h != NULL);
    h = ward_realloc(h, 300);
    CHECK(h != NULL);
    ward_free(h);
    CHECK(ward_heap_malloc(heap, 10) != NULL);
    ward_heap_destroy(heap);
    CHECK(ward_check() == 0);
}

typedef struct diag_case_s {
    const char *name;
    void (*scenario)(void);
    const char *operation; /* NULL: must exit cleanly */
    const char *kind;
    bool freed_stack;      /* the report must show where the block was freed */
} diag_case_t;

static const diag_case_t cases[] = {
    {"overflow_one_byte", overflow_one_byte, "free", "heap overflow", false},
    {"overflow_realloc", overflow_realloc, "realloc", "heap overflow", false},
    {"underflow_one_byte", underflow_one_byte, "free", "heap underflow", false},
    {"write_after_free", write_after_free, "free", "write after free", true},
    {"double_free_debug", double_free_debug, "free", "double free", true},
    {"double_free_large_debug", double_free_large_debug, "free", "double free", true},
    {"double_free_huge_debug", double_free_huge_debug, "free", "double free", false},
    {"invalid_free_stack", invalid_free_stack, "free", "not allocated by ward", false},
    {"interior_free", interior_free, "free", "interior pointer", false},
    {"read_after_free_guarded", read_after_free_guarded, "access", "use after free", true},
    {"overflow_guarded", overflow_guarded, "access", "heap overflow", false},
    {"underflow_guarded", underflow_guarded, "access", "heap underflow", false},
    {"underflow_guarded_in_page", underflow_guarded_in_page, "free", "heap underflow", false},
    {"overflow_guarded_slack", overflow_guarded_slack, "free", "heap overflow", false},
    {"double_free_guarded", double_free_guarded, "free", "double free", true},
    {"clean", clean, NULL, NULL, false},
};

static void run_in_child(void *arg)
{
    const diag_case_t *c = arg;
    c->scenario();
}

int main(int argc, char **argv)
{
    expected = mmap(NULL, sizeof *expected, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(expected != MAP_FAILED);
    if (argc < 2) {
        fprintf(stderr, "usage: diag_misuse CASE\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const diag_case_t *c = &cases[i];
        if (strcmp(argv[1], c->name) != 0)
            continue;
        death_result_t r;
        death_run(run_in_child, (void *)c, &r);
        if (c->operation == NULL) {
            if (!death_expect_clean(&r))
                return 1;
            printf("%s: clean\n", c->name);
            return 0;
        }
        bool ok = death_expect_fatal(&r, c->operation, c->kind, expected->address, 0);
        /* the invalid-pointer cases have no block, hence no stacks */
        bool has_block = strstr(c->kind, "not allocated") == NULL && strstr(c->kind, "interior") == NULL &&
                         c->scenario != double_free_huge_debug; /* its mapping is gone: one line */
        if (has_block && (!strstr(r.output, "allocated by thread") || !strstr(r.output, "diag_test_allocate"))) {
            fprintf(stderr, "the report lacks the allocation stack (naming diag_test_allocate)\n");
            ok = false;
        }
        if (c->freed_stack && (!strstr(r.output, "freed by thread") || !strstr(r.output, "diag_test_release"))) {
            fprintf(stderr, "the report lacks the free stack (naming diag_test_release)\n");
            ok = false;
        }
        if (!ok) {
            fprintf(stderr, "%s: FAILED; child stderr:\n%s\n", c->name, r.output);
            return 1;
        }
        printf("%s: stopped with:\n%s", c->name, r.output);
        return 0;
    }
    fprintf(stderr, "unknown case %s\n", argv[1]);
    return 2;
}
