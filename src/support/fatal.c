/*
 * fatal.c - the one fatal path, and the number formatting it needs.
 * Nothing here allocates or uses stdio: it runs inside malloc, at exit and
 * after the heap has been found corrupted.
 */
#include "support/fatal.h"

#include "os/os.h"

static void buf_char(ward_buf_t *b, char c)
{
    if (b->len < b->cap)
        b->data[b->len] = c;
    b->len++;
}

void _ward_buf_str(ward_buf_t *b, const char *s)
{
    while (*s)
        buf_char(b, *s++);
}

void _ward_buf_u64(ward_buf_t *b, uint64_t v)
{
    char digits[20];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        buf_char(b, digits[--n]);
}

void _ward_buf_hex(ward_buf_t *b, uint64_t v)
{
    char digits[16];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    _ward_buf_str(b, "0x");
    while (n)
        buf_char(b, digits[--n]);
}

const char *_ward_buf_finish(ward_buf_t *b)
{
    if (b->cap == 0)
        return "";
    b->data[b->len < b->cap ? b->len : b->cap - 1] = '\0';
    return b->data;
}

void _ward_write_all(int fd, const char *s, size_t n) { _ward_os_write_fd(fd, s, n); }

void _ward_fatal_buf(ward_buf_t *b)
{
    buf_char(b, '\n');
    const char *msg = _ward_buf_finish(b);
    size_t n = b->len < b->cap ? b->len : b->cap - 1;
    _ward_os_write_stderr(msg, n);
    _ward_os_abort();
}

void _ward_fatal(const char *error, const void *address, size_t size_class)
{
    _ward_fatal_op(NULL, error, address, size_class);
}

void _ward_buf_fatal_line(ward_buf_t *b, const char *operation, const char *error, const void *address,
                          size_t size_class)
{
    _ward_buf_str(b, "ward: ");
    if (operation) {
        _ward_buf_str(b, operation);
        _ward_buf_str(b, ": ");
    }
    _ward_buf_str(b, error);
    _ward_buf_str(b, " at ");
    _ward_buf_hex(b, (uint64_t)(uintptr_t)address);
    if (size_class) {
        _ward_buf_str(b, " (size class ");
        _ward_buf_u64(b, size_class);
        _ward_buf_str(b, " bytes)");
    }
}

void _ward_fatal_op(const char *operation, const char *error, const void *address, size_t size_class)
{
    char text[256];
    ward_buf_t b = {text, sizeof text, 0};
    _ward_buf_fatal_line(&b, operation, error, address, size_class);
    _ward_fatal_buf(&b);
}

void _ward_fatal_internal(const char *what, const char *file, int line)
{
    char text[256];
    ward_buf_t b = {text, sizeof text, 0};
    _ward_buf_str(&b, "ward: internal check failed: ");
    _ward_buf_str(&b, what);
    _ward_buf_str(&b, " (");
    _ward_buf_str(&b, file);
    _ward_buf_str(&b, ":");
    _ward_buf_u64(&b, (uint64_t)line);
    _ward_buf_str(&b, ")");
    _ward_fatal_buf(&b);
}
