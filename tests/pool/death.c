/*
 * death.c - every pool misuse ward claims to catch stops the program with
 * SIGABRT and one line naming it: a double put (growing, fixed and
 * caller-memory pools), a pointer from elsewhere or from another pool, an
 * interior pointer, an overwritten canary (flag, WARD_DEBUG=1 and the
 * option), a put
 * with a NULL pool, and a handle that is not a pool.
 */
#include "region/harness.h"

static void double_put(void *arg)
{
    ward_pool_t *pool = ward_pool_new(64, (unsigned)(uintptr_t)arg);
    void *p = ward_pool_get(pool, 64);
    ward_pool_put(pool, p);
    ward_pool_put(pool, p);
}

static void double_put_caller_memory(void *arg)
{
    (void)arg;
    static _Alignas(16) unsigned char memory[4096];
    ward_pool_t *pool = ward_pool_init(memory, sizeof memory, 64, 0);
    void *p = ward_pool_get(pool, 64);
    ward_pool_put(pool, p);
    ward_pool_put(pool, p);
}

static void foreign_pointer(void *arg)
{
    (void)arg;
    ward_pool_t *pool = ward_pool_new(64, 0);
    (void)ward_pool_get(pool, 64);
    static _Alignas(16) char elsewhere[64];
    ward_pool_put(pool, elsewhere);
}

/*
 * A growing pool finds a buffer's chunk by masking its address; a pointer
 * between two chunks may lie in a hole where nothing is mapped.  The pool
 * must name the error, not fault reading a chunk header there.
 */
static void pointer_in_hole_between_chunks(void *arg)
{
    (void)arg;
    const size_t block = 64 * 1024;
    ward_pool_config_t config = {.block_size = block, .chunk_buffers = 60};
    ward_pool_t *pool = ward_pool_new_ex(&config);
    CHECK(pool != NULL);
    ward_pool_stats_t stats;
    CHECK(ward_pool_stats(pool, &stats) == 0);
    uintptr_t low = UINTPTR_MAX, high = 0;
    char *hole = NULL;
    for (size_t i = 0; i < 200; i++) {
        if (i == 100) { /* between the chunks: a block that is then unmapped */
            hole = ward_malloc(32 << 20);
            CHECK(hole != NULL);
        }
        uintptr_t p = (uintptr_t)ward_pool_get(pool, block);
        CHECK(p != 0);
        low = p < low ? p : low;
        high = p > high ? p : high;
    }
    ward_free(hole);
    if ((uintptr_t)hole < low || (uintptr_t)hole > high)
        fprintf(stderr, "(the hole landed outside the pool's span in this layout)\n");
    ward_pool_put(pool, hole + (4 << 20));
}

static void other_pool(void *arg)
{
    (void)arg;
    ward_pool_t *a = ward_pool_new(64, 0), *b = ward_pool_new(64, 0);
    void *p = ward_pool_get(a, 64);
    (void)ward_pool_get(b, 64);
    ward_pool_put(b, p);
}

static void interior_pointer(void *arg)
{
    (void)arg;
    ward_pool_t *pool = ward_pool_new(64, 0);
    char *p = ward_pool_get(pool, 64);
    ward_pool_put(pool, p + 8);
}

static void canary_flag(void *arg)
{
    (void)arg;
    ward_pool_t *pool = ward_pool_new(40, WARD_POOL_DEBUG);
    char *p = ward_pool_get(pool, 40);
    /* One byte too many, of a value the canary's first byte does not have
     * (a fixed value matches the random canary one time in 256). */
    memset(p, ~p[40], 41);
    ward_pool_put(pool, p);
}

static void canary_environment(void *arg)
{
    (void)arg;
    setenv("WARD_DEBUG", "1", 1); /* before the first pool: read once */
    ward_pool_t *pool = ward_pool_new(40, 0);
    char *p = ward_pool_get(pool, 40);
    p[40] ^= 1;
    ward_pool_put(pool, p);
}

static void canary_option(void *arg)
{
    (void)arg;
    ward_free(ward_malloc(1)); /* the core reads its options at its first use */
    CHECK(ward_option_set(WARD_OPTION_DEBUG, 1) == 0);
    ward_pool_t *pool = ward_pool_new(100, 0);
    char *p = ward_pool_get(pool, 100);
    p[103] = (char)~p[103]; /* a byte of the canary, changed whatever it was */
    ward_pool_put(pool, p);
}

static void null_pool(void *arg)
{
    (void)arg;
    static char buffer[16];
    ward_pool_put(NULL, buffer);
}

static void not_a_pool(void *arg)
{
    (void)arg;
    static _Alignas(16) unsigned char junk[1024];
    memset(junk, 0x5c, sizeof junk);
    ward_pool_get((ward_pool_t *)junk, 1);
}

int main(void)
{
    static const struct {
        const char *name;
        void (*body)(void *);
        void *arg;
        const char *message;
    } cases[] = {
        {"double put (growing)", double_put, (void *)0, "pool: double put at 0x"},
        {"double put (fixed)", double_put, (void *)(uintptr_t)WARD_POOL_FIXED, "pool: double put"},
        {"double put (caller memory)", double_put_caller_memory, NULL, "pool: double put"},
        {"pointer from elsewhere", foreign_pointer, NULL, "pool: pointer not from this pool"},
        {"buffer of another pool", other_pool, NULL, "pool: pointer not from this pool"},
        {"pointer in a hole between chunks", pointer_in_hole_between_chunks, NULL,
         "pool: pointer not from this pool"},
        {"interior pointer", interior_pointer, NULL, "pool: interior pointer"},
        {"canary (WARD_POOL_DEBUG)", canary_flag, NULL, "pool: canary overwritten"},
        {"canary (WARD_DEBUG=1)", canary_environment, NULL, "pool: canary overwritten"},
        {"canary (WARD_OPTION_DEBUG)", canary_option, NULL, "pool: canary overwritten"},
        {"put with a NULL pool", null_pool, NULL, "pool: put with a NULL pool"},
        {"not a pool handle", not_a_pool, NULL, "pool: not a pool handle"},
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        failed += !death_test(cases[i].name, cases[i].body, cases[i].arg, cases[i].message);
    return failed ? 1 : 0;
}
