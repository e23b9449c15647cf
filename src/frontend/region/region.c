/*
 * region.c - the public face of region heaps: argument checks, the
 * optional lock, areas, statistics, and the table of policies.
 *
 * Nothing here (or anywhere under frontend/region) calls the OS, allocates
 * or keeps global state: a region is entirely the memory it was given.  The
 * only way out is the fatal path, taken on misuse.
 */
#include <errno.h>
#include <string.h>

#include "frontend/region/region.h"
#include "support/fatal.h"

#define LIST_POLICY(policy_name, ops)                                                                  \
    {                                                                                                  \
        .name = policy_name, .engine = &_ward_region_list_engine, .list = &ops,                        \
    }

/* Indexed by ward_fit_t; index sizes are filled in by policy_of(). */
static const region_policy_t policies[WARD_FIT_COUNT_] = {
    [WARD_FIT_FIRST] = LIST_POLICY("first", _ward_fit_first),
    [WARD_FIT_NEXT] = LIST_POLICY("next", _ward_fit_next),
    [WARD_FIT_BEST] = LIST_POLICY("best", _ward_fit_best),
    [WARD_FIT_WORST] = LIST_POLICY("worst", _ward_fit_worst),
    [WARD_FIT_QUICK] = LIST_POLICY("quick", _ward_fit_quick),
    [WARD_FIT_TLSF] = LIST_POLICY("tlsf", _ward_fit_tlsf),
    [WARD_FIT_BUDDY] = {.name = "buddy", .engine = &_ward_region_buddy_engine},
};

static bool fit_known(ward_fit_t fit) { return (unsigned)fit < WARD_FIT_COUNT_; }

static size_t index_size_of(ward_fit_t fit)
{
    return policies[fit].list ? policies[fit].list->index_size : _ward_fit_buddy_index_size;
}

/* Control block and index, rounded to the granule. */
static uint64_t control_bytes_of(ward_fit_t fit)
{
    return WARD_ALIGN_UP(sizeof(struct ward_region_s) + index_size_of(fit), REGION_GRANULE);
}

const region_policy_t *_ward_region_policy(const ward_region_t *region) { return &policies[region->fit]; }

void _ward_region_misuse(const char *error, const void *p, uint64_t size) { _ward_fatal(error, p, (size_t)size); }

/* ---- handle checks and the lock ------------------------------------------------- */

/* A handle must name a live region: anything else is misuse, not an
 * argument error, because its memory cannot be trusted. */
static void check_handle(const ward_region_t *region)
{
    if (region->magic != (REGION_MAGIC ^ region->fit) || !fit_known((ward_fit_t)region->fit))
        _ward_fatal("region: not a region handle (never initialised or overwritten)", region, 0);
}

static void lock(const ward_region_t *region)
{
    if (!(region->flags & WARD_REGION_LOCKED))
        return;
    /* The lock word is the one thing a const operation changes. */
    atomic_uint *word = (atomic_uint *)&region->lock;
    for (;;) {
        if (!atomic_exchange_explicit(word, 1, memory_order_acquire))
            return;
        while (atomic_load_explicit(word, memory_order_relaxed))
            ;
    }
}

static void unlock(const ward_region_t *region)
{
    if (region->flags & WARD_REGION_LOCKED)
        atomic_store_explicit((atomic_uint *)&region->lock, 0, memory_order_release);
}

/* ---- areas ------------------------------------------------------------------ */

region_area_t *_ward_region_area_of(const ward_region_t *region, const void *p, uint64_t n)
{
    uintptr_t start = (uintptr_t)p;
    for (region_offset_t a = region->first_area; a; a = ((region_area_t *)region_at(region, a))->next) {
        region_area_t *area = region_at(region, a);
        uintptr_t lo = (uintptr_t)(area + 1);
        uintptr_t hi = (uintptr_t)area + area->size;
        if (start >= lo && start <= hi && n <= hi - start)
            return area;
    }
    return NULL;
}

/* Memory [mem, mem + size) overlaps the control block or an area. */
static bool overlaps(const ward_region_t *region, const void *mem, uint64_t size)
{
    uintptr_t lo = (uintptr_t)mem, hi = lo + size;
    uintptr_t control = (uintptr_t)region;
    if (lo < control + region->control_bytes && control < hi)
        return true;
    for (region_offset_t a = region->first_area; a; a = ((region_area_t *)region_at(region, a))->next) {
        region_area_t *area = region_at(region, a);
        if (lo < (uintptr_t)area + area->size && (uintptr_t)area < hi)
            return true;
    }
    return false;
}

/* Links a new area at the end of the chain and lets the engine format it. */
static void attach_area(ward_region_t *region, void *mem, uint64_t size)
{
    region_area_t *area = mem;
    region_offset_t self = region_offset(region, area);
    area->next = 0;
    area->size = size;
    if (region->last_area)
        ((region_area_t *)region_at(region, region->last_area))->next = self;
    else
        region->first_area = self;
    region->last_area = self;
    region->area_count++;
    region->size += size;
    _ward_region_policy(region)->engine->add_area(region, area, size);
}

/* The bytes of a piece of memory an area may use. */
static uint64_t area_bytes(size_t size)
{
    uint64_t bytes = WARD_ALIGN_DOWN((uint64_t)size, REGION_GRANULE);
    return bytes > REGION_MAX_AREA ? REGION_MAX_AREA : bytes;
}

/* ---- the API ---------------------------------------------------------------- */

const char *ward_fit_name(ward_fit_t fit) { return fit_known(fit) ? policies[fit].name : NULL; }

size_t ward_region_min_size(ward_fit_t fit)
{
    if (!fit_known(fit))
        return 0;
    return (size_t)(control_bytes_of(fit) + policies[fit].engine->min_area);
}

ward_region_t *ward_region_init(void *mem, size_t size, ward_fit_t fit, unsigned flags)
{
    if (!mem || (uintptr_t)mem % REGION_GRANULE || !fit_known(fit) || (flags & ~WARD_REGION_LOCKED) ||
        size < ward_region_min_size(fit)) {
        errno = EINVAL;
        return NULL;
    }
    uint64_t control = control_bytes_of(fit);
    ward_region_t *region = mem;
    memset(region, 0, (size_t)control);
    region->fit = (uint32_t)fit;
    region->flags = flags;
    atomic_init(&region->lock, 0);
    region->control_bytes = control;
    region->size = control;
    region->overhead = control;
    if (policies[fit].list)
        policies[fit].list->init(region);
    else
        _ward_fit_buddy_init(region);
    attach_area(region, (char *)mem + control, area_bytes(size - (size_t)control));
    region->magic = REGION_MAGIC ^ region->fit;
    return region;
}

int ward_region_add(ward_region_t *region, void *mem, size_t size)
{
    if (!region || !mem || (uintptr_t)mem % REGION_GRANULE)
        return EINVAL;
    check_handle(region);
    uint64_t bytes = area_bytes(size);
    if (bytes < _ward_region_policy(region)->engine->min_area || (uintptr_t)mem + bytes < (uintptr_t)mem)
        return EINVAL;
    lock(region);
    bool clash = overlaps(region, mem, bytes);
    if (!clash)
        attach_area(region, mem, bytes);
    unlock(region);
    return clash ? EINVAL : 0;
}

void *ward_region_malloc(ward_region_t *region, size_t n)
{
    if (!region) {
        errno = EINVAL;
        return NULL;
    }
    check_handle(region);
    lock(region);
    void *p = _ward_region_policy(region)->engine->malloc(region, n);
    unlock(region);
    return p;
}

void *ward_region_aligned_alloc(ward_region_t *region, size_t alignment, size_t n)
{
    if (!region || !WARD_IS_POW2(alignment)) {
        errno = EINVAL;
        return NULL;
    }
    check_handle(region);
    lock(region);
    void *p = _ward_region_policy(region)->engine->aligned_alloc(region, alignment, n);
    unlock(region);
    return p;
}

void *ward_region_realloc(ward_region_t *region, void *p, size_t n)
{
    if (!p)
        return ward_region_malloc(region, n);
    if (!region)
        _ward_fatal("region: realloc with a NULL region", p, 0);
    if (n == 0) {
        ward_region_free(region, p);
        return NULL;
    }
    check_handle(region);
    lock(region);
    void *q = _ward_region_policy(region)->engine->realloc(region, p, n);
    unlock(region);
    return q;
}

void ward_region_free(ward_region_t *region, void *p)
{
    if (!p)
        return;
    if (!region)
        _ward_fatal("region: free with a NULL region", p, 0);
    check_handle(region);
    lock(region);
    _ward_region_policy(region)->engine->free(region, p);
    unlock(region);
}

size_t ward_region_usable_size(const ward_region_t *region, const void *p)
{
    if (!p)
        return 0;
    if (!region)
        _ward_fatal("region: usable size with a NULL region", p, 0);
    check_handle(region);
    lock(region);
    size_t n = _ward_region_policy(region)->engine->usable_size(region, p);
    unlock(region);
    return n;
}

bool ward_region_check(const ward_region_t *region, const char **problem)
{
    const char *found = NULL;
    if (!region)
        found = "NULL region";
    else if (region->magic != (REGION_MAGIC ^ region->fit) || !fit_known((ward_fit_t)region->fit))
        found = "the control block's magic is wrong";
    if (!found) {
        lock(region);
        uint64_t area_total = 0, areas = 0;
        for (region_offset_t a = region->first_area; a && areas <= region->area_count;
             a = ((region_area_t *)region_at(region, a))->next, areas++)
            area_total += ((region_area_t *)region_at(region, a))->size;
        if (areas != region->area_count || region->size != region->control_bytes + area_total)
            found = "the chain of areas disagrees with the control block";
        else if (region->size != region->overhead + region->used_bytes + region->free_bytes)
            found = "size differs from overhead + used + free";
        else
            found = _ward_region_policy(region)->engine->check(region);
        unlock(region);
    }
    if (problem)
        *problem = found;
    return found == NULL;
}

static int largest_free_visitor(void *ptr, size_t size, bool used, void *arg)
{
    (void)ptr;
    size_t *largest = arg;
    if (!used && size > *largest)
        *largest = size;
    return 0;
}

int ward_region_stats(const ward_region_t *region, ward_region_stats_t *out)
{
    if (!region || !out)
        return EINVAL;
    check_handle(region);
    lock(region);
    size_t largest = 0;
    _ward_region_policy(region)->engine->walk(region, largest_free_visitor, &largest);
    *out = (ward_region_stats_t){
        .size = (size_t)region->size,
        .overhead = (size_t)region->overhead,
        .used = (size_t)region->used_bytes,
        .requested = (size_t)region->requested_bytes,
        .free = (size_t)region->free_bytes,
        .largest_free = largest,
        .used_blocks = (size_t)region->used_blocks,
        .free_blocks = (size_t)region->free_blocks,
    };
    unlock(region);
    if (out->used)
        out->internal_fragmentation = 1.0 - (double)out->requested / (double)out->used;
    if (out->free)
        out->external_fragmentation = 1.0 - (double)(largest + REGION_HEADER) / (double)out->free;
    return 0;
}

int ward_region_walk(const ward_region_t *region, ward_region_visitor_t visit, void *arg)
{
    if (!region || !visit)
        return EINVAL;
    check_handle(region);
    lock(region);
    int result = _ward_region_policy(region)->engine->walk(region, visit, arg);
    unlock(region);
    return result;
}

const char *_ward_region_check_blocks(const ward_region_t *region, region_area_check_t check)
{
    region_totals_t totals = {0, 0, 0, 0, 0};
    for (region_offset_t a = region->first_area; a; a = ((region_area_t *)region_at(region, a))->next) {
        const char *problem = check(region, a, &totals);
        if (problem)
            return problem;
    }
    if (totals.used_blocks != region->used_blocks || totals.used_bytes != region->used_bytes ||
        totals.requested_bytes != region->requested_bytes)
        return "the counters of allocated blocks disagree with the blocks";
    if (totals.free_blocks != region->free_blocks || totals.free_bytes != region->free_bytes)
        return "the counters of free blocks disagree with the blocks";
    return NULL;
}
