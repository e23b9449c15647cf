/*
 * guard.c - sampled guarded blocks (WARD_GUARD_SAMPLE=N): one malloc in N
 * that fits a page gets a slot of its own,
 *
 *   | data page ........... [slack][block] | guard page (inaccessible) |
 *
 * (the range of slots starts with one more guard page, so the first slot's
 * block has one before it too)
 * with the block's end at the end of the data page (rounded up to the
 * block's alignment, 16 at least: up to 15 bytes of slack after the block
 * that do not fault).  The rest of the data page, before the block, and
 * that slack hold a canary checked at free: an overflow into the slack or
 * an underflow that stays inside the page is found then.  An overflow past
 * the page faults on the guard page; when the block is freed the data page
 * becomes inaccessible too, so a use after free faults, until the slot is
 * reused (freed slots are reused oldest first, and only once every slot has
 * been used).  The fault handler finds the slot and reports the kind with
 * the allocation and free stacks.
 *
 * Mappings: the slots are one reserved range, inaccessible; opening a data
 * page splits the mapping, so at most 2 * live guarded blocks + 1 mappings
 * are used.  The slot count is bounded by MAX_SLOTS and by a quarter of
 * vm.max_map_count, and when the kernel refuses a protection change
 * sampling stops (allocations then come from the normal path).
 *
 * Invariants (guard_lock): slots [0, next_unused) have been used; a slot is
 * EMPTY (never used), LIVE (data page accessible) or FREED (inaccessible,
 * on the freed FIFO linked through next_freed from oldest_freed).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "frontend/diagnose/diagnose.h"
#include "os/os.h"

#define MAX_SLOTS 4096u
#define NO_SLOT UINT32_MAX

typedef enum slot_state_e { SLOT_EMPTY = 0, SLOT_LIVE, SLOT_FREED } slot_state_t;

typedef struct guard_slot_s {
    char *user;
    uint64_t size;
    uint32_t state;
    uint32_t next_freed;
    uint32_t alloc_stack, free_stack;
    uint32_t alloc_thread, free_thread;
} guard_slot_t;

static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;
static char *slots_base;                           /* the leading guard page; slot 0 follows */
static size_t page_size, slot_bytes;
static uint32_t slot_count;
static guard_slot_t *slots;
static uint32_t next_unused;                       /* (guard_lock) */
static uint32_t oldest_freed = NO_SLOT, newest_freed = NO_SLOT; /* (guard_lock) */
static atomic_bool sampling;                       /* false once the kernel refused */
/* guarded blocks handed out and freed, and the bytes of those live, for the
 * statistics (the core never sees these blocks) */
static atomic_uint_least64_t guarded_mallocs, guarded_frees;
static atomic_int_least64_t guarded_bytes;
static __thread uint64_t tls_countdown __attribute__((tls_model("initial-exec")));
static __thread uint64_t tls_random __attribute__((tls_model("initial-exec")));

static void on_fault(void *address, bool is_write, uintptr_t pc);

void _ward_guard_init(void)
{
    page_size = _ward_os_page_size();
    slot_bytes = 2 * page_size;
    long limit = _ward_os_max_map_count() / 4;
    slot_count = limit < (long)MAX_SLOTS ? (uint32_t)(limit > 0 ? limit : 0) : MAX_SLOTS;
    if (slot_count == 0)
        return;
    slots_base = _ward_os_reserve_inaccessible(page_size + slot_count * slot_bytes);
    slots = _ward_os_map_aligned(WARD_ALIGN_UP(slot_count * sizeof *slots, page_size), page_size);
    if (slots_base == NULL || slots == NULL || !_ward_os_catch_faults(on_fault))
        return;
    atomic_store(&sampling, true);
}

bool _ward_guard_owns(const void *p)
{
    return slots_base != NULL && (const char *)p >= slots_base &&
           (const char *)p < slots_base + page_size + slot_count * slot_bytes;
}

static char *slot_data(size_t index) { return slots_base + page_size + index * slot_bytes; }

/* The next countdown: N exactly for N <= 2, else uniform in [1, 2N - 1] so
 * that a program allocating in a fixed cycle is not always sampled at the
 * same point of it. */
static uint64_t next_countdown(void)
{
    uint64_t n = (uint64_t)_ward_diag.guard_sample;
    if (n <= 2)
        return n;
    if (tls_random == 0)
        tls_random = 0x9e3779b97f4a7c15u ^ _ward_diag_thread();
    tls_random ^= tls_random << 13;
    tls_random ^= tls_random >> 7;
    tls_random ^= tls_random << 17;
    return 1 + tls_random % (2 * n - 1);
}

void *_ward_guard_malloc(size_t n, size_t alignment)
{
    if (tls_countdown > 1) {
        tls_countdown--;
        return NULL;
    }
    tls_countdown = next_countdown();
    size_t align = alignment > 16 ? alignment : 16;
    size_t rounded = WARD_ALIGN_UP(n ? n : 1, align);
    if (!atomic_load_explicit(&sampling, memory_order_relaxed) || rounded > page_size || align > page_size)
        return NULL;
    uint32_t stack = _ward_stack_capture();
    pthread_mutex_lock(&guard_lock);
    uint32_t index = NO_SLOT;
    if (next_unused < slot_count) {
        index = next_unused++;
    } else if (oldest_freed != NO_SLOT) {
        index = oldest_freed;
        oldest_freed = slots[index].next_freed;
        if (oldest_freed == NO_SLOT)
            newest_freed = NO_SLOT;
    }
    if (index == NO_SLOT) {
        pthread_mutex_unlock(&guard_lock);
        return NULL;
    }
    char *data = slot_data(index);
    if (!_ward_os_protect(data, page_size, true)) {
        /* Out of mappings: stop sampling; the slot stays unused. */
        atomic_store(&sampling, false);
        slots[index].state = SLOT_EMPTY;
        pthread_mutex_unlock(&guard_lock);
        return NULL;
    }
    guard_slot_t *s = &slots[index];
    s->user = data + page_size - rounded;
    s->size = n;
    s->state = SLOT_LIVE;
    s->next_freed = NO_SLOT;
    s->alloc_stack = stack;
    s->free_stack = 0;
    s->alloc_thread = _ward_diag_thread();
    s->free_thread = 0;
    pthread_mutex_unlock(&guard_lock);
    atomic_fetch_add_explicit(&guarded_mallocs, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&guarded_bytes, (int64_t)rounded, memory_order_relaxed);
    memset(data, WARD_DIAG_CANARY_BYTE, page_size - rounded);
    memset(s->user + n, WARD_DIAG_CANARY_BYTE, rounded - n);
    if (_ward_diag.debug)
        memset(s->user, WARD_DIAG_NEW_JUNK, n);
    return s->user;
}

/* The first byte of the data page around the live block of s that is not
 * the canary, or NULL. */
static const unsigned char *slack_overwritten(const guard_slot_t *s, char *page_end)
{
    char *data = page_end - page_size;
    const unsigned char *bad = _ward_diag_find_other(data, (size_t)(s->user - data), WARD_DIAG_CANARY_BYTE);
    if (bad == NULL)
        bad = _ward_diag_find_other(s->user + s->size, (size_t)(page_end - s->user) - s->size, WARD_DIAG_CANARY_BYTE);
    return bad;
}

static void finding_of_slot(ward_diag_finding_t *f, const guard_slot_t *s)
{
    f->block = s->user;
    f->size = s->size;
    f->size_class = WARD_ALIGN_UP(s->size ? s->size : 1, 16);
    f->alloc_stack = s->alloc_stack;
    f->alloc_thread = s->alloc_thread;
    f->free_stack = s->free_stack;
    f->free_thread = s->free_thread;
}

/* The slot of p, a pointer inside the slots, checked to be a live block's
 * start; stops otherwise.  (guard_lock) */
static guard_slot_t *live_slot(const void *p, const char *operation)
{
    if ((const char *)p < slot_data(0)) {
        ward_diag_finding_t f = {.operation = operation, .kind = "pointer not allocated by ward", .address = p};
        _ward_diag_fatal(&f);
    }
    guard_slot_t *s = &slots[((const char *)p - slot_data(0)) / slot_bytes];
    if (s->state == SLOT_LIVE && s->user == p)
        return s;
    ward_diag_finding_t f = {.operation = operation, .address = p};
    if (s->state == SLOT_FREED && s->user == p) {
        finding_of_slot(&f, s);
        f.kind = "double free";
        f.detail = "the guarded block was freed before";
    } else {
        f.kind = s->state == SLOT_LIVE ? "interior pointer" : "pointer not allocated by ward";
        if (s->state != SLOT_EMPTY)
            finding_of_slot(&f, s);
    }
    _ward_diag_fatal(&f);
}

void _ward_guard_free(void *p, const char *operation)
{
    uint32_t stack = _ward_stack_capture();
    pthread_mutex_lock(&guard_lock);
    guard_slot_t *s = live_slot(p, operation);
    char *page_end = slot_data((size_t)(s - slots)) + page_size;
    size_t rounded = (size_t)(page_end - s->user);
    const unsigned char *bad = slack_overwritten(s, page_end);
    if (bad) {
        bool before = (const char *)bad < s->user;
        ward_diag_finding_t f = {.operation = operation, .kind = before ? "heap underflow" : "heap overflow",
                                 .address = p,
                                 .detail = before ? "page before the guarded block overwritten at"
                                                  : "slack after the guarded block overwritten at",
                                 .offset = (long)((const char *)bad - s->user), .has_offset = true};
        finding_of_slot(&f, s);
        f.size_class = rounded;
        _ward_diag_fatal(&f);
    }
    s->state = SLOT_FREED;
    atomic_fetch_add_explicit(&guarded_frees, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&guarded_bytes, (int64_t)rounded, memory_order_relaxed);
    s->free_stack = stack;
    s->free_thread = _ward_diag_thread();
    if (!_ward_os_protect(page_end - page_size, page_size, false))
        atomic_store(&sampling, false);
    /* The page stays out of reach until the slot is reused: its memory goes
     * back to the OS now (every slot is used once before any is reused, so
     * otherwise all of them would stay resident). */
    _ward_os_decommit(page_end - page_size, page_size);
    s->next_freed = NO_SLOT;
    if (newest_freed != NO_SLOT)
        slots[newest_freed].next_freed = (uint32_t)(s - slots);
    else
        oldest_freed = (uint32_t)(s - slots);
    newest_freed = (uint32_t)(s - slots);
    pthread_mutex_unlock(&guard_lock);
}

void _ward_guard_add_stats(uint64_t *mallocs, uint64_t *frees, uint64_t *allocated)
{
    *mallocs += atomic_load_explicit(&guarded_mallocs, memory_order_relaxed);
    *frees += atomic_load_explicit(&guarded_frees, memory_order_relaxed);
    int64_t bytes = atomic_load_explicit(&guarded_bytes, memory_order_relaxed);
    *allocated += bytes > 0 ? (uint64_t)bytes : 0;
}

size_t _ward_guard_size(const void *p, const char *operation)
{
    pthread_mutex_lock(&guard_lock);
    size_t size = live_slot(p, operation)->size;
    pthread_mutex_unlock(&guard_lock);
    return size;
}

void _ward_guard_each_live(void (*fn)(const void *p, size_t size, uint32_t stack, void *ctx), void *ctx)
{
    if (slots == NULL)
        return;
    pthread_mutex_lock(&guard_lock);
    for (uint32_t i = 0; i < next_unused; i++)
        if (slots[i].state == SLOT_LIVE)
            fn(slots[i].user, slots[i].size, slots[i].alloc_stack, ctx);
    pthread_mutex_unlock(&guard_lock);
}

int _ward_guard_check(void)
{
    if (slots == NULL)
        return 0;
    int result = 0;
    pthread_mutex_lock(&guard_lock);
    for (uint32_t i = 0; i < next_unused && result == 0; i++) {
        guard_slot_t *s = &slots[i];
        if (s->state != SLOT_LIVE)
            continue;
        const unsigned char *bad = slack_overwritten(s, slot_data(i) + page_size);
        if (bad) {
            _ward_diag_check_line("canary beside a guarded block overwritten", bad);
            result = WARD_CHECK_GUARD;
        }
    }
    pthread_mutex_unlock(&guard_lock);
    return result;
}

/* The fault handler: runs on SIGSEGV and SIGBUS.  Only faults inside the
 * slots are ward's; the slot table is read without the lock (the thread
 * that faulted may hold it, and the process is about to stop anyway). */
static void on_fault(void *address, bool is_write, uintptr_t pc)
{
    const char *a = address;
    if (!_ward_guard_owns(a))
        return;
    /* index - 1 for the leading guard page: slot "-1" has no block */
    size_t index = (size_t)(a - slots_base + slot_bytes - page_size) / slot_bytes;
    bool in_guard_page = (size_t)(a - slots_base + slot_bytes - page_size) % slot_bytes >= page_size;
    static const guard_slot_t no_slot = {.state = SLOT_EMPTY};
    const guard_slot_t *s = index > 0 ? &slots[index - 1] : &no_slot;
    uintptr_t frames[WARD_STACK_DEPTH];
    ward_diag_finding_t f = {.operation = "access", .address = address, .has_offset = true};
    f.access_depth = _ward_stack_capture_at(pc, frames, WARD_STACK_DEPTH);
    f.access_frames = frames;
    if (in_guard_page) {
        /* Past the end of slot index's block, or before the start of the
         * next slot's: the nearer live block is the one overrun. */
        const guard_slot_t *next = index < slot_count ? &slots[index] : NULL;
        bool underflow = next && next->state == SLOT_LIVE &&
                         (s->state != SLOT_LIVE || (size_t)(next->user - a) < (size_t)(a - (s->user + s->size)));
        if (underflow)
            s = next;
        f.kind = underflow ? "heap underflow" : "heap overflow";
        f.detail = is_write ? "write into the guard page at" : "read from the guard page at";
    } else if (s->state == SLOT_FREED) {
        f.kind = "use after free";
        f.detail = is_write ? "write to the freed guarded block at" : "read of the freed guarded block at";
    } else {
        f.kind = "invalid access";
        f.detail = "access to an unused guarded slot at";
    }
    if (s->state != SLOT_EMPTY) {
        finding_of_slot(&f, s);
        f.offset = (long)(a - s->user);
    } else {
        f.has_offset = false;
    }
    _ward_diag_fatal(&f);
}

void _ward_guard_fork_prepare(void) { pthread_mutex_lock(&guard_lock); }
void _ward_guard_fork_parent(void) { pthread_mutex_unlock(&guard_lock); }
void _ward_guard_fork_child(void) { pthread_mutex_init(&guard_lock, NULL); }
