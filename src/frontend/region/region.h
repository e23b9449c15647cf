/*
 * region.h - private to the region heaps: the control block, the area and
 * block layouts, and the table of placement policies.
 *
 * A region is one control block followed by areas (the memory given to
 * ward_region_init, then each piece given to ward_region_add):
 *
 *   mem                                                            mem + size
 *   | control block | policy index | area | block | block | ... | end |
 *                                  ^ area header (next area, size)    ^ end marker
 *
 * Every link is a region_offset_t: the distance from the control block,
 * taken modulo 2^64 so that memory added below the region works as well as
 * memory above it.  Offset 0 is the control block itself and never a block,
 * so 0 also means "none".  Nothing inside a region holds an absolute
 * address, which is what lets a region move (memcpy, or a mapping at
 * another address in another process).
 *
 * Two engines place blocks.  The list engine (blocks.c) keeps boundary-tagged
 * blocks of any size that are split on allocation and merged with free
 * neighbours on free; its policies (first, next, best, worst, quick, tlsf)
 * only index the free blocks, through the four operations of
 * region_list_ops_t.  The buddy engine (fit_buddy.c) keeps power-of-two
 * blocks and does all of its own work.
 */
#ifndef WARD_REGION_H
#define WARD_REGION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "support/internal.h"
#include "ward.h"

typedef uint64_t region_offset_t;

/* Granule of every size and offset inside a region, and the alignment of
 * every block it returns. */
#define REGION_GRANULE ((uint64_t)WARD_REGION_ALIGN)
/* The block header that precedes every payload. */
#define REGION_HEADER ((uint64_t)16)
/* Smallest block: a header and the two links a free block needs. */
#define REGION_MIN_BLOCK ((uint64_t)32)
/* Largest piece of memory one area uses; the rest of a larger piece is left
 * alone.  It keeps the policy indexes small (see fit_tlsf.c). */
#define REGION_MAX_AREA ((uint64_t)1 << 40)
/* Largest request: anything above cannot fit in an area anyway, and the
 * size arithmetic below never overflows. */
#define REGION_MAX_REQUEST (REGION_MAX_AREA - 4 * REGION_MIN_BLOCK)

#define REGION_MAGIC UINT64_C(0x77617264d6e16e00) /* "ward" then a tag */

/*
 * The control block, at the start of the region's memory.
 * Invariants (checked by ward_region_check):
 *   size == overhead + used_bytes + free_bytes;
 *   used_bytes, used_blocks, requested_bytes sum the allocated blocks;
 *   free_bytes, free_blocks sum the free blocks, and the policy index holds
 *   exactly those free blocks;
 *   areas form a chain from first_area through area->next, area_count long.
 */
struct ward_region_s {
    uint64_t magic;          /* REGION_MAGIC ^ fit: names a live region and its policy */
    uint32_t fit;            /* ward_fit_t */
    uint32_t flags;          /* WARD_REGION_* */
    atomic_uint lock;        /* 0 free, 1 held; only used with WARD_REGION_LOCKED */
    uint32_t area_count;
    region_offset_t first_area;
    region_offset_t last_area;
    uint64_t control_bytes;  /* this block and the policy index, rounded to the granule */
    uint64_t size;           /* bytes given to the region and in use by it */
    uint64_t overhead;       /* control block, area headers, end markers, unusable tails */
    uint64_t used_bytes;
    uint64_t used_blocks;
    uint64_t requested_bytes;
    uint64_t free_bytes;
    uint64_t free_blocks;
    /* The policy's index follows, aligned to the granule. */
    _Alignas(16) unsigned char index[];
};

/* Header of every area.  Blocks start right after it. */
typedef struct region_area_s {
    region_offset_t next; /* next area in the order they were given, 0 at the end */
    uint64_t size;        /* bytes of the area, this header and end marker included */
} region_area_t;

/*
 * A block: a 16-byte header, then the payload.  The two links exist only
 * while the block is free (they lie in its payload).
 *
 * List engine, word layout:
 *   bit  0       REGION_FREE
 *   bit  1       REGION_END: the end marker of an area (size 0, never free)
 *   bits 4..47   size of the whole block in bytes (a multiple of 16, >= 32)
 *   bits 48..55  slack: payload bytes the program did not ask for (allocated blocks)
 *   bits 56..63  tag: a hash of the block's offset; a header that does not
 *                carry the tag of its own offset is not a header
 * and prev_size is the size of the block just below, 0 for the first block
 * of an area: blocks are doubly linked by their sizes (boundary tags).
 * The buddy engine reuses the struct with its own word (fit_buddy.c).
 */
typedef struct region_block_s {
    uint64_t prev_size;
    uint64_t word;
    region_offset_t next_free; /* free blocks only */
    region_offset_t prev_free; /* free blocks only */
} region_block_t;

_Static_assert(sizeof(region_block_t) == REGION_MIN_BLOCK, "a free block's header and links make the smallest block");
_Static_assert(sizeof(region_area_t) == REGION_HEADER, "an area header is one granule");
_Static_assert(offsetof(struct ward_region_s, index) % 16 == 0, "the policy index is aligned");

#define REGION_FREE ((uint64_t)1)
#define REGION_END ((uint64_t)2)
#define REGION_INNER ((uint64_t)4) /* buddy: a header inside a block, before an aligned payload */
#define REGION_SIZE_MASK ((((uint64_t)1 << 48) - 1) & ~(REGION_GRANULE - 1))
#define REGION_SLACK_SHIFT 48
#define REGION_SLACK_MAX ((uint64_t)255)
#define REGION_TAG_SHIFT 56

/* "The caller does not know the block's place in an address-ordered list." */
#define REGION_HINT_NONE UINT64_MAX

/* ---- offsets ------------------------------------------------------------- */

WARD_INLINE void *region_at(const ward_region_t *region, region_offset_t offset)
{
    return (void *)((uintptr_t)region + (uintptr_t)offset);
}

WARD_INLINE region_offset_t region_offset(const ward_region_t *region, const void *p)
{
    return (region_offset_t)((uintptr_t)p - (uintptr_t)region);
}

WARD_INLINE region_block_t *region_block(const ward_region_t *region, region_offset_t offset)
{
    return (region_block_t *)region_at(region, offset);
}

WARD_INLINE uint64_t region_tag(region_offset_t offset)
{
    return ((offset >> 4) * UINT64_C(0x9e3779b97f4a7c15)) >> 56 ^ 0x5a;
}

/* ---- list-engine block words --------------------------------------------- */

WARD_INLINE uint64_t block_size(const region_block_t *b) { return b->word & REGION_SIZE_MASK; }
WARD_INLINE bool block_is_free(const region_block_t *b) { return (b->word & REGION_FREE) != 0; }
WARD_INLINE uint64_t block_slack(const region_block_t *b) { return (b->word >> REGION_SLACK_SHIFT) & REGION_SLACK_MAX; }

WARD_INLINE bool block_tag_ok(const ward_region_t *region, const region_block_t *b)
{
    return (b->word >> REGION_TAG_SHIFT) == region_tag(region_offset(region, b));
}

/* ---- the interface between the list engine and its policies --------------- */

/*
 * A policy indexes the free blocks of the list engine.  It owns
 * ward_region_s.index (index_size bytes) and the links of free blocks; the
 * engine owns headers, sizes and counters.  The engine calls remove before
 * it changes a free block's size and insert after, so a policy may file a
 * block by its size.
 */
typedef struct region_list_ops_s {
    size_t index_size;
    void (*init)(ward_region_t *region);
    /* A free block of at least size bytes (still indexed), or NULL. */
    region_block_t *(*find)(ward_region_t *region, uint64_t size);
    /* Unlinks a free block.  Returns a hint for insert: the offset of the
     * block before it in an address-ordered list (0 when it was first), or
     * REGION_HINT_NONE when the policy keeps no address order. */
    region_offset_t (*remove)(ward_region_t *region, region_block_t *b);
    /* Links a free block.  hint is a value remove returned for a block that
     * had the same place in address order as b has now, or REGION_HINT_NONE. */
    void (*insert)(ward_region_t *region, region_block_t *b, region_offset_t hint);
    /* Verifies the index; counts the blocks it holds into *count.  Returns
     * NULL or the broken invariant. */
    const char *(*check)(const ward_region_t *region, uint64_t *count);
} region_list_ops_t;

/* What an engine provides to region.c (which checks arguments and locks). */
typedef struct region_engine_s {
    uint64_t min_area; /* smallest area the engine can use */
    /* Formats [area, area + size) and hands its blocks to the index. */
    void (*add_area)(ward_region_t *region, region_area_t *area, uint64_t size);
    void *(*malloc)(ward_region_t *region, size_t n);
    void *(*aligned_alloc)(ward_region_t *region, size_t alignment, size_t n);
    void *(*realloc)(ward_region_t *region, void *p, size_t n);
    void (*free)(ward_region_t *region, void *p);
    size_t (*usable_size)(const ward_region_t *region, const void *p);
    /* Walks the areas; recounts everything; NULL or the broken invariant. */
    const char *(*check)(const ward_region_t *region);
    int (*walk)(const ward_region_t *region, ward_region_visitor_t visit, void *arg);
} region_engine_t;

typedef struct region_policy_s {
    const char *name;
    const region_engine_t *engine;
    const region_list_ops_t *list; /* the list engine's index; NULL for buddy */
} region_policy_t;

WARD_HIDDEN extern const region_engine_t _ward_region_list_engine;
WARD_HIDDEN extern const region_engine_t _ward_region_buddy_engine;

WARD_HIDDEN extern const region_list_ops_t _ward_fit_first;
WARD_HIDDEN extern const region_list_ops_t _ward_fit_next;
WARD_HIDDEN extern const region_list_ops_t _ward_fit_best;
WARD_HIDDEN extern const region_list_ops_t _ward_fit_worst;
WARD_HIDDEN extern const region_list_ops_t _ward_fit_quick;
WARD_HIDDEN extern const region_list_ops_t _ward_fit_tlsf;
WARD_HIDDEN extern const size_t _ward_fit_buddy_index_size;
WARD_HIDDEN void _ward_fit_buddy_init(ward_region_t *region);

/* The policy of a region (its fit was validated at init). */
WARD_HIDDEN const region_policy_t *_ward_region_policy(const ward_region_t *region);

/* The area holding [p, p + n), or NULL: how every engine tells its own
 * pointers from foreign ones.  O(areas). */
WARD_HIDDEN region_area_t *_ward_region_area_of(const ward_region_t *region, const void *p, uint64_t n);

/* What a consistency check counts while it walks the blocks of the areas. */
typedef struct region_totals_s {
    uint64_t used_blocks, used_bytes, requested_bytes, free_blocks, free_bytes;
} region_totals_t;

/* Checks the blocks of one area (an engine's own layout), adding to totals;
 * returns the first problem found, or NULL. */
typedef const char *(*region_area_check_t)(const ward_region_t *region, region_offset_t area, region_totals_t *totals);

/* Runs check over every area, then compares the totals with the region's
 * counters; returns the first problem found, or NULL. */
WARD_HIDDEN const char *_ward_region_check_blocks(const ward_region_t *region, region_area_check_t check);

/* Stops the program: misuse of the region at p (block of size bytes, 0 if unknown). */
WARD_HIDDEN __attribute__((noreturn, cold)) void _ward_region_misuse(const char *error, const void *p, uint64_t size);

/* ---- doubly linked free lists through next_free / prev_free ---------------- */

/* Pushes b at the head of the list at *head. */
WARD_HIDDEN void _ward_region_list_push(ward_region_t *region, region_offset_t *head, region_block_t *b);
/* Unlinks b from the list at *head; returns the offset of its predecessor (0 if it was the head). */
WARD_HIDDEN region_offset_t _ward_region_list_unlink(ward_region_t *region, region_offset_t *head, region_block_t *b);
/* Links b in address order: after the block at hint (at the head for 0), or
 * after a search from the head when hint is REGION_HINT_NONE. */
WARD_HIDDEN void _ward_region_list_insert_ordered(ward_region_t *region, region_offset_t *head, region_block_t *b,
                                                  region_offset_t hint);
/* ---- the index of the policies that scan one unordered list (best, worst) -- */

typedef struct region_unordered_index_s {
    region_offset_t head; /* free blocks, most recently freed first */
} region_unordered_index_t;

WARD_INLINE region_offset_t _ward_unordered_head(const ward_region_t *region)
{
    return ((const region_unordered_index_t *)region->index)->head;
}
/* The init, remove, insert and check operations of such an index; a policy
 * adds only its find. */
WARD_HIDDEN void _ward_unordered_init(ward_region_t *region);
WARD_HIDDEN region_offset_t _ward_unordered_remove(ward_region_t *region, region_block_t *b);
WARD_HIDDEN void _ward_unordered_insert(ward_region_t *region, region_block_t *b, region_offset_t hint);
WARD_HIDDEN const char *_ward_unordered_check(const ward_region_t *region, uint64_t *count);

/* Verifies one list: every member a free block inside the region, links
 * that agree both ways, no more than limit members, ascending offsets when
 * ordered.  Adds the members to *count. */
WARD_HIDDEN const char *_ward_region_list_check(const ward_region_t *region, region_offset_t head, bool ordered,
                                                uint64_t limit, uint64_t *count);

#endif
