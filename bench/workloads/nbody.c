/*
 * nbody.c - Barnes-Hut gravitational simulation with the octree rebuilt
 * from the heap at every time step.
 *
 * Modelled on "barnes" (the SPLASH-2 Barnes-Hut code, in mimalloc-bench):
 * bodies are long-lived heap objects; the octree is a few thousand ~130-byte
 * cells allocated while inserting the bodies and all freed at the end of the
 * step.  Most of the time is force computation, as in the original, so
 * allocators should differ little here; the workload is in the suite to show
 * that they do (and to catch one that slows a compute-bound program by
 * scattering its cells, i.e. poor locality).
 *
 * Each step: build the tree, compute every cell's mass and centre of mass,
 * walk the tree for every body's acceleration (opening angle 0.5),
 * leapfrog-integrate, free the tree.  The total mass found at the root is
 * checked every step.
 *
 * Options: --bodies N (default 6000), --steps N (default 6, times --scale).
 */
#include "common.h"

#include <math.h>
#include <stdlib.h>

typedef struct body {
    double position[3], velocity[3], acceleration[3];
    double mass;
} body_t;

/* A cube of space.  A leaf holds one body and no children; an inner cell
 * holds up to eight children, one per octant, and the mass summary. */
typedef struct cell {
    double centre[3];       /* geometric centre of the cube */
    double half;            /* half its side */
    double mass_centre[3];  /* centre of mass of everything below */
    double mass;
    body_t *body;           /* set on leaves only */
    struct cell *child[8];
} cell_t;

static cell_t *cell_new(const double centre[3], double half)
{
    cell_t *cell = calloc(1, sizeof *cell);
    if (!cell)
        bench_fail("calloc returned NULL");
    for (int d = 0; d < 3; d++)
        cell->centre[d] = centre[d];
    cell->half = half;
    return cell;
}

static int octant_of(const cell_t *cell, const double position[3])
{
    return (position[0] > cell->centre[0]) | (position[1] > cell->centre[1]) << 1 |
           (position[2] > cell->centre[2]) << 2;
}

static cell_t *child_cell(cell_t *cell, int octant)
{
    double centre[3];
    double quarter = cell->half / 2;
    for (int d = 0; d < 3; d++)
        centre[d] = cell->centre[d] + ((octant >> d) & 1 ? quarter : -quarter);
    return cell_new(centre, quarter);
}

static void insert(cell_t *cell, body_t *body, int depth)
{
    if (depth > 60)
        return; /* two bodies at the same point: merge them into one leaf */
    int octant = octant_of(cell, body->position);
    cell_t *child = cell->child[octant];
    if (!child) {
        child = cell->child[octant] = child_cell(cell, octant);
        child->body = body;
        return;
    }
    if (child->body) { /* a leaf: split it */
        body_t *resident = child->body;
        child->body = NULL;
        insert(child, resident, depth + 1);
    }
    insert(child, body, depth + 1);
}

static void summarise(cell_t *cell)
{
    if (cell->body) {
        cell->mass = cell->body->mass;
        for (int d = 0; d < 3; d++)
            cell->mass_centre[d] = cell->body->position[d];
        return;
    }
    double mass = 0, weighted[3] = {0, 0, 0};
    for (int k = 0; k < 8; k++) {
        cell_t *child = cell->child[k];
        if (!child)
            continue;
        summarise(child);
        mass += child->mass;
        for (int d = 0; d < 3; d++)
            weighted[d] += child->mass * child->mass_centre[d];
    }
    cell->mass = mass;
    for (int d = 0; d < 3; d++)
        cell->mass_centre[d] = mass > 0 ? weighted[d] / mass : cell->centre[d];
}

static void accumulate_force(const cell_t *cell, body_t *body)
{
    const double softening2 = 1e-4, opening2 = 0.25; /* theta = 0.5 */
    double delta[3], distance2 = softening2;
    for (int d = 0; d < 3; d++) {
        delta[d] = cell->mass_centre[d] - body->position[d];
        distance2 += delta[d] * delta[d];
    }
    double size = 2 * cell->half;
    if (cell->body || size * size < opening2 * distance2) {
        if (cell->body == body)
            return;
        double inverse = 1 / sqrt(distance2);
        double strength = cell->mass * inverse * inverse * inverse;
        for (int d = 0; d < 3; d++)
            body->acceleration[d] += strength * delta[d];
        return;
    }
    for (int k = 0; k < 8; k++)
        if (cell->child[k])
            accumulate_force(cell->child[k], body);
}

static void free_tree(cell_t *cell)
{
    for (int k = 0; k < 8; k++)
        if (cell->child[k])
            free_tree(cell->child[k]);
    free(cell);
}

int main(int argc, char **argv)
{
    bench_config_t config = bench_init(argc, argv, "nbody", "--bodies --steps");
    size_t body_count = (size_t)bench_option_long("--bodies", 6000);
    uint64_t steps = bench_scaled(&config, (uint64_t)bench_option_long("--steps", 6));
    config.threads = 1;
    if (body_count < 2)
        bench_fail("--bodies must be at least 2");
    bench_rng_t rng = bench_rng_make(config.seed, 0);

    uint64_t start = bench_now_ns();
    /* Bodies: a clumpy sphere (radius^3 uniform gives a dense core), at rest
     * apart from a slow rotation, equal masses summing to 1. */
    body_t **bodies = malloc(body_count * sizeof *bodies);
    if (!bodies)
        bench_fail("malloc returned NULL");
    for (size_t i = 0; i < body_count; i++) {
        body_t *b = bodies[i] = calloc(1, sizeof *b);
        if (!b)
            bench_fail("calloc returned NULL");
        double radius = pow((double)bench_rng_below(&rng, 1000000) / 1e6, 3.0);
        double z = 2.0 * bench_rng_below(&rng, 1000000) / 1e6 - 1.0;
        double angle = 6.283185307179586 * bench_rng_below(&rng, 1000000) / 1e6;
        double ring = sqrt(1 - z * z);
        b->position[0] = radius * ring * cos(angle);
        b->position[1] = radius * ring * sin(angle);
        b->position[2] = radius * z;
        b->velocity[0] = -0.1 * b->position[1];
        b->velocity[1] = 0.1 * b->position[0];
        b->mass = 1.0 / (double)body_count;
    }

    const double dt = 0.001;
    double checksum = 0;
    for (uint64_t step = 0; step < steps; step++) {
        double extent = 0;
        for (size_t i = 0; i < body_count; i++)
            for (int d = 0; d < 3; d++)
                extent = fmax(extent, fabs(bodies[i]->position[d]));
        double origin[3] = {0, 0, 0};
        cell_t *root = cell_new(origin, extent * 1.001 + 1e-9);
        for (size_t i = 0; i < body_count; i++)
            insert(root, bodies[i], 0);
        summarise(root);
        if (fabs(root->mass - 1.0) > 1e-9)
            bench_fail("tree lost mass: a cell was corrupted");

        for (size_t i = 0; i < body_count; i++) {
            body_t *b = bodies[i];
            b->acceleration[0] = b->acceleration[1] = b->acceleration[2] = 0;
            accumulate_force(root, b);
        }
        for (size_t i = 0; i < body_count; i++) {
            body_t *b = bodies[i];
            for (int d = 0; d < 3; d++) {
                b->velocity[d] += dt * b->acceleration[d];
                b->position[d] += dt * b->velocity[d];
            }
        }
        free_tree(root);
    }
    for (size_t i = 0; i < body_count; i++) {
        checksum += bodies[i]->position[0];
        free(bodies[i]);
    }
    free(bodies);
    uint64_t elapsed = bench_now_ns() - start;

    bench_sink = (uint64_t)(checksum * 1e6);
    return bench_report(&config, elapsed, steps * body_count);
}
