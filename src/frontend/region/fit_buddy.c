/*
 * fit_buddy.c - the binary buddy system (Knowlton, 1965): every block is
 * 2^k bytes at an offset from its area's base that is a multiple of 2^k.
 * A block splits into two halves, its buddies; a freed block merges with
 * its buddy whenever that is free and whole, then again one size up.
 *
 *   order k+1:  | A ............................ |
 *   order k:    | A (lower half) | B (upper half) |   B = A ^ 2^k (offsets in the area)
 *
 * An area of any size is the sum of its powers of two: it starts as one
 * free block per set bit of its usable size, largest first, so every block
 * is aligned to its size and a buddy past the end is simply never free.
 * A request takes the smallest order that holds it and its header, found
 * with one bitmap operation, then splits down: malloc and free are
 * O(log size).  Rounding to powers of two wastes up to half of a block
 * (internal fragmentation) in exchange for cheap, predictable merging.
 *
 * Header words (see region_block_t):
 *   prev_size   offset of the block's area header (inner headers: of the block)
 *   word        bit 0 REGION_FREE, bit 2 REGION_INNER, bits 4..9 order,
 *               bits 10..55 bytes requested, bits 56..63 tag of the offset
 * An aligned request with an alignment above 16 is served from a larger
 * block; an inner header just before the aligned payload leads back to the
 * block's own header.
 */
#include <errno.h>
#include <string.h>

#include "frontend/region/region.h"

#define MIN_ORDER 5         /* REGION_MIN_BLOCK */
#define ORDER_LIMIT 40      /* blocks are below REGION_MAX_AREA = 2^40 */
#define ORDER_SHIFT 4
#define ORDER_MASK ((uint64_t)63)
#define REQUEST_SHIFT 10
#define REQUEST_MASK ((((uint64_t)1 << 46) - 1))

_Static_assert(((uint64_t)1 << MIN_ORDER) == REGION_MIN_BLOCK, "the smallest buddy is the smallest block");

/* Invariants: heads[k] lists exactly the free blocks of order k, and bit k
 * of nonempty is set iff that list is not empty. */
typedef struct buddy_index_s {
    uint64_t nonempty;
    region_offset_t heads[ORDER_LIMIT];
} buddy_index_t;

const size_t _ward_fit_buddy_index_size = sizeof(buddy_index_t);

static buddy_index_t *index_of(const ward_region_t *region) { return (buddy_index_t *)region->index; }

void _ward_fit_buddy_init(ward_region_t *region) { memset(index_of(region), 0, sizeof(buddy_index_t)); }

/* ---- headers -------------------------------------------------------------- */

static unsigned order_of(const region_block_t *b) { return (unsigned)((b->word >> ORDER_SHIFT) & ORDER_MASK); }
static uint64_t requested_of(const region_block_t *b) { return (b->word >> REQUEST_SHIFT) & REQUEST_MASK; }
static uint64_t bytes_of(unsigned order) { return (uint64_t)1 << order; }

static void set_header(ward_region_t *region, region_block_t *b, region_offset_t area, unsigned order, uint64_t flags,
                       uint64_t requested)
{
    b->prev_size = area;
    b->word = flags | (uint64_t)order << ORDER_SHIFT | requested << REQUEST_SHIFT |
              region_tag(region_offset(region, b)) << REGION_TAG_SHIFT;
}

/* Blocks of an area start right after its header. */
static char *base_of(const region_area_t *area) { return (char *)(area + 1); }

static uint64_t usable_of(const region_area_t *area)
{
    return WARD_ALIGN_DOWN(area->size - sizeof(region_area_t), REGION_MIN_BLOCK);
}

/* ---- free lists ------------------------------------------------------------- */

static void push_free(ward_region_t *region, region_block_t *b, region_offset_t area, unsigned order)
{
    buddy_index_t *index = index_of(region);
    set_header(region, b, area, order, REGION_FREE, 0);
    _ward_region_list_push(region, &index->heads[order], b);
    index->nonempty |= (uint64_t)1 << order;
    region->free_blocks++;
    region->free_bytes += bytes_of(order);
}

static void unlink_free(ward_region_t *region, region_block_t *b)
{
    buddy_index_t *index = index_of(region);
    unsigned order = order_of(b);
    _ward_region_list_unlink(region, &index->heads[order], b);
    if (!index->heads[order])
        index->nonempty &= ~((uint64_t)1 << order);
    region->free_blocks--;
    region->free_bytes -= bytes_of(order);
}

/* ---- areas ------------------------------------------------------------------ */

static void buddy_add_area(ward_region_t *region, region_area_t *area, uint64_t size)
{
    (void)size;
    uint64_t usable = usable_of(area);
    region_offset_t self = region_offset(region, area);
    region->overhead += area->size - usable;
    uint64_t at = 0;
    for (unsigned order = ORDER_LIMIT; order-- > MIN_ORDER;) {
        if (usable & bytes_of(order)) {
            push_free(region, (region_block_t *)(base_of(area) + at), self, order);
            at += bytes_of(order);
        }
    }
}

/* ---- allocation --------------------------------------------------------------- */

static unsigned order_for(uint64_t bytes)
{
    unsigned order = 64u - (unsigned)__builtin_clzll(bytes - 1);
    return order < MIN_ORDER ? MIN_ORDER : order;
}

/*
 * Takes a free block of the smallest order >= order and splits it down,
 * giving back the upper halves:
 *
 *   | b (order j) ............................. |
 *   | b (j-1) ............ | upper (j-1, free)  |
 *   | b (j-2) | up (free)| upper (j-1, free)  |  ... until b has `order`
 */
static region_block_t *take_block(ward_region_t *region, unsigned order, uint64_t requested)
{
    if (order >= ORDER_LIMIT)
        return NULL;
    buddy_index_t *index = index_of(region);
    uint64_t candidates = index->nonempty & ~(bytes_of(order) - 1);
    if (!candidates)
        return NULL;
    unsigned have = (unsigned)__builtin_ctzll(candidates);
    region_block_t *b = region_block(region, index->heads[have]);
    region_offset_t area = b->prev_size;
    unlink_free(region, b);
    while (have > order) {
        have--;
        push_free(region, (region_block_t *)((char *)b + bytes_of(have)), area, have);
    }
    set_header(region, b, area, order, 0, requested);
    region->used_blocks++;
    region->used_bytes += bytes_of(order);
    region->requested_bytes += requested;
    return b;
}

static void *buddy_malloc(ward_region_t *region, size_t n)
{
    region_block_t *b = n <= REGION_MAX_REQUEST ? take_block(region, order_for(n + REGION_HEADER), n) : NULL;
    if (!b) {
        errno = ENOMEM;
        return NULL;
    }
    return (char *)b + REGION_HEADER;
}

static void *buddy_aligned_alloc(ward_region_t *region, size_t alignment, size_t n)
{
    if (alignment <= REGION_GRANULE)
        return buddy_malloc(region, n);
    region_block_t *b = NULL;
    if (n <= REGION_MAX_REQUEST && alignment <= REGION_MAX_AREA)
        b = take_block(region, order_for(REGION_HEADER + alignment + n), n);
    if (!b) {
        errno = ENOMEM;
        return NULL;
    }
    uintptr_t payload = (uintptr_t)b + REGION_HEADER;
    if (payload % alignment == 0)
        return (void *)payload;
    /* The gap before the aligned payload holds the inner header. */
    uintptr_t aligned = WARD_ALIGN_UP(payload + REGION_HEADER, alignment);
    region_block_t *inner = (region_block_t *)(aligned - REGION_HEADER);
    inner->prev_size = region_offset(region, b);
    inner->word = REGION_INNER | region_tag(region_offset(region, inner)) << REGION_TAG_SHIFT;
    return (void *)aligned;
}

/* ---- free ---------------------------------------------------------------------- */

/* The block of payload p (its own header, past any inner one), or the program stops. */
static region_block_t *checked_block(const ward_region_t *region, const void *p, region_block_t **inner_out)
{
    if ((uintptr_t)p % REGION_GRANULE != 0)
        _ward_region_misuse("region: invalid pointer (not a block start)", p, 0);
    region_block_t *b = (region_block_t *)((uintptr_t)p - REGION_HEADER);
    region_area_t *area = _ward_region_area_of(region, b, REGION_MIN_BLOCK);
    if (!area)
        _ward_region_misuse("region: pointer not from this region", p, 0);
    if (!block_tag_ok(region, b))
        _ward_region_misuse("region: invalid pointer (interior or corrupted header)", p, 0);
    region_block_t *inner = NULL;
    if (b->word & REGION_INNER) {
        if (b->word & REGION_FREE)
            _ward_region_misuse("region: double free", p, 0);
        inner = b;
        b = region_block(region, inner->prev_size);
        if ((char *)b < base_of(area) || b >= inner || !block_tag_ok(region, b) || (b->word & REGION_INNER))
            _ward_region_misuse("region: invalid pointer (corrupted inner header)", p, 0);
    }
    unsigned order = order_of(b);
    uint64_t at = (uint64_t)((char *)b - base_of(area));
    if (order < MIN_ORDER || order >= ORDER_LIMIT || at % bytes_of(order) || at + bytes_of(order) > usable_of(area) ||
        b->prev_size != region_offset(region, area) ||
        (inner && (uint64_t)((char *)inner - (char *)b) >= bytes_of(order)))
        _ward_region_misuse("region: invalid pointer (interior or corrupted header)", p, 0);
    if (b->word & REGION_FREE)
        _ward_region_misuse("region: double free", p, bytes_of(order));
    if (inner_out)
        *inner_out = inner;
    return b;
}

/* Frees block b (allocated, order `order`), merging with free buddies. */
static void release(ward_region_t *region, region_block_t *b, unsigned order)
{
    region_area_t *area = region_at(region, b->prev_size);
    char *base = base_of(area);
    uint64_t usable = usable_of(area);
    uint64_t at = (uint64_t)((char *)b - base);
    while (order + 1 < ORDER_LIMIT) {
        uint64_t buddy_at = at ^ bytes_of(order);
        if (buddy_at + bytes_of(order) > usable)
            break;
        region_block_t *buddy = (region_block_t *)(base + buddy_at);
        if (!(buddy->word & REGION_FREE) || order_of(buddy) != order)
            break;
        unlink_free(region, buddy);
        at &= ~bytes_of(order);
        order++;
    }
    push_free(region, (region_block_t *)(base + at), region_offset(region, area), order);
}

static void buddy_free(ward_region_t *region, void *p)
{
    region_block_t *inner;
    region_block_t *b = checked_block(region, p, &inner);
    unsigned order = order_of(b);
    region->used_blocks--;
    region->used_bytes -= bytes_of(order);
    region->requested_bytes -= requested_of(b);
    /* Marked free before it may vanish inside a merged block: a second free
     * of p (through its own or its inner header) then finds a free header. */
    b->word |= REGION_FREE;
    if (inner)
        inner->word |= REGION_FREE;
    release(region, b, order);
}

static size_t buddy_usable_size(const ward_region_t *region, const void *p)
{
    region_block_t *b = checked_block(region, p, NULL);
    return (size_t)((char *)b + bytes_of(order_of(b)) - (const char *)p);
}

static void *buddy_realloc(ward_region_t *region, void *p, size_t n)
{
    region_block_t *inner;
    region_block_t *b = checked_block(region, p, &inner);
    unsigned order = order_of(b);
    uint64_t usable = (uint64_t)((char *)b + bytes_of(order) - (char *)p);
    if (n <= usable) {
        /* Shrink in place; a plain block also gives back the upper halves
         * it no longer needs (their buddy, the lower half, stays in use). */
        if (!inner) {
            region_offset_t area = b->prev_size;
            while (order > MIN_ORDER && n + REGION_HEADER <= bytes_of(order - 1)) {
                order--;
                region->used_bytes -= bytes_of(order);
                push_free(region, (region_block_t *)((char *)b + bytes_of(order)), area, order);
            }
        }
        region->requested_bytes = region->requested_bytes - requested_of(b) + n;
        set_header(region, b, b->prev_size, order, 0, n);
        return p;
    }
    void *moved = buddy_malloc(region, n);
    if (!moved)
        return NULL;
    memcpy(moved, p, (size_t)usable);
    buddy_free(region, p);
    return moved;
}

/* ---- walk and check --------------------------------------------------------------- */

static int buddy_walk(const ward_region_t *region, ward_region_visitor_t visit, void *arg)
{
    for (region_offset_t a = region->first_area; a; a = ((region_area_t *)region_at(region, a))->next) {
        region_area_t *area = region_at(region, a);
        uint64_t usable = usable_of(area);
        for (uint64_t at = 0; at < usable;) {
            region_block_t *b = (region_block_t *)(base_of(area) + at);
            uint64_t bytes = bytes_of(order_of(b));
            int stop = visit((char *)b + REGION_HEADER, bytes - REGION_HEADER, !(b->word & REGION_FREE), arg);
            if (stop)
                return stop;
            at += bytes;
        }
    }
    return 0;
}

static const char *check_area(const ward_region_t *region, region_offset_t a, region_totals_t *totals)
{
    region_area_t *area = region_at(region, a);
    uint64_t usable = usable_of(area);
    for (uint64_t at = 0; at < usable;) {
        const region_block_t *b = (const region_block_t *)(base_of(area) + at);
        if (!block_tag_ok(region, b) || (b->word & REGION_INNER))
            return "a buddy header does not carry its tag";
        unsigned order = order_of(b);
        if (order < MIN_ORDER || order >= ORDER_LIMIT || at % bytes_of(order) || at + bytes_of(order) > usable)
            return "a buddy block has an impossible order or place";
        if (b->prev_size != a)
            return "a buddy block names the wrong area";
        if (b->word & REGION_FREE) {
            if (requested_of(b))
                return "a free buddy block has a request";
            uint64_t buddy_at = at ^ bytes_of(order);
            const region_block_t *buddy = (const region_block_t *)(base_of(area) + buddy_at);
            if (buddy_at + bytes_of(order) <= usable && (buddy->word & REGION_FREE) && order_of(buddy) == order)
                return "two free buddies are not merged";
            totals->free_blocks++;
            totals->free_bytes += bytes_of(order);
        } else {
            if (requested_of(b) + REGION_HEADER > bytes_of(order))
                return "a buddy block holds more than it can";
            totals->used_blocks++;
            totals->used_bytes += bytes_of(order);
            totals->requested_bytes += requested_of(b);
        }
        at += bytes_of(order);
    }
    return NULL;
}

static const char *buddy_check(const ward_region_t *region)
{
    const char *problem = _ward_region_check_blocks(region, check_area);
    if (problem)
        return problem;
    const buddy_index_t *index = index_of(region);
    uint64_t listed = 0;
    if (index->nonempty & ((((uint64_t)1 << MIN_ORDER) - 1) | ~(((uint64_t)1 << ORDER_LIMIT) - 1)))
        return "a buddy bitmap bit names no order";
    for (unsigned order = MIN_ORDER; order < ORDER_LIMIT; order++) {
        if (!index->heads[order] != !(index->nonempty & ((uint64_t)1 << order)))
            return "a buddy bitmap bit disagrees with its list";
        problem = _ward_region_list_check(region, index->heads[order], false, region->free_blocks, &listed);
        if (problem)
            return problem;
        for (region_offset_t at = index->heads[order]; at; at = region_block(region, at)->next_free)
            if (order_of(region_block(region, at)) != order)
                return "a buddy list holds a block of another order";
    }
    if (listed != region->free_blocks)
        return "the buddy lists do not hold exactly the free blocks";
    return NULL;
}

const region_engine_t _ward_region_buddy_engine = {
    .min_area = sizeof(region_area_t) + REGION_MIN_BLOCK,
    .add_area = buddy_add_area,
    .malloc = buddy_malloc,
    .aligned_alloc = buddy_aligned_alloc,
    .realloc = buddy_realloc,
    .free = buddy_free,
    .usable_size = buddy_usable_size,
    .check = buddy_check,
    .walk = buddy_walk,
};
