/*
 * quarantine.c - freed blocks wait here before the core may reuse them
 * (WARD_DEBUG), so that a write through a stale pointer lands in junk
 * instead of in another live block, and is found when the block leaves.
 *
 * A FIFO ring of at most QUARANTINE_COUNT blocks holding at most
 * QUARANTINE_BYTES bytes (the core blocks' sizes); a block larger than the
 * byte bound skips it.  When a push goes over either bound the oldest
 * blocks leave: their junk (WARD_DIAG_FREED_JUNK over the first
 * WARD_DIAG_JUNK_MAX bytes) is checked, then they go back to the core.
 *
 * Invariant (quarantine_lock): ring[(head + i) % QUARANTINE_COUNT] for
 * i < count are the blocks in quarantine, oldest first, all with state
 * FREED; bytes is the sum of their core sizes.
 */
#include <pthread.h>

#include "frontend/diagnose/diagnose.h"
#include "os/os.h"

#define QUARANTINE_COUNT ((size_t)16384)
#define QUARANTINE_BYTES ((size_t)32 << 20)

static pthread_mutex_t quarantine_lock = PTHREAD_MUTEX_INITIALIZER;
static ward_diag_block_t **ring;
static size_t head, count, bytes;

bool _ward_quarantine_init(void)
{
    ring = _ward_os_map_aligned(WARD_ALIGN_UP(QUARANTINE_COUNT * sizeof *ring, _ward_os_page_size()),
                                _ward_os_page_size());
    return ring != NULL;
}

static size_t checked_bytes(const ward_diag_block_t *b)
{
    return b->size < WARD_DIAG_JUNK_MAX ? b->size : WARD_DIAG_JUNK_MAX;
}

/* The first byte of a freed block written since its free, or NULL. */
static const unsigned char *written_after_free(const ward_diag_block_t *b)
{
    return _ward_diag_find_other(_ward_diag_user(b), checked_bytes(b), WARD_DIAG_FREED_JUNK);
}

static __attribute__((noreturn)) void report_written(const ward_diag_block_t *b, const unsigned char *bad)
{
    const char *user = _ward_diag_user(b);
    ward_diag_finding_t f = {
        .operation = "free",
        .kind = "write after free",
        .address = user,
        .block = user,
        .size = b->size,
        .size_class = _ward_diag_size_class(b),
        .detail = "found when the block left quarantine; first byte written at",
        .offset = (long)((const char *)bad - user),
        .has_offset = true,
        .alloc_stack = b->alloc_stack,
        .free_stack = b->free_stack,
        .alloc_thread = b->alloc_thread,
        .free_thread = b->free_thread,
    };
    _ward_diag_fatal(&f);
}

void _ward_quarantine_push(ward_diag_block_t *b)
{
    size_t size = _ward_diag_size_class(b);
    if (ring == NULL || size > QUARANTINE_BYTES) {
        const unsigned char *bad = written_after_free(b);
        if (bad)
            report_written(b, bad);
        _ward_diag_release(b);
        return;
    }
    /* Blocks that leave are checked and released outside the lock, a few
     * at a time. */
    ward_diag_block_t *leaving[16];
    size_t leaving_count = 0;
    pthread_mutex_lock(&quarantine_lock);
    while (count > 0 && (count == QUARANTINE_COUNT || bytes + size > QUARANTINE_BYTES) &&
           leaving_count < sizeof leaving / sizeof leaving[0]) {
        ward_diag_block_t *old = ring[head];
        head = (head + 1) % QUARANTINE_COUNT;
        count--;
        bytes -= _ward_diag_size_class(old);
        leaving[leaving_count++] = old;
    }
    bool kept = count < QUARANTINE_COUNT && bytes + size <= QUARANTINE_BYTES;
    if (kept) {
        ring[(head + count) % QUARANTINE_COUNT] = b;
        count++;
        bytes += size;
    }
    pthread_mutex_unlock(&quarantine_lock);
    for (size_t i = 0; i < leaving_count; i++) {
        const unsigned char *bad = written_after_free(leaving[i]);
        if (bad)
            report_written(leaving[i], bad);
        _ward_diag_release(leaving[i]);
    }
    if (!kept) {
        const unsigned char *bad = written_after_free(b);
        if (bad)
            report_written(b, bad);
        _ward_diag_release(b);
    }
}

void _ward_quarantine_flush(void)
{
    for (;;) {
        ward_diag_block_t *leaving[16];
        size_t leaving_count = 0;
        pthread_mutex_lock(&quarantine_lock);
        while (count > 0 && leaving_count < sizeof leaving / sizeof leaving[0]) {
            leaving[leaving_count++] = ring[head];
            bytes -= _ward_diag_size_class(ring[head]);
            head = (head + 1) % QUARANTINE_COUNT;
            count--;
        }
        pthread_mutex_unlock(&quarantine_lock);
        if (leaving_count == 0)
            return;
        for (size_t i = 0; i < leaving_count; i++) {
            const unsigned char *bad = written_after_free(leaving[i]);
            if (bad)
                report_written(leaving[i], bad);
            _ward_diag_release(leaving[i]);
        }
    }
}

size_t _ward_quarantine_bytes(void)
{
    pthread_mutex_lock(&quarantine_lock);
    size_t held = bytes;
    pthread_mutex_unlock(&quarantine_lock);
    return held;
}

int _ward_quarantine_check(void)
{
    int result = 0;
    pthread_mutex_lock(&quarantine_lock);
    for (size_t i = 0; i < count && result == 0; i++) {
        const ward_diag_block_t *b = ring[(head + i) % QUARANTINE_COUNT];
        const unsigned char *bad = written_after_free(b);
        if (bad) {
            _ward_diag_check_line("freed block written after its free", bad);
            result = WARD_CHECK_QUARANTINE;
        } else if (b->state != _ward_diag_state(b, WARD_DIAG_FREED)) {
            _ward_diag_check_line("header of a freed block overwritten", b);
            result = WARD_CHECK_HEADER;
        }
    }
    pthread_mutex_unlock(&quarantine_lock);
    return result;
}

void _ward_quarantine_fork_prepare(void) { pthread_mutex_lock(&quarantine_lock); }
void _ward_quarantine_fork_parent(void) { pthread_mutex_unlock(&quarantine_lock); }
void _ward_quarantine_fork_child(void) { pthread_mutex_init(&quarantine_lock, NULL); }
