/*
 * ward_check(): 0 on a healthy heap, whatever the mode; with the
 * diagnostics on, the code of a broken canary, a freed block written in
 * quarantine or a guarded block's overwritten slack, reported without
 * stopping the program (the damage is repaired and the check passes again).
 * Also the options of the diagnostics: their ranges, and that they read
 * back as the environment set them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>

#include "common/check.h"
#include "ward.h"

static void *churn(void *arg)
{
    (void)arg;
    void *keep[256] = {0};
    for (int i = 0; i < 50000; i++) {
        int k = (i * 7) % 256;
        ward_free(keep[k]);
        keep[k] = ward_malloc((size_t)(i % 3000) + (i % 97 == 0 ? 200000 : 0));
        CHECK(keep[k] != NULL);
    }
    for (int k = 0; k < 128; k++)
        ward_free(keep[k]);
    return NULL;
}

int main(void)
{
    long debug = ward_option_get(WARD_OPTION_DEBUG);
    long sample = ward_option_get(WARD_OPTION_GUARD_SAMPLE);
    CHECK(ward_option_set(WARD_OPTION_GUARD_SAMPLE, -1) == EINVAL);
    CHECK(ward_option_set(WARD_OPTION_GUARD_SAMPLE, (1L << 30) + 1) == EINVAL);
    CHECK(ward_option_set(WARD_OPTION_LEAKS, 2) == EINVAL);
    CHECK(ward_option_set(WARD_OPTION_LEAKS, -1) == EINVAL);

    CHECK(ward_check() == WARD_CHECK_OK);
    churn(NULL);
    CHECK(ward_check() == WARD_CHECK_OK);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, churn, NULL) == 0);
    churn(NULL);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(ward_check() == WARD_CHECK_OK);
    printf("healthy heap: ward_check() == 0 (debug %ld, guard sample %ld)\n", debug, sample);

    if (debug == 0 && sample == 0 && ward_option_get(WARD_OPTION_LEAKS) == 0) {
        /* A free block's link overwritten (a write after free): the walk of
         * the calling thread's pages finds a link out of its page.  Every
         * tenth block stays allocated, so no page empties and goes away;
         * the blocks freed first have left the free cache for their page. */
        enum { COUNT = 400 };
        static void *blocks[COUNT];
        for (int i = 0; i < COUNT; i++)
            CHECK((blocks[i] = ward_malloc(1000)) != NULL);
        for (int i = 0; i < COUNT; i++)
            if (i % 10 != 0)
                ward_free(blocks[i]);
        CHECK(ward_check() == WARD_CHECK_OK);
        void *saved;
        memcpy(&saved, blocks[1], sizeof saved);
        void *bogus = (void *)(uintptr_t)0x10;
        memcpy(blocks[1], &bogus, sizeof bogus);
        fprintf(stderr, "(the next line is expected)\n");
        int result = ward_check();
        memcpy(blocks[1], &saved, sizeof saved);
        CHECKF(result == WARD_CHECK_FREE_LIST, "ward_check() returned %d for a broken free list", result);
        CHECK(ward_check() == WARD_CHECK_OK);
        for (int i = 0; i < COUNT; i += 10)
            ward_free(blocks[i]);
        puts("broken free-list link: found, and ward_check() == 0 once repaired");

        /* A write after free into a block in the free cache: its tag is
         * gone, which the walk of the caches finds. */
        unsigned char *cached = ward_malloc(48);
        CHECK(cached != NULL);
        ward_free(cached);
        uintptr_t tag, zero = 0;
        memcpy(&tag, cached + 8, sizeof tag);
        memcpy(cached + 8, &zero, sizeof zero);
        fprintf(stderr, "(the next line is expected)\n");
        result = ward_check();
        memcpy(cached + 8, &tag, sizeof tag);
        CHECKF(result == WARD_CHECK_FREE_LIST, "ward_check() returned %d for an overwritten cached block", result);
        CHECK(ward_check() == WARD_CHECK_OK);
        puts("cached block written after its free: found, and ward_check() == 0 once repaired");
    }
    if (debug == 1 && sample == 0) {
        unsigned char *p = ward_malloc(24);
        CHECK(p != NULL);
        unsigned char saved = p[24];
        p[24] = 0;
        fprintf(stderr, "(the next line is expected)\n");
        CHECK(ward_check() == WARD_CHECK_CANARY);
        p[24] = saved;
        CHECK(ward_check() == WARD_CHECK_OK);
        saved = p[-1];
        p[-1] = 0;
        fprintf(stderr, "(the next line is expected)\n");
        CHECK(ward_check() == WARD_CHECK_CANARY);
        p[-1] = saved;
        ward_free(p);

        unsigned char *q = ward_malloc(32);
        CHECK(q != NULL);
        ward_free(q);
        saved = q[5];
        q[5] = 1; /* a write after free, found while q is in quarantine */
        fprintf(stderr, "(the next line is expected)\n");
        CHECK(ward_check() == WARD_CHECK_QUARANTINE);
        q[5] = saved;
        CHECK(ward_check() == WARD_CHECK_OK);
        puts("corrupted canary and quarantine: found, and ward_check() == 0 once repaired");
    }
    if (sample == 1) {
        unsigned char *g = ward_malloc(20);
        CHECK(g != NULL);
        unsigned char saved = g[20];
        g[20] = 0; /* in the slack before the guard page: no fault */
        fprintf(stderr, "(the next line is expected)\n");
        CHECK(ward_check() == WARD_CHECK_GUARD);
        g[20] = saved;
        CHECK(ward_check() == WARD_CHECK_OK);
        ward_free(g);
        puts("guarded slack overwritten: found, and ward_check() == 0 once repaired");
    }
    return 0;
}
