/*
 * A program that leaks on purpose, for the leak report test: three blocks
 * of 1234 bytes from diag_leaky_function, one of 100 bytes from main, and
 * blocks it frees (which must not be reported).
 */
#include <stdlib.h>
#include <unistd.h>

#include "ward.h"

static void *kept[4];
static void *volatile last;

/* Exported (the project hides symbols by default; the program is linked
 * with -rdynamic) so that dladdr names it; not a tail call (the store comes
 * after it), so the function keeps its frame and shows in the stack. */
__attribute__((visibility("default"), noinline)) void *diag_leaky_function(size_t n);

void *diag_leaky_function(size_t n)
{
    void *p = ward_malloc(n);
    last = p;
    return p;
}

__attribute__((visibility("default"))) int main(void);

int main(void)
{
    /* one call site, so the three blocks share one stack; the size read
     * from a volatile, so the compiler makes no copy of the function for a
     * constant argument (a copy would be a local symbol) */
    static volatile size_t size = 1234;
    for (volatile int i = 0; i < 3; i++)
        kept[i] = diag_leaky_function(size);
    kept[3] = ward_malloc(100);
    for (int i = 0; i < 1000; i++)
        ward_free(ward_malloc((size_t)i + 1));
    /* not stdio: its buffer would be one more block at exit */
    static const char done[] = "leaked on purpose\n";
    if (write(STDOUT_FILENO, done, sizeof done - 1) < 0)
        return 1;
    return 0;
}
