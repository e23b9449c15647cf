/*
 * internal.h - what every file of the library shares: visibility, branch
 * hints, assertion tiers.  Nothing here allocates.
 */
#ifndef WARD_INTERNAL_H
#define WARD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Functions shared between files of the library but not part of the API. */
#define WARD_HIDDEN __attribute__((visibility("hidden")))
#define WARD_INLINE static inline __attribute__((always_inline))
#define WARD_NOINLINE __attribute__((noinline))
#define WARD_LIKELY(x) __builtin_expect(!!(x), 1)
#define WARD_UNLIKELY(x) __builtin_expect(!!(x), 0)

#define WARD_KiB ((size_t)1024)
#define WARD_MiB (WARD_KiB * 1024)
#define WARD_GiB (WARD_MiB * 1024)

#define WARD_ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((uintptr_t)(a) - 1))
#define WARD_ALIGN_DOWN(x, a) ((x) & ~((uintptr_t)(a) - 1))
#define WARD_IS_POW2(x) ((x) != 0 && ((x) & ((x) - 1)) == 0)

/* ThreadSanitizer builds (gcc says so with a macro, clang with a feature). */
#if defined(__SANITIZE_THREAD__)
#define WARD_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WARD_TSAN 1
#endif
#endif

#ifndef WARD_DEBUG_LEVEL
#define WARD_DEBUG_LEVEL 0
#endif

/*
 * Assertion tiers.  None allocates; a failed one goes through the fatal path.
 *   ward_check_cheap: always on (O(1), off the fast path only);
 *   ward_assert:      WARD_DEBUG_LEVEL >= 1;
 *   ward_assert_walk: WARD_DEBUG_LEVEL >= 2 (expensive full walks).
 */
#define ward_check_cheap(cond, what) \
    do { if (WARD_UNLIKELY(!(cond))) _ward_fatal_internal(what, __FILE__, __LINE__); } while (0)
#if WARD_DEBUG_LEVEL >= 1
#define ward_assert(cond) ward_check_cheap(cond, #cond)
#else
#define ward_assert(cond) ((void)0)
#endif
#if WARD_DEBUG_LEVEL >= 2
#define ward_assert_walk(cond) ward_check_cheap(cond, #cond)
#else
#define ward_assert_walk(cond) ((void)0)
#endif

/* Bits set in x.  Not __builtin_popcountll: without -mpopcnt (x86-64's
 * baseline has no popcnt) that calls libgcc's helper, which the linker puts
 * after all of the library's own code, in a part of its text that no
 * allocation otherwise touches and that would then become resident. */
WARD_INLINE unsigned _ward_popcount64(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555u);
    x = (x & 0x3333333333333333u) + ((x >> 2) & 0x3333333333333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fu;
    return (unsigned)((x * 0x0101010101010101u) >> 56);
}

WARD_HIDDEN __attribute__((noreturn, cold)) void _ward_fatal_internal(const char *what, const char *file, int line);

#endif
