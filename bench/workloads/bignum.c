/*
 * bignum.c - the relation search of continued-fraction factoring, on
 * immutable heap-allocated big numbers.
 *
 * Modelled on "cfrac" from the Zorn/Grunwald allocator benchmarks (also in
 * mimalloc-bench): a factoring program whose big-number arithmetic gives
 * every intermediate result a fresh small heap block and frees its operands
 * soon after.  The allocation pattern is what matters: millions of 8-40 byte
 * blocks living for a few operations, plus a slowly growing set of kept
 * relations that live until the end.
 *
 * The work: expand the continued fraction of sqrt(N) for a fixed 128-bit N,
 *   P(i+1) = a(i) Q(i) - P(i),  Q(i+1) = (N - P(i+1)^2) / Q(i),
 *   a(i+1) = floor((a(0) + P(i+1)) / Q(i+1)),
 *   A(i) = a(i) A(i-1) + A(i-2) mod N,  so that A(i)^2 = (-1)^(i+1) Q(i+1) mod N,
 * and trial-divide every Q over a factor base of small primes; a Q that
 * factors completely (or up to one larger prime) is kept as a relation.  The
 * linear algebra that would combine relations into a factor is left out: it
 * allocates little.  Every relation is checked (A^2 mod N against Q), so a
 * heap that corrupted a number stops the run.
 *
 * Options: --steps N continued-fraction steps (default 100000, times --scale).
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

/* A non-negative integer in base 2^32, least significant limb first; `used`
 * limbs are significant (no leading zero limbs, zero has used == 0).  Every
 * operation returns a new block sized to its result. */
typedef struct big {
    uint32_t used;
    uint32_t limb[];
} big_t;

static big_t *big_alloc(uint32_t limbs)
{
    big_t *n = malloc(sizeof(big_t) + (size_t)limbs * sizeof(uint32_t));
    if (!n)
        bench_fail("malloc returned NULL");
    n->used = limbs;
    return n;
}

static big_t *big_trim(big_t *n)
{
    while (n->used > 0 && n->limb[n->used - 1] == 0)
        n->used--;
    return n;
}

static big_t *big_from_u64(uint64_t value)
{
    big_t *n = big_alloc(2);
    n->limb[0] = (uint32_t)value;
    n->limb[1] = (uint32_t)(value >> 32);
    return big_trim(n);
}

static big_t *big_copy(const big_t *a)
{
    big_t *n = big_alloc(a->used);
    memcpy(n->limb, a->limb, a->used * sizeof(uint32_t));
    return n;
}

static int big_cmp(const big_t *a, const big_t *b)
{
    if (a->used != b->used)
        return a->used < b->used ? -1 : 1;
    for (uint32_t i = a->used; i-- > 0;)
        if (a->limb[i] != b->limb[i])
            return a->limb[i] < b->limb[i] ? -1 : 1;
    return 0;
}

static big_t *big_add(const big_t *a, const big_t *b)
{
    if (a->used < b->used) {
        const big_t *swap = a;
        a = b;
        b = swap;
    }
    big_t *sum = big_alloc(a->used + 1);
    uint64_t carry = 0;
    for (uint32_t i = 0; i < a->used; i++) {
        carry += (uint64_t)a->limb[i] + (i < b->used ? b->limb[i] : 0);
        sum->limb[i] = (uint32_t)carry;
        carry >>= 32;
    }
    sum->limb[a->used] = (uint32_t)carry;
    return big_trim(sum);
}

/* a - b for a >= b. */
static big_t *big_sub(const big_t *a, const big_t *b)
{
    big_t *difference = big_alloc(a->used);
    int64_t borrow = 0;
    for (uint32_t i = 0; i < a->used; i++) {
        int64_t t = (int64_t)a->limb[i] - (i < b->used ? b->limb[i] : 0) - borrow;
        borrow = t < 0;
        difference->limb[i] = (uint32_t)t;
    }
    if (borrow)
        bench_fail("big_sub underflow");
    return big_trim(difference);
}

static big_t *big_mul(const big_t *a, const big_t *b)
{
    big_t *product = big_alloc(a->used + b->used);
    memset(product->limb, 0, product->used * sizeof(uint32_t));
    for (uint32_t i = 0; i < a->used; i++) {
        uint64_t carry = 0;
        for (uint32_t j = 0; j < b->used; j++) {
            carry += (uint64_t)a->limb[i] * b->limb[j] + product->limb[i + j];
            product->limb[i + j] = (uint32_t)carry;
            carry >>= 32;
        }
        product->limb[i + b->used] = (uint32_t)carry;
    }
    return big_trim(product);
}

/* Quotient of a / divisor as a new number; the remainder in *remainder. */
static big_t *big_divmod_small(const big_t *a, uint32_t divisor, uint32_t *remainder)
{
    big_t *quotient = big_alloc(a->used);
    uint64_t rest = 0;
    for (uint32_t i = a->used; i-- > 0;) {
        rest = (rest << 32) | a->limb[i];
        quotient->limb[i] = (uint32_t)(rest / divisor);
        rest %= divisor;
    }
    *remainder = (uint32_t)rest;
    return big_trim(quotient);
}

static uint32_t big_mod_small(const big_t *a, uint32_t divisor)
{
    uint64_t rest = 0;
    for (uint32_t i = a->used; i-- > 0;)
        rest = ((rest << 32) | a->limb[i]) % divisor;
    return (uint32_t)rest;
}

/* Long division (Knuth's algorithm D): *quotient = u / v, *remainder = u % v,
 * both new numbers.  The normalised copies of u and v are heap temporaries,
 * as in a classic big-number package. */
static void big_divmod(const big_t *u, const big_t *v, big_t **quotient, big_t **remainder)
{
    if (v->used == 0)
        bench_fail("division by zero");
    if (big_cmp(u, v) < 0) {
        *quotient = big_alloc(0);
        *remainder = big_copy(u);
        return;
    }
    if (v->used == 1) {
        uint32_t rest;
        *quotient = big_divmod_small(u, v->limb[0], &rest);
        *remainder = big_from_u64(rest);
        return;
    }

    uint32_t n = v->used, m = u->used - v->used;
    /* Shift so the divisor's top limb has its high bit set: then the
     * two-limb estimate of each quotient limb is at most 2 too large. */
    unsigned shift = (unsigned)__builtin_clz(v->limb[n - 1]);
    big_t *vn = big_alloc(n);
    big_t *un = big_alloc(u->used + 1);
    for (uint32_t i = n - 1; i > 0; i--)
        vn->limb[i] = (v->limb[i] << shift) | (shift ? v->limb[i - 1] >> (32 - shift) : 0);
    vn->limb[0] = v->limb[0] << shift;
    un->limb[u->used] = shift ? u->limb[u->used - 1] >> (32 - shift) : 0;
    for (uint32_t i = u->used - 1; i > 0; i--)
        un->limb[i] = (u->limb[i] << shift) | (shift ? u->limb[i - 1] >> (32 - shift) : 0);
    un->limb[0] = u->limb[0] << shift;

    big_t *q = big_alloc(m + 1);
    for (uint32_t j = m + 1; j-- > 0;) {
        uint64_t numerator = ((uint64_t)un->limb[j + n] << 32) | un->limb[j + n - 1];
        uint64_t qhat = numerator / vn->limb[n - 1];
        uint64_t rhat = numerator % vn->limb[n - 1];
        while (qhat >> 32 || qhat * vn->limb[n - 2] > ((rhat << 32) | un->limb[j + n - 2])) {
            qhat--;
            rhat += vn->limb[n - 1];
            if (rhat >> 32)
                break;
        }
        /* un[j .. j+n] -= qhat * vn */
        int64_t borrow = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint64_t product = qhat * vn->limb[i];
            int64_t t = (int64_t)un->limb[i + j] - borrow - (int64_t)(product & 0xffffffffu);
            un->limb[i + j] = (uint32_t)t;
            borrow = (int64_t)(product >> 32) - (t >> 32);
        }
        int64_t top = (int64_t)un->limb[j + n] - borrow;
        un->limb[j + n] = (uint32_t)top;
        if (top < 0) { /* qhat was one too large: add the divisor back */
            qhat--;
            uint64_t carry = 0;
            for (uint32_t i = 0; i < n; i++) {
                carry += (uint64_t)un->limb[i + j] + vn->limb[i];
                un->limb[i + j] = (uint32_t)carry;
                carry >>= 32;
            }
            un->limb[j + n] += (uint32_t)carry;
        }
        q->limb[j] = (uint32_t)qhat;
    }

    big_t *r = big_alloc(n);
    for (uint32_t i = 0; i < n; i++)
        r->limb[i] = (un->limb[i] >> shift) | (shift ? un->limb[i + 1] << (32 - shift) : 0);
    free(un);
    free(vn);
    *quotient = big_trim(q);
    *remainder = big_trim(r);
}

static big_t *big_div(const big_t *u, const big_t *v)
{
    big_t *q, *r;
    big_divmod(u, v, &q, &r);
    free(r);
    return q;
}

static big_t *big_mod(const big_t *u, const big_t *v)
{
    big_t *q, *r;
    big_divmod(u, v, &q, &r);
    free(q);
    return r;
}

/* floor(sqrt(n)) by Newton's iteration from a power of two above the root. */
static big_t *big_isqrt(const big_t *n)
{
    unsigned bits = n->used * 32 - (unsigned)__builtin_clz(n->limb[n->used - 1]);
    unsigned root_bits = (bits + 1) / 2 + 1;
    big_t *x = big_alloc(root_bits / 32 + 1);
    memset(x->limb, 0, x->used * sizeof(uint32_t));
    x->limb[root_bits / 32] = 1u << (root_bits % 32);
    big_trim(x);
    for (;;) {
        big_t *quotient = big_div(n, x);
        big_t *sum = big_add(x, quotient);
        free(quotient);
        uint32_t odd;
        big_t *next = big_divmod_small(sum, 2, &odd);
        free(sum);
        if (big_cmp(next, x) >= 0) {
            free(next);
            return x;
        }
        free(x);
        x = next;
    }
}

/* A kept relation: A^2 = (+/-) Q (mod N) with Q's factorisation over the
 * factor base as a list of prime indices (odd exponents only, as the linear
 * algebra over GF(2) would need), and at most one large prime. */
typedef struct relation {
    struct relation *next;
    big_t *a;
    big_t *q;
    uint32_t large_prime; /* 1 when Q factored over the base alone */
    uint32_t odd_count;
    uint16_t odd_primes[];
} relation_t;

static uint32_t pow_mod(uint32_t base, uint32_t exponent, uint32_t modulus)
{
    uint64_t result = 1, power = base % modulus;
    for (; exponent; exponent >>= 1) {
        if (exponent & 1)
            result = result * power % modulus;
        power = power * power % modulus;
    }
    return (uint32_t)result;
}

/* Primes p < limit for which N is a quadratic residue (and 2): the only
 * primes that can divide any Q. */
static uint32_t build_factor_base(const big_t *n, uint32_t *primes, uint32_t capacity, uint32_t limit)
{
    uint32_t count = 0;
    primes[count++] = 2;
    for (uint32_t p = 3; p < limit && count < capacity; p += 2) {
        int prime = 1;
        for (uint32_t d = 3; d * d <= p; d += 2)
            if (p % d == 0) {
                prime = 0;
                break;
            }
        if (prime && pow_mod(big_mod_small(n, p), (p - 1) / 2, p) == 1)
            primes[count++] = p;
    }
    return count;
}

/* Trial division the way a classic package does it: each attempt produces a
 * new quotient block, kept when the division is exact and freed otherwise. */
static relation_t *try_factor(const big_t *q, const big_t *a, const uint32_t *primes, uint32_t prime_count)
{
    uint16_t odd[1024];
    uint32_t odd_count = 0;
    big_t *rest = big_copy(q);
    for (uint32_t i = 0; i < prime_count; i++) {
        unsigned exponent = 0;
        for (;;) {
            uint32_t remainder;
            big_t *quotient = big_divmod_small(rest, primes[i], &remainder);
            if (remainder != 0) {
                free(quotient);
                break;
            }
            free(rest);
            rest = quotient;
            exponent++;
        }
        if (exponent & 1)
            odd[odd_count++] = (uint16_t)i;
    }

    uint32_t largest = primes[prime_count - 1];
    uint32_t large_prime = 0;
    if (rest->used == 0)
        bench_fail("Q factored to zero");
    if (rest->used == 1 && rest->limb[0] == 1)
        large_prime = 1;
    else if (rest->used == 1 && rest->limb[0] < largest * 64u)
        large_prime = rest->limb[0];
    free(rest);
    if (!large_prime)
        return NULL;

    relation_t *relation = malloc(sizeof(relation_t) + odd_count * sizeof(uint16_t));
    if (!relation)
        bench_fail("malloc returned NULL");
    relation->next = NULL;
    relation->a = big_copy(a);
    relation->q = big_copy(q);
    relation->large_prime = large_prime;
    relation->odd_count = odd_count;
    memcpy(relation->odd_primes, odd, odd_count * sizeof(uint16_t));
    return relation;
}

/* A^2 mod N must be Q (even index) or N - Q (odd index). */
static void check_relation(const relation_t *relation, const big_t *n, int negative)
{
    big_t *square = big_mul(relation->a, relation->a);
    big_t *residue = big_mod(square, n);
    big_t *expected = negative ? big_sub(n, relation->q) : big_copy(relation->q);
    if (big_cmp(residue, expected) != 0)
        bench_fail("relation does not hold: a big number was corrupted");
    free(expected);
    free(residue);
    free(square);
}

int main(int argc, char **argv)
{
    bench_config_t config = bench_init(argc, argv, "bignum", "--steps");
    uint64_t steps = bench_scaled(&config, (uint64_t)bench_option_long("--steps", 100000));
    config.threads = 1;

    uint64_t start = bench_now_ns();

    /* N: a fixed odd 128-bit number that is not a square (a generic number
     * behaves like a product of two large primes for the expansion). */
    bench_rng_t rng = bench_rng_make(config.seed, 0);
    big_t *high = big_from_u64(bench_rng_next(&rng) | (1ull << 63));
    big_t *low = big_from_u64(bench_rng_next(&rng) | 1);
    big_t *shift = big_from_u64(1ull << 32);
    big_t *shift64 = big_mul(shift, shift);
    big_t *high_part = big_mul(high, shift64);
    big_t *n = big_add(high_part, low);
    free(high);
    free(low);
    free(shift);
    free(shift64);
    free(high_part);

    uint32_t primes[400];
    uint32_t prime_count = build_factor_base(n, primes, 400, 6000);

    big_t *a0 = big_isqrt(n);
    big_t *root_square = big_mul(a0, a0);
    if (big_cmp(root_square, n) == 0)
        bench_fail("N is a square");
    free(root_square);

    big_t *p = big_alloc(0);          /* P(i) */
    big_t *q = big_from_u64(1);       /* Q(i) */
    big_t *a = big_copy(a0);          /* a(i) */
    big_t *a_before = big_from_u64(1); /* A(i-1) */
    big_t *a_before2 = big_alloc(0);  /* A(i-2) */
    relation_t *relations = NULL;
    uint64_t full = 0, partial = 0;

    for (uint64_t i = 0; i < steps; i++) {
        /* A(i) = a(i) A(i-1) + A(i-2) mod N */
        big_t *product = big_mul(a, a_before);
        big_t *sum = big_add(product, a_before2);
        big_t *a_now = big_mod(sum, n);
        free(product);
        free(sum);

        /* P(i+1), Q(i+1), a(i+1) */
        big_t *aq = big_mul(a, q);
        big_t *p_next = big_sub(aq, p);
        big_t *p_square = big_mul(p_next, p_next);
        big_t *numerator = big_sub(n, p_square);
        big_t *q_next, *rest;
        big_divmod(numerator, q, &q_next, &rest);
        if (rest->used != 0)
            bench_fail("Q(i+1) division was not exact: a big number was corrupted");
        big_t *a0_plus_p = big_add(a0, p_next);
        big_t *a_next = big_div(a0_plus_p, q_next);
        free(aq);
        free(p_square);
        free(numerator);
        free(rest);
        free(a0_plus_p);

        relation_t *relation = try_factor(q_next, a_now, primes, prime_count);
        if (relation) {
            check_relation(relation, n, (i & 1) == 0);
            relation->next = relations;
            relations = relation;
            if (relation->large_prime == 1)
                full++;
            else
                partial++;
        }

        free(a_before2);
        a_before2 = a_before;
        a_before = a_now;
        free(p);
        p = p_next;
        free(q);
        q = q_next;
        free(a);
        a = a_next;
    }

    uint64_t kept_limbs = 0;
    while (relations) {
        relation_t *next = relations->next;
        kept_limbs += relations->q->used;
        free(relations->a);
        free(relations->q);
        free(relations);
        relations = next;
    }
    free(p);
    free(q);
    free(a);
    free(a_before);
    free(a_before2);
    free(a0);
    free(n);
    uint64_t elapsed = bench_now_ns() - start;

    bench_sink = kept_limbs;
    bench_extra("check_relations", (double)full);
    bench_extra("check_partial_relations", (double)partial);
    return bench_report(&config, elapsed, steps);
}
