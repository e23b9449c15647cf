/*
 * cache_server.c - an in-memory key-value cache that lives within a memory
 * budget by letting the allocator tell it when to shed entries.
 *
 * The cache keeps items in a hash table and an LRU list; it never evicts on
 * its own.  Run under ward with a limit (`ward run --limit 64M -- ...` or
 * LD_PRELOAD=libward.so WARD_LIMIT=64M), it registers a reclaim callback
 * that drops least recently used items whenever an allocation would pass
 * the limit, so it keeps serving with its memory under the limit.  Under
 * another allocator (no ward_reclaimer_add to find) nothing tells it, and
 * the first allocation the system refuses ends it (exit status 3).
 *
 * The workload: items of 512 B .. 8 KiB whose values add up to --data-mib
 * (default 192), requested --requests times (default 400000) with a skew
 * towards low keys (key = K * u^3, u uniform); a miss stores the item.
 * The program does not link ward: it finds ward's functions with dlsym.
 *
 * Output (one line each, "name value"): requests, hits, hit_rate, items,
 * evictions, reclaim_calls, data_mib, vm_hwm_kib, committed_peak_kib
 * (0 without ward), limit_kib (0 without ward).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward.h"

typedef struct item_s {
    uint64_t key;
    size_t size;                 /* bytes of value */
    struct item_s *prev, *next;  /* LRU list: head most recent */
    struct item_s *chain;        /* hash bucket */
    unsigned char value[];
} item_t;

typedef struct cache_s {
    item_t **buckets;
    size_t bucket_count;
    item_t *head, *tail;
    size_t items, bytes;
    uint64_t evictions, reclaim_calls;
} cache_t;

static cache_t cache;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdu;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53u;
    return x ^ (x >> 33);
}

static size_t value_size(uint64_t key) { return 512 + (size_t)(mix(key) % (8192 - 512)); }
static unsigned char value_byte(uint64_t key) { return (unsigned char)(mix(key + 1) | 1); }

static void lru_unlink(item_t *it)
{
    if (it->prev)
        it->prev->next = it->next;
    else
        cache.head = it->next;
    if (it->next)
        it->next->prev = it->prev;
    else
        cache.tail = it->prev;
}

static void lru_push(item_t *it)
{
    it->prev = NULL;
    it->next = cache.head;
    if (cache.head)
        cache.head->prev = it;
    else
        cache.tail = it;
    cache.head = it;
}

static item_t **bucket_of(uint64_t key) { return &cache.buckets[mix(key) % cache.bucket_count]; }

/* Drops the least recently used item; returns the bytes freed. */
static size_t evict_one(void)
{
    item_t *it = cache.tail;
    if (it == NULL)
        return 0;
    lru_unlink(it);
    item_t **link = bucket_of(it->key);
    while (*link != it)
        link = &(*link)->chain;
    *link = it->chain;
    size_t bytes = sizeof *it + it->size;
    cache.items--;
    cache.bytes -= bytes;
    cache.evictions++;
    free(it);
    return bytes;
}

/* ward's reclaim callback: frees at least `want` bytes, in whole items,
 * and a little more, so that the pages the items shared empty too. */
static size_t reclaim(void *ctx, size_t want)
{
    (void)ctx;
    cache.reclaim_calls++;
    size_t target = want + 256 * 1024, freed = 0;
    while (freed < target && cache.tail)
        freed += evict_one();
    return freed;
}

static item_t *lookup(uint64_t key)
{
    for (item_t *it = *bucket_of(key); it; it = it->chain)
        if (it->key == key)
            return it;
    return NULL;
}

static long option(int argc, char **argv, const char *name, long fallback)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return strtol(argv[i + 1], NULL, 10);
    return fallback;
}

static unsigned long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long value = 0;
    size_t len = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, len) == 0 && line[len] == ':')
            value = strtoul(line + len + 1, NULL, 10);
    if (f)
        fclose(f);
    return value;
}

int main(int argc, char **argv)
{
    size_t data = (size_t)option(argc, argv, "--data-mib", 192) << 20;
    long requests = option(argc, argv, "--requests", 400000);
    uint64_t rng = (uint64_t)option(argc, argv, "--seed", 42);
    if (data == 0 || requests <= 0) {
        fprintf(stderr, "usage: cache_server [--data-mib N] [--requests N] [--seed N]\n");
        return 2;
    }
    /* Keys until their values add up to the data size. */
    uint64_t keys = 0;
    for (size_t total = 0; total < data; keys++)
        total += value_size(keys);

    typedef int (*reclaimer_add_fn)(size_t (*)(void *, size_t), void *, unsigned);
    typedef int (*stats_get_fn)(ward_stats_t *);
    reclaimer_add_fn reclaimer_add = (reclaimer_add_fn)dlsym(RTLD_DEFAULT, "ward_reclaimer_add");
    stats_get_fn stats_get = (stats_get_fn)dlsym(RTLD_DEFAULT, "ward_stats_get");
    if (reclaimer_add && reclaimer_add(reclaim, NULL, 10) != 0) {
        perror("cache_server: ward_reclaimer_add");
        return 2;
    }

    cache.bucket_count = (size_t)keys;
    cache.buckets = calloc(cache.bucket_count, sizeof *cache.buckets);
    if (cache.buckets == NULL) {
        fprintf(stderr, "cache_server: out of memory for the table\n");
        return 3;
    }
    long hits = 0, served = 0;
    for (; served < requests; served++) {
        rng = mix(rng + 0x9e3779b97f4a7c15u);
        double u = (double)(rng >> 11) / (double)(1ull << 53);
        uint64_t key = (uint64_t)((double)keys * u * u * u);
        item_t *it = lookup(key);
        if (it) {
            if (it->value[0] != value_byte(key) || it->value[it->size - 1] != value_byte(key)) {
                fprintf(stderr, "cache_server: item %llu corrupted\n", (unsigned long long)key);
                return 4;
            }
            lru_unlink(it);
            lru_push(it);
            hits++;
            continue;
        }
        size_t size = value_size(key);
        it = malloc(sizeof *it + size);
        if (it == NULL) {
            fprintf(stderr, "cache_server: out of memory after %ld requests with %zu items (%zu MiB)\n", served,
                    cache.items, cache.bytes >> 20);
            return 3;
        }
        it->key = key;
        it->size = size;
        memset(it->value, value_byte(key), size);
        it->chain = *bucket_of(key);
        *bucket_of(key) = it;
        lru_push(it);
        cache.items++;
        cache.bytes += sizeof *it + size;
    }
    ward_stats_t stats = {0};
    if (stats_get)
        stats_get(&stats);
    printf("requests %ld\n", served);
    printf("hits %ld\n", hits);
    printf("hit_rate %.3f\n", (double)hits / (double)served);
    printf("items %zu\n", cache.items);
    printf("cached_mib %zu\n", cache.bytes >> 20);
    printf("evictions %llu\n", (unsigned long long)cache.evictions);
    printf("reclaim_calls %llu\n", (unsigned long long)cache.reclaim_calls);
    printf("data_mib %zu\n", data >> 20);
    printf("vm_hwm_kib %lu\n", status_kib("VmHWM"));
    printf("committed_peak_kib %llu\n", (unsigned long long)(stats.committed_peak >> 10));
    printf("limit_kib %llu\n", (unsigned long long)(stats.limit >> 10));
    return 0;
}
