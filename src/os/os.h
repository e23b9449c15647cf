/*
 * os.h - the contract of the OS layer.  This is the only code that talks to
 * the kernel; nothing above it calls mmap, madvise or reads /proc directly.
 * None of these functions allocates.  Each states its error result; none
 * prints.
 */
#ifndef WARD_OS_H
#define WARD_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "support/internal.h"

/* The kernel's base page size (4096 on x86-64, 4 KiB..64 KiB on aarch64).
 * Valid after _ward_os_init(); a power of two. */
WARD_HIDDEN size_t _ward_os_page_size(void);
WARD_HIDDEN void _ward_os_init(void);

/*
 * Maps size bytes of fresh zeroed read-write memory whose address is a
 * multiple of alignment (a power of two, at least the page size; size a
 * multiple of the page size).  The kernel backs pages on first touch only.
 * Returns NULL when the kernel refuses (errno left as ENOMEM).
 */
WARD_HIDDEN void *_ward_os_map_aligned(size_t size, size_t alignment);

/* Unmaps [p, p+size) (page-aligned).  Returns false if the kernel refused. */
WARD_HIDDEN bool _ward_os_unmap(void *p, size_t size);

/*
 * Returns the pages of [p, p+size) to the OS at once (RSS falls now); the
 * range stays mapped and reads back as zeros.  Page-aligned arguments.
 */
WARD_HIDDEN bool _ward_os_decommit(void *p, size_t size);

/*
 * Grows or shrinks the mapping [p, p+old_size) to new_size without moving
 * it.  Returns false when the neighbouring address space is taken.
 */
WARD_HIDDEN bool _ward_os_remap_in_place(void *p, size_t old_size, size_t new_size);

/*
 * Moves the pages of [p, p+old_size) to the page-aligned address target,
 * which must be the start of a mapping of at least new_size bytes that this
 * call replaces; no bytes are copied.  Returns false on refusal (the old
 * mapping is then intact).
 */
WARD_HIDDEN bool _ward_os_remap_to(void *p, size_t old_size, size_t new_size, void *target);

/* 64 random bits from the kernel (getrandom), falling back to the bytes the
 * kernel gave the process at exec (AT_RANDOM) mixed with the time; never
 * fails, never allocates. */
WARD_HIDDEN uint64_t _ward_os_random64(void);

/*
 * Reserves size bytes (a multiple of the page size) of address space that
 * faults on every access until _ward_os_protect opens it.  Returns NULL
 * when the kernel refuses (errno left as ENOMEM).
 */
WARD_HIDDEN void *_ward_os_reserve_inaccessible(size_t size);

/*
 * Makes [p, p+size) (page-aligned) read-write when accessible is true, else
 * inaccessible.  Each change may split a mapping in two, which counts
 * against vm.max_map_count.  Returns false if the kernel refused (ENOMEM
 * when the process has too many mappings); the old protection then holds.
 */
WARD_HIDDEN bool _ward_os_protect(void *p, size_t size, bool accessible);

/* vm.max_map_count, the kernel's limit on mappings per process (65530 when
 * it cannot be read). */
WARD_HIDDEN long _ward_os_max_map_count(void);

/* The calling thread's kernel id (gettid). */
WARD_HIDDEN long _ward_os_gettid(void);

/*
 * Catches SIGSEGV and SIGBUS: on each fault handler(address, is_write, pc)
 * runs; it either stops the process (the fault was ward's to report) or
 * returns, and then the previous action of that signal is restored and the
 * faulting instruction runs again under it.  Returns false if the handler
 * could not be installed.
 */
typedef void (*ward_fault_handler_t)(void *address, bool is_write, uintptr_t pc);
WARD_HIDDEN bool _ward_os_catch_faults(ward_fault_handler_t handler);

/* Monotonic time in nanoseconds. */
WARD_HIDDEN uint64_t _ward_os_now_ns(void);

/* Highest resident set size of this process so far, in bytes (0 if unknown). */
WARD_HIDDEN size_t _ward_os_rss_peak(void);

/* The process id (cached system call is not trusted across fork). */
WARD_HIDDEN long _ward_os_getpid(void);

/* Writes n bytes to stderr with write(2); never allocates. */
WARD_HIDDEN void _ward_os_write_stderr(const char *s, size_t n);
WARD_HIDDEN void _ward_os_write_fd(int fd, const char *s, size_t n);

/* Reads up to size - 1 bytes of the file at path into buf and ends them
 * with a NUL (for /proc and /sys files).  Returns the length, or -1 when
 * the file cannot be opened or read. */
WARD_HIDDEN long _ward_os_read_file(const char *path, char *buf, size_t size);

/* Bytes of RAM plus swap of the machine (0 if unknown). */
WARD_HIDDEN size_t _ward_os_ram_and_swap(void);

/* Sleeps for ms milliseconds (less when a signal interrupts). */
WARD_HIDDEN void _ward_os_sleep_ms(unsigned ms);

/* Stops the process with SIGABRT. */
WARD_HIDDEN __attribute__((noreturn)) void _ward_os_abort(void);

/* getenv that is safe before libc is fully set up (returns NULL if unset). */
WARD_HIDDEN const char *_ward_os_getenv(const char *name);

/* Calls fn(name_and_value, ctx) for every environment entry starting with prefix. */
WARD_HIDDEN void _ward_os_env_each(const char *prefix, void (*fn)(const char *entry, void *ctx), void *ctx);

/* pthread_atfork for the library's own handlers: returns 0 or an error
 * number. */
WARD_HIDDEN int _ward_os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));

#endif
