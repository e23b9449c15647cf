/*
 * page.c - setting up pages, carving blocks, collecting remote frees.
 */
#include "page/page.h"

#include <string.h>

#include "os/os.h"

void _ward_link_corrupt(const void *b, size_t block_size)
{
    _ward_fatal("heap: free-list link overwritten (overflow or write after free)", b, block_size);
}

void _ward_free_tag_lost(const void *b, size_t block_size)
{
    _ward_fatal("free: double free or write after free", b, block_size);
}

/* Blocks are carved a little at a time so that a page touches (and makes
 * resident) only what the program uses: about one OS page per extension. */
#define CARVE_BYTES 4096u

void _ward_page_init_small(ward_page_t *page, unsigned c)
{
    uint32_t bsize = _ward_class_size[c];
    page->kind = WARD_PAGE_SMALL;
    page->class_index = (uint8_t)c;
    page->block_size = bsize;
    page->capacity = _ward_class_capacity[c];
    page->reserved = 0;
    page->used = 0;
    page->free = NULL;
    page->in_full = 0;
    page->spare = 0;
    page->next = page->prev = NULL;
    memset(page->bits, 0, (size_t)page->slice_count * WARD_BITMAP_WORDS_PER_SLICE * sizeof(uint64_t));
    atomic_store_explicit(&page->thread_free, NULL, memory_order_relaxed);
    ward_assert(page->capacity <= WARD_PAGE_MAX_BLOCKS);
}

bool _ward_page_extend(ward_page_t *page)
{
    uint32_t left = page->capacity - page->reserved;
    if (left == 0)
        return false;
    uint32_t n = CARVE_BYTES / page->block_size;
    if (n == 0)
        n = 1;
    if (n > left)
        n = left;
    /* Link the new blocks in address order, ahead of what is on free. */
    char *first = page->start + (size_t)page->reserved * page->block_size;
    ward_block_t *tail = page->free;
    for (uint32_t i = n; i-- > 0;) {
        ward_block_t *b = (ward_block_t *)(first + (size_t)i * page->block_size);
        b->link = _ward_link_encode(tail);
        tail = b;
    }
    page->free = tail;
    page->reserved += n;
    return true;
}

uint32_t _ward_page_collect(ward_page_t *page)
{
    /* A plain load first: most pages have nothing waiting, and the exchange
     * would take the line exclusively for nothing. */
    if (atomic_load_explicit(&page->thread_free, memory_order_relaxed) == NULL)
        return 0;
    ward_block_t *b = atomic_exchange_explicit(&page->thread_free, NULL, memory_order_acquire);
    uint32_t count = 0;
    while (b) {
        ward_block_t *next = _ward_link_next_local(b, page->block_size);
        ward_bit_t bit = _ward_page_bit(page, b);
        /* A block on thread_free was validated by its freer; a clear bit
         * means it was freed twice (a second push, or the owner freed it
         * meanwhile and it went back to the page).  A list that loops back
         * on itself lands here too.  A missing tag: it was also in the
         * owner's free cache and left it (page.h). */
        if (WARD_UNLIKELY(_ward_page_block_index(page, b) == UINT32_MAX || !(*bit.word & bit.mask)))
            _ward_fatal("free: double free", b, page->block_size);
        _ward_block_untag(b, page->block_size);
        *bit.word &= ~bit.mask;
        b->link = _ward_link_encode(page->free);
        page->free = b;
        count++;
        b = next;
    }
    page->used -= count;
    return count;
}
