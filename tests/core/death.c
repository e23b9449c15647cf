/*
 * Death tests: every misuse ward claims to catch stops the program with
 * SIGABRT after one line
 *   ward: <operation>: <error> at 0x<address> [(size class <n> bytes)]
 * and the matching correct uses ("clean_" cases) run to the end without a
 * word from ward, so the checks have no false positives.
 *
 * Usage: core_death CASE   runs one case (each is its own CTest test);
 *        core_death        checks the death-test checks themselves.
 *
 * A small double free may be caught late, when the owning heap collects its
 * frees: after the second free the owner keeps allocating and freeing blocks
 * of that size (CHURN times), and the program must stop during that.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>

#include "common/check.h"
#include "ward.h"

#define KiB ((size_t)1024)
#define MiB (KiB * 1024)
#define CHURN 100000
#define SMALL 48

/* Shared with the parent (a MAP_SHARED page), so the child can say which
 * address and size class the message must name. */
typedef struct misuse_s {
    void *address;
    size_t size_class;
    atomic_int phase;
    void *block;
} misuse_t;

static unsigned char static_bytes[256];

static void churn(size_t size)
{
    for (int i = 0; i < CHURN; i++) {
        void *p = ward_malloc(size);
        CHECK(p != NULL);
        ward_free(p);
    }
}

static void wait_for_phase(misuse_t *m, int phase)
{
    while (atomic_load(&m->phase) < phase)
        sched_yield();
}

/* Names the address the message must give, and the size class when known. */
static void *expect_at(misuse_t *m, void *address, size_t size_class)
{
    m->address = address;
    /* Under the diagnostics a block's size class is that of the bigger
     * core block holding it: the message is not checked for it. */
    m->size_class = test_diagnostics_on() ? 0 : size_class;
    return address;
}

static unsigned char *small_block(misuse_t *m)
{
    unsigned char *p = ward_malloc(SMALL);
    CHECK(p != NULL);
    m->block = p;
    return p;
}

/* ---- foreign and interior pointers ---- */

static void free_stack(misuse_t *m)
{
    unsigned char local[64];
    memset(local, 1, sizeof local);
    ward_free(expect_at(m, local + 16, 0));
}

static void free_static(misuse_t *m)
{
    ward_free(expect_at(m, static_bytes + 64, 0));
}

static void *foreign_mapping(size_t size)
{
    void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                     -1, 0);
    CHECK(map != MAP_FAILED);
    return map;
}

static void free_foreign_mapping(misuse_t *m)
{
    ward_free(expect_at(m, foreign_mapping(1 * MiB), 0));
}

/* A foreign pointer on a boundary that ward's own segments could have. */
static void free_foreign_aligned(misuse_t *m)
{
    ward_free(ward_malloc(SMALL)); /* ward is set up and has segments */
    uintptr_t map = (uintptr_t)foreign_mapping(192 * MiB);
    uintptr_t aligned = (map + 64 * MiB - 1) & ~(uintptr_t)(64 * MiB - 1);
    ward_free(expect_at(m, (void *)aligned, 0));
}

static void free_interior_small(misuse_t *m)
{
    unsigned char *p = small_block(m);
    ward_free(expect_at(m, p + 16, ward_usable_size(p)));
}

static void free_interior_large(misuse_t *m)
{
    unsigned char *p = ward_malloc(512 * KiB);
    CHECK(p != NULL);
    ward_free(expect_at(m, p + 8 * KiB, ward_usable_size(p)));
}

static void free_interior_huge(misuse_t *m)
{
    unsigned char *p = ward_malloc(8 * MiB);
    CHECK(p != NULL);
    ward_free(expect_at(m, p + 64 * KiB + 16, 0));
}

static void realloc_stack(misuse_t *m)
{
    unsigned char local[64];
    memset(local, 1, sizeof local);
    ward_realloc(expect_at(m, local, 0), 200);
}

static void realloc_foreign_mapping(misuse_t *m)
{
    ward_realloc(expect_at(m, foreign_mapping(1 * MiB), 0), 5000);
}

static void realloc_interior(misuse_t *m)
{
    unsigned char *p = small_block(m);
    ward_realloc(expect_at(m, p + 32, ward_usable_size(p)), 1000);
}

static void usable_size_foreign(misuse_t *m)
{
    unsigned char local[64];
    memset(local, 1, sizeof local);
    ward_usable_size(expect_at(m, local, 0));
}

static void usable_size_interior(misuse_t *m)
{
    unsigned char *p = ward_malloc(5000);
    CHECK(p != NULL);
    ward_usable_size(expect_at(m, p + 1024, ward_usable_size(p)));
}

/* ---- double frees ---- */

static void double_free_small(misuse_t *m)
{
    unsigned char *p = small_block(m);
    expect_at(m, p, ward_usable_size(p));
    ward_free(p);
    ward_free(p);
    churn(SMALL);
}

/* The page keeps other live blocks, so it stays in use after the first free. */
static void double_free_small_busy_page(misuse_t *m)
{
    void *neighbours[200];
    for (int i = 0; i < 200; i++)
        CHECK((neighbours[i] = ward_malloc(SMALL)) != NULL);
    unsigned char *p = small_block(m);
    for (int i = 0; i < 200; i++)
        CHECK((neighbours[i] = ward_malloc(SMALL)) != NULL);
    expect_at(m, p, ward_usable_size(p));
    ward_free(p);
    ward_free(p);
    churn(SMALL);
}

static void double_free_large(misuse_t *m)
{
    void *neighbour = ward_malloc(300 * KiB); /* keeps the segment in use */
    unsigned char *p = ward_malloc(300 * KiB);
    CHECK(neighbour != NULL && p != NULL);
    expect_at(m, p, 0);
    ward_free(p);
    ward_free(p);
    churn(300 * KiB);
}

static void double_free_huge(misuse_t *m)
{
    unsigned char *p = ward_malloc(8 * MiB);
    CHECK(p != NULL);
    expect_at(m, p, 0);
    ward_free(p);
    ward_free(p);
    churn(8 * MiB);
}

static void double_free_aligned(misuse_t *m)
{
    unsigned char *p = ward_aligned_alloc(4096, 100);
    CHECK(p != NULL);
    expect_at(m, p, 0);
    ward_free(p);
    ward_free(p);
    churn(100);
}

/* What the block's owner does around the other thread's frees of it. */
typedef enum owner_script_e {
    OWNER_KEEPS,         /* allocates and keeps the block: both frees are remote */
    OWNER_FREES_FIRST,   /* frees it before the other thread does */
    OWNER_FREES_SECOND,  /* frees it after the other thread did */
    OWNER_FREES_REUSES,  /* frees it, then takes it out of its cache again */
} owner_script_t;

typedef struct owner_run_s {
    misuse_t *misuse;
    owner_script_t script;
} owner_run_t;

/* The owning thread: allocates the block, follows its script around the
 * other thread's frees (phase 1 to 2), then keeps allocating and freeing
 * that size, during which a late-caught double free must stop it. */
static void *owner_follows_script(void *arg)
{
    const owner_run_t *run = arg;
    misuse_t *m = run->misuse;
    unsigned char *p = small_block(m);
    expect_at(m, p, ward_usable_size(p));
    if (run->script == OWNER_FREES_FIRST || run->script == OWNER_FREES_REUSES)
        ward_free(p);
    atomic_store(&m->phase, 1);
    wait_for_phase(m, 2);
    if (run->script == OWNER_FREES_SECOND)
        ward_free(p);
    if (run->script == OWNER_FREES_REUSES)
        CHECK(ward_malloc(SMALL) == p); /* the newest cached block comes out first */
    churn(SMALL);
    return NULL;
}

/* The owner follows `script` while this thread frees the block `frees`
 * times between phases 1 and 2. */
static void run_with_owner(misuse_t *m, owner_script_t script, int frees)
{
    owner_run_t run = {m, script};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, owner_follows_script, &run) == 0);
    wait_for_phase(m, 1);
    for (int i = 0; i < frees; i++)
        ward_free(m->block);
    atomic_store(&m->phase, 2);
    CHECK(pthread_join(thread, NULL) == 0);
}

static void double_free_cross_thread(misuse_t *m)
{
    run_with_owner(m, OWNER_KEEPS, 2);
}

/* The owner frees the block itself; another thread frees it again. */
static void double_free_remote_after_local(misuse_t *m)
{
    run_with_owner(m, OWNER_FREES_FIRST, 1);
}

/* Another thread frees the block first; the owner's own free is the
 * second, and is caught on the spot (the block carries the free tag, so the
 * owner looks among what other threads sent back, and finds it). */
static void double_free_local_after_remote(misuse_t *m)
{
    run_with_owner(m, OWNER_FREES_SECOND, 1);
}

/* The owner frees the block, another thread frees it again, and the owner
 * takes it out of its cache and keeps it before the second free reaches
 * it: taking that free back finds the block in use. */
static void double_free_remote_while_reused(misuse_t *m)
{
    run_with_owner(m, OWNER_FREES_REUSES, 1);
}

/* A thread that frees, on request, the blocks another thread hands it. */
static _Atomic(void *) remote_request;
#define REMOTE_STOP ((void *)1)

static void *remote_freer(void *arg)
{
    (void)arg;
    for (;;) {
        void *p;
        while ((p = atomic_load(&remote_request)) == NULL)
            sched_yield();
        if (p == REMOTE_STOP)
            return NULL;
        ward_free(p);
        atomic_store(&remote_request, NULL);
    }
}

static void free_remotely(void *p)
{
    atomic_store(&remote_request, p);
    while (atomic_load(&remote_request) != NULL)
        sched_yield();
}

/* A second free from another thread that the owner's reuse hides: the
 * owner frees q, another thread frees q again, the owner takes q out of its
 * cache and frees it again (which gives q back its tag), so taking the other
 * thread's copy back finds nothing wrong and puts q on its page while q
 * also waits in the cache.  The page then empties (its count of blocks in
 * use is one low) and would serve another class, whose blocks the stale
 * cached q would overlap: the program must stop when the page empties. */
#define HIDDEN_SIZE 464 /* a class of 141 blocks a page */
#define HIDDEN_BLOCKS (2 * 141 + 100)
static void double_free_hidden_by_reuse(misuse_t *m)
{
    static void *blocks[HIDDEN_BLOCKS];
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, remote_freer, NULL) == 0);
    free_remotely(ward_malloc(8000)); /* the freer has a heap of its own */
    for (int i = 0; i < HIDDEN_BLOCKS; i++)
        CHECK((blocks[i] = ward_malloc(HIDDEN_SIZE)) != NULL);
    /* q and p: the first two blocks of the second page. */
    uintptr_t page_mask = ~(uintptr_t)(64 * KiB - 1), first = (uintptr_t)blocks[0] & page_mask;
    int q_index = 1;
    while (((uintptr_t)blocks[q_index] & page_mask) == first)
        q_index++;
    uintptr_t second = (uintptr_t)blocks[q_index] & page_mask;
    CHECK((uintptr_t)blocks[q_index] == second && q_index + 1 < HIDDEN_BLOCKS);
    void *q = blocks[q_index], *p = blocks[q_index + 1];
    /* Everything else on the two pages, then enough blocks of other pages
     * to push those out of the cache and back to their pages. */
    for (int i = 0; i < HIDDEN_BLOCKS; i++) {
        uintptr_t page = (uintptr_t)blocks[i] & page_mask;
        if (blocks[i] != q && blocks[i] != p && (page == first || page == second))
            ward_free(blocks[i]);
    }
    for (int i = 0; i < HIDDEN_BLOCKS; i++) {
        uintptr_t page = (uintptr_t)blocks[i] & page_mask;
        if (page != first && page != second)
            ward_free(blocks[i]);
    }
    expect_at(m, q, ward_usable_size(q));
    ward_free(q);
    free_remotely(q); /* the misuse */
    void *again = ward_malloc(HIDDEN_SIZE);
    CHECK(again == q);
    ward_free(again);
    free_remotely(p);
    /* Takes the other thread's frees back; q's page empties. */
    void *other = ward_malloc(208);
    free_remotely(other);
    CHECK(ward_malloc(HIDDEN_SIZE) != q); /* not reached */
}

/* A write after free wipes the cached block's tag, so the second free does
 * not find it in the cache: the block is cached twice, and the second copy
 * to come out is caught. */
static void double_free_after_write_after_free(misuse_t *m)
{
    unsigned char *p = small_block(m);
    expect_at(m, p, ward_usable_size(p));
    ward_free(p);
    memset(p, 0x41, 16);
    ward_free(p);
    CHECK(ward_malloc(SMALL) == p);
    CHECK(ward_malloc(SMALL) != NULL);
}

/* Program data written over a cached block: the allocation that takes the
 * block out of the cache stops. */
static void write_after_free_into_cached_block(misuse_t *m)
{
    unsigned char *p = small_block(m);
    expect_at(m, p, ward_usable_size(p));
    ward_free(p);
    memset(p + 8, 0, 8);
    CHECK(ward_malloc(SMALL) != NULL);
}

static void heap_double_free(misuse_t *m, int frees)
{
    ward_heap_t *heap = ward_heap_new();
    CHECK(heap != NULL);
    unsigned char *p = ward_heap_malloc(heap, SMALL);
    CHECK(p != NULL);
    expect_at(m, p, ward_usable_size(p));
    for (int i = 0; i < frees; i++)
        ward_free(p);
    for (int i = 0; i < CHURN; i++) {
        void *q = ward_heap_malloc(heap, SMALL);
        CHECK(q != NULL);
        ward_free(q);
    }
    ward_heap_destroy(heap);
}

static void double_free_heap(misuse_t *m)
{
    heap_double_free(m, 2);
}

/* ---- sized frees naming a size the block cannot have ---- */

static void free_sized_small_wrong(misuse_t *m)
{
    void *p = ward_malloc(200);
    CHECK(p != NULL);
    expect_at(m, p, ward_usable_size(p));
    ward_free_sized(p, 40);
}

static void free_sized_too_big(misuse_t *m)
{
    void *p = ward_malloc(64);
    CHECK(p != NULL);
    expect_at(m, p, ward_usable_size(p));
    ward_free_sized(p, 65);
}

static void free_sized_large_wrong(misuse_t *m)
{
    void *p = ward_malloc(1 * MiB);
    CHECK(p != NULL);
    expect_at(m, p, ward_usable_size(p));
    ward_free_sized(p, 300 * KiB);
}

static void free_sized_huge_wrong(misuse_t *m)
{
    void *p = ward_malloc(16 * MiB);
    CHECK(p != NULL);
    expect_at(m, p, ward_usable_size(p));
    ward_free_sized(p, 8 * MiB);
}

static void free_aligned_sized_wrong(misuse_t *m)
{
    void *p = ward_aligned_alloc(256, 1000);
    CHECK(p != NULL);
    expect_at(m, p, ward_usable_size(p));
    ward_free_aligned_sized(p, 256, 100);
}

/* ---- overwritten free-list links ---- */

/*
 * The first block of a class nobody else here uses comes from a fresh page
 * whose next blocks wait on the page's free list, linked through their
 * first words.  Writing one byte past the block changes the next block's
 * link; the allocation that follows the link must stop, naming that block.
 */
static void overflow_into_free_link(misuse_t *m)
{
    const size_t size = 400;
    unsigned char *p = ward_malloc(size);
    CHECK(p != NULL && ward_usable_size(p) == size);
    expect_at(m, p + size, size);
    p[size] ^= 0x5a;
    for (int i = 0; i < 16; i++)
        CHECK(ward_malloc(size) != NULL);
}

/* A whole word of program data written over a free block's link. */
static void write_after_free_into_link(misuse_t *m)
{
    const size_t size = 416;
    unsigned char *p = ward_malloc(size);
    CHECK(p != NULL);
    unsigned char *next_free = p + size;
    expect_at(m, next_free, size);
    memset(next_free, 0, sizeof(void *));
    for (int i = 0; i < 16; i++)
        CHECK(ward_malloc(size) != NULL);
}

/* ---- the same paths without the bug: ward must stay silent ---- */

static void clean_churn(misuse_t *m)
{
    unsigned char *p = small_block(m);
    ward_free(p);
    churn(SMALL);
    void *large = ward_malloc(300 * KiB), *huge = ward_malloc(8 * MiB);
    CHECK(large != NULL && huge != NULL);
    ward_free(large);
    ward_free(huge);
    churn(300 * KiB);
}

static void clean_cross_thread(misuse_t *m)
{
    run_with_owner(m, OWNER_KEEPS, 1);
}

static void clean_heap(misuse_t *m)
{
    heap_double_free(m, 1);
}

/* Aligned blocks may start inside a larger internal block: freeing,
 * resizing and measuring them is not an interior-pointer error. */
static void clean_aligned(misuse_t *m)
{
    (void)m;
    for (size_t alignment = 16; alignment <= 4 * MiB; alignment *= 2) {
        const size_t sizes[] = {1, 100, alignment / 2 + 1, alignment + 1, 200 * KiB};
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            void *p = ward_aligned_alloc(alignment, sizes[s]);
            void *q = NULL;
            CHECK(p != NULL && ward_posix_memalign(&q, alignment, sizes[s]) == 0);
            CHECK(ward_usable_size(p) >= sizes[s] && ward_usable_size(q) >= sizes[s]);
            q = ward_realloc(q, sizes[s] * 2);
            CHECK(q != NULL);
            ward_free(p);
            ward_free(q);
        }
    }
    churn(SMALL);
}

typedef struct death_case_s {
    const char *name;
    void (*scenario)(misuse_t *m);
    const char *operation; /* NULL: must exit cleanly */
    const char *errors;
} death_case_t;

static const death_case_t cases[] = {
    {"free_stack", free_stack, "free", "not allocated by ward"},
    {"free_static", free_static, "free", "not allocated by ward"},
    {"free_foreign_mapping", free_foreign_mapping, "free", "not allocated by ward"},
    {"free_foreign_aligned", free_foreign_aligned, "free", "not allocated by ward"},
    {"free_interior_small", free_interior_small, "free", "interior pointer"},
    {"free_interior_large", free_interior_large, "free", "interior pointer"},
    {"free_interior_huge", free_interior_huge, "free", "interior pointer"},
    {"realloc_stack", realloc_stack, "realloc", "not allocated by ward"},
    {"realloc_foreign_mapping", realloc_foreign_mapping, "realloc", "not allocated by ward"},
    {"realloc_interior", realloc_interior, "realloc", "interior pointer"},
    {"usable_size_foreign", usable_size_foreign, "usable_size", "not allocated by ward"},
    {"usable_size_interior", usable_size_interior, "usable_size", "interior pointer"},
    {"double_free_small", double_free_small, "free", "double free"},
    {"double_free_small_busy_page", double_free_small_busy_page, "free", "double free"},
    {"double_free_large", double_free_large, "free", "double free"},
    /* once a huge block's mapping is gone, ward may no longer know it was one */
    {"double_free_huge", double_free_huge, "free", "double free|not allocated by ward"},
    {"double_free_aligned", double_free_aligned, "free", "double free"},
    {"double_free_cross_thread", double_free_cross_thread, "free", "double free"},
    {"double_free_remote_after_local", double_free_remote_after_local, "free", "double free"},
    {"double_free_heap", double_free_heap, "free", "double free"},
    {"double_free_local_after_remote", double_free_local_after_remote, "free", "double free"},
    {"double_free_remote_while_reused", double_free_remote_while_reused, "free", "double free"},
    {"double_free_after_write_after_free", double_free_after_write_after_free, "free", "double free"},
    {"double_free_hidden_by_reuse", double_free_hidden_by_reuse, "free", "double free"},
    {"write_after_free_into_cached_block", write_after_free_into_cached_block, "free", "write after free"},
    {"free_sized_small_wrong", free_sized_small_wrong, "free_sized", "size mismatch (40 bytes named)"},
    {"free_sized_too_big", free_sized_too_big, "free_sized", "size mismatch (65 bytes named)"},
    {"free_sized_large_wrong", free_sized_large_wrong, "free_sized", "size mismatch"},
    {"free_sized_huge_wrong", free_sized_huge_wrong, "free_sized", "size mismatch"},
    {"free_aligned_sized_wrong", free_aligned_sized_wrong, "free_aligned_sized", "size mismatch"},
    {"overflow_into_free_link", overflow_into_free_link, "heap", "free-list link overwritten"},
    {"write_after_free_into_link", write_after_free_into_link, "heap", "free-list link overwritten"},
    {"clean_churn", clean_churn, NULL, NULL},
    {"clean_cross_thread", clean_cross_thread, NULL, NULL},
    {"clean_heap", clean_heap, NULL, NULL},
    {"clean_aligned", clean_aligned, NULL, NULL},
};

static misuse_t *shared_misuse;

static void run_case_in_child(void *arg)
{
    const death_case_t *c = arg;
    c->scenario(shared_misuse);
}

static int run_case(const death_case_t *c)
{
    death_result_t result;
    death_run(run_case_in_child, (void *)c, &result);
    bool ok = c->operation == NULL
                  ? death_expect_clean(&result)
                  : death_expect_fatal(&result, c->operation, c->errors, shared_misuse->address,
                                       shared_misuse->size_class);
    if (!ok) {
        fprintf(stderr, "%s: FAILED\n", c->name);
        return 1;
    }
    if (c->operation == NULL) {
        printf("%s: clean\n", c->name);
    } else {
        const char *line = strstr(result.output, "ward:");
        printf("%s: stopped with: %.*s\n", c->name, (int)strcspn(line, "\n"), line);
    }
    return 0;
}

/* ---- the death-test checks themselves: a check that cannot fail checks nothing ---- */

static void exits_cleanly(void *arg)
{
    (void)arg;
}

static void writes_line_and_aborts(void *arg)
{
    char line[128];
    snprintf(line, sizeof line, "ward: free: double free at %p (size class 48 bytes)\n", arg);
    CHECK(write(STDERR_FILENO, line, strlen(line)) == (ssize_t)strlen(line));
    abort();
}

static void aborts_silently(void *arg)
{
    (void)arg;
    abort();
}

static int check_the_checks(void)
{
    void *address = (void *)(uintptr_t)0x7f00deadbee0;
    death_result_t r;
    fprintf(stderr, "(this self-check prints the mismatches it is meant to find)\n");
    death_run(writes_line_and_aborts, address, &r);
    CHECK(death_expect_fatal(&r, "free", "double free", address, 48));
    CHECK(death_expect_fatal(&r, "free", "interior pointer|double free", address, 0));
    CHECK(!death_expect_fatal(&r, "free", "double free", (char *)address + 1, 48));
    CHECK(!death_expect_fatal(&r, "free", "double free", (void *)(uintptr_t)0x7f00deadbee, 48));
    CHECK(!death_expect_fatal(&r, "realloc", "double free", address, 48));
    CHECK(!death_expect_fatal(&r, "free", "interior pointer", address, 48));
    CHECK(!death_expect_fatal(&r, "free", "double free", address, 64));
    CHECK(!death_expect_clean(&r));
    death_run(aborts_silently, NULL, &r);
    CHECK(r.signal == SIGABRT);
    CHECK(!death_expect_fatal(&r, "free", "double free", address, 0));
    death_run(exits_cleanly, NULL, &r);
    CHECK(r.exit_code == 0 && r.signal == 0);
    CHECK(death_expect_clean(&r));
    CHECK(!death_expect_fatal(&r, "free", "double free", address, 0));
    puts("death-test checks: ok");
    return 0;
}

int main(int argc, char **argv)
{
    shared_misuse = mmap(NULL, sizeof *shared_misuse, PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(shared_misuse != MAP_FAILED);
    if (argc < 2)
        return check_the_checks();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (strcmp(argv[1], cases[i].name) != 0)
            continue;
        /* These overwrite the core's free-list links, which the
         * diagnostics' blocks do not sit next to, or count on how many
         * blocks of a class fill a page. */
        if (test_diagnostics_on() &&
            (strstr(cases[i].name, "_link") != NULL || strcmp(cases[i].name, "double_free_hidden_by_reuse") == 0))
            test_skip("the diagnostics lay blocks out their own way");
        return run_case(&cases[i]);
    }
    fprintf(stderr, "unknown case %s; the cases are:\n", argv[1]);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        fprintf(stderr, "  %s\n", cases[i].name);
    return 2;
}
