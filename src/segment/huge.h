/*
 * huge.h - blocks too big for a run of slices (over WARD_LARGE_MAX) or
 * aligned beyond a slice: each has a mapping of its own.
 *
 *   mapping start (aligned to WARD_SEGMENT_SIZE)
 *   | header page(s) ........ | user block .................... | tail |
 *   ^ ward_huge_t             ^ user = start + offset           ^ start + map_size
 *
 * offset is the page size, or the requested alignment when larger; the
 * header never shares a page with user data.  The segment map marks every
 * unit of the mapping as huge, so a lookup of user (or of any address
 * inside the mapping) finds the header.
 */
#ifndef WARD_HUGE_H
#define WARD_HUGE_H

#include "segment/segment.h"
#include "support/secret.h"

struct ward_heap_s;

/*
 * Invariants: kind == WARD_SEGMENT_HUGE; user == (char *)this + offset;
 * usable == map_size - offset; live is 1 from allocation until free;
 * seal == _ward_huge_seal(this).
 * The header is the first page of the mapping: an overflow out of the
 * mapping below can reach it, so every free, realloc and size query checks
 * the seal before trusting a field.
 */
typedef struct ward_huge_s {
    uint32_t kind;                   /* WARD_SEGMENT_HUGE */
    _Atomic(uint32_t) live;
    size_t map_size;
    size_t offset;
    size_t usable;
    char *user;
    uintptr_t seal;                  /* the fields above, mixed with the secret */
    struct ward_heap_s *heap;        /* the heap that allocated it (for ward_heap_destroy) */
    struct ward_huge_s *next, *prev; /* (huge lock) every live huge block */
} ward_huge_t;

WARD_INLINE uintptr_t _ward_huge_seal(const ward_huge_t *h)
{
    uintptr_t mix = (uintptr_t)h ^ (h->map_size << 7) ^ (h->offset << 31) ^ (h->usable << 13) ^ (uintptr_t)h->user;
    return (mix * (uintptr_t)0x9e3779b97f4a7c15u) ^ _ward_secret ^ h->kind;
}

/* Stops the program when h's header was overwritten; operation names the
 * call that found it. */
WARD_HIDDEN void _ward_huge_check(const ward_huge_t *h, const void *p, const char *operation);

/* A huge block of at least n bytes aligned to alignment (a power of two),
 * or NULL/ENOMEM. */
WARD_HIDDEN void *_ward_huge_alloc(size_t n, size_t alignment, struct ward_heap_s *heap);
/* Frees the huge block whose header is h and whose pointer is p (aborts on
 * an interior pointer or a double free). */
WARD_HIDDEN void _ward_huge_free(ward_huge_t *h, void *p, const char *operation);
/* Resizes in place or by moving the pages (no copy).  Returns the new
 * pointer or NULL/ENOMEM (the block is then untouched). */
WARD_HIDDEN void *_ward_huge_realloc(ward_huge_t *h, size_t n);
/* True when p is the address of one of the last huge blocks freed (and
 * ward does not own it now): a second free of it is a double free. */
WARD_HIDDEN bool _ward_huge_recently_freed(const void *p);
/* Forgets heap as the owner of its huge blocks (its thread exited). */
WARD_HIDDEN void _ward_huge_disown(struct ward_heap_s *heap);
/* Frees every huge block of heap. */
WARD_HIDDEN void _ward_huge_free_heap(struct ward_heap_s *heap);
WARD_HIDDEN void _ward_huge_lock(void);
WARD_HIDDEN void _ward_huge_unlock(void);
WARD_HIDDEN void _ward_huge_reset_lock(void);

#endif
