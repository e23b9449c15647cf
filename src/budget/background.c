/*
 * background.c - the background reclaimer (WARD_BACKGROUND=1), ward's
 * kswapd, and the layer's start-up and fork handling.
 *
 * One detached thread with every signal blocked wakes every
 * clamp(WARD_DECAY_MS / 2, 10, 250) ms and, with usage measured against the
 * basis (limit, else the cgroup's memory limit):
 *   below the low watermark (75 %), or with no basis: decommits free
 *       memory whose decay delay has passed, as allocation activity would;
 *   at or above the low watermark: decommits all free memory at once;
 *   at or above the high watermark (90 %): also collects every heap's empty
 *       pages and asks the reclaim callbacks for usage - low watermark.
 * About once a second it reads the kernel's pressure stall information; it
 * reports pending pressure changes to the subscribers.
 *
 * The thread is started outside every ward lock: from the library's
 * constructor when WARD_BACKGROUND=1 is in the environment, else from the
 * first safe point after the option is set.  A forked child has no such
 * thread: the child handler marks it stopped and the next safe point starts
 * it again.  It never keeps the process alive (detached; exit ends it).
 */
#include <pthread.h>
#include <signal.h>

#include "budget/budget.h"
#include "heap/heap.h"
#include "os/os.h"
#include "support/counters.h"
#include "support/options.h"

enum { STOPPED, STARTING, RUNNING };
static _Atomic(int) state = STOPPED;

bool _ward_budget_background_wanted(void)
{
    return ward_option(WARD_OPTION_BACKGROUND) && atomic_load_explicit(&state, memory_order_relaxed) == STOPPED;
}

static unsigned period_ms(void)
{
    long half = ward_option(WARD_OPTION_DECAY_MS) / 2;
    return half < 10 ? 10 : half > 250 ? 250 : (unsigned)half;
}

static void tick(void)
{
    size_t basis = _ward_budget_basis();
    int64_t usage = _ward_budget_usage();
    int64_t before = ward_counter_get(committed);
    if (basis && (uint64_t)usage * 100 >= (uint64_t)basis * 90) {
        size_t low = basis / 100 * 75;
        size_t want = (size_t)usage > low ? (size_t)usage - low : 0;
        _ward_budget_reclaim(want, true);
        return;
    }
    _ward_segments_purge(basis && (uint64_t)usage * 100 >= (uint64_t)basis * 75);
    int64_t drop = before - ward_counter_get(committed);
    if (drop > 0)
        atomic_fetch_add_explicit(&_ward_budget_counters.reclaimed_background, (uint64_t)drop, memory_order_relaxed);
}

static void *reclaimer_main(void *arg)
{
    (void)arg;
    uint64_t last_psi = 0;
    for (;;) {
        _ward_os_sleep_ms(period_ms());
        if (atomic_load_explicit(&state, memory_order_relaxed) != RUNNING)
            return NULL; /* not ours any more (a fork child restarted another) */
        uint64_t now = _ward_os_now_ns();
        if (now - last_psi >= 1000000000u) {
            last_psi = now;
            _ward_budget_read_psi();
        }
        tick();
        _ward_budget_deliver();
    }
}

void _ward_budget_start_background(void)
{
    int expected = STOPPED;
    if (!atomic_compare_exchange_strong_explicit(&state, &expected, STARTING, memory_order_relaxed,
                                                 memory_order_relaxed))
        return;
    /* Signals are for the program's threads; the new thread inherits the
     * mask, so block everything around its creation. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    atomic_store_explicit(&state, RUNNING, memory_order_relaxed);
    if (pthread_create(&thread, &attr, reclaimer_main, NULL) != 0)
        atomic_store_explicit(&state, STOPPED, memory_order_relaxed);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

__attribute__((constructor)) static void budget_start(void)
{
    _ward_options_init();
    _ward_budget_read_cgroup();
    if (ward_option(WARD_OPTION_BACKGROUND))
        _ward_budget_start_background();
}

void _ward_budget_fork_prepare(void) { pthread_mutex_lock(&_ward_budget_lock); }
void _ward_budget_fork_parent(void) { pthread_mutex_unlock(&_ward_budget_lock); }

void _ward_budget_fork_child(void)
{
    pthread_mutex_init(&_ward_budget_lock, NULL);
    atomic_store_explicit(&state, STOPPED, memory_order_relaxed);
}
