/*
 * common.h - what every benchmark workload shares: options, a seeded random
 * generator, a clock, resident-set readings and the one result line.
 *
 * A workload is a standalone program that allocates through the plain C
 * names (malloc, free, realloc), so the allocator under test is whichever one
 * the dynamic linker binds them to: glibc's by default, another one under
 * LD_PRELOAD.  The runner (bench/run.sh) starts each program once per round
 * and allocator, and reads the single line it prints:
 *
 *   workload=NAME allocator=DETECTED threads=T time_ns=N ops=N
 *   rss_peak_kb=N rss_base_kb=N [name=value ...]
 *
 * time_ns covers the workload's own timed section only, never process
 * start-up.  rss_peak_kb is VmHWM of /proc/self/status read at the end: the
 * highest resident set of this process image since exec (program, shared
 * libraries, thread stacks and heap), so it does not include the shell image
 * that existed before exec, as a parent's ru_maxrss would.  rss_base_kb is
 * VmRSS before the workload allocated anything.
 *
 * Nothing here calls malloc except the final printf (and the messages of a
 * failed run), so the helpers do not disturb the allocator being measured.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* ---- options ---------------------------------------------------------------
 * Every workload accepts --threads N, --scale F and --seed N.  A workload with
 * options of its own names them in `own_options` (e.g. "--size --live"); any
 * other --option stops the program with a usage error, so a typo in the
 * runner's table cannot silently measure the default. */
typedef struct bench_config {
    const char *name;   /* printed as workload=... */
    unsigned threads;   /* --threads, default: online cores */
    double scale;       /* --scale, multiplies the amount of work, default 1 */
    uint64_t seed;      /* --seed, default fixed so runs are repeatable */
} bench_config_t;

bench_config_t bench_init(int argc, char **argv, const char *name, const char *own_options);
/* The value after `option` in argv, or `fallback` when absent. */
long bench_option_long(const char *option, long fallback);
/* Iteration counts scaled by --scale, never below 1. */
uint64_t bench_scaled(const bench_config_t *config, uint64_t base);

/* ---- time ---- */
uint64_t bench_now_ns(void);
/* CPU time of the whole process (all threads) so far. */
uint64_t bench_cpu_ns(void);
void bench_sleep_ms(unsigned ms);

/* ---- resident set ----------------------------------------------------------
 * Read from /proc/self/status with read(2) into a stack buffer: "VmRSS" is
 * the current resident set, "VmHWM" its high-water mark.  Returns 0 when the
 * field cannot be read. */
uint64_t bench_status_kb(const char *field);

/* ---- randomness ------------------------------------------------------------
 * splitmix64: tiny, fast and good enough to pick slots and sizes; each thread
 * owns its generator, seeded from the run seed and its index. */
typedef struct bench_rng {
    uint64_t state;
} bench_rng_t;

static inline bench_rng_t bench_rng_make(uint64_t seed, uint64_t stream)
{
    bench_rng_t rng = {seed ^ (stream * 0x9e3779b97f4a7c15u) ^ 0x5851f42d4c957f2du};
    return rng;
}

static inline uint64_t bench_rng_next(bench_rng_t *rng)
{
    uint64_t z = (rng->state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Uniform in [0, bound) for bound < 2^32 (multiply-shift, no division). */
static inline uint32_t bench_rng_below(bench_rng_t *rng, uint32_t bound)
{
    return (uint32_t)(((bench_rng_next(rng) >> 32) * bound) >> 32);
}

/* Uniform in [lo, hi]. */
static inline size_t bench_rng_range(bench_rng_t *rng, size_t lo, size_t hi)
{
    return lo + bench_rng_below(rng, (uint32_t)(hi - lo + 1));
}

/* Log-uniform in [lo, hi]: every doubling is equally likely, which is how
 * request sizes of real programs spread (many small, few large). */
size_t bench_rng_log_range(bench_rng_t *rng, size_t lo, size_t hi);

/* ---- memory use ------------------------------------------------------------
 * Writes one byte in every 4 KiB of the block and its last byte, so all of
 * its pages are resident as in a program that fills what it asks for, at a
 * cost that stays small next to the allocator's. */
void bench_touch(void *block, size_t size, unsigned char value);

/* Keeps a value alive so the compiler cannot drop the work behind it. */
extern volatile uint64_t bench_sink;

/* ---- threads ---------------------------------------------------------------
 * Starts `count` threads running fn(index, arg) and waits for all of them.
 * They are released together through a barrier so the timed section begins
 * with every thread ready; the clock is read by the caller around this. */
typedef void (*bench_thread_fn)(unsigned index, void *arg);
void bench_run_threads(unsigned count, bench_thread_fn fn, void *arg);

/* A wake-up channel for a thread that waits on another's progress.  After
 * a short spin the waiter sleeps in the kernel (futex) instead of spinning
 * or yielding: on a machine with other work running, a sleeping thread
 * leaves its core idle, so the scheduler moves its partner there at once,
 * where a spinning one would hold the core while its partner queues behind
 * some other process.  That keeps two-thread hand-offs measuring the
 * allocator rather than the scheduler's luck. */
typedef struct bench_event {
    _Atomic uint32_t sequence; /* bumped on every signal that has waiters */
    _Atomic uint32_t waiters;
} bench_event_t;

/* Waits until ready(arg) is true, spinning briefly and then sleeping on
 * `event` between checks. */
void bench_event_wait_until(bench_event_t *event, int (*ready)(void *arg), void *arg);
/* Called after making progress visible (a seq_cst store or after one):
 * wakes a waiter if there is one; costs one load when nobody waits. */
void bench_event_signal(bench_event_t *event);

/* ---- result ----------------------------------------------------------------
 * bench_extra() adds a name=value pair (up to 16) to the result line; a
 * name starting with "check_" is a result of the computation that must be
 * the same under every allocator (the report compares them, not shows them);
 * bench_report() prints the line with the peak and base resident sets and
 * returns the process exit status (0). */
void bench_extra(const char *key, double value);
int bench_report(const bench_config_t *config, uint64_t time_ns, uint64_t ops);

/* Stops the program with a message on stderr: a wrong result means the
 * allocator (or the workload) broke, and the figure must not be used. */
_Noreturn void bench_fail(const char *what);

#endif /* BENCH_COMMON_H */
