/*
 * harness.h - what the region and pool tests share: failing loudly, a
 * seeded generator, the stress scale, and death tests (a forked child must
 * die of SIGABRT with a given message on stderr).
 */
#ifndef WARD_TEST_HARNESS_H
#define WARD_TEST_HARNESS_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ward.h"

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);     \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

#define CHECK_REGION(region)                                                             \
    do {                                                                                 \
        const char *problem_ = NULL;                                                     \
        if (!ward_region_check((region), &problem_)) {                                   \
            fprintf(stderr, "%s:%d: region check failed: %s\n", __FILE__, __LINE__,      \
                    problem_ ? problem_ : "?");                                          \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

/* xorshift64*: small, seeded, the same on every platform. */
typedef struct rng_s {
    uint64_t state;
} rng_t;

static inline rng_t rng_seeded(uint64_t seed)
{
    rng_t r = {seed * 0x9e3779b97f4a7c15u + 0x2545f4914f6cdd1du};
    if (!r.state)
        r.state = 1;
    return r;
}

static inline uint64_t rng_next(rng_t *r)
{
    r->state ^= r->state >> 12;
    r->state ^= r->state << 25;
    r->state ^= r->state >> 27;
    return r->state * 0x2545f4914f6cdd1du;
}

/* Uniform in [0, bound). */
static inline uint64_t rng_below(rng_t *r, uint64_t bound) { return bound ? rng_next(r) % bound : 0; }

/* WARD_STRESS=N multiplies long runs (default 1). */
static inline unsigned stress_scale(void)
{
    const char *s = getenv("WARD_STRESS");
    long v = s ? strtol(s, NULL, 10) : 1;
    return v < 1 ? 1 : (unsigned)v;
}

/* Every fit, by name from the command line, or all of them. */
static inline int fit_from_name(const char *name)
{
    for (int fit = 0; fit < WARD_FIT_COUNT_; fit++)
        if (strcmp(ward_fit_name((ward_fit_t)fit), name) == 0)
            return fit;
    return -1;
}

/*
 * Runs body(arg) in a child with stderr captured; the child must die of
 * SIGABRT and its stderr must contain `expected`.  Returns 1 when it did.
 */
static inline int death_test(const char *name, void (*body)(void *), void *arg, const char *expected)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    fflush(NULL);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        body(arg);
        _exit(0); /* surviving the misuse is the failure */
    }
    close(fds[1]);
    char text[4096];
    size_t len = 0;
    ssize_t got;
    while ((got = read(fds[0], text + len, sizeof text - 1 - len)) > 0)
        len += (size_t)got;
    text[len] = '\0';
    close(fds[0]);
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child);
    int ok = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && strstr(text, expected) != NULL &&
             strstr(text, "ward: ") != NULL;
    fprintf(stderr, "%-48s %s", name, ok ? "ok" : "FAILED");
    if (!ok)
        fprintf(stderr, " (status %#x, wanted \"%s\", stderr: %s)", status, expected, text);
    fprintf(stderr, "\n");
    return ok;
}

#endif
