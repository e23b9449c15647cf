/*
 * blocks.c - the list engine of region heaps: boundary-tagged blocks that
 * are split on allocation and merged with free neighbours on free.  The
 * placement policy (fit_*.c) decides only which free block to take.
 *
 * Invariants, per area (checked by list_check):
 *   - blocks tile the area from just after its header to its end marker;
 *   - every block's prev_size is the size of the block below (0 first);
 *   - no two free blocks are adjacent: a free block is merged with its free
 *     neighbours before anything else happens;
 *   - the policy index holds exactly the free blocks.
 */
#include <errno.h>
#include <string.h>

#include "frontend/region/region.h"

/* ---- headers ------------------------------------------------------------- */

static void set_header(ward_region_t *region, region_block_t *b, uint64_t size, uint64_t flags, uint64_t slack)
{
    b->word = size | flags | slack << REGION_SLACK_SHIFT | region_tag(region_offset(region, b)) << REGION_TAG_SHIFT;
}

static region_block_t *next_block(region_block_t *b) { return (region_block_t *)((char *)b + block_size(b)); }

static region_block_t *prev_block(region_block_t *b)
{
    return b->prev_size ? (region_block_t *)((char *)b - b->prev_size) : NULL;
}

/* The block size that serves a request of n bytes (n <= REGION_MAX_REQUEST). */
static uint64_t block_for(size_t n)
{
    uint64_t size = WARD_ALIGN_UP((uint64_t)n + REGION_HEADER, REGION_GRANULE);
    return size < REGION_MIN_BLOCK ? REGION_MIN_BLOCK : size;
}

/* ---- the index, with the counters kept beside it --------------------------- */

static const region_list_ops_t *ops_of(const ward_region_t *region) { return _ward_region_policy(region)->list; }

static region_offset_t index_remove(ward_region_t *region, region_block_t *b)
{
    region->free_blocks--;
    region->free_bytes -= block_size(b);
    return ops_of(region)->remove(region, b);
}

static void index_insert(ward_region_t *region, region_block_t *b, region_offset_t hint)
{
    region->free_blocks++;
    region->free_bytes += block_size(b);
    ops_of(region)->insert(region, b, hint);
}

/* ---- areas --------------------------------------------------------------- */

/*
 * A new area holds one free block and the end marker:
 *
 *   | area header | free block ............................ | end |
 *                   prev_size 0                               prev_size = block size, REGION_END
 */
static void list_add_area(ward_region_t *region, region_area_t *area, uint64_t size)
{
    region_block_t *first = (region_block_t *)(area + 1);
    uint64_t block_bytes = size - sizeof(region_area_t) - REGION_HEADER;
    region_block_t *end = (region_block_t *)((char *)first + block_bytes);

    first->prev_size = 0;
    set_header(region, first, block_bytes, REGION_FREE, 0);
    end->prev_size = block_bytes;
    set_header(region, end, 0, REGION_END, 0);
    region->overhead += sizeof(region_area_t) + REGION_HEADER;
    index_insert(region, first, REGION_HINT_NONE);
}

/* ---- allocation ------------------------------------------------------------ */

/*
 * Makes the free block b (already out of the index) an allocated block of
 * `need` bytes holding n requested bytes.  A tail worth a block of its own
 * goes back to the index as a free block; a smaller one stays in b as slack.
 *
 *   before:  | b (free, size) ..................................... | next
 *   after:   | b (used, need) ........ | rest (free, size - need) .. | next
 *
 * rest cannot have a free right neighbour: b had none.
 */
static void *take(ward_region_t *region, region_block_t *b, uint64_t need, size_t n, region_offset_t hint)
{
    uint64_t size = block_size(b);
    if (size - need >= REGION_MIN_BLOCK) {
        region_block_t *rest = (region_block_t *)((char *)b + need);
        rest->prev_size = need;
        set_header(region, rest, size - need, REGION_FREE, 0);
        next_block(rest)->prev_size = size - need;
        index_insert(region, rest, hint);
        size = need;
    }
    set_header(region, b, size, 0, size - REGION_HEADER - n);
    region->used_blocks++;
    region->used_bytes += size;
    region->requested_bytes += n;
    return (char *)b + REGION_HEADER;
}

static void *list_malloc(ward_region_t *region, size_t n)
{
    if (n > REGION_MAX_REQUEST) {
        errno = ENOMEM;
        return NULL;
    }
    uint64_t need = block_for(n);
    region_block_t *b = ops_of(region)->find(region, need);
    if (!b) {
        errno = ENOMEM;
        return NULL;
    }
    region_offset_t hint = index_remove(region, b);
    return take(region, b, need, n, hint);
}

/*
 * An aligned block is cut from a free block large enough for any start
 * position: the part before the aligned payload becomes a free block of
 * its own (at least REGION_MIN_BLOCK, or nothing when b's payload happens
 * to be aligned), the rest is taken as usual.
 *
 *   | b (free) .................................................... |
 *   | lead (free) | header | payload at a multiple of alignment ... | rest
 */
static void *list_aligned_alloc(ward_region_t *region, size_t alignment, size_t n)
{
    if (alignment <= REGION_GRANULE)
        return list_malloc(region, n);
    if (n > REGION_MAX_REQUEST || alignment > REGION_MAX_AREA) {
        errno = ENOMEM;
        return NULL;
    }
    uint64_t need = block_for(n);
    region_block_t *b = ops_of(region)->find(region, need + alignment + REGION_MIN_BLOCK);
    if (!b) {
        errno = ENOMEM;
        return NULL;
    }
    region_offset_t hint = index_remove(region, b);
    uintptr_t payload = (uintptr_t)b + REGION_HEADER;
    if (payload % alignment != 0) {
        uintptr_t aligned = WARD_ALIGN_UP(payload + REGION_MIN_BLOCK, alignment);
        region_block_t *start = (region_block_t *)(aligned - REGION_HEADER);
        uint64_t lead = (uint64_t)((char *)start - (char *)b);
        uint64_t size = block_size(b);
        start->prev_size = lead;
        set_header(region, start, size - lead, REGION_FREE, 0);
        next_block(start)->prev_size = size - lead;
        set_header(region, b, lead, REGION_FREE, 0);
        index_insert(region, b, hint);
        hint = region_offset(region, b);
        b = start;
    }
    return take(region, b, need, n, hint);
}

/* ---- free ------------------------------------------------------------------ */

/* The allocated block of payload p, or the program stops. */
static region_block_t *checked_block(const ward_region_t *region, const void *p)
{
    if ((uintptr_t)p % REGION_GRANULE != 0)
        _ward_region_misuse("region: invalid pointer (not a block start)", p, 0);
    region_block_t *b = (region_block_t *)((uintptr_t)p - REGION_HEADER);
    region_area_t *area = _ward_region_area_of(region, b, REGION_MIN_BLOCK);
    if (!area)
        _ward_region_misuse("region: pointer not from this region", p, 0);
    char *area_end = (char *)area + area->size - REGION_HEADER; /* the end marker */
    uint64_t size = block_size(b);
    if (!block_tag_ok(region, b) || (b->word & REGION_END) || size < REGION_MIN_BLOCK ||
        size > (uint64_t)(area_end - (char *)b))
        _ward_region_misuse("region: invalid pointer (interior or corrupted header)", p, 0);
    if (block_is_free(b))
        _ward_region_misuse("region: double free", p, size);
    region_block_t *next = next_block(b);
    if (!block_tag_ok(region, next) || next->prev_size != size)
        _ward_region_misuse("region: invalid pointer (interior or corrupted header)", p, size);
    region_block_t *prev = prev_block(b);
    if (prev && ((char *)prev < (char *)(area + 1) || !block_tag_ok(region, prev) || block_size(prev) != b->prev_size))
        _ward_region_misuse("region: corrupted block header below", p, size);
    return b;
}

/*
 * Gives back the block b, which is marked free and not indexed, merging it
 * with its free neighbours (there are at most two: neither of them has a
 * free neighbour of its own).
 *
 *   | prev (free) | b | next (free) |   ->   | prev (free, all three) ...... |
 *   | prev (used) | b | next (free) |   ->   | prev | b (free, b + next) ... |
 *
 * The merged block takes the address-order place of the free neighbour it
 * swallowed, so ordered policies insert it without a search.
 */
static void release(ward_region_t *region, region_block_t *b)
{
    uint64_t size = block_size(b);
    region_block_t *prev = prev_block(b);
    region_block_t *next = next_block(b);
    region_offset_t hint = REGION_HINT_NONE;

    if (prev && block_is_free(prev)) {
        hint = index_remove(region, prev);
        size += block_size(prev);
        b = prev;
    }
    if (block_is_free(next)) {
        region_offset_t next_hint = index_remove(region, next);
        if (hint == REGION_HINT_NONE)
            hint = next_hint;
        size += block_size(next);
    }
    set_header(region, b, size, REGION_FREE, 0);
    next_block(b)->prev_size = size;
    index_insert(region, b, hint);
}

static void list_free(ward_region_t *region, void *p)
{
    region_block_t *b = checked_block(region, p);
    uint64_t size = block_size(b);
    region->used_blocks--;
    region->used_bytes -= size;
    region->requested_bytes -= size - REGION_HEADER - block_slack(b);
    /* Marked free before it may vanish inside a neighbour: a second free of
     * p then still finds a free header and is reported as such. */
    set_header(region, b, size, REGION_FREE, 0);
    release(region, b);
}

/* ---- realloc ----------------------------------------------------------------- */

/* Cuts the allocated block b to `need` bytes, giving the tail back. */
static void shrink(ward_region_t *region, region_block_t *b, uint64_t need)
{
    uint64_t size = block_size(b);
    region_block_t *tail = (region_block_t *)((char *)b + need);
    tail->prev_size = need;
    set_header(region, tail, size - need, REGION_FREE, 0);
    next_block(tail)->prev_size = size - need;
    region->used_bytes -= size - need;
    set_header(region, b, need, 0, block_slack(b)); /* the caller sets the slack */
    release(region, tail);
}

static void *list_realloc(ward_region_t *region, void *p, size_t n)
{
    region_block_t *b = checked_block(region, p);
    if (n > REGION_MAX_REQUEST) {
        errno = ENOMEM;
        return NULL;
    }
    uint64_t need = block_for(n);
    uint64_t size = block_size(b);
    uint64_t old_n = size - REGION_HEADER - block_slack(b);

    if (need > size) {
        /* Grow into a free right neighbour:
         *   | b (used) | next (free) .......... |  ->  | b (used, need) ... | rest (free) | */
        region_block_t *next = next_block(b);
        if (!block_is_free(next) || size + block_size(next) < need) {
            void *moved = list_malloc(region, n);
            if (!moved)
                return NULL;
            uint64_t usable = size - REGION_HEADER;
            memcpy(moved, p, usable < n ? usable : n);
            list_free(region, p);
            return moved;
        }
        region_offset_t hint = index_remove(region, next);
        uint64_t whole = size + block_size(next);
        region->used_blocks--;
        region->used_bytes -= size;
        region->requested_bytes -= old_n;
        set_header(region, b, whole, REGION_FREE, 0);
        next_block(b)->prev_size = whole;
        return take(region, b, need, n, hint);
    }
    if (size - need >= REGION_MIN_BLOCK) {
        shrink(region, b, need);
        size = need;
    }
    region->requested_bytes = region->requested_bytes - old_n + n;
    set_header(region, b, size, 0, size - REGION_HEADER - n);
    return p;
}

static size_t list_usable_size(const ward_region_t *region, const void *p)
{
    return block_size(checked_block(region, p)) - REGION_HEADER;
}

/* ---- walk and check -------------------------------------------------------- */

static int list_walk(const ward_region_t *region, ward_region_visitor_t visit, void *arg)
{
    for (region_offset_t a = region->first_area; a; a = ((region_area_t *)region_at(region, a))->next) {
        region_area_t *area = region_at(region, a);
        for (region_block_t *b = (region_block_t *)(area + 1); !(b->word & REGION_END); b = next_block(b)) {
            int stop = visit((char *)b + REGION_HEADER, block_size(b) - REGION_HEADER, !block_is_free(b), arg);
            if (stop)
                return stop;
        }
    }
    return 0;
}

static const char *list_check_area(const ward_region_t *region, region_offset_t at, region_totals_t *totals)
{
    const region_area_t *area = region_at(region, at);
    const char *end = (const char *)area + area->size - REGION_HEADER;
    const region_block_t *b = (const region_block_t *)(area + 1);
    uint64_t expected_prev = 0;
    bool prev_free = false;
    for (;;) {
        if ((const char *)b > end)
            return "a block runs past the end of its area";
        if (!block_tag_ok(region, b))
            return "a block header does not carry its tag";
        if (b->prev_size != expected_prev)
            return "a block's prev_size differs from the size of the block below";
        if (b->word & REGION_END) {
            if ((const char *)b != end || block_size(b) != 0 || block_is_free(b))
                return "the end marker is misplaced or malformed";
            return NULL;
        }
        uint64_t size = block_size(b);
        if (size < REGION_MIN_BLOCK || size % REGION_GRANULE || (b->word & REGION_INNER))
            return "a block has an invalid size or flag";
        if (block_is_free(b)) {
            if (prev_free)
                return "two free blocks are adjacent (not merged)";
            if (block_slack(b))
                return "a free block has slack";
            totals->free_blocks++;
            totals->free_bytes += size;
        } else {
            if (block_slack(b) > size - REGION_HEADER)
                return "a block's slack exceeds its payload";
            totals->used_blocks++;
            totals->used_bytes += size;
            totals->requested_bytes += size - REGION_HEADER - block_slack(b);
        }
        prev_free = block_is_free(b);
        expected_prev = size;
        b = (const region_block_t *)((const char *)b + size);
    }
}

static const char *list_check(const ward_region_t *region)
{
    const char *problem = _ward_region_check_blocks(region, list_check_area);
    if (problem)
        return problem;
    uint64_t indexed = 0;
    problem = ops_of(region)->check(region, &indexed);
    if (problem)
        return problem;
    if (indexed != region->free_blocks)
        return "the policy index does not hold exactly the free blocks";
    return NULL;
}

const region_engine_t _ward_region_list_engine = {
    .min_area = sizeof(region_area_t) + REGION_MIN_BLOCK + REGION_HEADER,
    .add_area = list_add_area,
    .malloc = list_malloc,
    .aligned_alloc = list_aligned_alloc,
    .realloc = list_realloc,
    .free = list_free,
    .usable_size = list_usable_size,
    .check = list_check,
    .walk = list_walk,
};

/* ---- free lists shared by the policies -------------------------------------- */

void _ward_region_list_push(ward_region_t *region, region_offset_t *head, region_block_t *b)
{
    region_offset_t self = region_offset(region, b);
    b->prev_free = 0;
    b->next_free = *head;
    if (*head)
        region_block(region, *head)->prev_free = self;
    *head = self;
}

region_offset_t _ward_region_list_unlink(ward_region_t *region, region_offset_t *head, region_block_t *b)
{
    if (b->prev_free)
        region_block(region, b->prev_free)->next_free = b->next_free;
    else
        *head = b->next_free;
    if (b->next_free)
        region_block(region, b->next_free)->prev_free = b->prev_free;
    return b->prev_free;
}

void _ward_region_list_insert_ordered(ward_region_t *region, region_offset_t *head, region_block_t *b,
                                      region_offset_t hint)
{
    region_offset_t self = region_offset(region, b);
    if (hint == REGION_HINT_NONE) {
        hint = 0;
        for (region_offset_t at = *head; at && at < self; at = region_block(region, at)->next_free)
            hint = at;
    }
    if (hint == 0) {
        _ward_region_list_push(region, head, b);
        return;
    }
    region_block_t *before = region_block(region, hint);
    b->prev_free = hint;
    b->next_free = before->next_free;
    if (before->next_free)
        region_block(region, before->next_free)->prev_free = self;
    before->next_free = self;
}

const char *_ward_region_list_check(const ward_region_t *region, region_offset_t head, bool ordered, uint64_t limit,
                                    uint64_t *count)
{
    region_offset_t prev = 0;
    uint64_t members = 0;
    for (region_offset_t at = head; at; at = region_block(region, at)->next_free) {
        if (++members > limit)
            return "a free list is longer than the free blocks (a cycle?)";
        const region_block_t *b = region_block(region, at);
        if (at % REGION_GRANULE || !_ward_region_area_of(region, b, REGION_MIN_BLOCK))
            return "a free list links outside the region";
        if (!block_tag_ok(region, b) || !block_is_free(b) || (b->word & REGION_END))
            return "a free list holds a block that is not free";
        if (b->prev_free != prev)
            return "a free list's back link is wrong";
        if (ordered && prev && prev >= at)
            return "an address-ordered free list is out of order";
        prev = at;
    }
    *count += members;
    return NULL;
}

/* ---- the unordered single list of best and worst fit ------------------------ */

static region_unordered_index_t *unordered_of(const ward_region_t *region)
{
    return (region_unordered_index_t *)region->index;
}

void _ward_unordered_init(ward_region_t *region) { unordered_of(region)->head = 0; }

region_offset_t _ward_unordered_remove(ward_region_t *region, region_block_t *b)
{
    _ward_region_list_unlink(region, &unordered_of(region)->head, b);
    return REGION_HINT_NONE;
}

void _ward_unordered_insert(ward_region_t *region, region_block_t *b, region_offset_t hint)
{
    (void)hint;
    _ward_region_list_push(region, &unordered_of(region)->head, b);
}

const char *_ward_unordered_check(const ward_region_t *region, uint64_t *count)
{
    return _ward_region_list_check(region, unordered_of(region)->head, false, region->free_blocks, count);
}
