/*
 * check.c - ward_check(): the core's walk (heap/heap_check.c), then, with
 * the diagnostics on, every live block's header and canaries, the junk of
 * every block in quarantine and the slack of every guarded block.
 */
#include "frontend/diagnose/diagnose.h"
#include "heap/heap.h"

typedef struct block_check_s {
    int result;
} block_check_t;

static void check_block(ward_diag_block_t *b, void *ctx)
{
    block_check_t *c = ctx;
    if (c->result)
        return;
    const unsigned char *bad;
    c->result = _ward_diag_block_verify(b, &bad);
    if (c->result == WARD_CHECK_HEADER)
        _ward_diag_check_line("header of a live block overwritten", b);
    else if (c->result)
        _ward_diag_check_line("canary of a live block overwritten", bad);
}

WARD_API int ward_check(void)
{
    int result = _ward_heap_check();
    if (result || !_ward_diagnostics)
        return result;
    _ward_diag_init();
    block_check_t c = {0};
    _ward_diag_each_live(check_block, &c);
    if (c.result)
        return c.result;
    if (_ward_diag.debug && (result = _ward_quarantine_check()) != 0)
        return result;
    return _ward_guard_check();
}
