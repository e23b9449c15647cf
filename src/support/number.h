/*
 * number.h - the grammar of a WARD_* option's number: decimal digits with an
 * optional k, m or g suffix (binary).  Shared by the library, which reads
 * the environment, and the `ward run` tool, which refuses a value before
 * it starts the program: both accept exactly the same text.
 */
#ifndef WARD_NUMBER_H
#define WARD_NUMBER_H

#include <stdbool.h>

/* Parses s whole; false when it is malformed or above LONG_MAX.  At least
 * one digit comes first ("k" alone is malformed, not 0). */
bool _ward_parse_number(const char *s, long *out) __attribute__((visibility("hidden")));

#endif
