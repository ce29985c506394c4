/**
 * Seeded randomness for the simulator. `Math.random` is never used: the same seed must give the same traffic
 * on every machine, so tests, model training and benchmarks are reproducible.
 */

/** splitmix32 step: spreads a 32-bit state into a well-mixed 32-bit output (used for seeding and hashing). */
function splitmix32(state: number): number {
  let z = (state + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A stable 32-bit hash of a few integers; for deterministic ids and derived sub-seeds. */
export function hash32(...parts: readonly number[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) h = splitmix32(h ^ splitmix32(part | 0) ^ Math.floor(part / 0x100000000));
  return h;
}

/** `count` hex characters derived from a few integers (count ≤ 32). */
export function hashHex(count: number, ...parts: readonly number[]): string {
  let out = '';
  for (let i = 0; out.length < count; i++)
    out += hash32(...parts, i)
      .toString(16)
      .padStart(8, '0');
  return out.slice(0, count);
}

const TWO_POW_32 = 0x100000000;

/** The whole state of a `Random`, as plain JSON-safe numbers, so a stream can continue after a restart. */
export interface RandomState {
  readonly words: readonly [number, number, number, number];
  /** The second normal of the last Box–Muller pair, when it is still unused. */
  readonly spareNormal: number | null;
}

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, from PractRand): 128-bit state, passes
 * BigCrush, and is fast in JavaScript because it only needs 32-bit integer operations.
 */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal = 0;
  private hasSpareNormal = false;

  /** `seed` is any integer; `stream` separates independent sequences drawn from the same seed. */
  constructor(seed: number, stream = 0) {
    this.a = hash32(seed, stream, 1);
    this.b = hash32(seed, stream, 2);
    this.c = hash32(seed, stream, 3);
    this.d = 1;
    for (let i = 0; i < 15; i++) this.uint32();
  }

  /** A copy of the state; `restore` of it continues the stream exactly here. */
  save(): RandomState {
    return { words: [this.a, this.b, this.c, this.d], spareNormal: this.hasSpareNormal ? this.spareNormal : null };
  }

  /** Continues the stream from a state `save` returned. */
  restore(state: RandomState): void {
    [this.a, this.b, this.c, this.d] = state.words;
    this.hasSpareNormal = state.spareNormal !== null;
    this.spareNormal = state.spareNormal ?? 0;
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

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / TWO_POW_32;
  }

  /** Uniform in [min, max). */
  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [min, max] (both inclusive). */
  intBetween(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(items.length)]!;
  }

  /** Standard normal by Box–Muller (the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.hasSpareNormal) {
      this.hasSpareNormal = false;
      return this.spareNormal;
    }
    let u = this.next();
    while (u === 0) u = this.next();
    const radius = Math.sqrt(-2 * Math.log(u));
    const angle = 2 * Math.PI * this.next();
    this.spareNormal = radius * Math.sin(angle);
    this.hasSpareNormal = true;
    return radius * Math.cos(angle);
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /**
   * Poisson(λ): inversion by sequential search for small λ, Hörmann's PTRS transformed rejection
   * ("The transformed rejection method for generating Poisson random variables", 1993) for λ ≥ 10.
   */
  poisson(lambda: number): number {
    if (!(lambda > 0)) return 0;
    if (lambda < 10) {
      let p = Math.exp(-lambda);
      let cumulative = p;
      const u = this.next();
      let k = 0;
      while (u > cumulative && k < 1000) {
        k++;
        p *= lambda / k;
        cumulative += p;
      }
      return k;
    }
    const sqrtLambda = Math.sqrt(lambda);
    const logLambda = Math.log(lambda);
    const b = 0.931 + 2.53 * sqrtLambda;
    const a = -0.059 + 0.02483 * b;
    const invAlpha = 1.1239 + 1.1328 / (b - 3.4);
    const vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const u = this.next() - 0.5;
      const v = this.next();
      const us = 0.5 - Math.abs(u);
      const k = Math.floor(((2 * a) / us + b) * u + lambda + 0.43);
      if (us >= 0.07 && v <= vr) return k;
      if (k < 0 || (us < 0.013 && v > us)) continue;
      if (Math.log(v) + Math.log(invAlpha) - Math.log(a / (us * us) + b) <= -lambda + k * logLambda - logGamma(k + 1)) {
        return k;
      }
    }
  }

  /** A count with mean `rate`: its integer part always, plus one more with the fractional part's probability. */
  roundedCount(rate: number): number {
    const whole = Math.floor(rate);
    return whole + (this.chance(rate - whole) ? 1 : 0);
  }
}

/** ln Γ(x) for x > 0 (Lanczos approximation, g = 7, n = 9; ~15 significant digits). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const g = 7;
  const coefficients = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const z = x - 1;
  let sum = coefficients[0]!;
  for (let i = 1; i < g + 2; i++) sum += coefficients[i]! / (z + i);
  const t = z + g + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Standard normal CDF Φ(z), through the complementary error function below. */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/** Complementary error function (Numerical Recipes' Chebyshev fit, fractional error < 1.2e-7). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

const acklamA = [
  -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1,
  2.506628277459239,
];
const acklamB = [
  -5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1,
];
const acklamC = [
  -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
];
const acklamD = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];

/** Inverse standard normal CDF Φ⁻¹(p) for p in (0, 1) (Peter Acklam's algorithm, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  const [a0, a1, a2, a3, a4, a5] = acklamA as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = acklamB as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = acklamC as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = acklamD as [number, number, number, number];
  const pLow = 0.02425;
  const clamped = Math.min(Math.max(p, 1e-300), 1 - 1e-16);
  if (clamped < pLow) {
    const q = Math.sqrt(-2 * Math.log(clamped));
    return (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  if (clamped > 1 - pLow) {
    const q = Math.sqrt(-2 * Math.log(1 - clamped));
    return -(((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  const q = clamped - 0.5;
  const r = q * q;
  return (
    ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) /
    (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1)
  );
}

/**
 * Walker/Vose alias table: draws index i with probability weights[i] / Σweights in O(1).
 * Used to pick which customer a transaction belongs to in proportion to their daily rates.
 */
export class AliasTable {
  private readonly probability: Float64Array;
  private readonly alias: Int32Array;

  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    let total = 0;
    for (let i = 0; i < n; i++) total += weights[i]!;
    if (n === 0 || !(total > 0)) throw new RangeError('alias table needs a positive total weight');
    this.probability = new Float64Array(n);
    this.alias = new Int32Array(n);
    const scaled = new Float64Array(n);
    const small: number[] = [];
    const large: number[] = [];
    for (let i = 0; i < n; i++) {
      scaled[i] = (weights[i]! * n) / total;
      (scaled[i]! < 1 ? small : large).push(i);
    }
    while (small.length > 0 && large.length > 0) {
      const s = small.pop()!;
      const l = large.pop()!;
      this.probability[s] = scaled[s]!;
      this.alias[s] = l;
      scaled[l] = scaled[l]! + scaled[s]! - 1;
      (scaled[l] < 1 ? small : large).push(l);
    }
    for (const i of large) this.probability[i] = 1;
    for (const i of small) this.probability[i] = 1;
  }

  sample(random: Random): number {
    const i = random.int(this.probability.length);
    return random.next() < this.probability[i]! ? i : this.alias[i]!;
  }
}
