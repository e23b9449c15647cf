/*
 * api_internal.h - hidden aliases of the public allocation functions, for
 * the library's own callers (the standard names in override.c): a call
 * through them binds inside the library, with no PLT hop.
 */
#ifndef WARD_API_INTERNAL_H
#define WARD_API_INTERNAL_H

#include "support/internal.h"
#include "ward.h"

WARD_HIDDEN extern __typeof(ward_malloc) _ward_malloc;
WARD_HIDDEN extern __typeof(ward_free) _ward_free;
WARD_HIDDEN extern __typeof(ward_calloc) _ward_calloc;
WARD_HIDDEN extern __typeof(ward_realloc) _ward_realloc;
WARD_HIDDEN extern __typeof(ward_reallocarray) _ward_reallocarray;
WARD_HIDDEN extern __typeof(ward_aligned_alloc) _ward_aligned_alloc;
WARD_HIDDEN extern __typeof(ward_posix_memalign) _ward_posix_memalign;
WARD_HIDDEN extern __typeof(ward_usable_size) _ward_usable_size;
WARD_HIDDEN extern __typeof(ward_free_sized) _ward_free_sized;
WARD_HIDDEN extern __typeof(ward_free_aligned_sized) _ward_free_aligned_sized;

#endif
