/*
 * env_probe.c - prints the limit and the overcommit mode ward read from the
 * environment (for options_env.sh).
 */
#include <stdio.h>

#include "ward.h"

int main(void)
{
    printf("limit=%zu overcommit=%ld\n", ward_get_limit(), ward_option_get(WARD_OPTION_OVERCOMMIT));
    return 0;
}
