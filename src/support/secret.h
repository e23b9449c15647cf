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

/* Draws the secret; called once at start-up, before any block exists. */
WARD_HIDDEN void _ward_secret_init(void);

#endif
