/*
 * ward - the command-line tool.
 *
 *   ward run [options] -- PROGRAM [ARGS...]
 *       Runs PROGRAM with libward preloaded.  When it exits, prints a short
 *       report on stderr: peak allocated, peak committed, peak RSS,
 *       allocation count and the bytes committed but unused at the peak;
 *       with --limit, also the limit and what it took to stay within it.
 *       PROGRAM's exit status becomes ward's (128 + N for signal N).
 *       --debug, --guard-sample N and --leaks turn on the diagnostics
 *       (WARD_DEBUG, WARD_GUARD_SAMPLE, WARD_LEAKS); their reports go to
 *       PROGRAM's stderr.  A value --decay, --limit or --guard-sample
 *       cannot take (see ward.h's *_MAX) is refused before PROGRAM starts,
 *       with status 2; --help prints the usage.
 *   ward version
 *   ward help
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/number.h"
#include "ward.h"

typedef struct run_options_s {
    const char *library;   /* libward.so to preload */
    const char *output;    /* report file, NULL = stderr */
    bool json;
    bool stats;            /* also WARD_STATS=1: the full statistics at exit */
    const char *decay_ms;  /* WARD_DECAY_MS for the program */
    const char *limit;     /* WARD_LIMIT for the program */
    bool debug;            /* WARD_DEBUG=1 */
    const char *guard_sample; /* WARD_GUARD_SAMPLE */
    bool leaks;            /* WARD_LEAKS=1 */
} run_options_t;

typedef struct report_s {
    bool present;
    uint64_t allocated_peak, committed_peak, unused_at_peak, malloc_count, free_count;
    uint64_t limit, limit_failures, oom_events, lmk_events, reclaim_passes, reclaimed_callbacks, reclaimed_oom;
} report_t;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ward run [options] -- PROGRAM [ARGS...]\n"
            "       ward version | ward help\n"
            "\n"
            "run options:\n"
            "  --lib PATH       libward.so to preload (default: next to ward, or installed)\n"
            "  --output FILE    write the report to FILE instead of stderr\n"
            "  --json           write the report as one JSON object\n"
            "  --stats          also print ward's full statistics when PROGRAM exits\n"
            "  --decay MS       delay before free pages go back to the OS (WARD_DECAY_MS)\n"
            "  --limit SIZE     limit on ward's committed memory, e.g. 512M (WARD_LIMIT)\n"
            "  --debug          canaries, junk fill and a quarantine for every block (WARD_DEBUG=1)\n"
            "  --guard-sample N one allocation in N against a guard page (WARD_GUARD_SAMPLE=N)\n"
            "  --leaks          report blocks still allocated at exit, by stack (WARD_LEAKS=1)\n"
            "  --help           print this and exit\n"
            "A value --decay, --limit or --guard-sample cannot take is refused (status 2).\n");
}

static bool readable(const char *path) { return access(path, R_OK) == 0; }

/* libward.so next to this executable (build tree or install tree), then
 * the configured install directory. */
static const char *find_library(char *buf, size_t size)
{
    const char *env = getenv("WARD_LIBRARY");
    if (env && *env)
        return env;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            static const char *const relative[] = {"../src/libward.so", "libward.so", "../lib/libward.so",
                                                   "../lib64/libward.so", "../lib/" WARD_MULTIARCH "/libward.so"};
            for (size_t i = 0; i < sizeof relative / sizeof relative[0]; i++) {
                int len = snprintf(buf, size, "%s/%s", exe, relative[i]);
                if (len > 0 && (size_t)len < size && readable(buf)) {
                    char *real = realpath(buf, NULL);
                    if (real) {
                        snprintf(buf, size, "%s", real);
                        free(real);
                    }
                    return buf;
                }
            }
        }
    }
    snprintf(buf, size, "%s/libward.so", WARD_INSTALL_LIBDIR);
    return readable(buf) ? buf : NULL;
}

static void parse_report(const char *text, report_t *r)
{
    static const struct {
        const char *key;
        size_t offset;
    } keys[] = {
        {"allocated_peak", offsetof(report_t, allocated_peak)},
        {"committed_peak", offsetof(report_t, committed_peak)},
        {"unused_at_peak", offsetof(report_t, unused_at_peak)},
        {"malloc_count", offsetof(report_t, malloc_count)},
        {"free_count", offsetof(report_t, free_count)},
        {"limit", offsetof(report_t, limit)},
        {"limit_failures", offsetof(report_t, limit_failures)},
        {"oom_events", offsetof(report_t, oom_events)},
        {"lmk_events", offsetof(report_t, lmk_events)},
        {"reclaim_passes", offsetof(report_t, reclaim_passes)},
        {"reclaimed_callbacks", offsetof(report_t, reclaimed_callbacks)},
        {"reclaimed_oom", offsetof(report_t, reclaimed_oom)},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        /* "KEY=" at the start of a line ("limit" is also the end of other keys) */
        size_t len = strlen(keys[i].key);
        const char *at = text;
        while ((at = strstr(at, keys[i].key)) != NULL && ((at != text && at[-1] != '\n') || at[len] != '='))
            at += len;
        if (at) {
            *(uint64_t *)((char *)r + keys[i].offset) = strtoull(at + strlen(keys[i].key) + 1, NULL, 10);
            r->present = true;
        }
    }
}

static void human(char *buf, size_t size, uint64_t bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    unsigned u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%llu B", (unsigned long long)bytes);
    else
        snprintf(buf, size, "%.1f %s", v, units[u]);
}

static void print_report(FILE *out, const run_options_t *o, const char *program, int status, const report_t *r,
                         uint64_t rss_peak)
{
    char a[32], c[32], rss[32], unused[32];
    human(a, sizeof a, r->allocated_peak);
    human(c, sizeof c, r->committed_peak);
    human(rss, sizeof rss, rss_peak);
    human(unused, sizeof unused, r->unused_at_peak);
    if (o->json) {
        fprintf(out,
                "{\"program\": \"%s\", \"status\": %d, \"report\": %s, \"peak_allocated\": %llu, "
                "\"peak_committed\": %llu, \"peak_rss\": %llu, \"allocations\": %llu, \"frees\": %llu, "
                "\"committed_unused_at_peak\": %llu",
                program, status, r->present ? "true" : "false", (unsigned long long)r->allocated_peak,
                (unsigned long long)r->committed_peak, (unsigned long long)rss_peak,
                (unsigned long long)r->malloc_count, (unsigned long long)r->free_count,
                (unsigned long long)r->unused_at_peak);
        if (o->limit)
            fprintf(out,
                    ", \"limit\": %llu, \"limit_failures\": %llu, \"oom_events\": %llu, \"lmk_events\": %llu, "
                    "\"reclaim_passes\": %llu, \"reclaimed_callbacks\": %llu, \"reclaimed_oom\": %llu",
                    (unsigned long long)r->limit, (unsigned long long)r->limit_failures,
                    (unsigned long long)r->oom_events, (unsigned long long)r->lmk_events,
                    (unsigned long long)r->reclaim_passes, (unsigned long long)r->reclaimed_callbacks,
                    (unsigned long long)r->reclaimed_oom);
        fprintf(out, "}\n");
        return;
    }
    fprintf(out, "ward: report for %s (exit status %d)\n", program, status);
    if (!r->present)
        fprintf(out, "ward:   no allocator figures: the program ended without running exit handlers\n");
    fprintf(out, "ward:   peak allocated            %12s\n", r->present ? a : "-");
    fprintf(out, "ward:   peak committed            %12s\n", r->present ? c : "-");
    fprintf(out, "ward:   peak RSS                  %12s\n", rss);
    if (r->present)
        fprintf(out, "ward:   allocations               %12llu\n", (unsigned long long)r->malloc_count);
    else
        fprintf(out, "ward:   allocations               %12s\n", "-");
    fprintf(out, "ward:   committed unused at peak  %12s\n", r->present ? unused : "-");
    if (o->limit && r->present) {
        char limit[32], callbacks[32], oom[32];
        human(limit, sizeof limit, r->limit);
        human(callbacks, sizeof callbacks, r->reclaimed_callbacks);
        human(oom, sizeof oom, r->reclaimed_oom);
        fprintf(out, "ward:   limit                     %12s\n", limit);
        fprintf(out, "ward:   reclaim passes            %12llu\n", (unsigned long long)r->reclaim_passes);
        fprintf(out, "ward:   freed by callbacks        %12s\n", callbacks);
        fprintf(out, "ward:   OOM victims               %12llu\n", (unsigned long long)r->oom_events);
        fprintf(out, "ward:   freed by OOM victims      %12s\n", oom);
        fprintf(out, "ward:   low-memory-killer victims %12llu\n", (unsigned long long)r->lmk_events);
        fprintf(out, "ward:   refused (ENOMEM)          %12llu\n", (unsigned long long)r->limit_failures);
    }
}

/* The value of a numeric option, or NULL after saying why it is refused:
 * the grammar of the WARD_* variables (support/number.c, the library's
 * own), at most `max`.  The library would report a value it cannot take
 * and run the program without it; the tool refuses it before the program
 * starts. */
static const char *option_value(const char *option, const char *text, long max)
{
    long v;
    if (_ward_parse_number(text, &v) && v <= max)
        return text;
    fprintf(stderr, "ward run: %s takes a whole number (k, m or g: KiB, MiB, GiB) up to %ld, not '%s'\n", option, max,
            text);
    return NULL;
}

static int run(int argc, char **argv)
{
    run_options_t o = {0};
    int i = 0;
    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        } else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(arg, "--lib") == 0 && i + 1 < argc) {
            o.library = argv[++i];
        } else if (strcmp(arg, "--output") == 0 && i + 1 < argc) {
            o.output = argv[++i];
        } else if (strcmp(arg, "--json") == 0) {
            o.json = true;
        } else if (strcmp(arg, "--stats") == 0) {
            o.stats = true;
        } else if (strcmp(arg, "--decay") == 0 && i + 1 < argc) {
            if ((o.decay_ms = option_value(arg, argv[++i], WARD_DECAY_MS_MAX)) == NULL)
                return 2;
        } else if (strcmp(arg, "--limit") == 0 && i + 1 < argc) {
            if ((o.limit = option_value(arg, argv[++i], WARD_LIMIT_MAX)) == NULL)
                return 2;
        } else if (strcmp(arg, "--debug") == 0) {
            o.debug = true;
        } else if (strcmp(arg, "--guard-sample") == 0 && i + 1 < argc) {
            if ((o.guard_sample = option_value(arg, argv[++i], WARD_GUARD_SAMPLE_MAX)) == NULL)
                return 2;
        } else if (strcmp(arg, "--leaks") == 0) {
            o.leaks = true;
        } else if (arg[0] != '-') {
            break; /* PROGRAM without "--" */
        } else {
            fprintf(stderr, "ward run: unknown option '%s'\n", arg);
            usage(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        fprintf(stderr, "ward run: no program given\n");
        usage(stderr);
        return 2;
    }
    char libbuf[PATH_MAX];
    const char *lib = o.library ? o.library : find_library(libbuf, sizeof libbuf);
    if (lib == NULL || !readable(lib)) {
        fprintf(stderr, "ward run: cannot find libward.so (set --lib or WARD_LIBRARY)\n");
        return 2;
    }
    FILE *out = stderr;
    if (o.output && (out = fopen(o.output, "w")) == NULL) {
        fprintf(stderr, "ward run: cannot write %s: %s\n", o.output, strerror(errno));
        return 2;
    }
    int pipefd[2];
    if (pipe(pipefd) != 0) {
        perror("ward run: pipe");
        return 2;
    }
    fcntl(pipefd[0], F_SETFD, FD_CLOEXEC);
    pid_t pid = fork();
    if (pid < 0) {
        perror("ward run: fork");
        return 2;
    }
    if (pid == 0) {
        close(pipefd[0]);
        char value[64];
        const char *old = getenv("LD_PRELOAD");
        char *preload = malloc(strlen(lib) + (old ? strlen(old) : 0) + 2);
        if (preload == NULL)
            _exit(127);
        sprintf(preload, "%s%s%s", lib, old && *old ? ":" : "", old && *old ? old : "");
        setenv("LD_PRELOAD", preload, 1);
        snprintf(value, sizeof value, "%d", pipefd[1]);
        setenv("WARD_REPORT_FD", value, 1);
        snprintf(value, sizeof value, "%ld", (long)getpid());
        setenv("WARD_REPORT_PID", value, 1);
        if (o.stats)
            setenv("WARD_STATS", "1", 1);
        if (o.decay_ms)
            setenv("WARD_DECAY_MS", o.decay_ms, 1);
        if (o.limit)
            setenv("WARD_LIMIT", o.limit, 1);
        if (o.debug)
            setenv("WARD_DEBUG", "1", 1);
        if (o.guard_sample)
            setenv("WARD_GUARD_SAMPLE", o.guard_sample, 1);
        if (o.leaks)
            setenv("WARD_LEAKS", "1", 1);
        execvp(argv[i], &argv[i]);
        fprintf(stderr, "ward run: cannot run %s: %s\n", argv[i], strerror(errno));
        _exit(127);
    }
    close(pipefd[1]);
    /* Like system(): the terminal's interrupt is for the program. */
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    int status = 0;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("ward run: wait");
            return 2;
        }
    }
    /* The report was written before the program ended; read what the pipe
     * holds without waiting for processes it may have left behind. */
    char text[4096];
    size_t len = 0;
    fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
    for (;;) {
        ssize_t n = read(pipefd[0], text + len, sizeof text - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == sizeof text - 1)
            break;
    }
    text[len] = '\0';
    close(pipefd[0]);
    report_t r = {0};
    parse_report(text, &r);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
    print_report(out, &o, argv[i], code, &r, (uint64_t)ru.ru_maxrss * 1024);
    if (out != stderr)
        fclose(out);
    return code;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "run") == 0)
        return run(argc - 2, argv + 2);
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("ward %d.%d.%d\n", WARD_VERSION_MAJOR, WARD_VERSION_MINOR, WARD_VERSION_PATCH);
        return 0;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "ward: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
