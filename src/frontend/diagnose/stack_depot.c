/*
 * stack_depot.c - call stacks captured without allocating, stored once each
 * in a fixed table (the depot) and named by a 32-bit id.
 *
 * Capture uses libgcc's _Unwind_Backtrace, which reads the .eh_frame tables
 * every module has, so it works for programs built without frame pointers.
 * libgcc_s is not linked: a process that runs without the diagnostics (the
 * usual case) never maps it.  The first capture opens it (dlopen, which
 * allocates: captures made meanwhile, by that allocation or by other
 * threads, come out empty, and a capture from the fault handler never
 * opens it).  Frames inside libward itself are left out: the stack starts
 * at the caller of malloc, free or the fault.
 *
 * The depot is an open-addressing hash table in memory mapped through the
 * OS layer (pages are touched only when used).  Insertion is lock-free: a
 * slot's key goes 0 (empty) -> KEY_BUSY (being written, by the one thread
 * whose exchange won) -> the stack's hash (published with release), and
 * never changes again.  An id is the slot index + 1.
 */
#include <dlfcn.h>
#include <link.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <unwind.h>

#include "frontend/diagnose/diagnose.h"
#include "os/os.h"

#define DEPOT_SLOTS ((size_t)1 << 16)
#define DEPOT_PROBES 64
#define KEY_EMPTY 0
#define KEY_BUSY 1

typedef struct depot_entry_s {
    _Atomic(uint64_t) key;
    uint32_t depth;
    uint32_t unused;
    /* leak report sums (leaks.c, at exit) */
    uint64_t leak_bytes, leak_count;
    const void *leak_example;
    uintptr_t frames[WARD_STACK_DEPTH];
} depot_entry_t;

static depot_entry_t *depot;
/* libward's own code: [ward_text_start, ward_text_end).  Empty when ward is
 * linked statically into the program (its code cannot be told apart from
 * the program's): then a fixed number of frames is left out instead. */
static uintptr_t ward_text_start, ward_text_end;
#define STATIC_SKIP 3

static int find_own_text(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    uintptr_t self = (uintptr_t)ctx;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (self >= start && self < start + ph->p_memsz) {
            if (info->dlpi_name && info->dlpi_name[0] != '\0') {
                ward_text_start = start;
                ward_text_end = start + ph->p_memsz;
            }
            return 1;
        }
    }
    return 0;
}

bool _ward_stack_init(void)
{
    depot = _ward_os_map_aligned(WARD_ALIGN_UP(DEPOT_SLOTS * sizeof(depot_entry_t), _ward_os_page_size()),
                                 _ward_os_page_size());
    dl_iterate_phdr(find_own_text, (void *)(uintptr_t)&_ward_stack_init);
    return depot != NULL;
}

typedef struct unwind_state_s {
    uintptr_t *frames;
    unsigned depth, max, skip;
    bool in_ward;   /* still in libward's leading frames */
} unwind_state_t;

typedef _Unwind_Reason_Code (*unwind_backtrace_fn)(_Unwind_Trace_Fn trace, void *arg);
typedef _Unwind_Ptr (*unwind_get_ip_fn)(struct _Unwind_Context *context);

enum { UNWINDER_ABSENT, UNWINDER_LOADING, UNWINDER_READY, UNWINDER_MISSING };
static _Atomic(int) unwinder_state;
static __thread bool opening_unwinder __attribute__((tls_model("initial-exec")));
static unwind_backtrace_fn unwind_backtrace; /* set before UNWINDER_READY is published */
static unwind_get_ip_fn unwind_get_ip;

/* True when the unwinder can be called; opens libgcc_s on the first call
 * that may (one thread does, the others go on without a stack). */
static bool unwinder_ready(bool may_load)
{
    int state = atomic_load_explicit(&unwinder_state, memory_order_acquire);
    if (state == UNWINDER_READY)
        return true;
    int absent = UNWINDER_ABSENT;
    if (!may_load || state != UNWINDER_ABSENT ||
        !atomic_compare_exchange_strong_explicit(&unwinder_state, &absent, UNWINDER_LOADING, memory_order_acquire,
                                                 memory_order_relaxed))
        return false;
    opening_unwinder = true;
    void *library = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_LOCAL);
    opening_unwinder = false;
    if (library) {
        unwind_backtrace = (unwind_backtrace_fn)dlsym(library, "_Unwind_Backtrace");
        unwind_get_ip = (unwind_get_ip_fn)dlsym(library, "_Unwind_GetIP");
    }
    bool ready = unwind_backtrace != NULL && unwind_get_ip != NULL;
    atomic_store_explicit(&unwinder_state, ready ? UNWINDER_READY : UNWINDER_MISSING, memory_order_release);
    return ready;
}

static _Unwind_Reason_Code unwind_step(struct _Unwind_Context *context, void *arg)
{
    unwind_state_t *s = arg;
    uintptr_t ip = (uintptr_t)unwind_get_ip(context);
    if (ip == 0)
        return _URC_END_OF_STACK;
    if (s->in_ward) {
        if (ward_text_end != 0 ? ip >= ward_text_start && ip < ward_text_end : s->skip-- > 0)
            return _URC_NO_REASON;
        s->in_ward = false;
    }
    /* A return address points after the call; one byte back is inside
     * it, which is what symbols and line tables describe. */
    s->frames[s->depth++] = ip - 1;
    return s->depth == s->max ? _URC_END_OF_STACK : _URC_NO_REASON;
}

/* may_load is false in the fault handler: dlopen is no call for a signal
 * handler (the allocations before the fault have opened the library). */
static unsigned capture(uintptr_t *frames, unsigned max, bool may_load)
{
    if (!unwinder_ready(may_load))
        return 0;
    unwind_state_t s = {frames, 0, max, STATIC_SKIP, true};
    unwind_backtrace(unwind_step, &s);
    return s.depth;
}

static uint64_t hash_frames(const uintptr_t *frames, unsigned depth)
{
    uint64_t h = 0x9e3779b97f4a7c15u ^ depth;
    for (unsigned i = 0; i < depth; i++) {
        h ^= frames[i];
        h *= 0xff51afd7ed558ccdu;
        h ^= h >> 32;
    }
    return h < 2 ? h + 2 : h;
}

void _ward_stack_prepare(void) { (void)unwinder_ready(true); }

uint32_t _ward_stack_capture(void)
{
    if (opening_unwinder)
        return WARD_STACK_OWN;
    if (depot == NULL)
        return 0;
    uintptr_t frames[WARD_STACK_DEPTH];
    unsigned depth = capture(frames, WARD_STACK_DEPTH, true);
    uint64_t key = hash_frames(frames, depth);
    for (size_t probe = 0; probe < DEPOT_PROBES; probe++) {
        size_t i = (key + probe) & (DEPOT_SLOTS - 1);
        depot_entry_t *e = &depot[i];
        uint64_t seen = atomic_load_explicit(&e->key, memory_order_acquire);
        if (seen == KEY_EMPTY) {
            uint64_t expected = KEY_EMPTY;
            if (atomic_compare_exchange_strong_explicit(&e->key, &expected, KEY_BUSY, memory_order_acquire,
                                                        memory_order_acquire)) {
                e->depth = depth;
                memcpy(e->frames, frames, depth * sizeof frames[0]);
                atomic_store_explicit(&e->key, key, memory_order_release);
                return (uint32_t)i + 1;
            }
            seen = expected;
        }
        /* A writer is filling the slot.  Bounded: in a child forked while
         * another thread was writing, the slot stays busy for good. */
        for (int spins = 0; seen == KEY_BUSY && spins < 1000; spins++) {
            sched_yield();
            seen = atomic_load_explicit(&e->key, memory_order_acquire);
        }
        if (seen == key && e->depth == depth && memcmp(e->frames, frames, depth * sizeof frames[0]) == 0)
            return (uint32_t)i + 1;
    }
    return 0;
}

unsigned _ward_stack_capture_at(uintptr_t pc, uintptr_t *frames, unsigned max)
{
    uintptr_t all[WARD_STACK_DEPTH + 8];
    unsigned depth = capture(all, WARD_STACK_DEPTH + 8, false);
    unsigned from = 0;
    for (unsigned i = 0; i < depth; i++) {
        /* the faulting frame's address is exact, not a return address */
        if (all[i] + 1 == pc) {
            from = i;
            break;
        }
    }
    unsigned n = 0;
    for (unsigned i = from; i < depth && n < max; i++)
        frames[n++] = all[i];
    if (n > 0 && from > 0)
        frames[0] = pc;
    return n;
}

const uintptr_t *_ward_stack_frames(uint32_t id, unsigned *depth)
{
    if (id == 0 || depot == NULL || id > DEPOT_SLOTS) {
        *depth = 0;
        return NULL;
    }
    depot_entry_t *e = &depot[id - 1];
    *depth = e->depth;
    return e->frames;
}

/* Leaked blocks without a stack (captured while the depot was full, or
 * with stacks off). */
static depot_entry_t unknown_stack;

void _ward_stack_leak_add(uint32_t id, uint64_t bytes, const void *example)
{
    if (id == WARD_STACK_OWN)
        return;
    depot_entry_t *e = id == 0 || depot == NULL ? &unknown_stack : &depot[id - 1];
    e->leak_bytes += bytes;
    e->leak_count++;
    if (e->leak_example == NULL)
        e->leak_example = example;
}

/* Sift-down for a max-heap of ids ordered by leak_bytes, smallest first at
 * the end (a heap sort that needs no memory of its own beyond ids). */
static bool leak_less(uint32_t a, uint32_t b) { return depot[a].leak_bytes > depot[b].leak_bytes; }

static void sift(uint32_t *ids, size_t root, size_t count)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= count)
            return;
        if (child + 1 < count && leak_less(ids[child], ids[child + 1]))
            child++;
        if (!leak_less(ids[root], ids[child]))
            return;
        uint32_t t = ids[root];
        ids[root] = ids[child];
        ids[child] = t;
        root = child;
    }
}

void _ward_stack_leaks_each(void (*fn)(uint32_t id, uint64_t bytes, uint64_t count, const void *example, void *ctx),
                            void *ctx)
{
    size_t bytes = WARD_ALIGN_UP(DEPOT_SLOTS * sizeof(uint32_t), _ward_os_page_size());
    uint32_t *ids = depot ? _ward_os_map_aligned(bytes, _ward_os_page_size()) : NULL;
    if (ids == NULL) {
        if (unknown_stack.leak_count)
            fn(0, unknown_stack.leak_bytes, unknown_stack.leak_count, unknown_stack.leak_example, ctx);
        return;
    }
    size_t count = 0;
    for (size_t i = 0; i < DEPOT_SLOTS; i++)
        if (depot[i].leak_count)
            ids[count++] = (uint32_t)i;
    /* heap sort: biggest leak_bytes first */
    for (size_t i = count / 2; i-- > 0;)
        sift(ids, i, count);
    for (size_t end = count; end > 1; end--) {
        uint32_t t = ids[0];
        ids[0] = ids[end - 1];
        ids[end - 1] = t;
        sift(ids, 0, end - 1);
    }
    bool unknown_done = unknown_stack.leak_count == 0;
    for (size_t i = 0; i < count; i++) {
        depot_entry_t *e = &depot[ids[i]];
        if (!unknown_done && unknown_stack.leak_bytes >= e->leak_bytes) {
            fn(0, unknown_stack.leak_bytes, unknown_stack.leak_count, unknown_stack.leak_example, ctx);
            unknown_done = true;
        }
        fn(ids[i] + 1, e->leak_bytes, e->leak_count, e->leak_example, ctx);
        e->leak_bytes = e->leak_count = 0;
        e->leak_example = NULL;
    }
    if (!unknown_done)
        fn(0, unknown_stack.leak_bytes, unknown_stack.leak_count, unknown_stack.leak_example, ctx);
    unknown_stack.leak_bytes = unknown_stack.leak_count = 0;
    unknown_stack.leak_example = NULL;
    _ward_os_unmap(ids, bytes);
}
