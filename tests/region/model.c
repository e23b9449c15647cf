/*
 * model.c - the seeded random model test: a stream of malloc, aligned
 * allocation, realloc and free on one policy, checked against a model of
 * what the program holds (sizes, contents, alignment, no overlap) and with
 * ward_region_check after every operation.  Memory is added halfway.
 *
 * usage: region_model <policy> [seed]      WARD_STRESS=N runs N times longer
 */
#include <errno.h>

#include "region/harness.h"

#define REGION_BYTES (96 * 1024)
#define EXTRA_BYTES (32 * 1024)
#define GUARD 64
#define SLOTS 256

typedef struct slot_s {
    unsigned char *p;
    size_t n;
    size_t alignment;
    unsigned char fill;
} slot_t;

static _Alignas(64) unsigned char memory[GUARD + REGION_BYTES + GUARD];
static _Alignas(64) unsigned char extra[GUARD + EXTRA_BYTES + GUARD];

static size_t pick_size(rng_t *rng)
{
    switch (rng_below(rng, 8)) {
    case 0:
        return 0;
    case 1:
    case 2:
    case 3:
        return (size_t)rng_below(rng, 64);
    case 4:
    case 5:
        return (size_t)rng_below(rng, 1024);
    case 6:
        return (size_t)rng_below(rng, 4096);
    default:
        return (size_t)rng_below(rng, 16384);
    }
}

static void verify(const slot_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->p[i] != (unsigned char)(s->fill + i)) {
            fprintf(stderr, "block %p of %zu bytes changed at byte %zu\n", (void *)s->p, s->n, i);
            exit(1);
        }
}

static void fill(slot_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        s->p[i] = (unsigned char)(s->fill + i);
}

static void guards_intact(const unsigned char *buffer, size_t inner)
{
    for (size_t i = 0; i < GUARD; i++)
        CHECK(buffer[i] == 0xa5 && buffer[GUARD + inner + i] == 0xa5);
}

static void run(ward_fit_t fit, uint64_t seed, unsigned steps)
{
    memset(memory, 0xa5, sizeof memory);
    memset(extra, 0xa5, sizeof extra);
    ward_region_t *region = ward_region_init(memory + GUARD, REGION_BYTES, fit, 0);
    CHECK(region != NULL);
    CHECK_REGION(region);
    slot_t slots[SLOTS] = {{0}};
    size_t requested = 0, live = 0, failures = 0;
    rng_t rng = rng_seeded(seed);

    for (unsigned step = 0; step < steps; step++) {
        if (step == steps / 2) {
            CHECK(ward_region_add(region, extra + GUARD, EXTRA_BYTES) == 0);
        }
        slot_t *s = &slots[rng_below(&rng, SLOTS)];
        unsigned op = (unsigned)rng_below(&rng, 10);
        if (!s->p) {
            size_t n = pick_size(&rng);
            size_t alignment = 0;
            void *p;
            if (op < 2) {
                alignment = (size_t)1 << rng_below(&rng, 13);
                p = ward_region_aligned_alloc(region, alignment, n);
            } else {
                p = ward_region_malloc(region, n);
            }
            if (!p) {
                CHECK(errno == ENOMEM);
                failures++;
            } else {
                CHECK((uintptr_t)p % WARD_REGION_ALIGN == 0);
                CHECK(!alignment || (uintptr_t)p % alignment == 0);
                CHECK(ward_region_usable_size(region, p) >= n);
                *s = (slot_t){p, n, alignment, (unsigned char)rng_next(&rng)};
                fill(s);
                requested += n;
                live++;
            }
        } else if (op < 4) {
            size_t n = pick_size(&rng);
            verify(s);
            if (n == 0) {
                CHECK(ward_region_realloc(region, s->p, 0) == NULL);
                requested -= s->n;
                live--;
                s->p = NULL;
            } else {
                unsigned char *q = ward_region_realloc(region, s->p, n);
                if (!q) {
                    CHECK(errno == ENOMEM);
                    verify(s);
                    failures++;
                } else {
                    size_t kept = s->n < n ? s->n : n;
                    for (size_t i = 0; i < kept; i++)
                        CHECK(q[i] == (unsigned char)(s->fill + i));
                    requested = requested - s->n + n;
                    s->p = q;
                    s->n = n;
                    s->alignment = 0;
                    fill(s);
                }
            }
        } else {
            verify(s);
            ward_region_free(region, s->p);
            requested -= s->n;
            live--;
            s->p = NULL;
        }
        CHECK_REGION(region);
        ward_region_stats_t stats;
        CHECK(ward_region_stats(region, &stats) == 0);
        CHECK(stats.requested == requested && stats.used_blocks == live);
        CHECK(stats.size == stats.overhead + stats.used + stats.free);
    }
    for (unsigned i = 0; i < SLOTS; i++)
        if (slots[i].p) {
            verify(&slots[i]);
            ward_region_free(region, slots[i].p);
        }
    CHECK_REGION(region);
    ward_region_stats_t stats;
    CHECK(ward_region_stats(region, &stats) == 0);
    CHECK(stats.used == 0 && stats.requested == 0 && stats.used_blocks == 0);
    if (fit != WARD_FIT_BUDDY)
        CHECK(stats.free_blocks == 2); /* one whole block per area: everything merged */
    guards_intact(memory, REGION_BYTES);
    guards_intact(extra, EXTRA_BYTES);
    printf("%-6s seed %llu: %u steps, %zu failed requests\n", ward_fit_name(fit), (unsigned long long)seed, steps,
           failures);
}

int main(int argc, char **argv)
{
    unsigned steps = 60000 * stress_scale();
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    for (int fit = 0; fit < WARD_FIT_COUNT_; fit++) {
        if (argc > 1 && fit != fit_from_name(argv[1]))
            continue;
        for (uint64_t round = 0; round < 3; round++)
            run((ward_fit_t)fit, seed + round, steps);
    }
    return 0;
}
