/*
 * number.c - see number.h.  No dependency beyond the compiler: the tool
 * compiles this file into its own program.
 */
#include "support/number.h"

bool _ward_parse_number(const char *s, long *out)
{
    if (*s < '0' || *s > '9')
        return false;
    long v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (__LONG_MAX__ - 9) / 10)
            return false;
        v = v * 10 + (*s - '0');
    }
    int shift = 0;
    switch (*s) {
    case 'k': case 'K': shift = 10; s++; break;
    case 'm': case 'M': shift = 20; s++; break;
    case 'g': case 'G': shift = 30; s++; break;
    default: break;
    }
    if (*s != '\0' || (shift && v > (__LONG_MAX__ >> shift)))
        return false;
    *out = v << shift;
    return true;
}
