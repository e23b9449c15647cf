/*
 * pressure.c - pressure levels from committed bytes against the limit:
 * each subscriber is called once when usage rises past its level, with the
 * level reached; unsubscribed callbacks are not called; after usage falls
 * a new rise calls them again.
 */
#include "budget/helpers.h"

#define BLOCK (256 * KiB)
#define MAX_BLOCKS 512

typedef struct seen_s {
    int calls;
    ward_pressure_t level;     /* level passed to the last call */
    ward_pressure_t got_at;    /* ward_pressure_get() in the call */
} seen_t;

static seen_t seen[WARD_PRESSURE_COUNT_], dropped;

static void on_pressure(ward_pressure_t level, void *ctx)
{
    seen_t *s = ctx;
    s->calls++;
    s->level = level;
    s->got_at = ward_pressure_get();
}

static void *blocks[MAX_BLOCKS];

/* Allocates until the level reaches want, or until the limit refuses a
 * block (a refusal is critical pressure); returns the blocks held. */
static size_t rise_to(ward_pressure_t want)
{
    size_t n = 0;
    while (ward_pressure_get() < want) {
        CHECK(n < MAX_BLOCKS);
        errno = 0;
        blocks[n] = ward_malloc(BLOCK);
        if (blocks[n] == NULL) {
            CHECK(errno == ENOMEM && want == WARD_PRESSURE_CRITICAL);
            break;
        }
        n++;
    }
    return n;
}

int main(void)
{
    if (test_diagnostics_on())
        test_skip("budgets are measured on the core's blocks; the diagnostics' bigger blocks and quarantine change what fits");
    /* The figures below assume the default accounting, whatever the environment says. */
    CHECK(ward_option_set(WARD_OPTION_OVERCOMMIT, WARD_OVERCOMMIT_GUESS) == 0);
    const size_t limit = 40 * MiB;
    CHECK(ward_set_limit(limit) == 0);
    CHECK(ward_pressure_get() == WARD_PRESSURE_NONE);
    for (int l = WARD_PRESSURE_LOW; l < WARD_PRESSURE_COUNT_; l++)
        CHECK(ward_pressure_subscribe((ward_pressure_t)l, on_pressure, &seen[l]) == 0);
    CHECK(ward_pressure_subscribe(WARD_PRESSURE_LOW, on_pressure, &dropped) == 0);
    CHECK(ward_pressure_unsubscribe(on_pressure, &dropped) == 0);

    size_t n = rise_to(WARD_PRESSURE_LOW);
    CHECK(seen[WARD_PRESSURE_LOW].calls == 1 && seen[WARD_PRESSURE_MEDIUM].calls == 0);
    CHECK(seen[WARD_PRESSURE_LOW].level == WARD_PRESSURE_LOW && seen[WARD_PRESSURE_LOW].got_at == WARD_PRESSURE_LOW);
    CHECK(stats_now().pressure == WARD_PRESSURE_LOW);
    for (size_t i = 0; i < n; i++)
        ward_free(blocks[i]);
    ward_collect(true);
    CHECK(ward_pressure_get() == WARD_PRESSURE_NONE);

    /* Again, all the way: each level once more, the low one included. */
    n = rise_to(WARD_PRESSURE_CRITICAL);
    CHECKF(seen[WARD_PRESSURE_LOW].calls == 2, "low called %d times", seen[WARD_PRESSURE_LOW].calls);
    CHECK(seen[WARD_PRESSURE_MEDIUM].calls == 1 && seen[WARD_PRESSURE_MEDIUM].level >= WARD_PRESSURE_MEDIUM);
    CHECK(seen[WARD_PRESSURE_CRITICAL].calls == 1 && seen[WARD_PRESSURE_CRITICAL].level == WARD_PRESSURE_CRITICAL);
    CHECK(dropped.calls == 0);
    for (size_t i = 0; i < n; i++)
        ward_free(blocks[i]);
    CHECK(ward_set_limit(0) == 0);
    printf("budget pressure: ok\n");
    return 0;
}
