/*
 * os_linux.c - the OS layer for Linux (x86-64 and aarch64): the only file
 * with system calls.  Only the fault handler reads registers, which
 * depends on the architecture.
 */
#include "os/os.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static size_t os_page_size = 4096;

void _ward_os_init(void)
{
    /* The auxiliary vector, as sysconf(_SC_PAGESIZE) reads it too; asking it
     * directly keeps sysconf's part of libc's text out of the resident set
     * of a process that never calls it. */
    unsigned long ps = getauxval(AT_PAGESZ);
    if (ps > 0 && WARD_IS_POW2((size_t)ps))
        os_page_size = (size_t)ps;
}

size_t _ward_os_page_size(void) { return os_page_size; }

uint64_t _ward_os_random64(void)
{
    uint64_t value = 0;
    int saved = errno;
    if (getrandom(&value, sizeof value, GRND_NONBLOCK) != (ssize_t)sizeof value) {
        const unsigned char *at_random = (const unsigned char *)getauxval(AT_RANDOM);
        if (at_random)
            memcpy(&value, at_random + 8, sizeof value);
        value ^= _ward_os_now_ns() * 0x9e3779b97f4a7c15u;
    }
    errno = saved;
    return value;
}


static void *os_map(void *hint, size_t size)
{
    void *p = mmap(hint, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *_ward_os_map_aligned(size_t size, size_t alignment)
{
    int saved = errno;
    /* Ask for exactly size first: the kernel often hands out aligned ranges
     * next to earlier aligned ones. */
    void *p = os_map(NULL, size);
    if (p == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    if (((uintptr_t)p & (alignment - 1)) == 0)
        return p;
    munmap(p, size);
    /* Over-map by the alignment and trim both ends. */
    size_t over = size + alignment;
    if (over < size) {
        errno = ENOMEM;
        return NULL;
    }
    char *raw = os_map(NULL, over);
    if (raw == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    char *aligned = (char *)WARD_ALIGN_UP((uintptr_t)raw, alignment);
    size_t head = (size_t)(aligned - raw);
    size_t tail = over - head - size;
    if (head)
        munmap(raw, head);
    if (tail)
        munmap(aligned + size, tail);
    errno = saved;
    return aligned;
}

bool _ward_os_unmap(void *p, size_t size) { return munmap(p, size) == 0; }

void *_ward_os_reserve_inaccessible(size_t size)
{
    void *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        errno = ENOMEM;
        return NULL;
    }
    return p;
}

bool _ward_os_protect(void *p, size_t size, bool accessible)
{
    return mprotect(p, size, accessible ? PROT_READ | PROT_WRITE : PROT_NONE) == 0;
}

long _ward_os_max_map_count(void)
{
    long limit = 65530;
    int fd = open("/proc/sys/vm/max_map_count", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return limit;
    char text[32];
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return limit;
    long v = 0;
    for (ssize_t i = 0; i < n && text[i] >= '0' && text[i] <= '9'; i++)
        v = v * 10 + (text[i] - '0');
    return v > 0 ? v : limit;
}

long _ward_os_gettid(void) { return (long)syscall(SYS_gettid); }

static ward_fault_handler_t fault_handler;
static struct sigaction previous_segv, previous_bus;

static void on_fault(int sig, siginfo_t *info, void *context)
{
    ucontext_t *uc = context;
#if defined(__x86_64__)
    bool is_write = (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0;
    uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    bool is_write = false;
    uintptr_t pc = (uintptr_t)uc->uc_mcontext.pc;
#else
    bool is_write = false;
    uintptr_t pc = 0;
    (void)uc;
#endif
    fault_handler(info->si_addr, is_write, pc);
    /* Not ward's: the previous action takes the fault when the instruction
     * runs again. */
    sigaction(sig, sig == SIGSEGV ? &previous_segv : &previous_bus, NULL);
}

bool _ward_os_catch_faults(ward_fault_handler_t handler)
{
    fault_handler = handler;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_fault;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    return sigaction(SIGSEGV, &action, &previous_segv) == 0 && sigaction(SIGBUS, &action, &previous_bus) == 0;
}

bool _ward_os_decommit(void *p, size_t size)
{
    /* MADV_DONTNEED drops the pages now, so RSS and ward's committed figure
     * agree; MADV_FREE would leave them counted until the kernel needs them. */
    return madvise(p, size, MADV_DONTNEED) == 0;
}

bool _ward_os_remap_in_place(void *p, size_t old_size, size_t new_size)
{
    return mremap(p, old_size, new_size, 0) != MAP_FAILED;
}

bool _ward_os_remap_to(void *p, size_t old_size, size_t new_size, void *target)
{
    return mremap(p, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, target) != MAP_FAILED;
}

uint64_t _ward_os_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

size_t _ward_os_rss_peak(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (size_t)ru.ru_maxrss * 1024;
}

long _ward_os_getpid(void) { return (long)getpid(); }

void _ward_os_write_fd(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

void _ward_os_write_stderr(const char *s, size_t n) { _ward_os_write_fd(STDERR_FILENO, s, n); }

long _ward_os_read_file(const char *path, char *buf, size_t size)
{
    int saved = errno;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        errno = saved;
        return -1;
    }
    size_t len = 0;
    while (len + 1 < size) {
        ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    errno = saved;
    return (long)len;
}

size_t _ward_os_ram_and_swap(void)
{
    struct sysinfo si;
    if (sysinfo(&si) != 0)
        return 0;
    return ((size_t)si.totalram + (size_t)si.totalswap) * (size_t)si.mem_unit;
}

void _ward_os_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void _ward_os_abort(void)
{
    abort();
}

const char *_ward_os_getenv(const char *name)
{
    size_t len = strlen(name);
    if (environ == NULL)
        return NULL;
    for (char **e = environ; *e; e++)
        if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
            return *e + len + 1;
    return NULL;
}

void _ward_os_env_each(const char *prefix, void (*fn)(const char *entry, void *ctx), void *ctx)
{
    size_t len = strlen(prefix);
    if (environ == NULL)
        return;
    for (char **e = environ; *e; e++)
        if (strncmp(*e, prefix, len) == 0)
            fn(*e, ctx);
}

#if defined(__GLIBC__)
/* glibc's pthread_atfork is a stub in libc_nonshared.a that passes the
 * caller's __dso_handle to __register_atfork, so that the handlers go away
 * with the object that registered them.  Linked statically, the stub lands
 * after all of the library's own code, in a part of its text that nothing
 * else touches at start-up; calling the exported function it wraps, as it
 * does, keeps that part out of the resident set. */
extern int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void), void *dso_handle);
extern void *__dso_handle __attribute__((weak, visibility("hidden")));

int _ward_os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    return __register_atfork(prepare, parent, child, &__dso_handle != NULL ? __dso_handle : NULL);
}
#else
int _ward_os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    return pthread_atfork(prepare, parent, child);
}
#endif
