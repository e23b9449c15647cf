/*
 * secret.c - the per-process hardening secret and free tag.
 */
#include "support/secret.h"

#include "os/os.h"

uintptr_t _ward_secret;
uintptr_t _ward_free_tag;

void _ward_secret_init(void)
{
    /* Odd, so that no value xors with it to itself. */
    _ward_secret = (uintptr_t)_ward_os_random64() | 1;
    _ward_free_tag = (uintptr_t)_ward_os_random64() | 1;
}
