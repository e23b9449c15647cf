/*
 * ward_aligned_alloc and ward_posix_memalign: every power-of-two alignment up
 * to 4 MiB with sizes below, at and above it; EINVAL for alignments that are
 * not powers of two (and, for posix_memalign, below sizeof(void *)); ENOMEM
 * for sizes above PTRDIFF_MAX; *out untouched on failure.
 */
#include <stdint.h>

#include "common/check.h"
#include "ward.h"

#define MAX_ALIGNMENT ((size_t)4 * 1024 * 1024)

static void use_block(unsigned char *p, size_t n)
{
    if (n == 0)
        return;
    p[0] = 1;
    p[n / 2] = 2;
    p[n - 1] = 3;
}

static void expect_aligned_block(void *p, size_t alignment, size_t n, const char *how)
{
    CHECKF(p != NULL, "%s(alignment %zu, %zu bytes)", how, alignment, n);
    CHECKF((uintptr_t)p % alignment == 0, "%s(alignment %zu, %zu bytes) = %p", how, alignment, n, p);
    CHECKF(((uintptr_t)p & 15) == 0, "%s: %p is not aligned to 16", how, p);
    CHECKF(ward_usable_size(p) >= n, "%s(alignment %zu, %zu bytes): usable %zu", how, alignment, n,
           ward_usable_size(p));
    use_block(p, n);
}

/* Several blocks of every alignment are live at once: each must be aligned
 * on its own, not just the first one of a fresh page or mapping. */
static void test_every_alignment(void)
{
    for (size_t alignment = 1; alignment <= MAX_ALIGNMENT; alignment *= 2) {
        const size_t sizes[] = {1, 8, 24, alignment - 1, alignment, alignment + 1, 3 * alignment,
                                100000, 300000};
        enum { COUNT = sizeof sizes / sizeof sizes[0], COPIES = 3 };
        void *blocks[COUNT][COPIES];
        for (size_t s = 0; s < COUNT; s++) {
            size_t n = sizes[s] == 0 ? 1 : sizes[s];
            for (int copy = 0; copy < COPIES; copy++) {
                if (copy == 1) {
                    void *out = NULL;
                    int error = ward_posix_memalign(&out, alignment < sizeof(void *) ? sizeof(void *)
                                                                                    : alignment, n);
                    CHECKF(error == 0, "ward_posix_memalign(alignment %zu, %zu bytes) = %d",
                           alignment, n, error);
                    blocks[s][copy] = out;
                    expect_aligned_block(out, alignment, n, "ward_posix_memalign");
                } else {
                    blocks[s][copy] = ward_aligned_alloc(alignment, n);
                    expect_aligned_block(blocks[s][copy], alignment, n, "ward_aligned_alloc");
                }
            }
        }
        for (size_t s = 0; s < COUNT; s++) {
            for (int copy = 0; copy < COPIES; copy++)
                ward_free(blocks[s][copy]);
        }
    }
}

/* Mixed with ordinary allocations, so aligned blocks come from pages that
 * already serve other blocks. */
static void test_interleaved(void)
{
    enum { ROUNDS = 2000 };
    static void *plain[ROUNDS], *aligned[ROUNDS];
    uint64_t random_state = 12345;
    for (int i = 0; i < ROUNDS; i++) {
        plain[i] = ward_malloc(1 + test_random(&random_state) % 300);
        CHECK(plain[i] != NULL);
        size_t alignment = (size_t)1 << (test_random(&random_state) % 13);
        size_t n = 1 + test_random(&random_state) % 2000;
        aligned[i] = ward_aligned_alloc(alignment, n);
        expect_aligned_block(aligned[i], alignment, n, "ward_aligned_alloc");
    }
    for (int i = 0; i < ROUNDS; i++) {
        ward_free(plain[i]);
        ward_free(aligned[i]);
    }
}

static void test_invalid_alignment(void)
{
    const size_t not_powers_of_two[] = {0, 3, 24, 48, 100, 4095, 4097, (size_t)3 << 20, SIZE_MAX};
    for (size_t i = 0; i < sizeof not_powers_of_two / sizeof not_powers_of_two[0]; i++) {
        size_t alignment = not_powers_of_two[i];
        errno = 0;
        CHECKF(ward_aligned_alloc(alignment, 64) == NULL, "ward_aligned_alloc(%zu, 64)", alignment);
        CHECKF(errno == EINVAL, "ward_aligned_alloc(%zu, 64): errno %d", alignment, errno);
        void *out = &out;
        CHECKF(ward_posix_memalign(&out, alignment, 64) == EINVAL, "ward_posix_memalign(%zu)",
               alignment);
        CHECK(out == &out);
    }
    /* POSIX also wants a multiple of sizeof(void *) */
    for (size_t alignment = 1; alignment < sizeof(void *); alignment *= 2) {
        void *out = &out;
        CHECKF(ward_posix_memalign(&out, alignment, 64) == EINVAL, "ward_posix_memalign(%zu)",
               alignment);
        CHECK(out == &out);
    }
}

static void test_too_large(void)
{
    const size_t alignments[] = {16, 4096, MAX_ALIGNMENT};
    const size_t sizes[] = {(size_t)PTRDIFF_MAX + 1, SIZE_MAX, SIZE_MAX - 4096};
    for (size_t a = 0; a < 3; a++) {
        for (size_t s = 0; s < 3; s++) {
            errno = 0;
            CHECKF(ward_aligned_alloc(alignments[a], sizes[s]) == NULL, "ward_aligned_alloc(%zu, %zu)",
                   alignments[a], sizes[s]);
            CHECK(errno == ENOMEM);
            void *out = &out;
            CHECK(ward_posix_memalign(&out, alignments[a], sizes[s]) == ENOMEM);
            CHECK(out == &out);
        }
    }
}

static void test_zero_size(void)
{
    void *p = ward_aligned_alloc(64, 0);
    CHECK(p != NULL);
    CHECK((uintptr_t)p % 64 == 0);
    ward_free(p);
    void *out = NULL;
    CHECK(ward_posix_memalign(&out, 256, 0) == 0);
    CHECK(out != NULL && (uintptr_t)out % 256 == 0);
    ward_free(out);
}

/* Alignments above a segment (4 MiB) up to 1 GiB: the block's own mapping
 * must be aligned to the request, not just to a segment.  Only address
 * space is reserved for the alignment; a few pages are touched. */
static void test_alignment_beyond_segment(void)
{
    for (size_t alignment = (size_t)8 << 20; alignment <= ((size_t)1 << 30); alignment <<= 1) {
        unsigned char *p = ward_aligned_alloc(alignment, 100);
        expect_aligned_block(p, alignment, 100, "ward_aligned_alloc");
        memset(p, 0x5a, 100);
        void *q = NULL;
        CHECK(ward_posix_memalign(&q, alignment, 5000) == 0);
        expect_aligned_block(q, alignment, 5000, "ward_posix_memalign");
        ward_free(q);
        ward_free(p);
    }
}

int main(void)
{
    test_invalid_alignment();
    test_too_large();
    test_zero_size();
    test_every_alignment();
    test_alignment_beyond_segment();
    test_interleaved();
    puts("ok");
    return 0;
}
