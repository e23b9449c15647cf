/*
 * A seeded random model test: random malloc / calloc / aligned_alloc /
 * posix_memalign / realloc / reallocarray / free over many slots and every
 * size range, each block checked against a shadow copy kept in memory that
 * ward does not manage (mmap).  Every block is also written up to its usable
 * size, so two blocks that share bytes show up as a changed shadow.
 *
 * The seed is printed (WARD_SEED repeats a run); WARD_STRESS scales the
 * number of operations.
 */
#include <stdint.h>
#include <sys/mman.h>

#include "common/check.h"
#include "ward.h"

#define KiB ((size_t)1024)
#define MiB (KiB * 1024)
#define SLOTS 1500
#define TAIL_BYTE 0xee

typedef struct slot_s {
    unsigned char *block;
    size_t size;
    unsigned char *shadow; /* a private mapping holding what block must contain */
    size_t shadow_capacity;
} slot_t;

static slot_t slots[SLOTS];
static uint64_t random_state;
static unsigned long operation;

static uint64_t next_random(void)
{
    return test_random(&random_state);
}

/* Mostly small sizes, spread evenly over the doublings, some large and a few
 * huge, the way real programs allocate. */
static size_t random_size(void)
{
    uint64_t r = next_random();
    unsigned kind = (unsigned)(r % 1000);
    r >>= 10;
    if (kind < 5)
        return 2 * MiB + 1 + r % (4 * MiB);          /* huge */
    if (kind < 40)
        return 128 * KiB + 1 + r % (2 * MiB - 128 * KiB); /* large */
    unsigned shift = (unsigned)(r % 17);                /* 1 .. 128 KiB */
    r >>= 5;
    size_t size = ((size_t)1 << shift) + r % ((size_t)1 << shift);
    return size > 128 * KiB ? 128 * KiB : size;
}

static void ensure_shadow(slot_t *slot, size_t size)
{
    size_t needed = (size + 64 * KiB - 1) / (64 * KiB) * (64 * KiB);
    if (needed == 0)
        needed = 64 * KiB;
    if (slot->shadow == NULL) {
        slot->shadow = mmap(NULL, needed, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(slot->shadow != MAP_FAILED);
        slot->shadow_capacity = needed;
    } else if (needed > slot->shadow_capacity) {
        slot->shadow = mremap(slot->shadow, slot->shadow_capacity, needed, MREMAP_MAYMOVE);
        CHECK(slot->shadow != MAP_FAILED);
        slot->shadow_capacity = needed;
    }
}

static void fill_random(unsigned char *p, size_t n)
{
    size_t at = 0;
    for (; at + 8 <= n; at += 8) {
        uint64_t r = next_random();
        memcpy(p + at, &r, 8);
    }
    uint64_t r = next_random();
    for (; at < n; at++, r >>= 8)
        p[at] = (unsigned char)r;
}

static void verify(const slot_t *slot, size_t n, const char *when)
{
    if (memcmp(slot->block, slot->shadow, n) == 0)
        return;
    size_t at = 0;
    while (slot->block[at] == slot->shadow[at])
        at++;
    CHECKF(0, "operation %lu (%s): block %p of %zu bytes differs from its shadow at byte %zu "
              "(%#x, expected %#x)",
           operation, when, (void *)slot->block, slot->size, at, slot->block[at], slot->shadow[at]);
}

/* New contents for the whole block, and junk past the requested size. */
static void write_block(slot_t *slot, size_t from)
{
    size_t usable = ward_usable_size(slot->block);
    CHECKF(usable >= slot->size, "operation %lu: usable size %zu for %zu bytes", operation, usable,
           slot->size);
    CHECKF(((uintptr_t)slot->block & 15) == 0, "operation %lu: %p not aligned to 16", operation,
           (void *)slot->block);
    fill_random(slot->shadow + from, slot->size - from);
    memcpy(slot->block + from, slot->shadow + from, slot->size - from);
    memset(slot->block + slot->size, TAIL_BYTE, usable - slot->size);
}

static void allocate(slot_t *slot)
{
    size_t size = random_size();
    unsigned way = (unsigned)(next_random() % 20);
    unsigned char *p;
    if (way < 9) {
        p = ward_malloc(size);
    } else if (way < 12) {
        p = ward_calloc(1, size);
        CHECK(p != NULL);
        for (size_t at = 0; at < size; at++)
            CHECKF(p[at] == 0, "operation %lu: ward_calloc(1, %zu) byte %zu is %#x", operation, size,
                   at, p[at]);
    } else if (way < 14) {
        size_t alignment = (size_t)1 << (next_random() % 22);
        p = ward_aligned_alloc(alignment, size);
        CHECK(p != NULL);
        CHECKF((uintptr_t)p % alignment == 0, "operation %lu: ward_aligned_alloc(%zu, %zu) = %p",
               operation, alignment, size, (void *)p);
    } else if (way < 15) {
        size_t alignment = (size_t)8 << (next_random() % 12);
        void *out = NULL;
        CHECK(ward_posix_memalign(&out, alignment, size) == 0);
        p = out;
        CHECK((uintptr_t)p % alignment == 0);
    } else if (way < 18) {
        p = ward_realloc(NULL, size);
    } else {
        p = ward_reallocarray(NULL, size, 1);
    }
    CHECKF(p != NULL, "operation %lu: allocating %zu bytes (way %u)", operation, size, way);
    slot->block = p;
    slot->size = size;
    ensure_shadow(slot, size);
    write_block(slot, 0);
}

static void resize(slot_t *slot)
{
    size_t new_size = next_random() % 4 == 0 ? random_size()
                    : slot->size / 2 + next_random() % (slot->size + 64);
    verify(slot, slot->size, "before realloc");
    if (new_size == 0) {
        CHECK(ward_realloc(slot->block, 0) == NULL);
        slot->block = NULL;
        return;
    }
    unsigned char *q = next_random() % 4 == 0 ? ward_reallocarray(slot->block, 1, new_size)
                                               : ward_realloc(slot->block, new_size);
    CHECKF(q != NULL, "operation %lu: ward_realloc from %zu to %zu bytes", operation, slot->size,
           new_size);
    size_t kept = slot->size < new_size ? slot->size : new_size;
    slot->block = q;
    slot->size = kept;
    char when[80];
    snprintf(when, sizeof when, "after realloc to %zu", new_size);
    verify(slot, kept, when);
    slot->size = new_size;
    ensure_shadow(slot, new_size);
    write_block(slot, next_random() % 2 ? kept : 0);
}

static void release(slot_t *slot)
{
    verify(slot, slot->size, "before free");
    ward_free(slot->block);
    slot->block = NULL;
}

static void verify_all(const char *when)
{
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].block != NULL)
            verify(&slots[i], slots[i].size, when);
    }
}

int main(void)
{
    random_state = test_seed();
    unsigned long operations = 30000UL * test_stress();
    /* the thread's heap exists before the first snapshot */
    ward_free(ward_malloc(1));
    ward_stats_t before;
    CHECK(ward_stats_get(&before) == 0);
    unsigned long counts[3] = {0, 0, 0};
    for (operation = 0; operation < operations; operation++) {
        slot_t *slot = &slots[next_random() % SLOTS];
        unsigned choice = (unsigned)(next_random() % 100);
        if (slot->block == NULL) {
            allocate(slot);
            counts[0]++;
        } else if (choice < 45) {
            release(slot);
            counts[2]++;
        } else if (choice < 90) {
            resize(slot);
            counts[1]++;
        } else {
            verify(slot, slot->size, "check");
            size_t at = next_random() % (slot->size ? slot->size : 1);
            if (slot->size > 0) {
                slot->shadow[at] ^= 0x5a;
                slot->block[at] ^= 0x5a;
            }
        }
        if (operation % 2000 == 1999)
            verify_all("periodic check");
    }
    verify_all("end");
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].block != NULL)
            release(&slots[i]);
        if (slots[i].shadow != NULL)
            munmap(slots[i].shadow, slots[i].shadow_capacity);
    }
    ward_stats_t after;
    CHECK(ward_stats_get(&after) == 0);
    CHECKF(after.allocated == before.allocated, "allocated %llu after freeing everything, %llu before",
           (unsigned long long)after.allocated, (unsigned long long)before.allocated);
    printf("%lu operations: %lu allocations, %lu resizes, %lu frees\n", operations, counts[0],
           counts[1], counts[2]);
    puts("ok");
    return 0;
}
