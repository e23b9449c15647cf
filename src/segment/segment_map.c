/*
 * segment_map.c - maintenance of the two-level segment map.
 */
#include "segment/segment_map.h"

#include "os/os.h"

_Atomic(ward_segmap_leaf_t *) _ward_segmap_top[(size_t)1 << WARD_SEGMAP_TOP_BITS];

static ward_segmap_leaf_t *leaf_for(uintptr_t unit, bool create)
{
    _Atomic(ward_segmap_leaf_t *) *slot = &_ward_segmap_top[unit >> WARD_SEGMAP_LEAF_BITS];
    ward_segmap_leaf_t *leaf = atomic_load_explicit(slot, memory_order_acquire);
    if (leaf || !create)
        return leaf;
    ward_segmap_leaf_t *fresh = _ward_os_map_aligned(sizeof(ward_segmap_leaf_t), _ward_os_page_size());
    if (fresh == NULL)
        return NULL;
    if (!atomic_compare_exchange_strong_explicit(slot, &leaf, fresh, memory_order_acq_rel, memory_order_acquire))
        _ward_os_unmap(fresh, sizeof(ward_segmap_leaf_t)); /* another thread installed one */
    else
        leaf = fresh;
    return leaf;
}

static _Atomic(unsigned char) *entry_for(uintptr_t unit, bool create)
{
    ward_segmap_leaf_t *leaf = leaf_for(unit, create);
    return leaf ? &(*leaf)[unit & (((uintptr_t)1 << WARD_SEGMAP_LEAF_BITS) - 1)] : NULL;
}

bool _ward_segmap_add(void *start, size_t size)
{
    uintptr_t first = (uintptr_t)start >> WARD_SEGMENT_SHIFT;
    uintptr_t count = (size + WARD_SEGMENT_SIZE - 1) >> WARD_SEGMENT_SHIFT;
    if ((first + count) >> (WARD_SEGMAP_LEAF_BITS + WARD_SEGMAP_TOP_BITS))
        return false;
    for (uintptr_t i = 0; i < count; i++)
        if (entry_for(first + i, true) == NULL)
            return false;
    /* Interior units first, the start unit last: a lookup that finds the
     * start unit marked may rely on the whole range being marked. */
    for (uintptr_t i = count; i-- > 0;) {
        unsigned back = i < 254 ? (unsigned)(i + 1) : 255;
        atomic_store_explicit(entry_for(first + i, false), (unsigned char)back, memory_order_release);
    }
    return true;
}

void _ward_segmap_remove(void *start, size_t size)
{
    uintptr_t first = (uintptr_t)start >> WARD_SEGMENT_SHIFT;
    uintptr_t count = (size + WARD_SEGMENT_SIZE - 1) >> WARD_SEGMENT_SHIFT;
    for (uintptr_t i = 0; i < count; i++) {
        _Atomic(unsigned char) *e = entry_for(first + i, false);
        if (e)
            atomic_store_explicit(e, 0, memory_order_release);
    }
}
