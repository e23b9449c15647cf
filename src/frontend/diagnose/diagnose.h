/*
 * diagnose.h - the diagnostic front end: malloc and its family when
 * WARD_DEBUG, WARD_GUARD_SAMPLE or WARD_LEAKS is on.
 *
 * Routing: the mode is chosen once when the core starts (_ward_diagnostics
 * in heap.h).  With it on, no thread heap exists, so the inline fast paths
 * of ward_malloc and ward_free always fail over to their slow paths, where
 * one test sends the call here; with it off nothing here runs and the fast
 * paths are the same instructions as without this front end.
 *
 * A diagnostic block is a core block from one of a few shared heaps (the
 * shards, each under its heap's lock) laid out as
 *
 *   core block start                        user pointer
 *   | header (48) | alignment gap | front canary (16) | n bytes | tail canary |
 *   ^ ward_diag_block_t                                ^ start + offset
 *
 * offset = max(64, alignment); the tail canary covers the bytes from the end
 * of the n bytes to the next multiple of 16, plus 16 more.  Blocks of user
 * heaps (ward_heap_*) stay plain core blocks: the owner of a core block
 * (its page's heap, or a huge block's heap) tells the two apart.
 *
 * Sampled blocks (guard.c) live in slots of their own, away from the core,
 * with their metadata kept out of band in the slot table.
 */
#ifndef WARD_DIAGNOSE_H
#define WARD_DIAGNOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "support/fatal.h"
#include "support/internal.h"
#include "ward.h"

/* ---- entry points from malloc_api.c (only with _ward_diagnostics) ---- */

WARD_HIDDEN void *_ward_diag_malloc(size_t n, size_t alignment);
/* Any pointer: a diagnostic block, a guarded one, a user heap's block. */
WARD_HIDDEN void _ward_diag_free(void *p);
WARD_HIDDEN void *_ward_diag_realloc(void *p, size_t n);
WARD_HIDDEN size_t _ward_diag_usable_size(const void *p);
/* True for a diagnostic or guarded block (false for NULL). */
WARD_HIDDEN bool _ward_diag_owns(const void *p);

/* ---- the core without the hooks (malloc_api.c) ---- */

/* Frees a core block that no thread heap owns. */
WARD_HIDDEN void _ward_free_core(void *p);
WARD_HIDDEN size_t _ward_usable_size_core(const void *p);

/* ---- settings, read once at the first diagnostic call ---- */

typedef struct ward_diag_settings_s {
    bool debug;          /* WARD_DEBUG: canaries checked, junk, quarantine */
    bool leaks;          /* WARD_LEAKS: report at exit */
    long guard_sample;   /* WARD_GUARD_SAMPLE: 0 = off */
    bool stacks;         /* capture the allocation stack of every block */
} ward_diag_settings_t;

WARD_HIDDEN extern ward_diag_settings_t _ward_diag;

/* Sets up the front end once (settings, shards, depot, quarantine, guard
 * slots); allocates nothing. */
WARD_HIDDEN void _ward_diag_init(void);

/* The calling thread's kernel id, cached. */
WARD_HIDDEN uint32_t _ward_diag_thread(void);

/* ---- blocks (front.c) ---- */

#define WARD_DIAG_HEADER 48
#define WARD_DIAG_MIN_OFFSET 64
#define WARD_DIAG_FRONT_CANARY 16
#define WARD_DIAG_CANARY_BYTE 0xcb
#define WARD_DIAG_NEW_JUNK 0xaa
#define WARD_DIAG_FREED_JUNK 0xdd
/* New and freed blocks are junk-filled (and freed junk checked) up to this
 * many bytes from their start. */
#define WARD_DIAG_JUNK_MAX ((size_t)64 * 1024)

/*
 * Invariants: state is WARD_DIAG_LIVE or WARD_DIAG_FREED mixed with the
 * header's address (diag_state()); a live block is on its shard's live
 * list; the user pointer is (char *)this + offset; the front canary and the
 * tail canary hold WARD_DIAG_CANARY_BYTE while the block is live.
 */
typedef struct ward_diag_block_s {
    struct ward_diag_block_s *next, *prev; /* (shard lock) live blocks of the shard */
    uint64_t size;                         /* bytes asked for */
    uint32_t offset;                       /* user pointer - header */
    uint32_t state;
    uint32_t alloc_stack, free_stack;      /* stack depot ids, 0 = none */
    uint32_t alloc_thread, free_thread;    /* kernel thread ids */
} ward_diag_block_t;
_Static_assert(sizeof(ward_diag_block_t) == WARD_DIAG_HEADER, "the header is 48 bytes");

#define WARD_DIAG_LIVE 0x4c495645u
#define WARD_DIAG_FREED 0x46524545u

WARD_INLINE uint32_t _ward_diag_state(const ward_diag_block_t *b, uint32_t state)
{
    return state ^ (uint32_t)((uintptr_t)b >> 4);
}

WARD_INLINE char *_ward_diag_user(const ward_diag_block_t *b) { return (char *)b + b->offset; }

/* Bytes of the tail canary after n user bytes. */
WARD_INLINE size_t _ward_diag_tail(size_t n) { return WARD_ALIGN_UP(n, 16) - n + 16; }

/* The first byte in [p, p+n) that is not `value`, or NULL. */
WARD_HIDDEN const unsigned char *_ward_diag_find_other(const void *p, size_t n, unsigned char value);

/* Checks a live block's header and canaries; returns 0 or the
 * ward_check_result_t code, with *bad the first bad byte. */
WARD_HIDDEN int _ward_diag_block_verify(const ward_diag_block_t *b, const unsigned char **bad);

/* Calls fn on every live diagnostic block, under its shard's lock. */
WARD_HIDDEN void _ward_diag_each_live(void (*fn)(ward_diag_block_t *b, void *ctx), void *ctx);

/* Hands a freed block (state FREED, junk filled) back to the core. */
WARD_HIDDEN void _ward_diag_release(ward_diag_block_t *b);

/* The size class (core block size) of a diagnostic block. */
WARD_HIDDEN size_t _ward_diag_size_class(const ward_diag_block_t *b);

/* ---- quarantine (quarantine.c) ---- */

/* Maps the ring (at init); false if the OS refused, and then blocks are
 * checked and released at once. */
WARD_HIDDEN bool _ward_quarantine_init(void);
/* Keeps a freed, junk-filled block; blocks pushed out (oldest first) are
 * checked for writes after their free and handed back to the core. */
WARD_HIDDEN void _ward_quarantine_push(ward_diag_block_t *b);
/* Checks and releases every block in quarantine (ward_collect(true): the
 * memory goes back to the core).  Nothing when the quarantine is off. */
WARD_HIDDEN void _ward_quarantine_flush(void);
/* Bytes of the core blocks in quarantine: allocated for the core, free
 * for the program (statistics leave them out of "allocated"). */
WARD_HIDDEN size_t _ward_quarantine_bytes(void);
/* Checks the junk of every block in quarantine: 0 or WARD_CHECK_QUARANTINE. */
WARD_HIDDEN int _ward_quarantine_check(void);
WARD_HIDDEN void _ward_quarantine_fork_prepare(void);
WARD_HIDDEN void _ward_quarantine_fork_parent(void);
WARD_HIDDEN void _ward_quarantine_fork_child(void);

/* ---- sampled guarded blocks (guard.c) ---- */

WARD_HIDDEN void _ward_guard_init(void);
/* A guarded block when this allocation is sampled and a slot is free, else
 * NULL (the caller then allocates normally). */
WARD_HIDDEN void *_ward_guard_malloc(size_t n, size_t alignment);
WARD_HIDDEN bool _ward_guard_owns(const void *p);
/* Frees a guarded block (p inside the slots); stops on misuse. */
WARD_HIDDEN void _ward_guard_free(void *p, const char *operation);
/* The bytes asked for of the live guarded block p; stops on misuse. */
WARD_HIDDEN size_t _ward_guard_size(const void *p, const char *operation);
/* Calls fn(address, size, stack) on every live guarded block. */
WARD_HIDDEN void _ward_guard_each_live(void (*fn)(const void *p, size_t size, uint32_t stack, void *ctx), void *ctx);
/* Adds the guarded blocks' counts and live bytes (rounded to 16) to the
 * statistics. */
WARD_HIDDEN void _ward_guard_add_stats(uint64_t *mallocs, uint64_t *frees, uint64_t *allocated);
/* Checks the tails of live guarded blocks: 0 or WARD_CHECK_GUARD. */
WARD_HIDDEN int _ward_guard_check(void);
WARD_HIDDEN void _ward_guard_fork_prepare(void);
WARD_HIDDEN void _ward_guard_fork_parent(void);
WARD_HIDDEN void _ward_guard_fork_child(void);

/* ---- stacks (stack_depot.c) ---- */

#define WARD_STACK_DEPTH 16

WARD_HIDDEN bool _ward_stack_init(void);
/* The calling thread's stack (frames of ward left out), as a depot id; 0
 * when the depot is full or unavailable.  Allocates nothing. */
WARD_HIDDEN uint32_t _ward_stack_capture(void);
/* The id _ward_stack_capture gives blocks that ward's own opening of the
 * unwinder allocates: they are not the program's, and no leak report
 * lists them. */
#define WARD_STACK_OWN UINT32_MAX
/* Opens the unwinder now (at start-up, before the program runs, so that
 * what opening it allocates is not counted in the program's work). */
WARD_HIDDEN void _ward_stack_prepare(void);
/* Captures up to max frames into frames starting at the frame whose
 * address is pc (inside a fault handler), or after ward's frames when pc
 * is not found.  Returns the count. */
WARD_HIDDEN unsigned _ward_stack_capture_at(uintptr_t pc, uintptr_t *frames, unsigned max);
/* The frames of id (NULL, *depth 0 for id 0). */
WARD_HIDDEN const uintptr_t *_ward_stack_frames(uint32_t id, unsigned *depth);
/* Per-stack sums for the leak report. */
WARD_HIDDEN void _ward_stack_leak_add(uint32_t id, uint64_t bytes, const void *example);
/* Calls fn on every stack with leaked blocks, biggest sum of bytes first
 * (id 0: blocks without a stack).  Clears the sums. */
WARD_HIDDEN void _ward_stack_leaks_each(void (*fn)(uint32_t id, uint64_t bytes, uint64_t count, const void *example,
                                                   void *ctx),
                                        void *ctx);

/* ---- reports (report.c) ---- */

/* One finding; every report, fatal or not, is written from one of these. */
typedef struct ward_diag_finding_s {
    const char *operation;  /* "free", "realloc", "access", ... */
    const char *kind;       /* "heap overflow", "double free", ... */
    const void *address;    /* the address named in the first line */
    const void *block;      /* the block's user pointer, NULL if none */
    size_t size;            /* bytes asked for */
    size_t size_class;      /* 0 when unknown */
    const char *detail;     /* one more sentence, or NULL */
    long offset;            /* of the bad byte from block, when detail says so */
    bool has_offset;
    uint32_t alloc_stack, free_stack;
    uint32_t alloc_thread, free_thread;
    const uintptr_t *access_frames; /* the faulting access, or NULL */
    unsigned access_depth;
} ward_diag_finding_t;

/* Writes the report (first line "ward: <operation>: <kind> at 0x..."), then
 * aborts: the one fatal path of the front end. */
WARD_HIDDEN __attribute__((noreturn, cold)) void _ward_diag_fatal(const ward_diag_finding_t *f);

/* Writes the frames of a stack, one per line with symbols where dladdr
 * finds them. */
WARD_HIDDEN void _ward_diag_buf_frames(ward_buf_t *b, const uintptr_t *frames, unsigned depth);

/* Writes one non-fatal line "ward: check: <what> at 0x..." on stderr. */
WARD_HIDDEN void _ward_diag_check_line(const char *what, const void *address);

#endif
