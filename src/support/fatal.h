/*
 * fatal.h - the one fatal path, and formatting that never allocates.
 *
 * Every detected misuse or corruption ends here: one line on stderr written
 * with write(2), then abort().  The line reads
 *   ward: <operation>: <error> at 0x<address> (size class <n> bytes)
 * where the size-class part is left out when unknown (size_class == 0).
 * The diagnostic front end adds lines after it (indented, so the first is
 * still the only one starting with "ward:") and ends through
 * _ward_fatal_buf.
 */
#ifndef WARD_FATAL_H
#define WARD_FATAL_H

#include <stddef.h>
#include <stdint.h>

#include "support/internal.h"

/* Reports `error` (e.g. "free: double free") at `address`, then aborts. */
WARD_HIDDEN __attribute__((noreturn, cold)) void _ward_fatal(const char *error, const void *address,
                                                             size_t size_class);
/* The same with the operation named apart: "ward: <operation>: <error> at ...". */
WARD_HIDDEN __attribute__((noreturn, cold)) void _ward_fatal_op(const char *operation, const char *error,
                                                                const void *address, size_t size_class);

/*
 * A bounded string builder over a caller buffer (no allocation, no stdio):
 * safe inside malloc, in signal handlers and at exit.
 */
typedef struct ward_buf_s {
    char *data;
    size_t cap;
    size_t len; /* may exceed cap: the text was cut */
} ward_buf_t;

WARD_HIDDEN void _ward_buf_str(ward_buf_t *b, const char *s);
WARD_HIDDEN void _ward_buf_u64(ward_buf_t *b, uint64_t v);
WARD_HIDDEN void _ward_buf_hex(ward_buf_t *b, uint64_t v);
/* Appends "ward: <operation>: <error> at 0x<address>[ (size class <n> bytes)]"
 * without the newline. */
WARD_HIDDEN void _ward_buf_fatal_line(ward_buf_t *b, const char *operation, const char *error, const void *address,
                                      size_t size_class);
/* Ends a report: a newline, write(2) to stderr, abort(). */
WARD_HIDDEN __attribute__((noreturn, cold)) void _ward_fatal_buf(ward_buf_t *b);
/* NUL-terminates (cutting if needed) and returns data. */
WARD_HIDDEN const char *_ward_buf_finish(ward_buf_t *b);
/* Writes the whole of s to fd with write(2), retrying on EINTR. */
WARD_HIDDEN void _ward_write_all(int fd, const char *s, size_t n);

#endif
