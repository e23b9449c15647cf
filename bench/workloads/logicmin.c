/*
 * logicmin.c - two-level logic minimisation of random Boolean functions.
 *
 * Modelled on "espresso" from the Zorn/Grunwald allocator benchmarks (also in
 * mimalloc-bench): a logic minimiser whose covers are growable arrays of
 * small cube objects, built, merged and thrown away level after level.  The
 * allocation pattern: many 24-byte cubes that live for one or two merge
 * levels, hash tables and pointer arrays that grow by realloc, and short
 * per-minterm lists.
 *
 * The work, per function: its on-set minterms are merged Quine-McCluskey
 * style (two cubes that differ in one cared-for variable make a cube with
 * that variable free) until nothing merges; the cubes that never merged are
 * the prime implicants.  A cover is then chosen: essential primes first,
 * then greedily the prime covering most uncovered minterms.  The chosen
 * cover is checked against the on-set, so a heap that corrupted a cube stops
 * the run.
 *
 * Options: --functions N (default 2500, times --scale).
 */
#include "common.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A product term over up to 32 inputs: variables in `free_mask` do not
 * matter; the others must equal their bit in `value` (value has no bits
 * inside free_mask). */
typedef struct cube {
    uint32_t value;
    uint32_t free_mask;
    struct cube *next_in_bucket;
    bool merged;
} cube_t;

/* A growable array of cubes, as covers are in a logic minimiser. */
typedef struct cover {
    size_t count, capacity;
    cube_t **cubes;
} cover_t;

static void *checked_realloc(void *p, size_t size)
{
    void *q = realloc(p, size);
    if (!q)
        bench_fail("realloc returned NULL");
    return q;
}

static void cover_push(cover_t *cover, cube_t *cube)
{
    if (cover->count == cover->capacity) {
        cover->capacity = cover->capacity ? cover->capacity * 2 : 8;
        cover->cubes = checked_realloc(cover->cubes, cover->capacity * sizeof(cube_t *));
    }
    cover->cubes[cover->count++] = cube;
}

static cube_t *cube_new(uint32_t value, uint32_t free_mask)
{
    cube_t *cube = malloc(sizeof *cube);
    if (!cube)
        bench_fail("malloc returned NULL");
    *cube = (cube_t){.value = value, .free_mask = free_mask};
    return cube;
}

/* A set of cubes keyed by (value, free_mask), chained through the cubes. */
typedef struct cube_set {
    size_t mask;
    cube_t **buckets;
} cube_set_t;

static cube_set_t cube_set_new(size_t expected)
{
    size_t size = 16;
    while (size < expected * 2)
        size *= 2;
    cube_set_t set = {.mask = size - 1, .buckets = calloc(size, sizeof(cube_t *))};
    if (!set.buckets)
        bench_fail("calloc returned NULL");
    return set;
}

static size_t cube_hash(uint32_t value, uint32_t free_mask)
{
    uint64_t key = ((uint64_t)free_mask << 32 | value) * 0x9e3779b97f4a7c15u;
    return (size_t)(key >> 29);
}

static cube_t *cube_set_find(const cube_set_t *set, uint32_t value, uint32_t free_mask)
{
    for (cube_t *c = set->buckets[cube_hash(value, free_mask) & set->mask]; c; c = c->next_in_bucket)
        if (c->value == value && c->free_mask == free_mask)
            return c;
    return NULL;
}

static void cube_set_add(cube_set_t *set, cube_t *cube)
{
    size_t index = cube_hash(cube->value, cube->free_mask) & set->mask;
    cube->next_in_bucket = set->buckets[index];
    set->buckets[index] = cube;
}

/* Merges one level into the next; cubes of `level` that merged with nothing
 * move to `primes`, the others are freed. */
static cover_t merge_level(cover_t *level, cover_t *primes, unsigned inputs)
{
    cube_set_t present = cube_set_new(level->count);
    for (size_t i = 0; i < level->count; i++)
        cube_set_add(&present, level->cubes[i]);

    cover_t next = {0};
    cube_set_t made = cube_set_new(level->count);
    for (size_t i = 0; i < level->count; i++) {
        cube_t *cube = level->cubes[i];
        for (unsigned bit = 0; bit < inputs; bit++) {
            uint32_t variable = 1u << bit;
            if ((cube->free_mask | cube->value) & variable)
                continue; /* only pair the 0 side with its 1 side, once */
            cube_t *partner = cube_set_find(&present, cube->value | variable, cube->free_mask);
            if (!partner)
                continue;
            cube->merged = partner->merged = true;
            if (!cube_set_find(&made, cube->value, cube->free_mask | variable)) {
                cube_t *merged = cube_new(cube->value, cube->free_mask | variable);
                cube_set_add(&made, merged);
                cover_push(&next, merged);
            }
        }
    }
    for (size_t i = 0; i < level->count; i++) {
        if (level->cubes[i]->merged)
            free(level->cubes[i]);
        else
            cover_push(primes, level->cubes[i]);
    }
    free(level->cubes);
    free(present.buckets);
    free(made.buckets);
    return next;
}

/* Runs body with `minterm` set to each minterm the cube covers: each subset of
 * its free variables added to its value. */
#define FOR_EACH_COVERED(cube, minterm, body)                                   \
    do {                                                                        \
        uint32_t subset_ = 0;                                                   \
        do {                                                                    \
            uint32_t minterm = (cube)->value | subset_;                         \
            body;                                                               \
            subset_ = (subset_ - (cube)->free_mask) & (cube)->free_mask;        \
        } while (subset_ != 0);                                                 \
    } while (0)

/* Chooses primes covering every minterm; returns how many were chosen.
 * `index_of` maps a minterm to its position in the on-set, -1 when off. */
static size_t choose_cover(const cover_t *primes, const int32_t *index_of, size_t minterm_count)
{
    /* For every minterm, the primes that cover it (short growable lists). */
    typedef struct choice_list {
        size_t count, capacity;
        uint32_t *prime_index;
    } choice_list_t;
    choice_list_t *choices = calloc(minterm_count, sizeof *choices);
    bool *covered = calloc(minterm_count, sizeof *covered);
    size_t *gain = calloc(primes->count, sizeof *gain);
    if (!choices || !covered || !gain)
        bench_fail("calloc returned NULL");
    for (size_t p = 0; p < primes->count; p++) {
        FOR_EACH_COVERED(primes->cubes[p], minterm, {
            if (index_of[minterm] < 0)
                bench_fail("a prime implicant covers an off minterm: a cube was corrupted");
            choice_list_t *list = &choices[index_of[minterm]];
            if (list->count == list->capacity) {
                list->capacity = list->capacity ? list->capacity * 2 : 2;
                list->prime_index = checked_realloc(list->prime_index, list->capacity * sizeof(uint32_t));
            }
            list->prime_index[list->count++] = (uint32_t)p;
            gain[p]++;
        });
    }

    size_t chosen_count = 0, uncovered = minterm_count;
    /* Taking prime p covers its minterms; each of them no longer adds to the
     * gain of the other primes that cover it. */
#define TAKE_PRIME(p)                                                           \
    do {                                                                        \
        chosen_count++;                                                         \
        FOR_EACH_COVERED(primes->cubes[p], minterm, {                           \
            size_t m_ = (size_t)index_of[minterm];                              \
            if (!covered[m_]) {                                                 \
                covered[m_] = true;                                             \
                uncovered--;                                                    \
                for (size_t k_ = 0; k_ < choices[m_].count; k_++)               \
                    gain[choices[m_].prime_index[k_]]--;                        \
            }                                                                   \
        });                                                                     \
    } while (0)

    /* Essential primes: the only cover of some minterm. */
    for (size_t m = 0; m < minterm_count; m++) {
        if (choices[m].count == 0)
            bench_fail("a minterm has no prime implicant: a cube was corrupted");
        if (choices[m].count == 1 && !covered[m])
            TAKE_PRIME(choices[m].prime_index[0]);
    }
    /* Greedy: the prime that covers most still-uncovered minterms. */
    while (uncovered > 0) {
        size_t best = 0;
        for (size_t p = 1; p < primes->count; p++)
            if (gain[p] > gain[best])
                best = p;
        if (gain[best] == 0)
            bench_fail("uncovered minterms but no prime gains: a list was corrupted");
        TAKE_PRIME(best);
    }
#undef TAKE_PRIME

    for (size_t m = 0; m < minterm_count; m++)
        free(choices[m].prime_index);
    free(gain);
    free(choices);
    free(covered);
    return chosen_count;
}

int main(int argc, char **argv)
{
    bench_config_t config = bench_init(argc, argv, "logicmin", "--functions");
    uint64_t functions = bench_scaled(&config, (uint64_t)bench_option_long("--functions", 2500));
    config.threads = 1;
    bench_rng_t rng = bench_rng_make(config.seed, 0);

    uint64_t total_primes = 0, total_chosen = 0;
    uint64_t start = bench_now_ns();
    for (uint64_t f = 0; f < functions; f++) {
        unsigned inputs = 7 + bench_rng_below(&rng, 4); /* 7 .. 10 inputs */
        uint32_t density = 25 + bench_rng_below(&rng, 30); /* percent of minterms on */
        int32_t *index_of = malloc(((size_t)1 << inputs) * sizeof *index_of);
        if (!index_of)
            bench_fail("malloc returned NULL");
        size_t minterm_count = 0;
        cover_t level = {0};
        for (uint32_t m = 0; m < (1u << inputs); m++) {
            index_of[m] = -1;
            if (bench_rng_below(&rng, 100) < density) {
                index_of[m] = (int32_t)minterm_count++;
                cover_push(&level, cube_new(m, 0));
            }
        }
        if (minterm_count == 0) {
            free(level.cubes);
            free(index_of);
            continue;
        }

        cover_t primes = {0};
        while (level.count > 0)
            level = merge_level(&level, &primes, inputs);
        free(level.cubes);

        total_primes += primes.count;
        total_chosen += choose_cover(&primes, index_of, minterm_count);
        for (size_t i = 0; i < primes.count; i++)
            free(primes.cubes[i]);
        free(primes.cubes);
        free(index_of);
    }
    uint64_t elapsed = bench_now_ns() - start;

    bench_sink = total_chosen;
    bench_extra("check_primes", (double)total_primes);
    return bench_report(&config, elapsed, functions);
}
