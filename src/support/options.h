/*
 * options.h - ward's options: one table (name, environment variable,
 * default, range, description), read once at start, settable through
 * ward_option_set().
 */
#ifndef WARD_OPTIONS_H
#define WARD_OPTIONS_H

#include "ward.h"
#include "support/internal.h"

/* Current values, indexed by ward_option_t.  Read freely (relaxed). */
WARD_HIDDEN extern long _ward_options[WARD_OPTION_COUNT_];

/* Reads WARD_* from the environment, once per process (later calls return
 * at once); reports unknown names and malformed or out-of-range values on
 * stderr and keeps the default for them. */
WARD_HIDDEN void _ward_options_init(void);

#define ward_option(id) (__atomic_load_n(&_ward_options[id], __ATOMIC_RELAXED))

#endif
