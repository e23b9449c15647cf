/*
 * override.c - malloc and friends under their standard names, so that a
 * program linked with -lward or run with LD_PRELOAD=libward.so allocates
 * from ward only.  The list follows glibc's rules for replacing malloc:
 * every entry point its manual names is here, so no call falls through to
 * glibc's allocator (whose free would not know ward's blocks).
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/api_internal.h"
#include "os/os.h"
#include "support/internal.h"
#include "ward.h"

#define WARD_EXPORT __attribute__((visibility("default")))

/* malloc and free are aliases defined beside ward_malloc and ward_free
 * (malloc_api.c). */
WARD_EXPORT void *calloc(size_t count, size_t size) { return _ward_calloc(count, size); }
WARD_EXPORT void *realloc(void *p, size_t n) { return _ward_realloc(p, n); }
WARD_EXPORT void *reallocarray(void *p, size_t count, size_t size) { return _ward_reallocarray(p, count, size); }
WARD_EXPORT int posix_memalign(void **out, size_t alignment, size_t n) { return _ward_posix_memalign(out, alignment, n); }
WARD_EXPORT void *aligned_alloc(size_t alignment, size_t n) { return _ward_aligned_alloc(alignment, n); }
WARD_EXPORT size_t malloc_usable_size(void *p) { return _ward_usable_size(p); }
/* C23's sized frees: glibc 2.36 does not declare them, programs built for
 * C23 may call them. */
void free_sized(void *p, size_t n);
void free_aligned_sized(void *p, size_t alignment, size_t n);
WARD_EXPORT void free_sized(void *p, size_t n) { _ward_free_sized(p, n); }
WARD_EXPORT void free_aligned_sized(void *p, size_t alignment, size_t n) { _ward_free_aligned_sized(p, alignment, n); }

/* glibc's memalign rounds an alignment that is not a power of two up. */
WARD_EXPORT void *memalign(size_t alignment, size_t n)
{
    if (alignment > PTRDIFF_MAX / 2) {
        errno = EINVAL;
        return NULL;
    }
    size_t a = (size_t)16;
    while (a < alignment)
        a <<= 1;
    return _ward_aligned_alloc(a, n);
}

WARD_EXPORT void *valloc(size_t n) { return _ward_aligned_alloc(_ward_os_page_size(), n); }

WARD_EXPORT void *pvalloc(size_t n)
{
    size_t page = _ward_os_page_size();
    if (n > PTRDIFF_MAX - page) {
        errno = ENOMEM;
        return NULL;
    }
    return _ward_aligned_alloc(page, n == 0 ? page : WARD_ALIGN_UP(n, page));
}

/* glibc names that some programs and libraries call directly. */
void *__libc_malloc(size_t n);
void __libc_free(void *p);
void *__libc_calloc(size_t count, size_t size);
void *__libc_realloc(void *p, size_t n);
void *__libc_memalign(size_t alignment, size_t n);
void *__libc_valloc(size_t n);
void *__libc_pvalloc(size_t n);
WARD_EXPORT void *__libc_malloc(size_t n) { return _ward_malloc(n); }
WARD_EXPORT void __libc_free(void *p) { _ward_free(p); }
WARD_EXPORT void *__libc_calloc(size_t count, size_t size) { return _ward_calloc(count, size); }
WARD_EXPORT void *__libc_realloc(void *p, size_t n) { return _ward_realloc(p, n); }
WARD_EXPORT void *__libc_memalign(size_t alignment, size_t n) { return memalign(alignment, n); }
WARD_EXPORT void *__libc_valloc(size_t n) { return valloc(n); }
WARD_EXPORT void *__libc_pvalloc(size_t n) { return pvalloc(n); }

/* ---- glibc's malloc introspection, answered from ward's own figures ---- */

WARD_EXPORT int malloc_trim(size_t pad)
{
    (void)pad;
    ward_stats_t before, after;
    ward_stats_get(&before);
    ward_collect(true);
    ward_stats_get(&after);
    return after.committed < before.committed;
}

static void fill_mallinfo2(struct mallinfo2 *mi)
{
    ward_stats_t s;
    ward_stats_get(&s);
    memset(mi, 0, sizeof *mi);
    mi->arena = s.committed;                 /* memory ward holds from the OS */
    mi->hblks = s.huge_count;                /* blocks with a mapping of their own */
    mi->uordblks = s.allocated;              /* bytes in use */
    mi->fordblks = s.committed > s.allocated ? s.committed - s.allocated : 0; /* held but free */
    mi->usmblks = s.committed_peak;
}

WARD_EXPORT struct mallinfo2 mallinfo2(void)
{
    struct mallinfo2 mi;
    fill_mallinfo2(&mi);
    return mi;
}

#define CLAMP_INT(v) ((int)((v) > (size_t)__INT_MAX__ ? (size_t)__INT_MAX__ : (v)))

WARD_EXPORT struct mallinfo mallinfo(void)
{
    struct mallinfo2 mi2;
    fill_mallinfo2(&mi2);
    struct mallinfo mi;
    memset(&mi, 0, sizeof mi);
    mi.arena = CLAMP_INT(mi2.arena);
    mi.hblks = CLAMP_INT(mi2.hblks);
    mi.uordblks = CLAMP_INT(mi2.uordblks);
    mi.fordblks = CLAMP_INT(mi2.fordblks);
    mi.usmblks = CLAMP_INT(mi2.usmblks);
    return mi;
}

WARD_EXPORT void malloc_stats(void) { ward_stats_print(stderr); }

/* ward has none of ptmalloc's tunables; report success for the ones that
 * only tune performance, as other replacements do. */
WARD_EXPORT int mallopt(int param, int value)
{
    (void)param;
    (void)value;
    return 1;
}
