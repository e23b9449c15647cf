/*
 * os_linux.c - the OS layer for Linux (x86-64 and aarch64): the only file
 * with system calls.  Nothing here depends on the architecture.
 */
#include "os/os.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static size_t os_page_size = 4096;

void _ward_os_init(void)
{
    long ps = sysconf(_SC_PAGESIZE);
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

bool _ward_os_protect_none(void *p, size_t size) { return mprotect(p, size, PROT_NONE) == 0; }

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
