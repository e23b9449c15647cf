/*
 * pressure.c - pressure levels, their subscribers, and what the kernel
 * says: the cgroup's memory.max and pressure stall information (PSI).
 *
 * Levels from usage (committed bytes, or reserved ones in the never mode)
 * against the basis (the process limit, else the cgroup's memory.max):
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

/* The integer part of "key=N.NN" on the line starting with prefix. */
static uint64_t psi_field(const char *text, const char *prefix, const char *key)
{
    const char *line = strstr(text, prefix);
    if (line == NULL)
        return 0;
    const char *at = strstr(line, key);
    return at ? parse_u64(at + strlen(key)) : 0;
}

void _ward_budget_read_cgroup(void)
{
    char text[512];
    if (_ward_os_read_file("/proc/self/cgroup", text, sizeof text) <= 0)
        return;
    /* cgroup v2: the line "0::/path". */
    const char *line = strstr(text, "0::");
    if (line == NULL || (line != text && line[-1] != '\n'))
        return;
    const char *path = line + 3;
    size_t len = strcspn(path, "\n");
    char file[256];
    static const char root[] = "/sys/fs/cgroup";
    if (sizeof root + len + sizeof "/memory.pressure" > sizeof file)
        return;
    memcpy(file, root, sizeof root - 1);
    memcpy(file + sizeof root - 1, path, len);
    size_t base = sizeof root - 1 + len;
    if (base > 0 && file[base - 1] == '/')
        base--;
    memcpy(file + base, "/memory.max", sizeof "/memory.max");
    char value[64];
    if (_ward_os_read_file(file, value, sizeof value) > 0 && value[0] >= '0' && value[0] <= '9')
        atomic_store_explicit(&cgroup_limit, (size_t)parse_u64(value), memory_order_relaxed);
    memcpy(file + base, "/memory.pressure", sizeof "/memory.pressure");
    if (psi_path[0] == '\0' && _ward_os_read_file(file, value, sizeof value) > 0)
        memcpy(psi_path, file, base + sizeof "/memory.pressure");
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
