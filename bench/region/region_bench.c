/*
 * region_bench.c - region workloads for every placement policy, with glibc
 * malloc as a reference, and pools against malloc/free of the same size.
 *
 *   region_bench table   <region bytes> <ops>        one row per workload and policy
 *   region_bench scaling <ops> <bytes>...            TLSF, uniform, at several region sizes
 *   region_bench pools   <ops>                       pool get/put vs malloc/free
 *
 * Per row: operations per second (an untimed pass), the longest single
 * operation and the 99.99th percentile (three more passes timing every
 * call with CLOCK_MONOTONIC, each call counted at its least time of the
 * three, which filters out interrupts and preemption; the raw longest is
 * kept too; for the TLSF scaling also with the thread's CPU clock), and
 * the fill fraction: after a churn at half load,
 * allocations outnumber frees 3:1 until the first one fails; the fill is
 * the bytes the program then holds over the region's size (the median of
 * three seeds).  Output is tab-separated, one row per line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "ward.h"

/* ---- random sizes ------------------------------------------------------------ */

typedef struct rng_s {
    uint64_t s;
} rng_t;

static uint64_t rng_next(rng_t *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545f4914f6cdd1dULL;
}

static double rng_unit(rng_t *r) { return (double)(rng_next(r) >> 11) / 9007199254740992.0; }

enum { UNIFORM, POWERLAW, FIXED, PHASE, WORKLOADS };
static const char *const workload_names[WORKLOADS] = {"uniform 16B-4KiB", "power-law 16B-64KiB", "fixed sizes",
                                                       "phase change"};

/* phase: 0 before the change, 1 after */
static size_t pick_size(rng_t *r, int workload, int phase)
{
    switch (workload) {
    case UNIFORM:
        return 16 + rng_next(r) % (4096 - 16 + 1);
    case POWERLAW: { /* Pareto, alpha 1.1, 16 B to 64 KiB: mostly small, a heavy tail */
        double x = 16.0 / pow(1.0 - rng_unit(r), 1.0 / 1.1);
        return x > 65536.0 ? 65536 : (size_t)x;
    }
    case FIXED: {
        static const size_t sizes[] = {24, 24, 24, 64, 64, 256, 1500, 4096};
        return sizes[rng_next(r) % 8];
    }
    default: /* many small blocks, then mostly large ones among the survivors */
        return phase == 0 ? 16 + rng_next(r) % 241 : 1024 + rng_next(r) % (8192 - 1024 + 1);
    }
}

/* ---- allocators under test ------------------------------------------------------- */

typedef struct arena_s {
    int fit; /* -1: glibc malloc */
    ward_region_t *region;
} arena_t;

static void *arena_alloc(arena_t *a, size_t n) { return a->fit < 0 ? malloc(n) : ward_region_malloc(a->region, n); }

static void arena_free(arena_t *a, void *p)
{
    if (a->fit < 0)
        free(p);
    else
        ward_region_free(a->region, p);
}

/* The clock of timed calls: wall time, or this thread's CPU time (which
 * leaves out the time the thread was preempted). */
static clockid_t timing_clock = CLOCK_MONOTONIC;

static uint64_t clock_ns(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
static uint64_t call_ns(void) { return clock_ns(timing_clock); }

/* ---- the stream -------------------------------------------------------------------- */

typedef struct live_s {
    void **p;
    size_t *n;
    size_t count, cap, bytes;
} live_t;

#define HISTOGRAM 1000000 /* 1 ns buckets up to 1 ms; beyond, only the maximum */
#define TIMED_RUNS 3

typedef struct result_s {
    uint64_t ops; /* operations the timed passes made (fewer than asked when over the budget) */
    double ops_per_s;
    uint64_t raw_max_ns;     /* longest call seen in any timed pass */
    uint64_t max_ns;         /* longest call, each call's least over the passes */
    uint64_t p9999_ns;       /* 99.99th percentile of the same */
    double fill;
    size_t failures;
} result_t;

static uint32_t *histogram;
/* Latency of each call of one timed pass, and the least over the passes:
 * the streams are deterministic, so a call's least time over three runs is
 * its own cost with the machine's interruptions filtered out. */
static uint32_t *call_ns_this_run, *call_ns_least;
static uint64_t calls_recorded;
static double pass_budget_s = 10.0; /* a pass stops early past this; the row says how far it got */

/*
 * ops allocations and frees keeping the held bytes near `target`: below
 * it, 3 in 5 operations allocate; above it, 2 in 5.  A failed allocation
 * (the region is fragmented) is counted and a free done instead.  When
 * timed, every call is timed.
 */
static size_t stream(arena_t *a, live_t *live, int workload, uint64_t *ops_inout, size_t target, rng_t *r, bool timed,
                     uint64_t *max_ns)
{
    size_t failures = 0;
    uint64_t ops = *ops_inout, start = now_ns();
    for (uint64_t op = 0; op < ops; op++) {
        if ((op & 4095) == 0 && op && (double)(now_ns() - start) / 1e9 > pass_budget_s) {
            *ops_inout = op;
            break;
        }
        int phase = workload == PHASE && op >= ops / 2;
        bool grow = rng_next(r) % 5 < (live->bytes < target ? 3u : 2u);
        if (grow || live->count == 0) {
            size_t n = pick_size(r, workload, phase);
            uint64_t t0 = timed ? call_ns() : 0;
            void *p = arena_alloc(a, n);
            if (timed) {
                uint64_t d = call_ns() - t0;
                if (d > *max_ns)
                    *max_ns = d;
                call_ns_this_run[calls_recorded++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
            }
            if (p) {
                if (live->count == live->cap)
                    abort(); /* cap is the region's most blocks */
                live->p[live->count] = p;
                live->n[live->count++] = n;
                live->bytes += n;
                continue;
            }
            failures++;
            if (!live->count)
                continue;
        }
        size_t k = rng_next(r) % live->count;
        void *p = live->p[k];
        live->bytes -= live->n[k];
        live->p[k] = live->p[--live->count];
        live->n[k] = live->n[live->count];
        uint64_t t0 = timed ? call_ns() : 0;
        arena_free(a, p);
        if (timed) {
            uint64_t d = call_ns() - t0;
            if (d > *max_ns)
                *max_ns = d;
            call_ns_this_run[calls_recorded++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
        }
    }
    return failures;
}

static void live_clear(arena_t *a, live_t *live)
{
    while (live->count)
        arena_free(a, live->p[--live->count]);
    live->bytes = 0;
}

static void *region_memory(size_t bytes)
{
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    /* Large regions are what huge pages are for; without them a 1 GiB
     * region measures page walks more than the allocator.  Ignored where
     * transparent huge pages are off. */
    madvise(m, bytes, MADV_HUGEPAGE);
    memset(m, 0, bytes); /* fault every page in now, not during a timed call */
    return m;
}

static void arena_open(arena_t *a, int fit, void *memory, size_t bytes)
{
    a->fit = fit;
    a->region = fit < 0 ? NULL : ward_region_init(memory, bytes, (ward_fit_t)fit, 0);
    if (fit >= 0 && !a->region) {
        perror("ward_region_init");
        exit(1);
    }
}

static int compare_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static result_t measure(int fit, int workload, void *memory, size_t bytes, uint64_t ops)
{
    result_t result = {0};
    live_t live = {0};
    live.cap = bytes / 32 + 16;
    live.p = malloc(live.cap * sizeof *live.p);
    live.n = malloc(live.cap * sizeof *live.n);
    arena_t a;

    /* Throughput: untimed calls. */
    arena_open(&a, fit, memory, bytes);
    rng_t r = {0x1234567 + (uint64_t)workload};
    uint64_t t0 = now_ns();
    result.failures = stream(&a, &live, workload, &ops, bytes / 2, &r, false, NULL);
    result.ops_per_s = (double)ops / ((double)(now_ns() - t0) / 1e9);
    live_clear(&a, &live);

    /* Latency: the same stream three times, every call timed. */
    uint64_t timed_ops = ops, least_calls = UINT64_MAX;
    for (int run = 0; run < TIMED_RUNS; run++) {
        arena_open(&a, fit, memory, bytes);
        r = (rng_t){0x1234567 + (uint64_t)workload};
        calls_recorded = 0;
        stream(&a, &live, workload, &timed_ops, bytes / 2, &r, true, &result.raw_max_ns);
        live_clear(&a, &live);
        if (calls_recorded < least_calls)
            least_calls = calls_recorded;
        for (uint64_t i = 0; i < calls_recorded; i++)
            if (run == 0 || call_ns_this_run[i] < call_ns_least[i])
                call_ns_least[i] = call_ns_this_run[i];
    }
    result.ops = timed_ops;
    memset(histogram, 0, HISTOGRAM * sizeof *histogram);
    for (uint64_t i = 0; i < least_calls; i++) {
        uint32_t d = call_ns_least[i];
        if (d > result.max_ns)
            result.max_ns = d;
        histogram[d < HISTOGRAM ? d : HISTOGRAM - 1]++;
    }
    uint64_t total = least_calls;
    uint64_t seen = 0, want = total - total / 10000;
    for (uint64_t d = 0; d < HISTOGRAM; d++) {
        seen += histogram[d];
        if (seen >= want) {
            result.p9999_ns = d;
            break;
        }
    }

    /* Fill at the first failure (regions only), median of three seeds. */
    if (fit >= 0) {
        double fills[3];
        for (int seed = 0; seed < 3; seed++) {
            arena_open(&a, fit, memory, bytes);
            r = (rng_t){0xabcdef + (uint64_t)seed * 7919 + (uint64_t)workload};
            uint64_t churn = ops / 10 < 1000000 ? ops / 10 : 1000000;
            stream(&a, &live, workload, &churn, bytes / 2, &r, false, NULL);
            int phase = workload == PHASE;
            for (;;) {
                if (rng_next(&r) % 4 != 0 || !live.count) {
                    size_t n = pick_size(&r, workload, phase);
                    void *p = arena_alloc(&a, n);
                    if (!p)
                        break;
                    live.p[live.count] = p;
                    live.n[live.count++] = n;
                    live.bytes += n;
                } else {
                    size_t k = rng_next(&r) % live.count;
                    arena_free(&a, live.p[k]);
                    live.bytes -= live.n[k];
                    live.p[k] = live.p[--live.count];
                    live.n[k] = live.n[live.count];
                }
            }
            fills[seed] = (double)live.bytes / (double)bytes;
            live_clear(&a, &live);
        }
        qsort(fills, 3, sizeof fills[0], compare_double);
        result.fill = fills[1];
    }
    free(live.p);
    free(live.n);
    return result;
}

static const char *name_of(int fit) { return fit < 0 ? "glibc malloc" : ward_fit_name((ward_fit_t)fit); }

static void table(size_t bytes, uint64_t ops)
{
    void *memory = region_memory(bytes);
    printf("workload\tpolicy\tops\tops_per_s\tmax_ns\tp9999_ns\tfill\tfailures\traw_max_ns\n");
    for (int w = 0; w < WORKLOADS; w++)
        for (int fit = -1; fit < WARD_FIT_COUNT_; fit++) {
            result_t r = measure(fit, w, memory, bytes, ops);
            printf("%s\t%s\t%llu\t%.0f\t%llu\t%llu\t%.3f\t%zu\t%llu\n", workload_names[w], name_of(fit),
                   (unsigned long long)r.ops, r.ops_per_s, (unsigned long long)r.max_ns,
                   (unsigned long long)r.p9999_ns, fit < 0 ? -1.0 : r.fill, r.failures,
                   (unsigned long long)r.raw_max_ns);
            fflush(stdout);
        }
    munmap(memory, bytes);
}

static void scaling(uint64_t ops, int count, char **sizes)
{
    printf("region_bytes\tops\tops_per_s\tmax_ns\tp9999_ns\tfill\tmax_cpu_ns\traw_max_ns\n");
    for (int i = 0; i < count; i++) {
        size_t bytes = strtoull(sizes[i], NULL, 10);
        void *memory = region_memory(bytes);
        timing_clock = CLOCK_THREAD_CPUTIME_ID;
        uint64_t cpu_max = measure(WARD_FIT_TLSF, UNIFORM, memory, bytes, ops).max_ns;
        timing_clock = CLOCK_MONOTONIC;
        result_t r = measure(WARD_FIT_TLSF, UNIFORM, memory, bytes, ops);
        printf("%zu\t%llu\t%.0f\t%llu\t%llu\t%.3f\t%llu\t%llu\n", bytes, (unsigned long long)r.ops, r.ops_per_s,
               (unsigned long long)r.max_ns, (unsigned long long)r.p9999_ns, r.fill, (unsigned long long)cpu_max,
               (unsigned long long)r.raw_max_ns);
        fflush(stdout);
        munmap(memory, bytes);
    }
}

/* ---- pools ----------------------------------------------------------------------------- */

typedef struct pool_job_s {
    int kind; /* 0 pool, 1 glibc, 2 ward_malloc */
    ward_pool_t *pool;
    size_t size;
    uint64_t ops;
    double seconds;
} pool_job_t;

/* Bursts of 64 gets then 64 puts in a scrambled order. */
static void *pool_worker(void *arg)
{
    pool_job_t *job = arg;
    void *held[64];
    uint64_t t0 = now_ns();
    for (uint64_t done = 0; done < job->ops; done += 128) {
        for (int i = 0; i < 64; i++)
            held[i] = job->kind == 0 ? ward_pool_get(job->pool, job->size)
                    : job->kind == 1 ? malloc(job->size)
                                     : ward_malloc(job->size);
        for (int i = 0; i < 64; i++) {
            void *p = held[(i * 37) & 63];
            if (job->kind == 0)
                ward_pool_put(job->pool, p);
            else if (job->kind == 1)
                free(p);
            else
                ward_free(p);
        }
    }
    job->seconds = (double)(now_ns() - t0) / 1e9;
    return NULL;
}

static void pools(uint64_t ops)
{
    static const size_t sizes[] = {32, 256, 4096};
    static const char *const kinds[] = {"ward pool", "glibc malloc/free", "ward_malloc/free"};
    printf("block\tthreads\tallocator\tops_per_s\n");
    for (int s = 0; s < 3; s++)
        for (int threads = 1; threads <= 2; threads++)
            for (int kind = 0; kind < 3; kind++) {
                ward_pool_t *pool = ward_pool_new(sizes[s], WARD_POOL_QUIET);
                pool_job_t jobs[2];
                pthread_t ids[2];
                for (int t = 0; t < threads; t++) {
                    jobs[t] = (pool_job_t){kind, pool, sizes[s], ops, 0};
                    pthread_create(&ids[t], NULL, pool_worker, &jobs[t]);
                }
                double slowest = 0;
                for (int t = 0; t < threads; t++) {
                    pthread_join(ids[t], NULL);
                    if (jobs[t].seconds > slowest)
                        slowest = jobs[t].seconds;
                }
                printf("%zu\t%d\t%s\t%.0f\n", sizes[s], threads, kinds[kind], (double)ops * threads / slowest);
                fflush(stdout);
                ward_pool_destroy(pool);
            }
}

int main(int argc, char **argv)
{
    histogram = calloc(HISTOGRAM, sizeof *histogram);
    uint64_t most_ops = argc >= 4 ? strtoull(argv[strcmp(argv[1], "table") == 0 ? 3 : 2], NULL, 10) : 0;
    call_ns_this_run = malloc((2 * most_ops + 16) * sizeof *call_ns_this_run); /* a failed allocation adds a free */
    call_ns_least = malloc((2 * most_ops + 16) * sizeof *call_ns_least);
    if (!histogram || !call_ns_this_run || !call_ns_least) {
        perror("malloc");
        return 1;
    }
    const char *budget = getenv("WARD_BENCH_BUDGET_S");
    if (budget)
        pass_budget_s = strtod(budget, NULL);
    if (argc >= 4 && strcmp(argv[1], "table") == 0) {
        table(strtoull(argv[2], NULL, 10), strtoull(argv[3], NULL, 10));
    } else if (argc >= 4 && strcmp(argv[1], "scaling") == 0) {
        scaling(strtoull(argv[2], NULL, 10), argc - 3, argv + 3);
    } else if (argc >= 3 && strcmp(argv[1], "pools") == 0) {
        pools(strtoull(argv[2], NULL, 10));
    } else {
        fprintf(stderr, "usage: %s table <region bytes> <ops> | scaling <ops> <bytes>... | pools <ops>\n", argv[0]);
        return 2;
    }
    return 0;
}
