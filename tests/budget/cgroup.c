/*
 * cgroup.c - a container's memory limit is seen: when the process's cgroup
 * has a memory limit (v2 memory.max, else v1 memory.limit_in_bytes), ward
 * reports it as cgroup_limit and measures pressure against it when no
 * limit of its own is set.  Skipped when there is no such limit here.
 */
#include "budget/helpers.h"

/* The number in file, 0 for "max", none or an unlimited v1 value. */
static unsigned long long limit_in(const char *file)
{
    FILE *f = fopen(file, "r");
    if (f == NULL)
        return 0;
    char value[64] = "";
    char *got = fgets(value, sizeof value, f);
    fclose(f);
    if (got == NULL || value[0] < '0' || value[0] > '9')
        return 0;
    unsigned long long v = strtoull(value, NULL, 10);
    return v >= 1ull << 60 ? 0 : v;
}

int main(void)
{
    if (test_diagnostics_on())
        test_skip("budgets are measured on the core's blocks; the diagnostics' bigger blocks and quarantine change what fits");
    char line[512], v2[600] = "", v1[600] = "";
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (f == NULL)
        test_skip("no /proc/self/cgroup");
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *memory = strstr(line, ":memory:");
        if (strncmp(line, "0::", 3) == 0)
            snprintf(v2, sizeof v2, "/sys/fs/cgroup%s/memory.max", strcmp(line + 3, "/") ? line + 3 : "");
        else if (memory)
            snprintf(v1, sizeof v1, "/sys/fs/cgroup/memory%s/memory.limit_in_bytes",
                     strcmp(memory + 8, "/") ? memory + 8 : "");
    }
    fclose(f);
    unsigned long long max = v2[0] ? limit_in(v2) : 0;
    const char *from = v2;
    if (max == 0 && v1[0]) {
        max = limit_in(v1);
        from = v1;
        if (max == 0) {
            max = limit_in("/sys/fs/cgroup/memory/memory.limit_in_bytes");
            from = "/sys/fs/cgroup/memory/memory.limit_in_bytes";
        }
    }
    if (max == 0)
        test_skip("no cgroup memory limit here (v2 %s, v1 %s: absent or unlimited)", v2[0] ? v2 : "-",
                  v1[0] ? v1 : "-");
    ward_stats_t s = stats_now();
    CHECKF(s.cgroup_limit == max, "ward saw %llu, %s says %llu", (unsigned long long)s.cgroup_limit, from, max);
    CHECK(s.limit == 0);
    printf("cgroup: limit %llu from %s, pressure %llu\n", max, from, (unsigned long long)s.pressure);
    return 0;
}
