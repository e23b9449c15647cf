/*
 * options.c - the option table and its environment reader.
 */
#include "support/options.h"
#include "support/number.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "os/os.h"
#include "support/fatal.h"

typedef struct option_desc_s {
    const char *env;         /* environment variable */
    long default_value;
    long min, max;           /* documented range, inclusive */
    const char *description;
    const char *const *names; /* words accepted instead of numbers: names[v] means v */
} option_desc_t;

static const char *const overcommit_names[] = {"always", "guess", "never", NULL};

/* Indexed by ward_option_t: keep in the order of the enum in ward.h. */
static const option_desc_t option_table[WARD_OPTION_COUNT_] = {
    [WARD_OPTION_DECAY_MS] = {"WARD_DECAY_MS", 100, 0, WARD_DECAY_MS_MAX, "delay in ms before free pages go back to the OS"},
    [WARD_OPTION_VERBOSE] = {"WARD_VERBOSE", 0, 0, 1, "log option problems and decisions to stderr"},
    [WARD_OPTION_STATS] = {"WARD_STATS", 0, 0, 1, "print statistics at exit"},
    [WARD_OPTION_LIMIT] = {"WARD_LIMIT", 0, 0, WARD_LIMIT_MAX, "process limit on committed bytes (0 = none)"},
    [WARD_OPTION_BACKGROUND] = {"WARD_BACKGROUND", 0, 0, 1, "run the background reclaimer thread"},
    [WARD_OPTION_OVERCOMMIT] = {"WARD_OVERCOMMIT", WARD_OVERCOMMIT_GUESS, WARD_OVERCOMMIT_ALWAYS,
                                WARD_OVERCOMMIT_NEVER, "accounting mode: always, guess or never",
                                overcommit_names},
    [WARD_OPTION_DEBUG] = {"WARD_DEBUG", 0, 0, 1, "debug checks: canaries, junk fill, quarantine"},
    [WARD_OPTION_GUARD_SAMPLE] = {"WARD_GUARD_SAMPLE", 0, 0, WARD_GUARD_SAMPLE_MAX, "one malloc in N against a guard page"},
    [WARD_OPTION_LEAKS] = {"WARD_LEAKS", 0, 0, 1, "report blocks still allocated at exit"},
};

/* WARD_ variables that are not options but are known: set by `ward run` or
 * read by ward's own test and benchmark programs. */
static const char *const known_non_options[] = {
    "WARD_REPORT_FD", "WARD_REPORT_PID", "WARD_LIBRARY", "WARD_STRESS", "WARD_SEED", NULL,
};

long _ward_options[WARD_OPTION_COUNT_];

static void report(const char *problem, const char *entry)
{
    char text[256];
    ward_buf_t b = {text, sizeof text, 0};
    _ward_buf_str(&b, "ward: ");
    _ward_buf_str(&b, problem);
    _ward_buf_str(&b, ": ");
    _ward_buf_str(&b, entry);
    _ward_buf_str(&b, " (ignored)\n");
    _ward_buf_finish(&b);
    _ward_os_write_stderr(text, b.len < b.cap ? b.len : b.cap - 1);
}

/* A value of option d: one of its words, or a number. */
static bool parse_value(const option_desc_t *d, const char *s, long *out)
{
    for (long i = 0; d->names && d->names[i]; i++)
        if (strcmp(d->names[i], s) == 0) {
            *out = i;
            return true;
        }
    return _ward_parse_number(s, out);
}

static void check_entry(const char *entry, void *ctx)
{
    (void)ctx;
    const char *eq = strchr(entry, '=');
    size_t name_len = eq ? (size_t)(eq - entry) : strlen(entry);
    for (int i = 0; i < WARD_OPTION_COUNT_; i++) {
        const option_desc_t *d = &option_table[i];
        if (strlen(d->env) == name_len && strncmp(d->env, entry, name_len) == 0) {
            long v;
            if (!eq || !parse_value(d, eq + 1, &v) || v < d->min || v > d->max)
                report("malformed or out-of-range option", entry);
            else
                _ward_options[i] = v;
            return;
        }
    }
    for (const char *const *k = known_non_options; *k; k++)
        if (strlen(*k) == name_len && strncmp(*k, entry, name_len) == 0)
            return;
    report("unknown option", entry);
}

static void read_environment(void)
{
    for (int i = 0; i < WARD_OPTION_COUNT_; i++)
        _ward_options[i] = option_table[i].default_value;
    _ward_os_env_each("WARD_", check_entry, NULL);
}

/* Once, whichever comes first: the allocator's start or a call below (so a
 * value set before the first allocation is not overwritten by it). */
static pthread_once_t options_once = PTHREAD_ONCE_INIT;

void _ward_options_init(void) { pthread_once(&options_once, read_environment); }

int ward_option_set(ward_option_t option, long value)
{
    _ward_options_init();
    if ((unsigned)option >= WARD_OPTION_COUNT_ || value < option_table[option].min ||
        value > option_table[option].max)
        return EINVAL;
    __atomic_store_n(&_ward_options[option], value, __ATOMIC_RELAXED);
    return 0;
}

long ward_option_get(ward_option_t option)
{
    _ward_options_init();
    if ((unsigned)option >= WARD_OPTION_COUNT_)
        return -1;
    return ward_option(option);
}
