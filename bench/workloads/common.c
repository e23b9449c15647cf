/*
 * common.c - the helpers of common.h.  See there for the contract.
 */
#include "common.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

volatile uint64_t bench_sink;

static int saved_argc;
static char **saved_argv;

static void usage_error(const char *name, const char *what, const char *arg)
{
    fprintf(stderr, "%s: %s: %s\n", name, what, arg);
    exit(2);
}

/* True when `option` is one of the space-separated words of `list`. */
static int option_listed(const char *list, const char *option)
{
    size_t length = strlen(option);
    for (const char *word = list; word && *word;) {
        while (*word == ' ')
            word++;
        size_t word_length = strcspn(word, " ");
        if (word_length == length && strncmp(word, option, length) == 0)
            return 1;
        word += word_length;
    }
    return 0;
}

static const char *option_value(const char *option)
{
    for (int i = 1; i + 1 < saved_argc; i++)
        if (strcmp(saved_argv[i], option) == 0)
            return saved_argv[i + 1];
    return NULL;
}

long bench_option_long(const char *option, long fallback)
{
    const char *text = option_value(option);
    if (!text)
        return fallback;
    char *end;
    errno = 0;
    long value = strtol(text, &end, 0);
    if (errno || *end || end == text)
        usage_error(saved_argv[0], "not a whole number", text);
    return value;
}

bench_config_t bench_init(int argc, char **argv, const char *name, const char *own_options)
{
    saved_argc = argc;
    saved_argv = argv;
    for (int i = 1; i < argc; i += 2) {
        if (strncmp(argv[i], "--", 2) != 0)
            usage_error(name, "expected --option value, got", argv[i]);
        if (!option_listed("--threads --scale --seed", argv[i]) && !option_listed(own_options, argv[i]))
            usage_error(name, "unknown option", argv[i]);
        if (i + 1 >= argc)
            usage_error(name, "missing value after", argv[i]);
    }

    bench_config_t config = {.name = name, .threads = 0, .scale = 1.0, .seed = 20240611};
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    config.threads = (unsigned)bench_option_long("--threads", cores > 0 ? cores : 1);
    if (config.threads < 1 || config.threads > 1024)
        usage_error(name, "--threads must be 1..1024", option_value("--threads"));
    config.seed = (uint64_t)bench_option_long("--seed", (long)config.seed);
    const char *scale = option_value("--scale");
    if (scale) {
        char *end;
        config.scale = strtod(scale, &end);
        if (*end || end == scale || !(config.scale > 0.0) || config.scale > 1000.0)
            usage_error(name, "--scale must be a number in (0, 1000]", scale);
    }
    return config;
}

uint64_t bench_scaled(const bench_config_t *config, uint64_t base)
{
    double scaled = (double)base * config->scale;
    return scaled < 1.0 ? 1 : (uint64_t)scaled;
}

uint64_t bench_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

uint64_t bench_cpu_ns(void)
{
    struct timespec used;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &used);
    return (uint64_t)used.tv_sec * 1000000000u + (uint64_t)used.tv_nsec;
}

void bench_sleep_ms(unsigned ms)
{
    struct timespec left = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&left, &left) != 0 && errno == EINTR) {
    }
}

uint64_t bench_status_kb(const char *field)
{
    /* /proc/self/status is about 1.5 KiB; read it whole without stdio, which
     * would allocate through the allocator under test. */
    char text[8192];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t length = read(fd, text, sizeof text - 1);
    close(fd);
    if (length <= 0)
        return 0;
    text[length] = '\0';

    size_t field_length = strlen(field);
    for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, field, field_length) == 0 && line[field_length] == ':')
            return strtoull(line + field_length + 1, NULL, 10);
    }
    return 0;
}

size_t bench_rng_log_range(bench_rng_t *rng, size_t lo, size_t hi)
{
    /* Pick a doubling [2^k, 2^(k+1)) among those that overlap [lo, hi]
     * uniformly, then a size uniformly inside it, and draw again when the
     * size falls outside [lo, hi].  (Clamping instead would pile the
     * out-of-range draws onto lo and hi: with hi = 64 KiB, one draw in
     * fourteen would be exactly 64 KiB.) */
    if (lo >= hi)
        return lo;
    unsigned lo_bits = 63u - (unsigned)__builtin_clzll(lo | 1);
    unsigned hi_bits = 63u - (unsigned)__builtin_clzll(hi | 1);
    for (unsigned attempt = 0; attempt < 64; attempt++) {
        unsigned bits = lo_bits + bench_rng_below(rng, hi_bits - lo_bits + 1);
        size_t base = (size_t)1 << bits;
        size_t size = base + bench_rng_below(rng, (uint32_t)base);
        if (size >= lo && size <= hi)
            return size;
    }
    return bench_rng_range(rng, lo, hi); /* a range too narrow for doublings */
}

void bench_touch(void *block, size_t size, unsigned char value)
{
    unsigned char *bytes = block;
    if (size == 0)
        return;
    for (size_t offset = 0; offset < size; offset += 4096)
        bytes[offset] = value;
    bytes[size - 1] = value;
}

typedef struct thread_start {
    bench_thread_fn fn;
    void *arg;
    unsigned index;
    pthread_barrier_t *barrier;
} thread_start_t;

static void *thread_main(void *raw)
{
    thread_start_t *start = raw;
    pthread_barrier_wait(start->barrier);
    start->fn(start->index, start->arg);
    return NULL;
}

void bench_run_threads(unsigned count, bench_thread_fn fn, void *arg)
{
    /* Arrays on the stack (count is at most 1024), not malloc: the harness
     * should not place its own blocks among the workload's. */
    pthread_t ids[count];
    thread_start_t starts[count];
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, count);
    for (unsigned i = 0; i < count; i++) {
        starts[i] = (thread_start_t){.fn = fn, .arg = arg, .index = i, .barrier = &barrier};
        int error = pthread_create(&ids[i], NULL, thread_main, &starts[i]);
        if (error) {
            errno = error;
            perror("pthread_create");
            exit(1);
        }
    }
    for (unsigned i = 0; i < count; i++)
        pthread_join(ids[i], NULL);
    pthread_barrier_destroy(&barrier);
}

void bench_event_wait_until(bench_event_t *event, int (*ready)(void *arg), void *arg)
{
    for (unsigned spin = 0; spin < 200; spin++) {
        if (ready(arg))
            return;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    while (!ready(arg)) {
        uint32_t seen = atomic_load(&event->sequence);
        atomic_fetch_add(&event->waiters, 1);
        /* Checked again after announcing ourselves: either the signaller
         * sees waiters > 0 and bumps the sequence (then the futex wait
         * returns at once), or this check sees its progress. */
        if (!ready(arg)) {
            struct timespec limit = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
            syscall(SYS_futex, &event->sequence, FUTEX_WAIT_PRIVATE, seen, &limit, NULL, 0);
        }
        atomic_fetch_sub(&event->waiters, 1);
    }
}

void bench_event_signal(bench_event_t *event)
{
    if (atomic_load(&event->waiters) == 0)
        return;
    atomic_fetch_add(&event->sequence, 1);
    syscall(SYS_futex, &event->sequence, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

#define BENCH_MAX_EXTRAS 16

typedef struct extra_figure {
    const char *key;
    double value;
} extra_figure_t;

static extra_figure_t extras[BENCH_MAX_EXTRAS];
static unsigned extra_count;

void bench_extra(const char *key, double value)
{
    if (extra_count < BENCH_MAX_EXTRAS)
        extras[extra_count++] = (extra_figure_t){key, value};
}

/* Which allocator the dynamic linker bound malloc to: the shared object
 * that defines the first "malloc" in the global scope, which is the one this
 * program's calls reach.  (Looking for a symbol only an allocator exports
 * would not do: a library can be preloaded without replacing malloc.)  The
 * runner checks the answer against what it preloaded, so a preload that did
 * not take cannot pass as a result. */
static const char *detect_allocator(void)
{
    static char unknown[64];
    Dl_info info;
    void *bound = dlsym(RTLD_DEFAULT, "malloc");
    if (!bound || !dladdr(bound, &info) || !info.dli_fname)
        return "unknown";
    const char *file = strrchr(info.dli_fname, '/') ? strrchr(info.dli_fname, '/') + 1 : info.dli_fname;
    static const struct {
        const char *file_prefix;
        const char *allocator;
    } known[] = {
        {"libward.", "ward"},
        {"libjemalloc.", "jemalloc"},
        {"libmimalloc.", "mimalloc"},
        {"libtcmalloc", "tcmalloc"},
        {"libc.", "glibc"},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strncmp(file, known[i].file_prefix, strlen(known[i].file_prefix)) == 0)
            return known[i].allocator;
    snprintf(unknown, sizeof unknown, "%s", file); /* e.g. the program itself */
    return unknown;
}

static uint64_t base_rss_kb;

/* Runs before main, after the allocator's own start-up: the resident set the
 * workload starts from. */
__attribute__((constructor)) static void record_base_rss(void)
{
    base_rss_kb = bench_status_kb("VmRSS");
}

int bench_report(const bench_config_t *config, uint64_t time_ns, uint64_t ops)
{
    uint64_t peak_kb = bench_status_kb("VmHWM");
    printf("workload=%s allocator=%s threads=%u time_ns=%llu ops=%llu rss_peak_kb=%llu rss_base_kb=%llu",
           config->name, detect_allocator(), config->threads, (unsigned long long)time_ns,
           (unsigned long long)ops, (unsigned long long)peak_kb, (unsigned long long)base_rss_kb);
    for (unsigned i = 0; i < extra_count; i++) {
        double value = extras[i].value;
        /* whole numbers (byte and block counts) in full, others to 6 digits */
        if (value > -9e15 && value < 9e15 && value == (double)(long long)value)
            printf(" %s=%lld", extras[i].key, (long long)value);
        else
            printf(" %s=%.6g", extras[i].key, value);
    }
    printf("\n");
    fflush(stdout);
    return 0;
}

_Noreturn void bench_fail(const char *what)
{
    fprintf(stderr, "benchmark check failed: %s\n", what);
    abort();
}
