/*
 * report.c - the report of every diagnostic finding: the core's one line
 * first (so every tool and test that reads "ward: <op>: <error> at 0x..."
 * keeps working), then indented lines with the kind, the block, the
 * threads and the stacks.  Formatted into a buffer on the stack, written
 * with write(2), then abort(): the fatal path of support/fatal.c.
 *
 * Symbols come from dladdr at report time: function+offset where the
 * module exports the function (build with -rdynamic to see a program's
 * own), and always module+offset, which addr2line turns into a line.
 */
#include <dlfcn.h>

#include "frontend/diagnose/diagnose.h"
#include "os/os.h"

void _ward_diag_buf_frames(ward_buf_t *b, const uintptr_t *frames, unsigned depth)
{
    if (depth == 0) {
        _ward_buf_str(b, "    (no stack recorded)\n");
        return;
    }
    for (unsigned i = 0; i < depth; i++) {
        _ward_buf_str(b, "    #");
        _ward_buf_u64(b, i);
        _ward_buf_str(b, " ");
        _ward_buf_hex(b, frames[i]);
        Dl_info info;
        if (dladdr((void *)frames[i], &info) != 0) {
            if (info.dli_sname && info.dli_saddr) {
                _ward_buf_str(b, " in ");
                _ward_buf_str(b, info.dli_sname);
                _ward_buf_str(b, "+");
                _ward_buf_hex(b, frames[i] - (uintptr_t)info.dli_saddr);
            }
            if (info.dli_fname) {
                _ward_buf_str(b, " (");
                _ward_buf_str(b, info.dli_fname);
                _ward_buf_str(b, "+");
                _ward_buf_hex(b, frames[i] - (uintptr_t)info.dli_fbase);
                _ward_buf_str(b, ")");
            }
        }
        _ward_buf_str(b, "\n");
    }
}

static void buf_stack(ward_buf_t *b, const char *what, uint32_t thread, uint32_t id)
{
    _ward_buf_str(b, "  ");
    _ward_buf_str(b, what);
    _ward_buf_str(b, " by thread ");
    _ward_buf_u64(b, thread);
    _ward_buf_str(b, " at:\n");
    unsigned depth;
    const uintptr_t *frames = _ward_stack_frames(id, &depth);
    _ward_diag_buf_frames(b, frames, depth);
}

void _ward_diag_fatal(const ward_diag_finding_t *f)
{
    char text[8192];
    ward_buf_t b = {text, sizeof text, 0};
    _ward_buf_fatal_line(&b, f->operation, f->kind, f->address, f->size_class);
    _ward_buf_str(&b, "\n  kind: ");
    _ward_buf_str(&b, f->kind);
    if (f->detail) {
        _ward_buf_str(&b, " (");
        _ward_buf_str(&b, f->detail);
        if (f->has_offset) {
            _ward_buf_str(&b, " ");
            if (f->offset < 0) {
                _ward_buf_str(&b, "-");
                _ward_buf_u64(&b, (uint64_t)-f->offset);
            } else {
                _ward_buf_u64(&b, (uint64_t)f->offset);
            }
            _ward_buf_str(&b, " bytes from the block's start");
        }
        _ward_buf_str(&b, ")");
    }
    _ward_buf_str(&b, "\n");
    if (f->block) {
        _ward_buf_str(&b, "  block: ");
        _ward_buf_hex(&b, (uint64_t)(uintptr_t)f->block);
        _ward_buf_str(&b, ", ");
        _ward_buf_u64(&b, f->size);
        _ward_buf_str(&b, " bytes");
        if (f->size_class) {
            _ward_buf_str(&b, ", size class ");
            _ward_buf_u64(&b, f->size_class);
            _ward_buf_str(&b, " bytes");
        }
        _ward_buf_str(&b, "\n");
    }
    _ward_buf_str(&b, "  thread: ");
    _ward_buf_u64(&b, _ward_diag_thread());
    _ward_buf_str(&b, "\n");
    if (f->access_frames) {
        _ward_buf_str(&b, "  access at:\n");
        _ward_diag_buf_frames(&b, f->access_frames, f->access_depth);
    }
    if (f->block) {
        buf_stack(&b, "allocated", f->alloc_thread, f->alloc_stack);
        if (f->free_thread)
            buf_stack(&b, "freed", f->free_thread, f->free_stack);
    }
    /* _ward_fatal_buf adds the last newline */
    if (b.len > 0 && b.len <= b.cap && b.data[b.len - 1] == '\n')
        b.len--;
    _ward_fatal_buf(&b);
}

void _ward_diag_check_line(const char *what, const void *address)
{
    char text[256];
    ward_buf_t b = {text, sizeof text, 0};
    _ward_buf_str(&b, "ward: check: ");
    _ward_buf_str(&b, what);
    _ward_buf_str(&b, " at ");
    _ward_buf_hex(&b, (uint64_t)(uintptr_t)address);
    _ward_buf_str(&b, "\n");
    _ward_buf_finish(&b);
    _ward_os_write_stderr(text, b.len < b.cap ? b.len : b.cap - 1);
}
