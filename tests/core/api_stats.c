/*
 * Statistics, collection, options and version: ward_stats_get counts exactly
 * what a single thread does; the text and JSON reports name every field of
 * the struct; ward_collect returns freed memory; options are range-checked
 * through the API and read (and malformed ones reported) from WARD_*
 * variables at start.
 */
#include <pthread.h>
#include <stdint.h>

#include "core/stats_helpers.h"

extern char **environ;


static const char *const field_names[] = {
#define WARD_TEST_FIELD_NAME(name, description) #name,
    WARD_STATS_FIELDS(WARD_TEST_FIELD_NAME)
#undef WARD_TEST_FIELD_NAME
};
enum { FIELD_COUNT = sizeof field_names / sizeof field_names[0] };

static void expect_consistent(const ward_stats_t *s)
{
    CHECK(s->version == WARD_STATS_VERSION);
    CHECK(s->size == sizeof(ward_stats_t));
    CHECK(s->allocated <= s->allocated_peak);
    CHECK(s->committed <= s->committed_peak);
    CHECKF(s->allocated <= s->committed, "allocated %llu > committed %llu",
           (unsigned long long)s->allocated, (unsigned long long)s->committed);
    CHECK(s->committed <= s->reserved);
    CHECK(s->metadata <= s->committed);
    CHECK(s->free_count <= s->malloc_count);
    CHECK(s->threads >= 1);
    CHECK(s->class_count <= WARD_STATS_CLASSES);
}

/* The class entry whose block size is `block_size`, or NULL. */
static const ward_class_stats_t *class_of(const ward_stats_t *s, size_t block_size)
{
    for (uint32_t i = 0; i < s->class_count; i++) {
        if (s->classes[i].block_size == block_size)
            return &s->classes[i];
    }
    return NULL;
}

static void test_counts(void)
{
    enum { SMALL = 1000, LARGE = 5, HUGE = 2 };
    static void *small[SMALL];
    void *large[LARGE], *huge[HUGE];
    CHECK(ward_stats_get(NULL) == EINVAL);

    void *probe = ward_malloc(100);
    CHECK(probe != NULL);
    size_t small_block = ward_usable_size(probe);
    ward_free(probe);

    ward_stats_t before = stats_now();
    expect_consistent(&before);
    for (int i = 0; i < SMALL; i++)
        CHECK((small[i] = ward_malloc(100)) != NULL);
    for (int i = 0; i < LARGE; i++)
        CHECK((large[i] = ward_malloc(500 * KiB)) != NULL);
    for (int i = 0; i < HUGE; i++)
        CHECK((huge[i] = ward_malloc(8 * MiB)) != NULL);
    uint64_t held = (uint64_t)SMALL * small_block;
    for (int i = 0; i < LARGE; i++)
        held += ward_usable_size(large[i]);
    for (int i = 0; i < HUGE; i++)
        held += ward_usable_size(huge[i]);

    ward_stats_t full = stats_now();
    expect_consistent(&full);
    CHECKF(full.malloc_count - before.malloc_count == SMALL + LARGE + HUGE,
           "malloc_count grew by %llu for %d allocations",
           (unsigned long long)(full.malloc_count - before.malloc_count), SMALL + LARGE + HUGE);
    CHECK(full.free_count == before.free_count);
    CHECKF(full.allocated - before.allocated == held, "allocated grew by %llu, blocks hold %llu",
           (unsigned long long)(full.allocated - before.allocated), (unsigned long long)held);
    CHECK(full.allocated_peak >= full.allocated);
    CHECK(full.large_count - before.large_count == LARGE);
    CHECK(full.huge_count - before.huge_count == HUGE);
    CHECK(full.segments >= 1);
    CHECK(full.reserved >= full.committed);

    const ward_class_stats_t *class_before = class_of(&before, small_block);
    const ward_class_stats_t *class_full = class_of(&full, small_block);
    if (class_full != NULL) {
        uint64_t mallocs_before = class_before != NULL ? class_before->mallocs : 0;
        CHECKF(class_full->mallocs - mallocs_before == SMALL, "class of %zu bytes counted %llu mallocs",
               small_block, (unsigned long long)(class_full->mallocs - mallocs_before));
        CHECK(class_full->pages >= 1);
    }

    for (int i = 0; i < SMALL; i++)
        ward_free(small[i]);
    for (int i = 0; i < LARGE; i++)
        ward_free(large[i]);
    for (int i = 0; i < HUGE; i++)
        ward_free(huge[i]);
    ward_stats_t after = stats_now();
    expect_consistent(&after);
    CHECK(after.free_count - before.free_count == SMALL + LARGE + HUGE);
    CHECK(after.malloc_count == full.malloc_count);
    CHECKF(after.allocated == before.allocated, "allocated %llu after freeing all, %llu before",
           (unsigned long long)after.allocated, (unsigned long long)before.allocated);
    CHECK(after.allocated_peak >= full.allocated);
    CHECK(after.committed_peak >= full.committed);
    CHECK(after.large_count == before.large_count);
    CHECK(after.huge_count == before.huge_count);
    const ward_class_stats_t *class_after = class_of(&after, small_block);
    if (class_after != NULL && class_full != NULL)
        CHECK(class_after->frees - class_full->frees == SMALL);
}

typedef struct first_allocation_s {
    ward_stats_t before, after;
    size_t usable;
} first_allocation_t;

static void *allocate_first_block(void *arg)
{
    first_allocation_t *job = arg;
    job->before = stats_now();
    void *p = ward_malloc(100);
    job->after = stats_now();
    CHECK(p != NULL);
    job->usable = ward_usable_size(p);
    ward_free(p);
    return NULL;
}

/* The first allocation of a new thread sets up its heap: what ward needs for
 * that is metadata, not a block the program holds. */
static void test_first_allocation_of_a_thread(void)
{
    first_allocation_t job;
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, allocate_first_block, &job) == 0);
    CHECK(pthread_join(thread, NULL) == 0);
    CHECKF(job.after.allocated - job.before.allocated == job.usable,
           "a new thread's first ward_malloc(100) (usable %zu) raised allocated by %llu", job.usable,
           (unsigned long long)(job.after.allocated - job.before.allocated));
    CHECKF(job.after.malloc_count - job.before.malloc_count == 1,
           "a new thread's first ward_malloc raised malloc_count by %llu",
           (unsigned long long)(job.after.malloc_count - job.before.malloc_count));
}

/* Freed page runs come back to the OS on ward_collect(true), and with a decay
 * delay of 0 on ward_collect(false) as well. */
/* A block whose commit sets the committed peak is counted as allocated at
 * that peak: "committed unused at peak" is not the block itself. */
static void test_unused_at_peak(void)
{
    ward_stats_t before;
    CHECK(ward_stats_get(&before) == 0);
    size_t size = (size_t)before.committed_peak + 64 * MiB;
    void *p = ward_malloc(size);
    CHECK(p != NULL);
    memset(p, 1, 4096);
    ward_stats_t at_peak;
    CHECK(ward_stats_get(&at_peak) == 0);
    CHECKF(at_peak.committed_peak >= size, "committed peak %llu below a block of %zu",
           (unsigned long long)at_peak.committed_peak, size);
    CHECKF(at_peak.unused_at_peak < 32 * MiB, "unused at peak %llu with a %zu-byte block just made",
           (unsigned long long)at_peak.unused_at_peak, size);
    ward_free(p);
}

static void test_collect(void)
{
    enum { BLOCKS = 48 };
    void *blocks[BLOCKS];
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < BLOCKS; i++) {
            blocks[i] = ward_malloc(1 * MiB);
            CHECK(blocks[i] != NULL);
            memset(blocks[i], 1, 1 * MiB);
        }
        ward_stats_t full = stats_now();
        for (int i = 0; i < BLOCKS; i++)
            ward_free(blocks[i]);
        if (pass == 0) {
            ward_collect(true);
        } else {
            CHECK(ward_option_set(WARD_OPTION_DECAY_MS, 0) == 0);
            ward_collect(false);
        }
        ward_stats_t collected = stats_now();
        expect_consistent(&collected);
        CHECKF(collected.committed + BLOCKS / 2 * MiB <= full.committed,
               "pass %d: committed %llu with %d MiB live, %llu after freeing and collecting", pass,
               (unsigned long long)full.committed, BLOCKS, (unsigned long long)collected.committed);
        CHECK(collected.decommitted_total >= full.decommitted_total + BLOCKS / 2 * MiB);
    }
    CHECK(ward_option_set(WARD_OPTION_DECAY_MS, 100) == 0);
}

static void test_options(void)
{
    if (getenv("WARD_DECAY_MS") == NULL)
        CHECK(ward_option_get(WARD_OPTION_DECAY_MS) == 100);
    CHECK(ward_option_set(WARD_OPTION_DECAY_MS, 0) == 0);
    CHECK(ward_option_get(WARD_OPTION_DECAY_MS) == 0);
    CHECK(ward_option_set(WARD_OPTION_DECAY_MS, 60000) == 0);
    CHECK(ward_option_get(WARD_OPTION_DECAY_MS) == 60000);
    CHECK(ward_option_set(WARD_OPTION_DECAY_MS, 60001) == EINVAL);
    CHECK(ward_option_set(WARD_OPTION_DECAY_MS, -1) == EINVAL);
    CHECK(ward_option_get(WARD_OPTION_DECAY_MS) == 60000);
    CHECK(ward_option_set(WARD_OPTION_DECAY_MS, 100) == 0);

    const ward_option_t flags[] = {WARD_OPTION_VERBOSE, WARD_OPTION_STATS};
    for (int i = 0; i < 2; i++) {
        long old = ward_option_get(flags[i]);
        CHECK(ward_option_set(flags[i], 1) == 0);
        CHECK(ward_option_get(flags[i]) == 1);
        CHECK(ward_option_set(flags[i], 2) == EINVAL);
        CHECK(ward_option_set(flags[i], -1) == EINVAL);
        CHECK(ward_option_set(flags[i], 0) == 0);
        CHECK(ward_option_get(flags[i]) == 0);
        CHECK(ward_option_set(flags[i], old) == 0);
    }
    CHECK(ward_option_set(WARD_OPTION_COUNT_, 0) == EINVAL);
    CHECK(ward_option_set((ward_option_t)(WARD_OPTION_COUNT_ + 5), 0) == EINVAL);
}

static void test_version(void)
{
    char expected[64];
    snprintf(expected, sizeof expected, "ward %d.%d.%d", WARD_VERSION_MAJOR, WARD_VERSION_MINOR,
             WARD_VERSION_PATCH);
    CHECK(ward_version() != NULL);
    CHECKF(strcmp(ward_version(), expected) == 0, "ward_version() = \"%s\"", ward_version());
}

/* Reads the whole of a file into buffer (NUL-terminated). */
static void read_file(int fd, char *buffer, size_t size)
{
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    size_t used = 0;
    ssize_t got;
    while (used + 1 < size && (got = read(fd, buffer + used, size - 1 - used)) > 0)
        used += (size_t)got;
    buffer[used] = '\0';
}

static void expect_every_field(const char *report, const char *format, const char *what)
{
    for (int i = 0; i < FIELD_COUNT; i++) {
        char needle[64];
        snprintf(needle, sizeof needle, format, field_names[i]);
        CHECKF(strstr(report, needle) != NULL, "%s does not contain %s:\n%s", what, needle, report);
    }
}

static void test_reports(void)
{
    static char report[64 * 1024];
    static char stream_buffer[64 * 1024];

    FILE *text = tmpfile();
    CHECK(text != NULL);
    ward_stats_print(text);
    CHECK(fflush(text) == 0);
    read_file(fileno(text), report, sizeof report);
    fclose(text);
    CHECK(strlen(report) > 0);
    expect_every_field(report, "%s", "the text report");

    /* NULL means stderr */
    int saved_stderr = dup(STDERR_FILENO);
    FILE *capture = tmpfile();
    CHECK(saved_stderr >= 0 && capture != NULL);
    fflush(stderr);
    CHECK(dup2(fileno(capture), STDERR_FILENO) == STDERR_FILENO);
    ward_stats_print(NULL);
    ward_stats_print_json(NULL);
    fflush(stderr);
    CHECK(dup2(saved_stderr, STDERR_FILENO) == STDERR_FILENO);
    close(saved_stderr);
    read_file(fileno(capture), report, sizeof report);
    fclose(capture);
    expect_every_field(report, "%s", "ward_stats_print(NULL) on stderr");
    expect_every_field(report, "\"%s\"", "ward_stats_print_json(NULL) on stderr");

    /* JSON: one object, every field, counts equal to a snapshot taken just
     * before (the stream has its own buffer, so nothing allocates between) */
    FILE *json = tmpfile();
    CHECK(json != NULL);
    CHECK(setvbuf(json, stream_buffer, _IOFBF, sizeof stream_buffer) == 0);
    ward_stats_t snapshot = stats_now();
    ward_stats_print_json(json);
    CHECK(fflush(json) == 0);
    read_file(fileno(json), report, sizeof report);
    fclose(json);
    const char *start = report + strspn(report, " \t\n");
    CHECKF(*start == '{', "the JSON report does not start with '{':\n%s", report);
    size_t length = strlen(report);
    while (length > 0 && strchr(" \t\n", report[length - 1]) != NULL)
        length--;
    CHECKF(length > 0 && report[length - 1] == '}', "the JSON report does not end with '}'");
    int depth = 0, objects = 0;
    for (const char *c = start; c < report + length; c++) {
        if (*c == '{' && depth++ == 0)
            objects++;
        if (*c == '}')
            CHECK(--depth >= 0);
    }
    CHECK(depth == 0 && objects == 1);
    expect_every_field(report, "\"%s\"", "the JSON report");
    const char *counts[] = {"malloc_count", "free_count"};
    uint64_t expected[] = {snapshot.malloc_count, snapshot.free_count};
    for (int i = 0; i < 2; i++) {
        char key[64];
        snprintf(key, sizeof key, "\"%s\"", counts[i]);
        const char *at = strstr(report, key) + strlen(key);
        at += strspn(at, " \t:");
        unsigned long long value = strtoull(at, NULL, 10);
        CHECKF(value == expected[i], "JSON %s is %llu, ward_stats_get says %llu", counts[i], value,
               (unsigned long long)expected[i]);
    }
}

/* ---- options from the environment, read by a fresh copy of this program ---- */

typedef struct child_output_s {
    char out[4096];
    char err[16384];
    int status;
} child_output_t;

static void run_self_with(const char *assignment, child_output_t *result)
{
    char *child_env[512];
    size_t count = 0;
    for (char **e = environ; *e != NULL && count + 2 < 512; e++) {
        if (strncmp(*e, "WARD_", 5) != 0)
            child_env[count++] = *e;
    }
    if (assignment != NULL)
        child_env[count++] = (char *)assignment;
    child_env[count] = NULL;

    FILE *out = tmpfile(), *err = tmpfile();
    CHECK(out != NULL && err != NULL);
    fflush(stdout);
    fflush(stderr);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        dup2(fileno(out), STDOUT_FILENO);
        dup2(fileno(err), STDERR_FILENO);
        char *argv[] = {"api_stats", "--report-options", NULL};
        execve("/proc/self/exe", argv, child_env);
        _exit(127);
    }
    CHECK(waitpid(child, &result->status, 0) == child);
    read_file(fileno(out), result->out, sizeof result->out);
    read_file(fileno(err), result->err, sizeof result->err);
    fclose(out);
    fclose(err);
    CHECKF(WIFEXITED(result->status) && WEXITSTATUS(result->status) == 0,
           "child with %s failed (status %#x):\n%s", assignment ? assignment : "no WARD_ variable",
           result->status, result->err);
}

static int count_occurrences(const char *text, const char *needle)
{
    int count = 0;
    for (const char *at = strstr(text, needle); at != NULL; at = strstr(at + 1, needle))
        count++;
    return count;
}

static void test_environment(void)
{
    child_output_t r;
    run_self_with(NULL, &r);
    CHECKF(strcmp(r.out, "decay 100 verbose 0 stats 0\n") == 0, "defaults: %s", r.out);
    CHECKF(r.err[0] == '\0', "ward wrote on stderr without being asked:\n%s", r.err);

    run_self_with("WARD_DECAY_MS=250", &r);
    CHECKF(strcmp(r.out, "decay 250 verbose 0 stats 0\n") == 0, "WARD_DECAY_MS=250: %s", r.out);
    CHECK(r.err[0] == '\0');

    run_self_with("WARD_VERBOSE=1", &r);
    CHECKF(strcmp(r.out, "decay 100 verbose 1 stats 0\n") == 0, "WARD_VERBOSE=1: %s", r.out);

    const char *malformed[] = {"WARD_DECAY_MS=abc", "WARD_DECAY_MS=70000", "WARD_DECAY_MS=-3",
                               "WARD_DECAY_MS=", "WARD_STATS=yes"};
    for (int i = 0; i < 5; i++) {
        run_self_with(malformed[i], &r);
        CHECKF(strcmp(r.out, "decay 100 verbose 0 stats 0\n") == 0, "%s: %s", malformed[i], r.out);
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(malformed[i], "="), malformed[i]);
        CHECKF(count_occurrences(r.err, name) == 1, "%s must be reported once on stderr, got:\n%s",
               malformed[i], r.err);
    }

    run_self_with("WARD_NO_SUCH_OPTION=1", &r);
    CHECKF(count_occurrences(r.err, "WARD_NO_SUCH_OPTION") == 1,
           "an unknown WARD_ variable must be reported once on stderr, got:\n%s", r.err);

    run_self_with("WARD_STATS=1", &r);
    CHECKF(strcmp(r.out, "decay 100 verbose 0 stats 1\n") == 0, "WARD_STATS=1: %s", r.out);
    for (int i = 0; i < FIELD_COUNT; i++)
        CHECKF(strstr(r.err, field_names[i]) != NULL, "WARD_STATS=1: no %s in the exit report:\n%s",
               field_names[i], r.err);
}

/* Pages a class emptied serve another class of the same page size: moving
 * from 1 KiB blocks to 4 KiB blocks reuses the touched memory instead of
 * committing more.  Runs in a thread of its own, so that its heap holds
 * nothing else. */
static void *switch_sizes(void *unused)
{
    (void)unused;
    enum { SMALL = 512, LARGE = 96 }; /* 8 pages of 1 KiB blocks; 6 pages of 4 KiB ones */
    static unsigned char *small[SMALL], *large[LARGE];
    for (int i = 0; i < SMALL; i++) {
        small[i] = ward_malloc(1024);
        CHECK(small[i] != NULL);
        memset(small[i], 0x5a, 1024);
    }
    for (int i = 0; i < SMALL; i++)
        ward_free(small[i]);
    ward_stats_t emptied = stats_now();
    for (int i = 0; i < LARGE; i++) {
        large[i] = ward_malloc(4096);
        CHECK(large[i] != NULL);
        memset(large[i], i, 4096);
    }
    ward_stats_t refilled = stats_now();
    for (int i = 0; i < LARGE; i++) {
        CHECK(large[i][0] == (unsigned char)i && large[i][4095] == (unsigned char)i);
        ward_free(large[i]);
    }
    /* Without the reuse the 4 KiB blocks would commit 6 more 64 KiB pages;
     * allow one page for the 1 KiB page the class's cache keeps in use. */
    CHECKF(refilled.committed <= emptied.committed + 64 * KiB,
           "committed %llu after emptying 8 pages of 1 KiB blocks, %llu after 96 blocks of 4 KiB",
           (unsigned long long)emptied.committed, (unsigned long long)refilled.committed);
    CHECK(ward_check() == 0);
    return NULL;
}

static void test_empty_pages_serve_other_classes(void)
{
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, switch_sizes, NULL) == 0);
    CHECK(pthread_join(thread, NULL) == 0);
}

int main(int argc, char **argv)
{
    if (test_diagnostics_on() && argc < 2)
        test_skip("the diagnostics' blocks are not counted in the core's classes");
    if (argc == 2 && strcmp(argv[1], "--report-options") == 0) {
        void *p = ward_malloc(1000);
        ward_free(p);
        printf("decay %ld verbose %ld stats %ld\n", ward_option_get(WARD_OPTION_DECAY_MS),
               ward_option_get(WARD_OPTION_VERBOSE), ward_option_get(WARD_OPTION_STATS));
        return 0;
    }
    test_version();
    test_counts();
    test_first_allocation_of_a_thread();
    test_options();
    test_collect();
    test_unused_at_peak();
    test_empty_pages_serve_other_classes();
    test_reports();
    test_environment();
    puts("ok");
    return 0;
}
