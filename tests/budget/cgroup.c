/*
 * cgroup.c - a container's memory limit is seen: when the process's cgroup
 * (v2) has a numeric memory.max, ward reports it as cgroup_limit and
 * measures pressure against it when no limit of its own is set.  Skipped
 * when there is no such limit here.
 */
#include "budget/helpers.h"

int main(void)
{
    char line[512], path[600];
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (f == NULL)
        test_skip("no /proc/self/cgroup");
    bool found = false;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "0::", 3) == 0) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max", line + 3);
            found = true;
        }
    fclose(f);
    if (!found)
        test_skip("not in a cgroup v2 hierarchy");
    f = fopen(path, "r");
    if (f == NULL)
        test_skip("cannot read %s", path);
    char value[64] = "";
    CHECK(fgets(value, sizeof value, f) != NULL);
    fclose(f);
    if (strncmp(value, "max", 3) == 0)
        test_skip("%s is \"max\": the cgroup sets no memory limit", path);
    unsigned long long max = strtoull(value, NULL, 10);
    ward_stats_t s = stats_now();
    CHECKF(s.cgroup_limit == max, "ward saw %llu, %s says %llu", (unsigned long long)s.cgroup_limit, path, max);
    CHECK(s.limit == 0);
    printf("cgroup: memory.max %llu, pressure %llu\n", max, (unsigned long long)s.pressure);
    return 0;
}
