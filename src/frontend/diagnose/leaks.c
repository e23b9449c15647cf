/*
 * leaks.c - the leak report (WARD_LEAKS=1): when the process exits, every
 * block still allocated through malloc (diagnostic and guarded blocks; not
 * user heaps' blocks, which ward_heap_destroy releases), grouped by the
 * stack that allocated it, the biggest sum of bytes first.  Written with
 * write(2) to stderr; it never stops the program.
 *
 * It runs as a destructor of libward, which runs after the program's own
 * exit handlers and destructors: blocks they free are not reported.
 */
#include "frontend/diagnose/diagnose.h"
#include "heap/heap.h"
#include "os/os.h"

/* Stacks printed in full; the rest are summed in the last line. */
#define LEAK_STACKS_SHOWN 20

typedef struct leak_totals_s {
    uint64_t bytes, blocks, stacks, shown;
    uint64_t rest_bytes, rest_blocks;
} leak_totals_t;

static void add_block(ward_diag_block_t *b, void *ctx)
{
    leak_totals_t *t = ctx;
    if (b->alloc_stack == WARD_STACK_OWN)
        return; /* ward's own: the unwinder's opening */
    t->bytes += b->size;
    t->blocks++;
    _ward_stack_leak_add(b->alloc_stack, b->size, _ward_diag_user(b));
}

static void add_guarded(const void *p, size_t size, uint32_t stack, void *ctx)
{
    leak_totals_t *t = ctx;
    if (stack == WARD_STACK_OWN)
        return;
    t->bytes += size;
    t->blocks++;
    _ward_stack_leak_add(stack, size, p);
}

static void write_buf(ward_buf_t *b)
{
    _ward_os_write_stderr(b->data, b->len < b->cap ? b->len : b->cap);
}

static void report_stack(uint32_t id, uint64_t bytes, uint64_t count, const void *example, void *ctx)
{
    leak_totals_t *t = ctx;
    t->stacks++;
    if (t->shown == LEAK_STACKS_SHOWN) {
        t->rest_bytes += bytes;
        t->rest_blocks += count;
        return;
    }
    t->shown++;
    char text[4096];
    ward_buf_t b = {text, sizeof text, 0};
    _ward_buf_str(&b, "  leak: ");
    _ward_buf_u64(&b, bytes);
    _ward_buf_str(&b, " bytes in ");
    _ward_buf_u64(&b, count);
    _ward_buf_str(&b, count == 1 ? " block" : " blocks");
    _ward_buf_str(&b, " (one at ");
    _ward_buf_hex(&b, (uint64_t)(uintptr_t)example);
    _ward_buf_str(&b, ") allocated at:\n");
    unsigned depth;
    const uintptr_t *frames = _ward_stack_frames(id, &depth);
    _ward_diag_buf_frames(&b, frames, depth);
    write_buf(&b);
}

__attribute__((destructor)) static void leak_report_at_exit(void)
{
    if (!_ward_diagnostics || !_ward_diag.leaks)
        return;
    leak_totals_t t = {0};
    _ward_diag_each_live(add_block, &t);
    _ward_guard_each_live(add_guarded, &t);
    char text[256];
    ward_buf_t b = {text, sizeof text, 0};
    _ward_buf_str(&b, "ward: leak: ");
    _ward_buf_u64(&b, t.bytes);
    _ward_buf_str(&b, " bytes in ");
    _ward_buf_u64(&b, t.blocks);
    _ward_buf_str(&b, " blocks still allocated at exit (thread ");
    _ward_buf_u64(&b, _ward_diag_thread());
    _ward_buf_str(&b, t.blocks ? "); by allocation stack, biggest first:\n" : ")\n");
    write_buf(&b);
    if (t.blocks == 0)
        return;
    _ward_stack_leaks_each(report_stack, &t);
    if (t.rest_blocks) {
        b.len = 0;
        _ward_buf_str(&b, "  leak: ");
        _ward_buf_u64(&b, t.rest_bytes);
        _ward_buf_str(&b, " more bytes in ");
        _ward_buf_u64(&b, t.rest_blocks);
        _ward_buf_str(&b, " blocks from ");
        _ward_buf_u64(&b, t.stacks - t.shown);
        _ward_buf_str(&b, " more stacks\n");
        write_buf(&b);
    }
}
