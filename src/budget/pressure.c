/*
 * pressure.c - pressure levels, their subscribers, and what the kernel
 * says: the cgroup's memory limit and pressure stall information (PSI).
 *
 * Levels from usage (committed bytes, or reserved ones in the never mode)
 * against the basis (the process limit, else the cgroup's memory limit):
 *   LOW at 75 % (the low watermark), MEDIUM at 90 % (the high watermark),
 *   CRITICAL at 97 %, and for a moment whenever a limit refuses an
 *   allocation for good.
 * From PSI (the cgroup's memory.pressure, else /proc/pressure/memory), read
 * by the background reclaimer about once a second:
 *   LOW when "some avg10" >= 10, MEDIUM when "full avg10" >= 5, CRITICAL
 *   when "full avg10" >= 20 (percentages of time stalled on memory).
 * The level is the higher of the two.
 *
 * Admission (limit.c) marks the levels an allocation crossed upward in
 * _ward_budget_pending; the next safe point (a slow path holding no lock,
 * ward_collect, the background reclaimer) calls the subscribers.
 */
#include <errno.h>
#include <string.h>

#include "budget/budget.h"
#include "heap/heap.h"
#include "os/os.h"
#include "support/counters.h"

#define SUBSCRIBERS_MAX 32

typedef struct subscriber_s {
    void (*fn)(ward_pressure_t level, void *ctx);
    void *ctx;
    ward_pressure_t level;
} subscriber_t;

static subscriber_t subscribers[SUBSCRIBERS_MAX]; /* (budget lock) */
static unsigned subscriber_count;                 /* (budget lock) */

_Atomic(unsigned) _ward_budget_pending;
static _Atomic(size_t) cgroup_limit;
static _Atomic(int) psi_level;
static char psi_path[256]; /* written once, at start */

ward_pressure_t _ward_budget_level_of(int64_t usage, size_t basis)
{
    if (basis == 0 || usage <= 0)
        return WARD_PRESSURE_NONE;
    uint64_t u = (uint64_t)usage * 100;
    if (u >= (uint64_t)basis * 97)
        return WARD_PRESSURE_CRITICAL;
    if (u >= (uint64_t)basis * 90)
        return WARD_PRESSURE_MEDIUM;
    if (u >= (uint64_t)basis * 75)
        return WARD_PRESSURE_LOW;
    return WARD_PRESSURE_NONE;
}

void _ward_budget_note_rise(ward_pressure_t from, ward_pressure_t to)
{
    unsigned bits = 0;
    for (int l = (int)from + 1; l <= (int)to; l++)
        bits |= 1u << l;
    if (bits)
        atomic_fetch_or_explicit(&_ward_budget_pending, bits, memory_order_relaxed);
}

WARD_API ward_pressure_t ward_pressure_get(void)
{
    ward_pressure_t level = _ward_budget_level_of(_ward_budget_usage(), _ward_budget_basis());
    ward_pressure_t psi = (ward_pressure_t)atomic_load_explicit(&psi_level, memory_order_relaxed);
    return psi > level ? psi : level;
}

WARD_API int ward_pressure_subscribe(ward_pressure_t level, void (*callback)(ward_pressure_t level, void *ctx),
                                     void *ctx)
{
    if (callback == NULL || level <= WARD_PRESSURE_NONE || level >= WARD_PRESSURE_COUNT_) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&_ward_budget_lock);
    if (subscriber_count == SUBSCRIBERS_MAX) {
        pthread_mutex_unlock(&_ward_budget_lock);
        errno = ENOSPC;
        return -1;
    }
    subscribers[subscriber_count++] = (subscriber_t){callback, ctx, level};
    pthread_mutex_unlock(&_ward_budget_lock);
    return 0;
}

WARD_API int ward_pressure_unsubscribe(void (*callback)(ward_pressure_t level, void *ctx), void *ctx)
{
    pthread_mutex_lock(&_ward_budget_lock);
    for (unsigned i = 0; i < subscriber_count; i++) {
        if (subscribers[i].fn == callback && subscribers[i].ctx == ctx) {
            subscribers[i] = subscribers[--subscriber_count];
            pthread_mutex_unlock(&_ward_budget_lock);
            return 0;
        }
    }
    pthread_mutex_unlock(&_ward_budget_lock);
    errno = ENOENT;
    return -1;
}

void _ward_budget_deliver(void)
{
    ward_heap_t *t = _ward_tls_heap;
    /* Inside a reclaim pass or a callback the notice waits for later. */
    if (t && t->budget.in_reclaim)
        return;
    if (_ward_budget_background_wanted())
        _ward_budget_start_background();
    unsigned crossed = atomic_exchange_explicit(&_ward_budget_pending, 0, memory_order_relaxed);
    if (crossed == 0)
        return;
    if (t)
        t->budget.in_reclaim = true;
    subscriber_t list[SUBSCRIBERS_MAX];
    pthread_mutex_lock(&_ward_budget_lock);
    unsigned count = subscriber_count;
    memcpy(list, subscribers, count * sizeof list[0]);
    pthread_mutex_unlock(&_ward_budget_lock);
    ward_pressure_t now = ward_pressure_get();
    for (unsigned i = 0; i < count; i++)
        if (crossed & (1u << list[i].level))
            list[i].fn(now > list[i].level ? now : list[i].level, list[i].ctx);
    _ward_budget_lmk_check(crossed);
    if (t)
        t->budget.in_reclaim = false;
}

/* ------------------------------------------------------- cgroup and PSI */

size_t _ward_budget_cgroup_limit(void) { return atomic_load_explicit(&cgroup_limit, memory_order_relaxed); }

/* Parses the decimal number at s (stops at the first non-digit). */
static uint64_t parse_u64(const char *s)
{
    uint64_t v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (uint64_t)(*s++ - '0');
    return v;
}

/* These files are parsed with plain loops rather than strstr and strcspn:
 * the parse runs in every process at start-up, and those functions' part of
 * libc's text would otherwise become resident in processes that never call
 * them. */

/* The first occurrence of needle in [text, end), or NULL. */
static const char *find_in(const char *text, const char *end, const char *needle)
{
    for (const char *at = text; at < end; at++) {
        size_t i = 0;
        while (needle[i] != '\0' && at + i < end && at[i] == needle[i])
            i++;
        if (needle[i] == '\0')
            return at;
    }
    return NULL;
}

/* The end of the line starting at line: its newline or terminating NUL. */
static const char *line_end(const char *line)
{
    while (*line != '\0' && *line != '\n')
        line++;
    return line;
}

static const char *text_end(const char *text) { return text + strlen(text); }

/* The integer part of "key=N.NN" on the line starting with prefix. */
static uint64_t psi_field(const char *text, const char *prefix, const char *key)
{
    const char *line = find_in(text, text_end(text), prefix);
    if (line == NULL)
        return 0;
    const char *at = find_in(line, text_end(line), key);
    return at ? parse_u64(at + strlen(key)) : 0;
}

/* Writes root + path (len bytes, without a trailing '/') + name into file
 * (size bytes); false when it does not fit. */
static bool cgroup_file(char *file, size_t size, const char *root, const char *path, size_t len, const char *name)
{
    size_t root_len = strlen(root), name_len = strlen(name);
    if (len > 0 && path[len - 1] == '/')
        len--;
    if (root_len + len + name_len + 1 > size)
        return false;
    memcpy(file, root, root_len);
    memcpy(file + root_len, path, len);
    memcpy(file + root_len + len, name, name_len + 1);
    return true;
}

/* A limit read from file, or 0 for none ("max", or a v1 value near 2^63). */
static size_t read_limit(const char *file)
{
    char value[64];
    if (_ward_os_read_file(file, value, sizeof value) <= 0 || value[0] < '0' || value[0] > '9')
        return 0;
    uint64_t v = parse_u64(value);
    return v >= (uint64_t)1 << 60 ? 0 : (size_t)v;
}

/* The path of the cgroup on the line of /proc/self/cgroup that starts with
 * prefix ("0::" for v2) or contains it (":memory:" for v1); NULL if none. */
static const char *cgroup_path(const char *text, const char *prefix, size_t *len)
{
    for (const char *line = text, *end; *line; line = *end ? end + 1 : end) {
        end = line_end(line);
        const char *at = find_in(line, end, prefix);
        if (at == NULL || (prefix[0] == '0' && at != line))
            continue;
        const char *path = at + strlen(prefix);
        *len = (size_t)(end - path);
        return path;
    }
    return NULL;
}

void _ward_budget_read_cgroup(void)
{
    char text[1024], file[320];
    if (_ward_os_read_file("/proc/self/cgroup", text, sizeof text) <= 0)
        return;
    size_t len = 0, limit = 0;
    /* cgroup v2: memory.max and memory.pressure of the line "0::/path". */
    const char *path = cgroup_path(text, "0::", &len);
    if (path && cgroup_file(file, sizeof file, "/sys/fs/cgroup", path, len, "/memory.max"))
        limit = read_limit(file);
    if (path && cgroup_file(file, sizeof file, "/sys/fs/cgroup", path, len, "/memory.pressure") &&
        _ward_os_read_file(file, text, 2) > 0)
        memcpy(psi_path, file, strlen(file) + 1 <= sizeof psi_path ? strlen(file) + 1 : 0);
    /* cgroup v1: memory.limit_in_bytes of the memory controller's group,
     * or of the mount's root (a container sees its own group there). */
    if (limit == 0 && _ward_os_read_file("/proc/self/cgroup", text, sizeof text) > 0 &&
        (path = cgroup_path(text, ":memory:", &len)) != NULL) {
        if (cgroup_file(file, sizeof file, "/sys/fs/cgroup/memory", path, len, "/memory.limit_in_bytes"))
            limit = read_limit(file);
        if (limit == 0)
            limit = read_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    }
    atomic_store_explicit(&cgroup_limit, limit, memory_order_relaxed);
}

ward_pressure_t _ward_budget_psi_level(void)
{
    return (ward_pressure_t)atomic_load_explicit(&psi_level, memory_order_relaxed);
}

void _ward_budget_read_psi(void)
{
    char text[256];
    const char *path = psi_path[0] ? psi_path : "/proc/pressure/memory";
    if (_ward_os_read_file(path, text, sizeof text) <= 0)
        return;
    ward_pressure_t level = WARD_PRESSURE_NONE;
    if (psi_field(text, "full", "avg10=") >= 20)
        level = WARD_PRESSURE_CRITICAL;
    else if (psi_field(text, "full", "avg10=") >= 5)
        level = WARD_PRESSURE_MEDIUM;
    else if (psi_field(text, "some", "avg10=") >= 10)
        level = WARD_PRESSURE_LOW;
    ward_pressure_t before = (ward_pressure_t)atomic_exchange_explicit(&psi_level, (int)level, memory_order_relaxed);
    ward_pressure_t committed_level = _ward_budget_level_of(_ward_budget_usage(), _ward_budget_basis());
    ward_pressure_t from = before > committed_level ? before : committed_level;
    if (level > from)
        _ward_budget_note_rise(from, level);
}

/* ------------------------------------------------------------ statistics */

void _ward_budget_add_stats(ward_stats_t *out)
{
    const ward_budget_counters_t *c = &_ward_budget_counters;
    out->limit = _ward_budget_limit();
    out->cgroup_limit = _ward_budget_cgroup_limit();
    out->pressure = (uint64_t)ward_pressure_get();
    out->reclaimed_collect = atomic_load_explicit(&c->reclaimed_collect, memory_order_relaxed);
    out->reclaimed_background = atomic_load_explicit(&c->reclaimed_background, memory_order_relaxed);
    out->reclaimed_callbacks = atomic_load_explicit(&c->reclaimed_callbacks, memory_order_relaxed);
    out->reclaimed_oom = atomic_load_explicit(&c->reclaimed_oom, memory_order_relaxed);
    out->reclaim_passes = atomic_load_explicit(&c->reclaim_passes, memory_order_relaxed);
    out->oom_events = atomic_load_explicit(&c->oom_events, memory_order_relaxed);
    out->lmk_events = atomic_load_explicit(&c->lmk_events, memory_order_relaxed);
    out->limit_failures = atomic_load_explicit(&c->limit_failures, memory_order_relaxed);
    out->reserve_open = _ward_budget_reserve_is_open();
}
