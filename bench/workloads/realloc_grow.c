/*
 * realloc_grow.c - two big buffers grown by realloc to hundreds of MiB,
 * with small allocations in between.
 *
 * Not a copy of one published benchmark: it reproduces the two growth
 * patterns behind most large reallocs in real programs, the doubling
 * dynamic array (C++ std::vector, Rust Vec, every hand-written C vector) and
 * the string builder: a vector of 8-byte elements whose capacity doubles,
 * and a text buffer that appends 4 KiB pieces and grows its capacity by a
 * quarter plus a page, both filled as they grow.  Small blocks
 * are allocated and freed between appends so the big buffers do not sit
 * alone at the end of the heap.  An allocator that can grow a large block
 * in place (or move it by remapping pages, e.g. mremap) wins time and peak
 * memory; one that copies pays both the copy and the old + new copy being
 * resident at once, which shows in peak RSS.
 *
 * Options: --vector-mib N (default 256), --text-mib N (default 128),
 * --repeats N (default 2, times --scale).
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#define PIECE 4096
#define SMALL_RING 1024

static void *checked_realloc(void *p, size_t size)
{
    void *q = realloc(p, size);
    if (!q)
        bench_fail("realloc returned NULL");
    return q;
}

int main(int argc, char **argv)
{
    bench_config_t config = bench_init(argc, argv, "realloc-grow", "--vector-mib --text-mib --repeats");
    size_t vector_target = (size_t)bench_option_long("--vector-mib", 256) << 20;
    size_t text_target = (size_t)bench_option_long("--text-mib", 128) << 20;
    uint64_t repeats = bench_scaled(&config, (uint64_t)bench_option_long("--repeats", 2));
    config.threads = 1;
    bench_rng_t rng = bench_rng_make(config.seed, 0);

    static void *small[SMALL_RING];
    char piece[PIECE];
    memset(piece, 'w', sizeof piece);
    uint64_t reallocs = 0, checksum = 0;

    uint64_t start = bench_now_ns();
    for (uint64_t r = 0; r < repeats; r++) {
        uint64_t *vector = NULL;
        size_t vector_length = 0, vector_capacity = 0;
        char *text = NULL;
        size_t text_length = 0, text_capacity = 0;
        size_t small_next = 0;

        while (vector_length * sizeof(uint64_t) < vector_target || text_length < text_target) {
            /* 512 elements (4 KiB) onto the vector */
            if (vector_length * sizeof(uint64_t) < vector_target) {
                if (vector_length + 512 > vector_capacity) {
                    vector_capacity = vector_capacity ? vector_capacity * 2 : 512;
                    vector = checked_realloc(vector, vector_capacity * sizeof(uint64_t));
                    reallocs++;
                }
                for (size_t i = 0; i < 512; i++)
                    vector[vector_length + i] = vector_length + i;
                vector_length += 512;
            }
            /* one 4 KiB piece onto the text */
            if (text_length < text_target) {
                if (text_length + PIECE > text_capacity) {
                    text_capacity = text_capacity + text_capacity / 4 + PIECE;
                    text = checked_realloc(text, text_capacity);
                    reallocs++;
                }
                memcpy(text + text_length, piece, PIECE);
                text_length += PIECE;
            }
            /* and a small block, replacing one from a while ago */
            free(small[small_next]);
            small[small_next] = malloc(bench_rng_range(&rng, 16, 512));
            if (!small[small_next])
                bench_fail("malloc returned NULL");
            small_next = (small_next + 1) % SMALL_RING;
        }
        /* What was appended must have survived every move. */
        if (vector[vector_length - 1] != vector_length - 1 ||
            vector[vector_length / 3] != vector_length / 3 || text[text_length - 1] != 'w' || text[0] != 'w')
            bench_fail("a buffer lost its contents in realloc");
        checksum += vector[vector_length / 2] + (unsigned char)text[text_length / 2];
        free(vector);
        free(text);
    }
    for (size_t i = 0; i < SMALL_RING; i++)
        free(small[i]);
    uint64_t elapsed = bench_now_ns() - start;

    bench_sink = checksum;
    return bench_report(&config, elapsed, reallocs);
}
