/*
 * death.c - every misuse a region claims to catch stops the program with
 * SIGABRT and one line naming it: double free (plain and aligned blocks),
 * a pointer from elsewhere, an interior pointer, an overwritten header, a
 * handle that is not a region, and free through a NULL region.
 */
#include "region/harness.h"

static _Alignas(16) unsigned char memory[16384];
static ward_fit_t fit;

static ward_region_t *fresh(void)
{
    ward_region_t *region = ward_region_init(memory, sizeof memory, fit, 0);
    CHECK(region != NULL);
    return region;
}

static void double_free(void *arg)
{
    (void)arg;
    ward_region_t *region = fresh();
    void *p = ward_region_malloc(region, 100);
    void *keep = ward_region_malloc(region, 100);
    (void)keep;
    ward_region_free(region, p);
    ward_region_free(region, p);
}

static void double_free_merged(void *arg)
{
    (void)arg;
    ward_region_t *region = fresh();
    void *a = ward_region_malloc(region, 100);
    void *b = ward_region_malloc(region, 100);
    ward_region_free(region, a);
    ward_region_free(region, b); /* b merges into a */
    ward_region_free(region, b);
}

static void double_free_aligned(void *arg)
{
    (void)arg;
    ward_region_t *region = fresh();
    void *p = ward_region_aligned_alloc(region, 256, 100);
    ward_region_free(region, p);
    ward_region_free(region, p);
}

static void foreign_pointer(void *arg)
{
    (void)arg;
    static _Alignas(16) unsigned char elsewhere[64];
    ward_region_free(fresh(), elsewhere + 16);
}

static void interior_pointer(void *arg)
{
    (void)arg;
    ward_region_t *region = fresh();
    unsigned char *p = ward_region_malloc(region, 256);
    memset(p, 0, 256);
    ward_region_free(region, p + 64);
}

static void overwritten_header(void *arg)
{
    (void)arg;
    ward_region_t *region = fresh();
    unsigned char *p = ward_region_malloc(region, 64);
    memset(p - 8, 0x41, 8); /* an underflow over the header */
    ward_region_free(region, p);
}

static void not_a_region(void *arg)
{
    (void)arg;
    static _Alignas(16) unsigned char junk[4096];
    memset(junk, 0x33, sizeof junk);
    ward_region_malloc((ward_region_t *)junk, 8);
}

static void null_region(void *arg)
{
    (void)arg;
    ward_region_free(NULL, memory + 64);
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*body)(void *);
        const char *message;
    } cases[] = {
        {"double free", double_free, "region: double free at 0x"},
        {"double free after merging", double_free_merged, "region: double free"},
        {"double free of an aligned block", double_free_aligned, "region: double free"},
        {"pointer from elsewhere", foreign_pointer, "region: pointer not from this region"},
        {"interior pointer", interior_pointer, "region: invalid pointer"},
        {"overwritten header", overwritten_header, "region: invalid pointer"},
        {"not a region handle", not_a_region, "region: not a region handle"},
        {"free with a NULL region", null_region, "region: free with a NULL region"},
    };
    int failed = 0;
    for (int f = 0; f < WARD_FIT_COUNT_; f++) {
        if (argc > 1 && f != fit_from_name(argv[1]))
            continue;
        fit = (ward_fit_t)f;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            char name[96];
            snprintf(name, sizeof name, "%s: %s", ward_fit_name(fit), cases[i].name);
            failed += !death_test(name, cases[i].body, NULL, cases[i].message);
        }
    }
    return failed ? 1 : 0;
}
