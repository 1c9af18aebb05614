/**
 * The project's seeded PRNG: xoshiro128** seeded through splitmix64. Same numbers in every JS
 * runtime (32-bit integer ops only after seeding), fast, and good enough for sampling, shuffles,
 * bootstrap resampling and workload generation. It is not Python's Mersenne Twister; where
 * Python's exact stream matters (vLLM's ShareGPT shuffle) see src/workloads/python-random.ts.
 */
export interface Prng {
  /** Uniform integer in [0, 2^32). */
  nextUint32(): number;
  /** Uniform double in [0, 1) with 53 random bits. */
  next(): number;
  /** Uniform integer in [0, n), unbiased (rejection sampling); n ≤ 2^32. */
  int(n: number): number;
  /** Standard normal (Box–Muller; one draw uses two uniforms, nothing is cached). */
  normal(): number;
  /** In-place Fisher–Yates shuffle (from the end, like Python's random.shuffle). */
  shuffle<T>(xs: T[]): T[];
  /** An independent stream named by `label`, derived from the seed (not from the current state). */
  fork(label: string): Prng;
}

const MASK64 = (1n << 64n) - 1n;

/** One splitmix64 step: [next state, output]. Exported for its published test vectors. */
export function splitmix64(state: bigint): [bigint, bigint] {
  const s = (state + 0x9e3779b97f4a7c15n) & MASK64;
  let z = s;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return [s, z ^ (z >> 31n)];
}

/** FNV-1a 64 over UTF-16 code units: turns string seeds and fork labels into 64-bit keys. */
function hashString(s: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < s.length; i++) h = ((h ^ BigInt(s.charCodeAt(i))) * 0x100000001b3n) & MASK64;
  return h;
}

function seedKey(seed: number | string): bigint {
  if (typeof seed === 'string') return hashString(seed);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`PRNG seed must be a safe integer or a string, got ${seed}`);
  return BigInt.asUintN(64, BigInt(seed));
}

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));

class Xoshiro128 implements Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(
    private readonly key: bigint,
    state?: readonly [number, number, number, number],
  ) {
    if (state) {
      [this.s0, this.s1, this.s2, this.s3] = state.map((x) => x | 0) as [number, number, number, number];
      return;
    }
    let st = key;
    let a: bigint;
    let b: bigint;
    [st, a] = splitmix64(st);
    [st, b] = splitmix64(st);
    this.s0 = Number(a & 0xffffffffn) | 0;
    this.s1 = Number(a >> 32n) | 0;
    this.s2 = Number(b & 0xffffffffn) | 0;
    this.s3 = Number(b >> 32n) | 0;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // all-zero state is a fixed point
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 2 ** 32) throw new RangeError(`Prng.int: n must be an integer in 1..2^32, got ${n}`);
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const r = this.nextUint32();
      if (r < limit) return r % n;
    }
  }

  normal(): number {
    const u1 = 1 - this.next(); // (0, 1]: log is finite
    const u2 = this.next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  }

  fork(label: string): Prng {
    return new Xoshiro128(hashString(`${this.key.toString(16)}/${label}`));
  }
}

/** A generator from an integer or string seed; equal seeds give equal streams. */
export function createPrng(seed: number | string): Prng {
  return new Xoshiro128(seedKey(seed));
}

/** A generator started from an explicit xoshiro128** state (reference test vectors). */
export function prngFromState(state: readonly [number, number, number, number]): Prng {
  return new Xoshiro128(0n, state);
}
