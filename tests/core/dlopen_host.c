/*
 * A program that is not linked with ward opens, with dlopen, a library that
 * is (uses_ward_lib.c): libward then arrives after the program's malloc is in
 * use.  Loading must work (ward's thread-local storage has to fit), the
 * library's use of ward must work from several threads, and the program's
 * own allocations, before and after, must keep working, including at exit.
 *
 * Usage: dlopen_host LIBRARY local|global
 */
#include <dlfcn.h>
#include <pthread.h>

#include "common/check.h"

static void *allocate_plainly(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10000; i++) {
        char *p = malloc((size_t)(i % 500) + 1);
        CHECK(p != NULL);
        p[0] = 1;
        free(p);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    CHECKF(argc == 3, "usage: %s LIBRARY local|global", argv[0]);
    char *before = strdup("allocated before dlopen");
    CHECK(before != NULL);
    int mode = strcmp(argv[2], "global") == 0 ? RTLD_GLOBAL : RTLD_LOCAL;
    void *handle = dlopen(argv[1], RTLD_NOW | mode);
    CHECKF(handle != NULL, "dlopen(%s): %s", argv[1], dlerror());
    int (*run)(void) = (int (*)(void))dlsym(handle, "uses_ward_run");
    CHECK(run != NULL);
    int failed_step = run();
    CHECKF(failed_step == 0, "the library's use of ward failed at step %d", failed_step);

    /* the program's malloc, before and after, still works */
    free(before);
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, allocate_plainly, NULL) == 0);
    allocate_plainly(NULL);
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK(run() == 0);
    dlclose(handle);
    char *after = strdup("allocated after dlclose");
    CHECK(after != NULL);
    free(after);
    puts("ok");
    return 0;
}
