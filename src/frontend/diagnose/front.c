/*
 * front.c - malloc, free, realloc and usable_size under the diagnostics:
 * blocks with a header and canaries from a few shared core heaps (the
 * shards), junk fill, the hand-off to the quarantine and to guarded slots,
 * and the checks every free and realloc makes.  The layout of a block is
 * drawn in diagnose.h.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "frontend/diagnose/diagnose.h"
#include "heap/heap.h"
#include "os/os.h"
#include "support/options.h"

#define SHARD_COUNT 4

/* A shard: one shared core heap, and the live blocks it gave out, both
 * under the heap's lock (which ward's fork handlers hold across fork). */
typedef struct shard_s {
    ward_heap_t *heap;
    ward_diag_block_t *live;
} shard_t;

ward_diag_settings_t _ward_diag;
static shard_t shards[SHARD_COUNT];
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static atomic_uint next_shard;
static atomic_int fork_handlers_state; /* 0 none, 1 being registered, 2 registered */
static __thread uint32_t tls_shard_plus_one __attribute__((tls_model("initial-exec")));
static __thread uint32_t tls_thread __attribute__((tls_model("initial-exec")));

/* ------------------------------------------------------------------ init */

static void init(void)
{
    _ward_diag.debug = ward_option(WARD_OPTION_DEBUG) != 0;
    _ward_diag.leaks = ward_option(WARD_OPTION_LEAKS) != 0;
    _ward_diag.guard_sample = ward_option(WARD_OPTION_GUARD_SAMPLE);
    _ward_diag.stacks = _ward_diag.debug || _ward_diag.leaks;
    for (int i = 0; i < SHARD_COUNT; i++)
        shards[i].heap = _ward_heap_new_shared();
    if (!_ward_stack_init())
        _ward_diag.stacks = false;
    /* Without its ring (the OS refused the mapping) the quarantine hands
     * every block back at once, after checking its junk. */
    if (_ward_diag.debug)
        _ward_quarantine_init();
    if (_ward_diag.guard_sample > 0)
        _ward_guard_init();
}

void _ward_diag_init(void) { pthread_once(&init_once, init); }

/* Before the program runs the core chooses the mode; with the diagnostics
 * on, the unwinder is opened now rather than at the program's first
 * allocation, in the middle of its work. */
__attribute__((constructor)) static void diagnose_start(void)
{
    _ward_core_start();
    if (_ward_diagnostics)
        _ward_stack_prepare();
}

uint32_t _ward_diag_thread(void)
{
    if (tls_thread == 0)
        tls_thread = (uint32_t)_ward_os_gettid();
    return tls_thread;
}

static void fork_prepare(void)
{
    _ward_guard_fork_prepare();
    _ward_quarantine_fork_prepare();
}

static void fork_parent(void)
{
    _ward_quarantine_fork_parent();
    _ward_guard_fork_parent();
}

static void fork_child(void)
{
    _ward_quarantine_fork_child();
    _ward_guard_fork_child();
    tls_thread = 0; /* the child's thread has an id of its own */
}

/* pthread_atfork may allocate: registered after an allocation completed,
 * and an allocation nested in it skips this. */
static void register_fork_handlers(void)
{
    if (atomic_load_explicit(&fork_handlers_state, memory_order_acquire) != 0)
        return;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&fork_handlers_state, &expected, 1))
        return;
    _ward_os_atfork(fork_prepare, fork_parent, fork_child);
    atomic_store_explicit(&fork_handlers_state, 2, memory_order_release);
}

static shard_t *my_shard(void)
{
    if (tls_shard_plus_one == 0)
        tls_shard_plus_one = atomic_fetch_add_explicit(&next_shard, 1, memory_order_relaxed) % SHARD_COUNT + 1;
    return &shards[tls_shard_plus_one - 1];
}

static shard_t *shard_of_heap(const ward_heap_t *heap)
{
    for (int i = 0; i < SHARD_COUNT; i++)
        if (shards[i].heap == heap && heap != NULL)
            return &shards[i];
    return NULL;
}

/* ------------------------------------------------------------- helpers */

const unsigned char *_ward_diag_find_other(const void *p, size_t n, unsigned char value)
{
    const unsigned char *s = p;
    size_t i = 0;
    uint64_t word = 0x0101010101010101u * value;
    for (; i < n && ((uintptr_t)(s + i) & 7); i++)
        if (s[i] != value)
            return s + i;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w != word)
            break;
    }
    for (; i < n; i++)
        if (s[i] != value)
            return s + i;
    return NULL;
}

size_t _ward_diag_size_class(const ward_diag_block_t *b) { return _ward_usable_size_core(b); }

static void finding_of_block(ward_diag_finding_t *f, const ward_diag_block_t *b)
{
    f->block = _ward_diag_user(b);
    f->size = b->size;
    f->size_class = _ward_diag_size_class(b);
    f->alloc_stack = b->alloc_stack;
    f->alloc_thread = b->alloc_thread;
    if (b->state == _ward_diag_state(b, WARD_DIAG_FREED)) {
        f->free_stack = b->free_stack;
        f->free_thread = b->free_thread;
    }
}

int _ward_diag_block_verify(const ward_diag_block_t *b, const unsigned char **bad)
{
    const char *user = _ward_diag_user(b);
    *bad = (const unsigned char *)b;
    if (b->state != _ward_diag_state(b, WARD_DIAG_LIVE))
        return WARD_CHECK_HEADER;
    if ((*bad = _ward_diag_find_other(user - WARD_DIAG_FRONT_CANARY, WARD_DIAG_FRONT_CANARY,
                                      WARD_DIAG_CANARY_BYTE)) != NULL)
        return WARD_CHECK_CANARY;
    if ((*bad = _ward_diag_find_other(user + b->size, _ward_diag_tail(b->size), WARD_DIAG_CANARY_BYTE)) != NULL)
        return WARD_CHECK_CANARY;
    return 0;
}

/* ------------------------------------------------------------- lookup */

/*
 * The header of the diagnostic block p points into; NULL when p is a block
 * of a user heap (no diagnostics).  Stops the program when p is not a block
 * ward handed out.
 */
static ward_diag_block_t *locate(const void *p, const char *operation)
{
    unsigned map = _ward_segmap_byte(p);
    /* A huge diagnostic block freed before has left the core's records of
     * recent frees under its core address. */
    if (map == 0)
        _ward_fatal_op(operation,
                       _ward_huge_recently_freed((const char *)p - WARD_DIAG_MIN_OFFSET) ? "double free"
                                                                                       : "pointer not allocated by ward",
                       p, 0);
    char *core;
    if (map != WARD_SEGMAP_SLICED) {
        ward_huge_t *h = _ward_segmap_lookup(p);
        if (shard_of_heap(h->heap) == NULL)
            return NULL;
        core = h->user;
    } else {
        ward_segment_t *seg = _ward_segment_of(p);
        ward_page_t *page = _ward_segment_page_of(seg, p);
        if (page->kind == WARD_PAGE_UNUSED) {
            /* a free run whose first slice last held a large block: was it
             * this one (see _ward_free_large)? */
            bool was_large = page->start == (const char *)p - WARD_DIAG_MIN_OFFSET && page->capacity == 1;
            _ward_fatal_op(operation, was_large ? "double free" : "pointer not allocated by ward", p, 0);
        }
        if (shard_of_heap(_ward_page_owner(page, memory_order_acquire)) == NULL)
            return NULL;
        if (page->kind == WARD_PAGE_SMALL) {
            size_t index = (size_t)((const char *)p - page->start) / page->block_size;
            if (index >= page->capacity)
                _ward_fatal_op(operation, "pointer not allocated by ward", p, 0);
            core = page->start + index * page->block_size;
        } else if (page->kind == WARD_PAGE_LARGE) {
            core = page->start;
        } else {
            _ward_fatal_op(operation, "pointer not allocated by ward", p, 0);
        }
    }
    ward_diag_block_t *b = (ward_diag_block_t *)core;
    bool state_known = b->state == _ward_diag_state(b, WARD_DIAG_LIVE) ||
                       b->state == _ward_diag_state(b, WARD_DIAG_FREED);
    if (state_known && (const char *)p != _ward_diag_user(b))
        _ward_fatal_op(operation, "interior pointer", p, 0);
    if (!state_known) {
        ward_diag_finding_t f = {.operation = operation, .kind = "heap underflow", .address = p, .block = p,
                                 .detail = "the block's header before it was overwritten"};
        _ward_diag_fatal(&f);
    }
    return b;
}

/* Stops on a double free or a broken canary of the block p (header b). */
static void verify_live(ward_diag_block_t *b, const void *p, const char *operation)
{
    const unsigned char *bad;
    if (WARD_LIKELY(_ward_diag_block_verify(b, &bad) == 0))
        return;
    ward_diag_finding_t f = {.operation = operation, .address = p};
    finding_of_block(&f, b);
    if (b->state == _ward_diag_state(b, WARD_DIAG_FREED)) {
        f.kind = "double free";
        f.detail = "the block was freed before";
        _ward_diag_fatal(&f);
    }
    bool before = bad < (const unsigned char *)p;
    f.kind = before ? "heap underflow" : "heap overflow";
    f.detail = before ? "canary before the block overwritten at" : "canary after the block overwritten at";
    f.offset = (long)(bad - (const unsigned char *)p);
    f.has_offset = true;
    _ward_diag_fatal(&f);
}

/* ------------------------------------------------------------- malloc */

void *_ward_diag_malloc(size_t n, size_t alignment)
{
    _ward_diag_init();
    if (_ward_diag.guard_sample > 0) {
        void *g = _ward_guard_malloc(n, alignment);
        if (g) {
            register_fork_handlers();
            return g;
        }
    }
    size_t align = alignment > WARD_MIN_ALIGN ? alignment : WARD_MIN_ALIGN;
    size_t offset = align > WARD_DIAG_MIN_OFFSET ? align : WARD_DIAG_MIN_OFFSET;
    if (n > PTRDIFF_MAX - offset - 2 * WARD_MIN_ALIGN || offset > UINT32_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    uint32_t stack = _ward_diag.stacks ? _ward_stack_capture() : 0;
    shard_t *shard = my_shard();
    if (shard->heap == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    pthread_mutex_lock(&shard->heap->lock);
    ward_diag_block_t *b =
        _ward_heap_alloc(shard->heap, offset + n + _ward_diag_tail(n), alignment > WARD_MIN_ALIGN ? alignment : 0);
    if (b != NULL) {
        b->prev = NULL;
        b->next = shard->live;
        if (shard->live)
            shard->live->prev = b;
        shard->live = b;
        b->state = _ward_diag_state(b, WARD_DIAG_LIVE);
    }
    pthread_mutex_unlock(&shard->heap->lock);
    if (b == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    b->size = n;
    b->offset = (uint32_t)offset;
    b->alloc_stack = stack;
    b->free_stack = 0;
    b->alloc_thread = _ward_diag_thread();
    b->free_thread = 0;
    char *user = _ward_diag_user(b);
    memset(user - WARD_DIAG_FRONT_CANARY, WARD_DIAG_CANARY_BYTE, WARD_DIAG_FRONT_CANARY);
    memset(user + n, WARD_DIAG_CANARY_BYTE, _ward_diag_tail(n));
    if (_ward_diag.debug)
        memset(user, WARD_DIAG_NEW_JUNK, n < WARD_DIAG_JUNK_MAX ? n : WARD_DIAG_JUNK_MAX);
    register_fork_handlers();
    return user;
}

/* --------------------------------------------------------------- free */

/* The shard of a diagnostic block's header. */
static shard_t *shard_of_block(const ward_diag_block_t *b)
{
    if (_ward_segmap_byte(b) != WARD_SEGMAP_SLICED)
        return shard_of_heap(((ward_huge_t *)_ward_segmap_lookup(b))->heap);
    ward_segment_t *seg = _ward_segment_of(b);
    return shard_of_heap(_ward_page_owner(_ward_segment_page_of(seg, b), memory_order_acquire));
}

/* A small block goes straight back onto its page under the shard's lock
 * (no remote-free traffic); large and huge ones through the core's free.
 * Called with the lock held when locked. */
static void release(shard_t *shard, ward_diag_block_t *b, bool locked)
{
    ward_segment_t *seg = _ward_segment_of(b);
    if (_ward_segmap_byte(b) == WARD_SEGMAP_SLICED && seg->slice_class[_ward_slice_index(seg, b)] < WARD_CLASS_COUNT) {
        if (!locked)
            pthread_mutex_lock(&shard->heap->lock);
        _ward_heap_free_locked(shard->heap, _ward_segment_page_of(seg, b), b);
        if (!locked)
            pthread_mutex_unlock(&shard->heap->lock);
        return;
    }
    if (locked)
        pthread_mutex_unlock(&shard->heap->lock);
    _ward_free_core(b);
    if (locked)
        pthread_mutex_lock(&shard->heap->lock);
}

void _ward_diag_release(ward_diag_block_t *b) { release(shard_of_block(b), b, false); }

static void diag_free(void *p, const char *operation)
{
    if (_ward_guard_owns(p)) {
        _ward_guard_free(p, operation);
        return;
    }
    ward_diag_block_t *b = locate(p, operation);
    if (b == NULL) {
        _ward_free_core(p);
        return;
    }
    /* The free stack is for reports of later misuse, which need
     * WARD_DEBUG's checks; leaks need only the allocation stack. */
    uint32_t stack = _ward_diag.debug ? _ward_stack_capture() : 0;
    shard_t *shard = shard_of_block(b);
    pthread_mutex_lock(&shard->heap->lock);
    /* Checked under the lock: of two threads freeing one block, the second
     * finds it freed. */
    verify_live(b, p, operation);
    if (b->prev)
        b->prev->next = b->next;
    else
        shard->live = b->next;
    if (b->next)
        b->next->prev = b->prev;
    b->state = _ward_diag_state(b, WARD_DIAG_FREED);
    b->free_stack = stack;
    b->free_thread = _ward_diag_thread();
    if (!_ward_diag.debug) {
        release(shard, b, true);
        pthread_mutex_unlock(&shard->heap->lock);
        return;
    }
    pthread_mutex_unlock(&shard->heap->lock);
    memset(p, WARD_DIAG_FREED_JUNK, b->size < WARD_DIAG_JUNK_MAX ? b->size : WARD_DIAG_JUNK_MAX);
    _ward_quarantine_push(b);
}

void _ward_diag_free(void *p)
{
    if (p != NULL)
        diag_free(p, "free");
}

/* ------------------------------------------------------ realloc, size */

/* The bytes asked for of any live block p (diagnostic, guarded, or a user
 * heap's usable size). */
static size_t block_size(const void *p, const char *operation)
{
    if (_ward_guard_owns(p))
        return _ward_guard_size(p, operation);
    ward_diag_block_t *b = locate(p, operation);
    if (b == NULL)
        return _ward_usable_size_core(p);
    verify_live(b, p, operation);
    return b->size;
}

void *_ward_diag_realloc(void *p, size_t n)
{
    if (p == NULL)
        return _ward_diag_malloc(n, 0);
    if (n > PTRDIFF_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    size_t old = block_size(p, "realloc");
    if (n == 0) {
        diag_free(p, "realloc");
        return NULL;
    }
    /* Always a new block: a stale pointer to the old one then reads junk
     * (or faults, if it was guarded) instead of working by luck. */
    void *q = _ward_diag_malloc(n, 0);
    if (q == NULL)
        return NULL;
    memcpy(q, p, n < old ? n : old);
    diag_free(p, "realloc");
    return q;
}

size_t _ward_diag_usable_size(const void *p) { return block_size(p, "usable_size"); }

bool _ward_diag_owns(const void *p)
{
    if (p == NULL)
        return false;
    return _ward_guard_owns(p) || locate(p, "realloc") != NULL;
}

void _ward_diag_each_live(void (*fn)(ward_diag_block_t *b, void *ctx), void *ctx)
{
    for (int i = 0; i < SHARD_COUNT; i++) {
        if (shards[i].heap == NULL)
            continue;
        pthread_mutex_lock(&shards[i].heap->lock);
        for (ward_diag_block_t *b = shards[i].live; b; b = b->next)
            fn(b, ctx);
        pthread_mutex_unlock(&shards[i].heap->lock);
    }
}
