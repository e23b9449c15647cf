/*
 * check.h - the few checks and tools ward's C tests share.  Header only, so a test
 * stays one file; everything is static inline, so what a test does not use costs nothing.
 *
 *   CHECK(cond)               stop the test (exit status 1) when cond is false,
 *                             naming the file, the line and the condition
 *   CHECKF(cond, fmt, ...)    the same, with a printf-style explanation
 *   test_skip(fmt, ...)       say why, then exit with TEST_SKIP_CODE; register
 *                             such tests with SKIP_RETURN_CODE 77
 *   test_stress()             the WARD_STRESS scale factor (>= 1, default 1)
 *   test_seed()               WARD_SEED when set, else a fresh one; printed so
 *                             that a failing run can be repeated
 *   test_random(&state)       a small deterministic generator (xorshift64*)
 *   test_prewarm_threads(n)   start and join n threads at once before a test
 *                             takes statistics that must balance exactly
 *   death_run(fn, arg, &r)    run fn(arg) in a forked child with its stderr
 *                             captured; r tells how the child ended
 *   death_expect_fatal(...)   check that the child stopped on SIGABRT after one
 *                             ward line naming the operation, the error and the
 *                             address
 *   death_expect_clean(r)     check that the child exited 0 and ward said nothing
 *
 * Failures exit with _exit so that a failing check in one thread does not run
 * exit handlers while other threads still use the allocator.
 */
#ifndef WARD_TEST_CHECK_H
#define WARD_TEST_CHECK_H

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TEST_SKIP_CODE 77

static inline __attribute__((noreturn, format(printf, 4, 5))) void
test_fail_(const char *file, int line, const char *condition, const char *fmt, ...)
{
    fprintf(stderr, "%s:%d: check failed: %s", file, line, condition);
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        fputs(": ", stderr);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
    fflush(stdout);
    _exit(1);
}

#define CHECK(cond) \
    do { if (!(cond)) test_fail_(__FILE__, __LINE__, #cond, NULL); } while (0)
#define CHECKF(cond, ...) \
    do { if (!(cond)) test_fail_(__FILE__, __LINE__, #cond, __VA_ARGS__); } while (0)

static inline __attribute__((noreturn, format(printf, 1, 2))) void test_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("SKIP: ", stdout);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
    exit(TEST_SKIP_CODE);
}

/* True when the environment turns on one of ward's run-time diagnostics
 * (WARD_DEBUG, WARD_GUARD_SAMPLE, WARD_LEAKS): malloc's blocks are then
 * bigger core blocks, so a test of the core's size classes or of how many
 * blocks fit does not apply (the suite is run that way to show that the
 * diagnostics raise no false alarm). */
static inline bool test_diagnostics_on(void)
{
    const char *names[] = {"WARD_DEBUG", "WARD_GUARD_SAMPLE", "WARD_LEAKS"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *value = getenv(names[i]);
        if (value != NULL && *value != '\0' && strcmp(value, "0") != 0)
            return true;
    }
    return false;
}

/* WARD_STRESS=N multiplies the work of stress tests; unset or invalid is 1. */
static inline unsigned test_stress(void)
{
    const char *text = getenv("WARD_STRESS");
    if (text == NULL || *text == '\0')
        return 1;
    char *end;
    unsigned long value = strtoul(text, &end, 10);
    if (*end != '\0' || value < 1 || value > 100000)
        return 1;
    return (unsigned)value;
}

static inline uint64_t test_seed(void)
{
    const char *text = getenv("WARD_SEED");
    uint64_t seed;
    if (text != NULL && *text != '\0') {
        seed = strtoull(text, NULL, 0);
    } else {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        seed = (uint64_t)now.tv_nsec ^ ((uint64_t)now.tv_sec << 20) ^ (uint64_t)getpid();
    }
    if (seed == 0)
        seed = 1;
    printf("seed %" PRIu64 " (repeat with WARD_SEED=%" PRIu64 ")\n", seed, seed);
    fflush(stdout);
    return seed;
}

/* xorshift64*: state must not be 0. */
static inline uint64_t test_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * UINT64_C(2685821657736338717);
}

static inline void *test_idle_thread_(void *arg)
{
    return arg;
}

/* The C library keeps per-thread bookkeeping (a cached stack and its TLS
 * vector, allocated with malloc, so by ward when ward is the malloc) after a
 * thread ends, for the next thread to reuse.  Starting as many threads as a
 * test runs at once, before its first snapshot, makes that memory part of the
 * baseline instead of a difference the test would blame on ward. */
static inline void test_prewarm_threads(unsigned count)
{
    pthread_t threads[64];
    CHECK(count <= 64);
    for (unsigned i = 0; i < count; i++)
        CHECK(pthread_create(&threads[i], NULL, test_idle_thread_, NULL) == 0);
    for (unsigned i = 0; i < count; i++)
        CHECK(pthread_join(threads[i], NULL) == 0);
}

/* ---- death tests ---- */

typedef struct death_result_s {
    int exit_code;     /* exit status when the child exited, else -1 */
    int signal;        /* the signal that ended the child, else 0 */
    char output[8192]; /* the start of what the child wrote on stderr */
} death_result_t;

/* Runs scenario(arg) in a child whose stderr goes into result->output; a
 * scenario that returns makes the child exit 0.  Core dumps are turned off in
 * the child: an expected abort should not leave a core file behind. */
static inline void death_run(void (*scenario)(void *arg), void *arg, death_result_t *result)
{
    memset(result, 0, sizeof *result);
    result->exit_code = -1;
    int fds[2];
    CHECK(pipe(fds) == 0);
    fflush(stdout);
    fflush(stderr);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        close(fds[1]);
        scenario(arg);
        _exit(0);
    }
    close(fds[1]);
    size_t used = 0;
    char discard[4096];
    for (;;) {
        char *into = discard;
        size_t room = sizeof discard;
        if (used + 1 < sizeof result->output) {
            into = result->output + used;
            room = sizeof result->output - 1 - used;
        }
        ssize_t got = read(fds[0], into, room);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        if (into != discard)
            used += (size_t)got;
    }
    result->output[used] = '\0';
    close(fds[0]);
    int status;
    while (waitpid(child, &status, 0) < 0)
        CHECK(errno == EINTR);
    if (WIFEXITED(status))
        result->exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        result->signal = WTERMSIG(status);
}

static inline void death_describe_(const death_result_t *r)
{
    if (r->signal != 0)
        fprintf(stderr, "  child ended by signal %d (%s)\n", r->signal, strsignal(r->signal));
    else
        fprintf(stderr, "  child exited with status %d\n", r->exit_code);
    fprintf(stderr, "  child stderr:\n---\n%s---\n", r->output);
}

/* The number of lines of text that start with "ward:"; *first points at the
 * first one (or is NULL). */
static inline int death_ward_lines_(const char *text, const char **first)
{
    int count = 0;
    *first = NULL;
    for (const char *line = text; *line != '\0';) {
        if (strncmp(line, "ward:", 5) == 0) {
            if (count++ == 0)
                *first = line;
        }
        const char *newline = strchr(line, '\n');
        if (newline == NULL)
            break;
        line = newline + 1;
    }
    return count;
}

/* True when `line` (up to its newline) contains `needle`. */
static inline bool death_line_has_(const char *line, const char *needle)
{
    size_t line_length = strcspn(line, "\n");
    size_t needle_length = strlen(needle);
    for (size_t at = 0; at + needle_length <= line_length; at++) {
        if (memcmp(line + at, needle, needle_length) == 0)
            return true;
    }
    return false;
}

/*
 * Checks that the child ended on SIGABRT after writing exactly one line
 *   ward: <operation>: <error> at 0x<hex address> [(size class <n> bytes)]
 * where <error> contains one of the '|'-separated words of `errors`, the
 * address is `address` in lowercase hex, and when the line gives a size class
 * and `size_class` is not 0, the two agree.  Prints every mismatch and returns
 * whether all hold.
 */
static inline bool death_expect_fatal(const death_result_t *r, const char *operation,
                                      const char *errors, const void *address, size_t size_class)
{
    bool ok = true;
    if (r->signal != SIGABRT) {
        fprintf(stderr, "expected SIGABRT\n");
        ok = false;
    }
    const char *line;
    int lines = death_ward_lines_(r->output, &line);
    if (lines != 1) {
        fprintf(stderr, "expected exactly one line starting with \"ward:\", found %d\n", lines);
        ok = false;
    }
    if (line != NULL) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "ward: %s: ", operation);
        if (strncmp(line, prefix, strlen(prefix)) != 0) {
            fprintf(stderr, "the line does not start with \"%s\"\n", prefix);
            ok = false;
        }
        bool error_named = false;
        char alternatives[128];
        snprintf(alternatives, sizeof alternatives, "%s", errors);
        for (char *save, *word = strtok_r(alternatives, "|", &save); word != NULL;
             word = strtok_r(NULL, "|", &save)) {
            error_named |= death_line_has_(line, word);
        }
        if (!error_named) {
            fprintf(stderr, "the line names none of: %s\n", errors);
            ok = false;
        }
        char at_address[64];
        snprintf(at_address, sizeof at_address, " at %p", address);
        size_t needle_length = strlen(at_address);
        size_t line_length = strcspn(line, "\n");
        bool address_named = false;
        for (size_t i = 0; !address_named && i + needle_length <= line_length; i++) {
            /* the printed number must end where the pointer's digits end */
            address_named = memcmp(line + i, at_address, needle_length) == 0 &&
                            !isxdigit((unsigned char)line[i + needle_length]);
        }
        if (!address_named) {
            fprintf(stderr, "the line does not name the address as \"%s\"\n", at_address);
            ok = false;
        }
        const char *size_part = strstr(line, "(size class ");
        if (size_class != 0 && size_part != NULL && size_part < line + line_length) {
            unsigned long long printed = strtoull(size_part + strlen("(size class "), NULL, 10);
            if (printed != size_class) {
                fprintf(stderr, "the line gives size class %llu, the block's is %zu\n", printed,
                        size_class);
                ok = false;
            }
        }
    }
    if (!ok)
        death_describe_(r);
    return ok;
}

/* Checks that the child exited with status 0 and no line of ward's. */
static inline bool death_expect_clean(const death_result_t *r)
{
    const char *line;
    bool ok = r->signal == 0 && r->exit_code == 0 && death_ward_lines_(r->output, &line) == 0;
    if (!ok) {
        fprintf(stderr, "expected a clean exit without a ward line\n");
        death_describe_(r);
    }
    return ok;
}

#endif
