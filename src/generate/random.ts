/**
 * Small, fast, seedable pseudo-random numbers for the mock producers (no Math.random: the same seed
 * always gives the same stream, on every platform and Node version).
 *
 * The generator is sfc32 (Chris Doty-Humphrey's "small fast chaotic" generator, 128-bit state, from
 * PractRand; passes BigCrush), seeded through splitmix32 so that nearby seeds give unrelated streams.
 */

/** splitmix32: one step of a 32-bit mixing sequence, used to expand a seed into sfc32's state. */
function splitmix32(state: { x: number }): number {
  state.x = (state.x + 0x9e3779b9) | 0;
  let z = state.x;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

/** Normalise any number (a CLI seed may be large, negative or fractional) to a 32-bit seed. */
export function normalizeSeed(seed: number): number {
  if (!Number.isFinite(seed)) return 0;
  const whole = Math.trunc(seed);
  // Fold the high bits in so that seeds beyond 2^32 are still distinct from their low 32 bits.
  const high = Math.floor(whole / 0x1_0000_0000);
  return (whole ^ Math.imul(high, 0x85ebca6b)) >>> 0;
}

export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed = 1) {
    const s = { x: normalizeSeed(seed) };
    this.a = splitmix32(s);
    this.b = splitmix32(s);
    this.c = splitmix32(s);
    this.d = splitmix32(s);
    // Warm up: the first outputs of a freshly seeded sfc32 are correlated with the seed.
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** A uniform 32-bit unsigned integer. */
  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform number in [0, 1) (32 bits of randomness). */
  float(): number {
    return this.uint32() / 4294967296;
  }

  /** A uniform integer in [0, n) for 0 < n <= 2^32. */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** A uniform integer in [min, max] (both inclusive). */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** An independent generator derived from this one (for a sub-stream whose use must not shift the main stream). */
  fork(): Random {
    return new Random(this.uint32());
  }

  /** Shuffle `items` (an array or a typed array) in place (Fisher-Yates) and return it. */
  shuffle<A extends { length: number; [index: number]: unknown }>(items: A): A {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }
}

/** The integers first, first + 1, ..., first + n - 1, shuffled by `rng`. */
export function shuffledRange(n: number, rng: Random, first = 0): Uint32Array {
  const ids = new Uint32Array(n);
  for (let i = 0; i < n; i++) ids[i] = first + i;
  return rng.shuffle(ids);
}

/**
 * Draws ranks 0..n-1 with probability proportional to 1 / (rank + 1)^exponent (a Zipf-like
 * popularity: a few very popular items, a long tail). O(log n) per draw by binary search over the
 * cumulative weights.
 */
export class ZipfSampler {
  readonly n: number;
  private readonly cdf: Float64Array;

  constructor(n: number, exponent: number) {
    if (!(n >= 1) || !Number.isInteger(n))
      throw new RangeError(`ZipfSampler: n must be an integer >= 1 (got ${n})`);
    this.n = n;
    this.cdf = new Float64Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      sum += 1 / Math.pow(i + 1, exponent);
      this.cdf[i] = sum;
    }
    for (let i = 0; i < n; i++) this.cdf[i] /= sum;
    this.cdf[n - 1] = 1;
  }

  /** The probability of rank `i`. */
  probability(i: number): number {
    return i === 0 ? this.cdf[0] : this.cdf[i] - this.cdf[i - 1];
  }

  /** A rank in [0, n), using one uniform draw `u` in [0, 1). */
  sample(u: number): number {
    const cdf = this.cdf;
    let lo = 0;
    let hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
