/*
 * size_class.c - the class table, computed at compile time from the rule
 * in size_class.h and checked by static assertions.
 */
#include "page/size_class.h"

#include "segment/layout.h"
#include "ward.h"

#define STEP(i) (16u * ((i) + 1))
#define STEPS4(i) STEP(i), STEP((i) + 1), STEP((i) + 2), STEP((i) + 3)
/* Class 32 + 4k + j: 2^(9 + k) + (j + 1) * 2^(7 + k). */
#define DOUBLING(k) (1u << (9 + (k))) + (1u << (7 + (k))), (1u << (9 + (k))) + (2u << (7 + (k))), \
                    (1u << (9 + (k))) + (3u << (7 + (k))), (1u << (10 + (k)))

const uint32_t _ward_class_size[WARD_CLASS_COUNT] = {
    STEPS4(0),   STEPS4(4),   STEPS4(8),   STEPS4(12), STEPS4(16), STEPS4(20), STEPS4(24), STEPS4(28),
    DOUBLING(0), DOUBLING(1), DOUBLING(2), DOUBLING(3), DOUBLING(4), DOUBLING(5), DOUBLING(6), DOUBLING(7),
};

/*
 * Page size per class: the fewest slices that hold at least three blocks
 * (one block above 64 KiB, which one slice cannot hold) and leave at most
 * an eighth of the page past the last block.  Up to 8 KiB that is one slice.
 * Few blocks a page matter for the resident set: a page goes back only when
 * all its blocks are free, and each heap keeps its own pages, so with 4 to 8
 * blocks of 80-128 KiB a page the pages of a program's big blocks were 40 %
 * empty (rptest-like `lifetimes`: 6 MiB of 117 MiB went with the smaller
 * pages).  Fewer than three blocks a page for the sizes a program churns
 * costs a page switch on nearly every cache miss (4 % on `churn-wide`).
 * Listed here so the fast path reads a constant table; init checks it
 * against the rule (slices_by_rule).
 */
const uint8_t _ward_class_slices[WARD_CLASS_COUNT] = {
    1, 1, 1, 1, 1, 1, 1, 1, /* 16 .. 128 */
    1, 1, 1, 1, 1, 1, 1, 1, /* 144 .. 256 */
    1, 1, 1, 1, 1, 1, 1, 1, /* 272 .. 384 */
    1, 1, 1, 1, 1, 1, 1, 1, /* 400 .. 512 */
    1, 1, 1, 1, 1, 1, 1, 1, /* 640 .. 2048 */
    1, 1, 1, 1, 1, 1, 1, 1, /* 2560 .. 8192 */
    1, 1, 1, 1,             /* 10240 .. 16384 */
    1, 2, 2, 2,             /* 20480 .. 32768 */
    2, 3, 3, 3,             /* 40960 .. 65536 */
    4, 3, 2, 2,             /* 81920 .. 131072 */
};

_Static_assert(STEP(31) == 512, "16-byte steps end at 512");
_Static_assert(WARD_CLASS_COUNT <= 64, "a 64-bit mask has a bit per class (remote_classes)");
_Static_assert(WARD_CLASS_COUNT <= WARD_STATS_CLASSES, "ward_stats_t has an entry per class");
_Static_assert((1u << (10 + 7)) == WARD_SMALL_MAX, "the last class is WARD_SMALL_MAX");

uint64_t _ward_class_reciprocal[WARD_CLASS_COUNT];
uint8_t _ward_class_of[WARD_CLASS_TABLE_MAX / 16 + 1];
uint32_t _ward_class_capacity[WARD_CLASS_COUNT];

/* The page size the rule above gives blocks of `size` bytes. */
static unsigned slices_by_rule(uint32_t size)
{
    unsigned least_blocks = size > WARD_SLICE_SIZE ? 1 : 3;
    for (unsigned slices = 1;; slices++) {
        size_t page = slices * WARD_SLICE_SIZE, blocks = page / size;
        if (blocks >= least_blocks && (page - blocks * size) * 8 <= page)
            return slices;
    }
}

void _ward_size_classes_init(void)
{
    for (unsigned k = 0; k <= WARD_CLASS_TABLE_MAX / 16; k++)
        _ward_class_of[k] = (uint8_t)_ward_size_class_by_rule((size_t)k * 16);
    for (unsigned c = 0; c < WARD_CLASS_COUNT; c++) {
        /* Page offsets stay below 2^19 for the reciprocals (size_class.h). */
        ward_check_cheap(_ward_class_slices[c] == slices_by_rule(_ward_class_size[c]) &&
                             (size_t)_ward_class_slices[c] * WARD_SLICE_SIZE <= ((size_t)1 << 19) &&
                             _ward_size_class_by_rule(_ward_class_size[c]) == c &&
                             (c == 0 || _ward_class_size[c] > _ward_class_size[c - 1]),
                         "size class table");
        _ward_class_reciprocal[c] = ((uint64_t)1 << WARD_RECIPROCAL_SHIFT) / _ward_class_size[c] + 1;
        _ward_class_capacity[c] = (uint32_t)(_ward_class_slices[c] * WARD_SLICE_SIZE / _ward_class_size[c]);
    }
}
