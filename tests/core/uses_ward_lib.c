/*
 * A library linked against libward, for dlopen_host: it uses ward's API
 * directly (from the calling thread and from threads of its own) while the
 * program that opened it keeps the C library's malloc.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ward.h"

int uses_ward_run(void);

static void *allocate_in_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10000; i++) {
        void *p = ward_malloc((size_t)(i % 3000) + 1);
        if (p == NULL)
            return (void *)1;
        memset(p, 0x11, (size_t)(i % 3000) + 1);
        ward_free(p);
    }
    return NULL;
}

/* Returns 0 when ward behaved, else the number of the step that failed. */
int uses_ward_run(void)
{
    char *p = ward_malloc(1000);
    if (p == NULL || ward_usable_size(p) < 1000)
        return 1;
    memset(p, 'x', 1000);
    p = ward_realloc(p, 5 << 20);
    if (p == NULL || p[999] != 'x')
        return 2;
    ward_free(p);
    ward_heap_t *heap = ward_heap_new();
    if (heap == NULL || ward_heap_calloc(heap, 100, 100) == NULL)
        return 3;
    ward_heap_destroy(heap);
    pthread_t threads[2];
    for (int t = 0; t < 2; t++) {
        if (pthread_create(&threads[t], NULL, allocate_in_thread, NULL) != 0)
            return 4;
    }
    for (int t = 0; t < 2; t++) {
        void *result;
        if (pthread_join(threads[t], &result) != 0 || result != NULL)
            return 5;
    }
    /* the standard names inside this library are whatever the program uses */
    char *copy = strdup("plain");
    if (copy == NULL)
        return 6;
    free(copy);
    ward_stats_t stats;
    if (ward_stats_get(&stats) != 0 || stats.malloc_count < 20000)
        return 7;
    return 0;
}
