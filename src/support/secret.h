/*
 * secret.h - a per-process random value that hardening mixes into what it
 * stores in memory the program can reach (free-list links, block headers),
 * so that data the program writes there by mistake does not decode as
 * valid.  Set once before the first block exists; the same in a forked
 * child (its memory is the parent's).
 */
#ifndef WARD_SECRET_H
#define WARD_SECRET_H

#include "support/internal.h"

WARD_HIDDEN extern uintptr_t _ward_secret;

/* What a small block's second word holds while it waits to be used again
 * without being on its page's free list: in its heap's free cache, or on its
 * way back from another thread (page.h).  Random and never 0 (the value a
 * block leaves a free cache with), so that no program data is taken for it
 * by chance; and a match is only a reason to look further, never a verdict. */
WARD_HIDDEN extern uintptr_t _ward_free_tag;

/* Draws the secret and the free tag; called once at start-up, before any
 * block exists. */
WARD_HIDDEN void _ward_secret_init(void);

#endif
