/*
 * segment_map.c - maintenance of the flat segment map.
 */
#include "segment/segment_map.h"

_Atomic(unsigned char) _ward_segmap[WARD_SEGMAP_UNITS];

bool _ward_segmap_add(void *start, size_t size, bool sliced)
{
    uintptr_t first = (uintptr_t)start >> WARD_SEGMENT_SHIFT;
    uintptr_t count = (size + WARD_SEGMENT_SIZE - 1) >> WARD_SEGMENT_SHIFT;
    if (first + count > WARD_SEGMAP_UNITS)
        return false;
    /* Interior units first, the start unit last: a lookup that finds the
     * start unit marked may rely on the whole range being marked. */
    for (uintptr_t i = count; i-- > 0;) {
        unsigned value;
        if (sliced)
            value = WARD_SEGMAP_SLICED;
        else
            value = i <= WARD_SEGMAP_FARTHER - WARD_SEGMAP_HUGE_BASE - 1 ? WARD_SEGMAP_HUGE_BASE + (unsigned)i
                                                                          : WARD_SEGMAP_FARTHER;
        atomic_store_explicit(&_ward_segmap[first + i], (unsigned char)value, memory_order_release);
    }
    return true;
}

void _ward_segmap_remove(void *start, size_t size)
{
    uintptr_t first = (uintptr_t)start >> WARD_SEGMENT_SHIFT;
    uintptr_t count = (size + WARD_SEGMENT_SIZE - 1) >> WARD_SEGMENT_SHIFT;
    for (uintptr_t i = 0; i < count && first + i < WARD_SEGMAP_UNITS; i++)
        atomic_store_explicit(&_ward_segmap[first + i], 0, memory_order_release);
}

void *_ward_segmap_lookup(const void *p)
{
    uintptr_t unit = (uintptr_t)p >> WARD_SEGMENT_SHIFT;
    for (;;) {
        if (unit >= WARD_SEGMAP_UNITS)
            return NULL;
        unsigned value = atomic_load_explicit(&_ward_segmap[unit], memory_order_acquire);
        if (value == 0)
            return NULL;
        if (value == WARD_SEGMAP_SLICED)
            return (void *)(unit << WARD_SEGMENT_SHIFT);
        if (value != WARD_SEGMAP_FARTHER)
            return (void *)((unit - (value - WARD_SEGMAP_HUGE_BASE)) << WARD_SEGMENT_SHIFT);
        unit -= WARD_SEGMAP_FARTHER - WARD_SEGMAP_HUGE_BASE;
    }
}
