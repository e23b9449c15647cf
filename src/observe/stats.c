/*
 * stats.c - statistics as a struct, as text and as JSON, all from the one
 * field list WARD_STATS_FIELDS; and the report `ward run` reads at exit.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "frontend/diagnose/diagnose.h"
#include "heap/heap.h"
#include "os/os.h"
#include "support/fatal.h"
#include "support/options.h"
#include "ward.h"

ward_counters_t _ward_counters;

static uint64_t nonneg(int64_t v) { return v > 0 ? (uint64_t)v : 0; }

WARD_API int ward_stats_get(ward_stats_t *out)
{
    if (out == NULL)
        return EINVAL;
    memset(out, 0, sizeof *out);
    out->version = WARD_STATS_VERSION;
    out->size = sizeof *out;
    out->committed = nonneg(ward_counter_get(committed));
    out->committed_peak = nonneg(ward_counter_get(committed_peak));
    out->unused_at_peak = nonneg(ward_counter_get(unused_at_peak));
    out->reserved = nonneg(ward_counter_get(reserved));
    out->metadata = nonneg(ward_counter_get(metadata));
    out->large_count = nonneg(ward_counter_get(large_count));
    out->huge_count = nonneg(ward_counter_get(huge_count));
    out->segments = nonneg(ward_counter_get(segments));
    out->pages_abandoned = nonneg(ward_counter_get(pages_abandoned));
    out->decommitted_total = nonneg(ward_counter_get(decommitted_total));
    out->threads = nonneg(ward_counter_get(threads));
    _ward_heaps_add_stats(out); /* allocated, class counters and counts */
    _ward_budget_add_stats(out);
    /* Blocks in the diagnostics' quarantine were freed by the program;
     * guarded blocks live outside the core. */
    if (_ward_diagnostics && _ward_diag.debug) {
        uint64_t held = _ward_quarantine_bytes();
        out->allocated = out->allocated > held ? out->allocated - held : 0;
    }
    if (_ward_diagnostics && _ward_diag.guard_sample)
        _ward_guard_add_stats(&out->malloc_count, &out->free_count, &out->allocated);
    out->malloc_count += ward_counter_get(big_mallocs);
    out->free_count += ward_counter_get(big_frees);
    /* Heaps add to the process counter on their slow paths; a snapshot
     * that sees more (it adds what heaps hold but have not added yet) is a
     * peak too. */
    _ward_peak_raise(&_ward_counters.allocated_peak, (int64_t)out->allocated);
    out->allocated_peak = nonneg(ward_counter_get(allocated_peak));
    if (out->committed_peak < out->committed)
        out->committed_peak = out->committed;
    return 0;
}

WARD_API void ward_stats_print(FILE *out)
{
    if (out == NULL)
        out = stderr;
    ward_stats_t s;
    ward_stats_get(&s);
    fprintf(out, "ward statistics (version %u)\n", s.version);
#define WARD_PRINT_FIELD_(name, description) \
    fprintf(out, "  %-18s %16llu  %s\n", #name, (unsigned long long)s.name, description);
    WARD_STATS_FIELDS(WARD_PRINT_FIELD_)
#undef WARD_PRINT_FIELD_
    fprintf(out, "  %10s %14s %14s %12s %8s\n", "block size", "mallocs", "frees", "live", "pages");
    for (uint32_t c = 0; c < s.class_count; c++) {
        const ward_class_stats_t *k = &s.classes[c];
        if (k->mallocs == 0 && k->pages == 0)
            continue;
        fprintf(out, "  %10zu %14llu %14llu %12lld %8zu\n", k->block_size, (unsigned long long)k->mallocs,
                (unsigned long long)k->frees, (long long)(k->mallocs - k->frees), k->pages);
    }
}

WARD_API void ward_stats_print_json(FILE *out)
{
    if (out == NULL)
        out = stderr;
    ward_stats_t s;
    ward_stats_get(&s);
    fprintf(out, "{\"version\": %u", s.version);
#define WARD_JSON_FIELD_(name, description) fprintf(out, ", \"%s\": %llu", #name, (unsigned long long)s.name);
    WARD_STATS_FIELDS(WARD_JSON_FIELD_)
#undef WARD_JSON_FIELD_
    fprintf(out, ", \"classes\": [");
    const char *sep = "";
    for (uint32_t c = 0; c < s.class_count; c++) {
        const ward_class_stats_t *k = &s.classes[c];
        fprintf(out, "%s{\"block_size\": %zu, \"mallocs\": %llu, \"frees\": %llu, \"pages\": %zu}", sep,
                k->block_size, (unsigned long long)k->mallocs, (unsigned long long)k->frees, k->pages);
        sep = ", ";
    }
    fprintf(out, "]}\n");
}

/* ------------------------------------------------ the report for ward run */

/* The report descriptor, when `ward run` started this very process (not a
 * child it forked); -1 otherwise.  The descriptor stays open across exec on
 * purpose: a program started through a wrapper script that execs it keeps
 * its process id, and the last image writes the report at exit. */
static int report_fd(void)
{
    const char *fd_text = _ward_os_getenv("WARD_REPORT_FD");
    const char *pid_text = _ward_os_getenv("WARD_REPORT_PID");
    if (fd_text == NULL || pid_text == NULL)
        return -1;
    long fd = 0, pid = 0;
    for (; *fd_text >= '0' && *fd_text <= '9'; fd_text++)
        fd = fd * 10 + (*fd_text - '0');
    for (; *pid_text >= '0' && *pid_text <= '9'; pid_text++)
        pid = pid * 10 + (*pid_text - '0');
    if (*fd_text || *pid_text || pid != _ward_os_getpid() || fd < 0 || fd > 1 << 20)
        return -1;
    return (int)fd;
}

static void report_line(ward_buf_t *b, const char *key, uint64_t value)
{
    _ward_buf_str(b, key);
    _ward_buf_str(b, "=");
    _ward_buf_u64(b, value);
    _ward_buf_str(b, "\n");
}

__attribute__((destructor)) static void report_at_exit(void)
{
    if (ward_option(WARD_OPTION_STATS))
        ward_stats_print(stderr);
    int fd = report_fd();
    if (fd < 0)
        return;
    ward_stats_t s;
    ward_stats_get(&s);
    char text[1024];
    ward_buf_t b = {text, sizeof text, 0};
    report_line(&b, "allocated_peak", s.allocated_peak);
    report_line(&b, "committed_peak", s.committed_peak);
    report_line(&b, "unused_at_peak", s.unused_at_peak);
    report_line(&b, "malloc_count", s.malloc_count);
    report_line(&b, "free_count", s.free_count);
    report_line(&b, "rss_peak", _ward_os_rss_peak());
    report_line(&b, "limit", s.limit);
    report_line(&b, "limit_failures", s.limit_failures);
    report_line(&b, "oom_events", s.oom_events);
    report_line(&b, "lmk_events", s.lmk_events);
    report_line(&b, "reclaim_passes", s.reclaim_passes);
    report_line(&b, "reclaimed_callbacks", s.reclaimed_callbacks);
    report_line(&b, "reclaimed_oom", s.reclaimed_oom);
    _ward_buf_finish(&b);
    _ward_write_all(fd, text, b.len < b.cap ? b.len : b.cap - 1);
}
