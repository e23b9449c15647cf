/*
 * region_pool_fuzz.c - libFuzzer target: the input is a stream of
 * operations applied to one region of every policy and to three pools
 * (growing, growing with canaries, fixed in caller memory).  Each operation
 * is checked against a model of what is held (sizes, contents, alignment)
 * and followed by ward_region_check / ward_pool_check on its target.  Any
 * broken invariant, changed byte or fatal stop is a finding.
 *
 * Input: byte 0 picks the regions' initial size, then operations:
 *   op byte: target = op % TARGETS, kind = op / TARGETS; operands follow.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward.h"

#define BUFFER (64 * 1024)
#define SLOTS 32
#define POOLS 3
#define TARGETS (WARD_FIT_COUNT_ + POOLS)

typedef struct held_s {
    unsigned char *p;
    size_t n;
    unsigned char fill;
} held_t;

typedef struct region_target_s {
    _Alignas(16) unsigned char memory[2][BUFFER]; /* the region lives in one, moves to the other */
    int side;
    size_t used_to;      /* bytes of memory[side] given to the region so far */
    ward_region_t *region;
    held_t held[SLOTS];
} region_target_t;

typedef struct pool_target_s {
    ward_pool_t *pool;
    size_t block_size;
    held_t held[SLOTS];
} pool_target_t;

static region_target_t regions[WARD_FIT_COUNT_];
static pool_target_t pools[POOLS];
static _Alignas(16) unsigned char pool_memory[16384];

typedef struct input_s {
    const uint8_t *data;
    size_t size, at;
} input_t;

static unsigned next_byte(input_t *in) { return in->at < in->size ? in->data[in->at++] : 0; }

static size_t next_size(input_t *in)
{
    unsigned a = next_byte(in), b = next_byte(in);
    switch (a >> 6) {
    case 0: return b & 31;
    case 1: return ((a & 63) << 8 | b) & 1023;
    case 2: return ((a & 63) << 8 | b);
    default: return (size_t)((a & 63) << 8 | b) << 2;
    }
}

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "finding: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

static void fill(held_t *h)
{
    for (size_t i = 0; i < h->n; i++)
        h->p[i] = (unsigned char)(h->fill + i);
}

static void verify(const held_t *h)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->p[i] != (unsigned char)(h->fill + i))
            fail("a held block changed", NULL);
}

static void check_region(const region_target_t *t)
{
    const char *problem = NULL;
    if (!ward_region_check(t->region, &problem))
        fail("region check", problem);
}

static void check_pool(const pool_target_t *t)
{
    const char *problem = NULL;
    if (!ward_pool_check(t->pool, &problem))
        fail("pool check", problem);
}

static void region_op(region_target_t *t, unsigned kind, input_t *in)
{
    held_t *h = &t->held[next_byte(in) % SLOTS];
    switch (kind % 6) {
    case 0:
    case 1: { /* allocate, plain or aligned, into an empty slot */
        if (h->p)
            break;
        size_t alignment = kind % 6 == 1 ? (size_t)1 << (next_byte(in) % 14) : 0;
        size_t n = next_size(in);
        void *p = alignment ? ward_region_aligned_alloc(t->region, alignment, n) : ward_region_malloc(t->region, n);
        if (!p) {
            if (errno != ENOMEM)
                fail("allocation failed without ENOMEM", NULL);
            break;
        }
        if ((uintptr_t)p % WARD_REGION_ALIGN || (alignment && (uintptr_t)p % alignment))
            fail("misaligned block", NULL);
        if (ward_region_usable_size(t->region, p) < n)
            fail("usable size below the request", NULL);
        *h = (held_t){p, n, (unsigned char)next_byte(in)};
        fill(h);
        break;
    }
    case 2: { /* realloc */
        if (!h->p)
            break;
        verify(h);
        size_t n = next_size(in);
        unsigned char *q = ward_region_realloc(t->region, h->p, n);
        if (n == 0) {
            if (q)
                fail("realloc to 0 returned a block", NULL);
            h->p = NULL;
            break;
        }
        if (!q) {
            if (errno != ENOMEM)
                fail("realloc failed without ENOMEM", NULL);
            verify(h);
            break;
        }
        size_t kept = h->n < n ? h->n : n;
        for (size_t i = 0; i < kept; i++)
            if (q[i] != (unsigned char)(h->fill + i))
                fail("realloc lost bytes", NULL);
        h->p = q;
        h->n = n;
        fill(h);
        break;
    }
    case 3:
    case 4: /* free */
        if (h->p) {
            verify(h);
            ward_region_free(t->region, h->p);
            h->p = NULL;
        }
        break;
    default:
        if (next_byte(in) & 1) { /* more memory, from the rest of the same buffer */
            size_t n = 64 + next_size(in);
            size_t start = (t->used_to + 15) & ~(size_t)15;
            if (start + n <= BUFFER && ward_region_add(t->region, t->memory[t->side] + start, n) == 0)
                t->used_to = start + n;
        } else { /* move everything to the other buffer */
            unsigned char *from = t->memory[t->side], *to = t->memory[!t->side];
            memcpy(to, from, BUFFER);
            t->side = !t->side;
            t->region = (ward_region_t *)to;
            for (int i = 0; i < SLOTS; i++)
                if (t->held[i].p)
                    t->held[i].p = to + (t->held[i].p - from);
        }
    }
    check_region(t);
}

static void pool_op(pool_target_t *t, unsigned kind, input_t *in)
{
    held_t *h = &t->held[next_byte(in) % SLOTS];
    if (kind % 2 == 0) {
        if (h->p)
            return;
        size_t n = next_size(in);
        void *p = ward_pool_get(t->pool, n);
        if (!p) {
            if (errno != (n > t->block_size ? EINVAL : ENOMEM))
                fail("pool get failed with the wrong errno", NULL);
        } else {
            if (n > t->block_size)
                fail("pool gave an oversize buffer", NULL);
            *h = (held_t){p, t->block_size, (unsigned char)next_byte(in)};
            fill(h);
        }
    } else if (h->p) {
        verify(h);
        ward_pool_put(t->pool, h->p);
        h->p = NULL;
    }
    check_pool(t);
}

static void setup(unsigned size_choice)
{
    static const size_t sizes[] = {1024, 4096, 8192, 32768};
    for (int fit = 0; fit < WARD_FIT_COUNT_; fit++) {
        region_target_t *t = &regions[fit];
        memset(t->held, 0, sizeof t->held);
        t->side = 0;
        t->used_to = sizes[size_choice % 4];
        if (t->used_to < ward_region_min_size((ward_fit_t)fit))
            t->used_to = ward_region_min_size((ward_fit_t)fit);
        t->region = ward_region_init(t->memory[0], t->used_to, (ward_fit_t)fit, 0);
        if (!t->region)
            fail("region init", ward_fit_name((ward_fit_t)fit));
    }
    static const size_t blocks[POOLS] = {48, 200, 64};
    pools[0].pool = ward_pool_new(blocks[0], WARD_POOL_QUIET);
    pools[1].pool = ward_pool_new(blocks[1], WARD_POOL_QUIET | WARD_POOL_DEBUG);
    pools[2].pool = ward_pool_init(pool_memory, sizeof pool_memory, blocks[2], WARD_POOL_QUIET);
    for (int i = 0; i < POOLS; i++) {
        if (!pools[i].pool)
            fail("pool creation", NULL);
        pools[i].block_size = blocks[i];
        memset(pools[i].held, 0, sizeof pools[i].held);
    }
}

static void teardown(void)
{
    for (int fit = 0; fit < WARD_FIT_COUNT_; fit++) {
        region_target_t *t = &regions[fit];
        for (int i = 0; i < SLOTS; i++)
            if (t->held[i].p) {
                verify(&t->held[i]);
                ward_region_free(t->region, t->held[i].p);
            }
        check_region(t);
        ward_region_stats_t stats;
        if (ward_region_stats(t->region, &stats) || stats.used || stats.used_blocks)
            fail("region not empty after freeing everything", ward_fit_name((ward_fit_t)fit));
    }
    for (int p = 0; p < POOLS; p++) {
        for (int i = 0; i < SLOTS; i++)
            if (pools[p].held[i].p)
                ward_pool_put(pools[p].pool, pools[p].held[i].p);
        if (ward_pool_outstanding(pools[p].pool))
            fail("pool buffers outstanding after putting everything back", NULL);
        check_pool(&pools[p]);
        ward_pool_destroy(pools[p].pool);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input_t in = {data, size, 0};
    setup(next_byte(&in));
    while (in.at < in.size) {
        unsigned op = next_byte(&in);
        unsigned target = op % TARGETS, kind = op / TARGETS;
        if (target < WARD_FIT_COUNT_)
            region_op(&regions[target], kind, &in);
        else
            pool_op(&pools[target - WARD_FIT_COUNT_], kind, &in);
    }
    teardown();
    return 0;
}
