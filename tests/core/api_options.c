/*
 * api_options.c - options set through the API before the first allocation
 * stay set (the allocator's start does not overwrite them), and bad calls
 * are refused with EINVAL.  Runs in a process of its own, so nothing has
 * allocated through ward before main.
 */
#include <errno.h>

#include "common/check.h"
#include "ward.h"

int main(void)
{
    CHECK(ward_option_set(WARD_OPTION_DECAY_MS, 7) == 0);
    void *p = ward_malloc(100);
    CHECK(p != NULL);
    ward_free(p);
    CHECKF(ward_option_get(WARD_OPTION_DECAY_MS) == 7, "decay %ld after the first allocation",
           ward_option_get(WARD_OPTION_DECAY_MS));

    CHECK(ward_option_set(WARD_OPTION_DECAY_MS, -1) == EINVAL);
    CHECK(ward_option_set(WARD_OPTION_DECAY_MS, 60001) == EINVAL);
    CHECK(ward_option_set(WARD_OPTION_COUNT_, 0) == EINVAL);
    CHECK(ward_option_set((ward_option_t)-1, 0) == EINVAL);
    CHECK(ward_option_get(WARD_OPTION_COUNT_) == -1);
    CHECK(ward_option_get(WARD_OPTION_DECAY_MS) == 7); /* refused calls changed nothing */
    return 0;
}
