/**
 * The WebAssembly SIMD kernels (wasm/kernels.ts, through KernelHeap) against their TypeScript
 * references (src/kernels/*.ts), which run through the same heap with backend 'ts'. The
 * contract is bit-identical results, except restore: the wasm kernels compute in float64
 * wherever the references do (SLERP sums in the same order and weights), in float32 where they
 * do (the quantizer) or where that is provably the same float (fp16 conversion, q·scale + min). So every comparison here but restore's is exact, bit
 * for bit (NaN: any NaN); restore computes in f32 and is checked against a stated bound.
 */
import { describe, expect, it } from 'vitest';
import { decodeHalf, encodeHalfBits, floatBits, floatToHalf, halfToFloat } from '../../src/kernels/half.js';
import { roundHalfEven, type QuantBits } from '../../src/kernels/quantize.js';
import { allocMergeRows } from '../../src/kernels/slerp.js';
import { KernelHeap } from '../../src/kernels/wasm/heap.js';
import { mulberry32, randomArray } from '../methods/helpers/random.js';

const wasm = (): KernelHeap => new KernelHeap('wasm');
const ts = (): KernelHeap => new KernelHeap('ts');

/** Bit patterns of two float arrays equal, NaNs counted equal whatever their payload. */
function sameFloats(a: Float32Array, b: Float32Array): { mismatches: number; first: number } {
  const ab = floatBits(a);
  const bb = floatBits(b);
  let mismatches = 0;
  let first = -1;
  for (let i = 0; i < a.length; i++) {
    if (ab[i] !== bb[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) {
      if (first < 0) first = i;
      mismatches++;
    }
  }
  return { mismatches, first };
}

function put(heap: KernelHeap, a: Float32Array): number {
  const p = heap.alloc(a.length * 4);
  heap.f32.set(a, p >> 2);
  return p;
}

/** Random floats with the edge cases mixed in: zeros of both signs, tiny, huge, equal runs. */
function awkward(n: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const a = randomArray(n, rand);
  for (let i = 0; i < n; i++) {
    const u = rand();
    if (u < 0.02) a[i] = 0;
    else if (u < 0.03) a[i] = -0;
    else if (u < 0.04) a[i] = a[i]! * 1e-6;
    else if (u < 0.05) a[i] = a[i]! * 1e4;
  }
  return a;
}

describe('fp16 encode / decode (wasm vs floatToHalf / the decoding table)', () => {
  it('encodes every float class bit-identically, ties to even', () => {
    const rand = mulberry32(11);
    const specials = [0, -0, 1, -1, 65504, 65519.99, 65520, 70000, -70000, 6.1e-5, 6.0e-5, 5.96e-8, 2.98e-8, 2.9802322387695312e-8, 1e-10, 1e-45, Infinity, -Infinity, NaN, 0.1, 1 / 3, 2049, 2051, 1.00048828125, 1.00146484375];
    const n = (1 << 20) + 3; // odd length: the scalar tail too
    const src = new Float32Array(specials.length + n);
    src.set(specials);
    const bits = floatBits(src);
    for (let i = specials.length; i < src.length; i++) bits[i] = Math.floor(rand() * 2 ** 32);
    // Every half's exact value and the midpoints between neighbours (ties) too.
    const h = wasm();
    const p = put(h, src);
    const q = h.alloc(src.length * 2);
    h.encodeHalfRows(p, 0, q, 0, 1, src.length);
    const got = h.u16At(q, src.length);
    let mismatches = 0;
    for (let i = 0; i < src.length; i++) {
      const ref = floatToHalf(src[i]!);
      const isNan = (x: number) => (x & 0x7c00) === 0x7c00 && (x & 0x3ff) !== 0;
      if (got[i] !== ref && !(isNan(got[i]!) && isNan(ref))) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('encodes every half value and every tie between neighbouring halves exactly', () => {
    const vals: number[] = [];
    const f = new Float32Array(1);
    const tmp = new Float32Array(65536);
    decodeHalf(Uint16Array.from({ length: 65536 }, (_, i) => i), tmp);
    for (let i = 0; i < 65536; i++) {
      vals.push(tmp[i]!);
      if ((i & 0x7fff) < 0x7bff) {
        f[0] = (tmp[i]! + tmp[i + 1]!) / 2; // midpoint, exact in f32
        vals.push(f[0]);
      }
    }
    const src = Float32Array.from(vals);
    const h = wasm();
    const p = put(h, src);
    const q = h.alloc(src.length * 2);
    h.encodeHalfRows(p, 0, q, 0, 1, src.length);
    const ref = new Uint16Array(src.length);
    encodeHalfBits(floatBits(src), 0, ref, 0, src.length);
    expect(sameHalves(h.u16At(q, src.length), ref)).toBe(0);
  });

  it('decodes all 65536 halves exactly (subnormals, inf, nan), with row strides', () => {
    const all = Uint16Array.from({ length: 65536 + 5 }, (_, i) => i & 0xffff);
    const h = wasm();
    const p = h.alloc(all.length * 2);
    h.u16.set(all, p >> 1);
    const q = h.alloc(all.length * 4);
    h.decodeHalfRows(p, 0, q, 0, 1, all.length);
    const ref = new Float32Array(all.length);
    decodeHalf(all, ref);
    expect(sameFloats(h.f32At(q, all.length), ref).mismatches).toBe(0);
    // 3 rows of 13 with strides 20 (src) and 17 (dst).
    const o = h.calloc(3 * 17 * 4);
    h.decodeHalfRows(p, 20, o, 17, 3, 13);
    const got = h.f32At(o, 3 * 17);
    for (let r = 0; r < 3; r++) {
      for (let i = 0; i < 17; i++) expect(got[r * 17 + i]).toBe(i < 13 ? ref[r * 20 + i] : 0);
    }
  });
});

function sameHalves(a: Uint16Array, b: Uint16Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) m++;
  return m;
}

/** Pairs of rows covering the SLERP special cases, then random correlated rows. */
function pairRows(rows: number, width: number, seed: number): [Float32Array, Float32Array] {
  const rand = mulberry32(seed);
  const a = randomArray(rows * width, rand);
  const noise = randomArray(rows * width, rand);
  const b = a.map((x, i) => 0.8 * x + 0.6 * noise[i]!);
  const row = (arr: Float32Array, r: number) => arr.subarray(r * width, (r + 1) * width);
  row(a, 0).fill(0); // zero prev
  row(b, 1).fill(0); // zero cur
  row(a, 2).fill(0);
  row(b, 2).fill(0); // both zero
  row(b, 3).set(row(a, 3).map((x) => -x)); // antiparallel
  row(b, 4).set(row(a, 4).map((x) => -x * (1 + 1e-4))); // nearly antiparallel
  row(b, 5).set(row(a, 5)); // parallel
  row(b, 6).set(row(a, 6).map((x) => 3 * x)); // parallel, other norm
  row(a, 7)[1] = Infinity; // non-finite
  row(b, 8)[0] = NaN;
  row(a, 9).fill(1e-30); // underflowing sums
  row(a, 10).fill(3e19); // overflowing sums
  row(a, 11).set(row(a, 11).map((x) => x * 5000)); // magnitude beyond fp16
  return [a, b];
}

describe('SLERP merge (wasm vs slerpMergeRows)', () => {
  for (const width of [128, 8, 37, 2]) {
    it(`width ${width}: directions, magnitudes, angles and forced flags bit-identical`, () => {
      const rows = 300;
      const [a, b] = pairRows(rows, width, width);
      // Every t is compared on its own (a merge overwrites the previous one's outputs).
      const tValues = [0.6, 0, 1, 0.5];
      const runs = [wasm(), ts()].map((h) => {
        const pa = put(h, a);
        const pb = put(h, b);
        const dir = h.alloc(rows * width * 4);
        return tValues.map((t) => {
          const out = allocMergeRows(rows, width);
          h.mergeRows(pa, pb, rows, width, { t, antiparallelEps: 0.01 }, dir, out);
          return { dir: h.f32At(dir, rows * width).slice(), out };
        });
      });
      const [wr, rr] = runs as [(typeof runs)[0], (typeof runs)[0]];
      expect(wr).toHaveLength(tValues.length);
      tValues.forEach((t, i) => {
        const w = wr[i]!;
        const r = rr[i]!;
        expect(sameFloats(w.dir, r.dir), `t ${t}`).toEqual({ mismatches: 0, first: -1 });
        for (const k of ['magPrev', 'magCur', 'd', 'cos'] as const) expect(sameFloats(w.out[k], r.out[k]).mismatches, `t ${t} ${k}`).toBe(0);
        expect([...w.out.forced], `t ${t}`).toEqual([...r.out.forced]);
      });
      // The four merges differ (t reaches the kernels): t = 0 and t = 1 give different directions.
      expect(sameFloats(wr[1]!.dir, wr[2]!.dir).mismatches).toBeGreaterThan(0);
    });
  }
});

describe('restore (wasm vs restoreRows after decodeHalf): f32, within a bound', () => {
  for (const width of [128, 8, 12, 37]) {
    for (const half of [true, false]) {
      it(`width ${width}, direction ${half ? 'fp16 (fused decode)' : 'f32 in place'}: within (width/4 + 3)·2^-24 relative`, () => {
        const rows = 257;
        const dirF = awkward(rows * width, 7 + width);
        dirF.subarray(0, width).fill(0); // zero direction
        const dirH = new Uint16Array(rows * width);
        encodeHalfBits(floatBits(dirF), 0, dirH, 0, dirH.length);
        const rand = mulberry32(5);
        const mags = Uint16Array.from({ length: 2 * rows }, () => floatToHalf(rand() * 40));
        mags[3] = 0x7c00; // infinite magnitude
        mags[4] = 0x0001; // subnormal
        const run = (h: KernelHeap) => {
          const d = h.alloc(dirH.length * 2);
          h.u16.set(dirH, d >> 1);
          const m = h.alloc(mags.length * 2);
          h.u16.set(mags, m >> 1);
          const op = h.alloc(rows * width * 4);
          const oc = h.alloc(rows * width * 4);
          let dir = d;
          if (!half) {
            h.decodeHalfRows(d, 0, oc, 0, 1, rows * width);
            dir = oc;
          }
          h.restoreRows(dir, half, m, m + 2 * rows, rows, width, op, oc);
          return [h.f32At(op, rows * width).slice(), h.f32At(oc, rows * width).slice()];
        };
        const [wp, wc] = run(wasm()) as [Float32Array, Float32Array];
        const [rp, rc] = run(ts()) as [Float32Array, Float32Array];
        // restore is the one kernel computed in f32 (‖e‖² over four lanes, f32 scale): each
        // element within (width/4 + 3)·2^-24 of the reference, relatively; NaN and inf alike.
        const bound = (Math.ceil(width / 4) + 3) * 2 ** -24;
        const rel = (a: Float32Array, b: Float32Array) => {
          let worst = 0;
          let bad = 0;
          for (let i = 0; i < a.length; i++) {
            const x = a[i]!;
            const y = b[i]!;
            if (Number.isNaN(x) || Number.isNaN(y) || !Number.isFinite(x) || !Number.isFinite(y)) {
              if (!Object.is(x, y) && !(Number.isNaN(x) && Number.isNaN(y))) bad++;
              continue;
            }
            const e = Math.abs(x - y) / Math.max(Math.abs(y), 1e-38);
            if (Math.abs(x - y) > 1e-44) worst = Math.max(worst, e);
          }
          return { worst, bad };
        };
        for (const [a, b] of [[wp, rp], [wc, rc]] as const) {
          const { worst, bad } = rel(a, b);
          expect(bad).toBe(0);
          expect(worst).toBeLessThanOrEqual(bound);
        }
      });
    }
  }
});

/** Groups that stress the quantizer: constant, ±0 minima, exact ties, huge and tiny ranges. */
function quantInput(n: number, G: number, seed: number, levels: number): Float32Array {
  const rand = mulberry32(seed);
  const a = awkward(n, seed);
  const groups = Math.floor(n / G);
  for (let g = 0; g < groups; g++) {
    const s = a.subarray(g * G, (g + 1) * G);
    const u = rand();
    if (u < 0.05) s.fill(s[0]!); // constant group
    else if (u < 0.1) s.fill(0).forEach((_, i) => (s[i] = i % 3 === 0 ? -0 : i % 3 === 1 ? 0 : 1));
    else if (u < 0.2) s.forEach((_, i) => (s[i] = ((i * 7) % (2 * levels + 1)) / 2)); // codes at .5: ties
    else if (u < 0.25) s.forEach((_, i) => (s[i] = s[i]! * 1e-5));
    else if (u < 0.3) s.forEach((_, i) => (s[i] = s[i]! * 3000));
  }
  return a;
}

describe('KIVI quantize / dequantize (wasm vs the references)', () => {
  const shapes: { width: number; G: number }[] = [
    { width: 128, G: 32 },
    { width: 128, G: 128 },
    { width: 64, G: 16 },
    { width: 36, G: 12 }, // keys: the last 16-column block overlaps; values: the generic packing
    { width: 8, G: 8 }, // stories260K-like: the vector paths' fallbacks
    { width: 12, G: 4 },
  ];
  for (const { width, G } of shapes) {
    for (const bits of [2, 4, 8] as QuantBits[]) {
      it(`keys per channel, width ${width}, G ${G}, ${bits}-bit: codes, params and dequantized values bit-identical`, () => {
        const tiles = 23;
        const wpg = Math.ceil((G * bits) / 32);
        // Tile rows laid so each channel's G tokens form one group of quantInput.
        const src = transposeTiles(quantInput(tiles * G * width, G, 100 + bits + width, (1 << bits) - 1), tiles, G, width);
        const run = (h: KernelHeap) => {
          const s = put(h, src);
          const codes = h.calloc(tiles * wpg * width * 4);
          const sc = h.calloc(tiles * width * 2);
          const mn = h.calloc(tiles * width * 2);
          const out = h.alloc(src.length * 4);
          h.quantTokens(s, tiles, G * width, width, G, bits, codes, wpg * width, sc, mn, width);
          h.dequantTokens(codes, tiles, wpg * width, sc, mn, width, width, G, bits, out, G * width);
          return { codes: h.u32At(codes, tiles * wpg * width).slice(), sc: h.u16At(sc, tiles * width).slice(), mn: h.u16At(mn, tiles * width).slice(), out: h.f32At(out, src.length).slice() };
        };
        const w = run(wasm());
        const r = run(ts());
        expect(diffCount(w.codes, r.codes)).toBe(0);
        expect(diffCount(w.sc, r.sc)).toBe(0);
        expect(diffCount(w.mn, r.mn)).toBe(0);
        expect(sameFloats(w.out, r.out).mismatches).toBe(0);
      });

      it(`values per token, width ${width}, G ${G}, ${bits}-bit: codes, params and dequantized values bit-identical`, () => {
        const rows = 301;
        const wpt = (width / G) * Math.ceil((G * bits) / 32);
        const src = quantInput(rows * width, G, 200 + bits + width, (1 << bits) - 1);
        const run = (h: KernelHeap) => {
          const s = put(h, src);
          const codes = h.calloc(rows * wpt * 4);
          const sc = h.calloc((rows * width) / G * 2);
          const mn = h.calloc((rows * width) / G * 2);
          const out = h.alloc(src.length * 4);
          h.quantChannels(s, rows, width, width, G, bits, codes, wpt, sc, mn, width / G);
          h.dequantChannels(codes, rows, wpt, sc, mn, width / G, width, G, bits, out, width);
          return { codes: h.u32At(codes, rows * wpt).slice(), sc: h.u16At(sc, (rows * width) / G).slice(), mn: h.u16At(mn, (rows * width) / G).slice(), out: h.f32At(out, src.length).slice() };
        };
        const w = run(wasm());
        const r = run(ts());
        expect(diffCount(w.codes, r.codes)).toBe(0);
        expect(diffCount(w.sc, r.sc)).toBe(0);
        expect(diffCount(w.mn, r.mn)).toBe(0);
        expect(sameFloats(w.out, r.out).mismatches).toBe(0);
      });
    }
  }
});

describe('quantizer rounding (float32 arithmetic, ties to even, no fallback path)', () => {
  it('rounds exact ties to even in both layouts, like the reference', () => {
    // A group 0, 1, …, 15, then ties 0.5 … 7.5 at scale 1: codes 0, 2, 2, 4, 4, 6, 6, 8.
    const tie = Float32Array.from({ length: 32 }, (_, i) => (i < 16 ? i : ((i - 16) % 8) + 0.5));
    const expected = [0, 2, 2, 4, 4, 6, 6, 8];
    for (const h of [wasm(), ts()]) {
      const q = put(h, tie);
      const codes = h.calloc(16);
      const sc = h.calloc(2);
      const mn = h.calloc(2);
      h.quantChannels(q, 1, 32, 32, 32, 4, codes, 4, sc, mn, 1);
      const w = h.u32At(codes, 4);
      expect(Array.from({ length: 8 }, (_, k) => (w[2]! >>> (4 * k)) & 0xf)).toEqual(expected);
      // Keys: the same 32 values as 32 tokens of 16 identical channels.
      const tile = put(h, Float32Array.from({ length: 32 * 16 }, (_, i) => tie[i >> 4]!));
      const kc = h.calloc(4 * 16 * 4);
      const ks = h.calloc(32);
      const km = h.calloc(32);
      h.quantTokens(tile, 1, 32 * 16, 16, 32, 4, kc, 4 * 16, ks, km, 16);
      const kw = h.u32At(kc, 4 * 16);
      for (const c of [0, 7, 15]) expect(Array.from({ length: 8 }, (_, k) => (kw[2 * 16 + c]! >>> (4 * k)) & 0xf)).toEqual(expected);
    }
  });

  it('divides in float32: quotients that float64 would round the other way follow float32', () => {
    // min −1, max 2: scale half(f32(3/15)) = 0.199951171875. For these x, f32(f32(x + 1)/scale)
    // is the exact tie 3.5 or 4.5 (→ 4, ties to even) where the float64 quotient lies just
    // below 3.5 (→ 3) or just above 4.5 (→ 5).
    const xs = [-0.3001709282398224, -0.10021969676017761];
    const group = Float32Array.from({ length: 32 }, (_, i) => (i === 0 ? -1 : i === 1 ? 2 : xs[i & 1]!));
    for (const x of xs) {
      const v = Math.fround(Math.fround(x + 1) / 0.199951171875);
      expect(roundHalfEven(v)).toBe(4);
      expect(roundHalfEven((x + 1) / 0.199951171875)).not.toBe(4);
    }
    for (const h of [wasm(), ts()]) {
      const p = put(h, group);
      const codes = h.calloc(16);
      const sc = h.calloc(2);
      const mn = h.calloc(2);
      h.quantChannels(p, 1, 32, 32, 32, 4, codes, 4, sc, mn, 1);
      expect(halfToFloat(h.u16At(sc, 1)[0]!)).toBe(0.199951171875);
      const w = h.u32At(codes, 4);
      expect(Array.from({ length: 30 }, (_, k) => (w[(k + 2) >> 3]! >>> (4 * ((k + 2) & 7))) & 0xf)).toEqual(new Array(30).fill(4));
    }
  });
});

describe('quantizer near ties (adversarial quotients)', () => {
  // Neighbouring float32 values.
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  const step = (x: number, d: number): number => {
    f32[0] = x;
    u32[0] = u32[0]! + (x >= 0 ? d : -d);
    return f32[0];
  };
  /** The definition: roundHalfEven(clamp(f32(f32(x − mn)/sc), 0, levels)). */
  const exact = (x: number, mn: number, sc: number, levels: number): number => {
    const v = Math.fround(Math.fround(x - mn) / sc);
    return roundHalfEven(v > 0 ? (v < levels ? v : levels) : 0);
  };

  for (const bits of [2, 4, 8] as QuantBits[]) {
    it(`${bits}-bit: quotients at exact halves and one ulp either side give the definition's codes in both kernels and layouts`, () => {
      const levels = (1 << bits) - 1;
      const G = 32;
      const rand = mulberry32(900 + bits);
      const groups: number[][] = [];
      // Groups with element 0 the minimum and element 1 the maximum; the other 30 elements are
      // floats x whose f32 quotient f32(f32(x − mn)/sc) is a half k + ½ or its float32 neighbour.
      for (let g = 0; g < 64; g++) {
        const mn = halfToFloat(floatToHalf(-1 - 4 * rand()));
        const mx = Math.fround(mn + 0.5 + 6 * rand());
        const sc = halfToFloat(floatToHalf(Math.fround(Math.fround(mx - mn) / levels)));
        const xs: number[] = [mn, mx];
        while (xs.length < G) {
          const k = Math.floor(rand() * levels);
          const target = [k + 0.5, step(k + 0.5, 1), step(k + 0.5, -1)][xs.length % 3]!;
          // Search the floats around mn + target·sc for one whose quotient is exactly the target.
          let x = Math.fround(mn + target * sc);
          let found: number | null = null;
          for (let d = -64; d <= 64 && found === null; d++) {
            const c = step(x, d);
            if (Math.fround(Math.fround(c - mn) / sc) === target && c >= mn && c <= mx) found = c;
          }
          xs.push(found ?? Math.fround(mn + k * sc));
        }
        groups.push(xs);
      }
      const ties = groups.flat().filter((x, i) => {
        const g = groups[Math.floor(i / G)]!;
        const sc = halfToFloat(floatToHalf(Math.fround(Math.fround(g[1]! - g[0]!) / levels)));
        return Math.fround(Math.fround(x - g[0]!) / sc) % 1 === 0.5;
      }).length;
      expect(ties).toBeGreaterThan(200); // the search found exact halves, not just neighbours
      const values = Float32Array.from(groups.flat());
      const wpg = Math.ceil((G * bits) / 32);
      for (const h of [wasm(), ts()]) {
        // Values layout: one group per row.
        const src = put(h, values);
        const codes = h.calloc(groups.length * wpg * 4);
        const sc = h.calloc(groups.length * 2);
        const mn = h.calloc(groups.length * 2);
        h.quantChannels(src, groups.length, G, G, G, bits, codes, wpg, sc, mn, 1);
        // Keys layout: group g in all 16 channels of tile g.
        const tile = put(h, Float32Array.from({ length: groups.length * G * 16 }, (_, i) => values[Math.floor(i / (G * 16)) * G + (Math.floor(i / 16) % G)]!));
        const kc = h.calloc(groups.length * wpg * 16 * 4);
        const ks = h.calloc(groups.length * 16 * 2);
        const km = h.calloc(groups.length * 16 * 2);
        h.quantTokens(tile, groups.length, G * 16, 16, G, bits, kc, wpg * 16, ks, km, 16);
        // Views after the last allocation (an allocation may grow the memory and detach them).
        const w = h.u32At(codes, groups.length * wpg);
        const kw = h.u32At(kc, groups.length * wpg * 16);
        const perWord = 32 / bits;
        let mismatches = 0;
        groups.forEach((g, gi) => {
          const scale = halfToFloat(h.u16At(sc + gi * 2, 1)[0]!);
          const min = halfToFloat(h.u16At(mn + gi * 2, 1)[0]!);
          g.forEach((x, j) => {
            const want = exact(x, min, scale, levels);
            const got = (w[gi * wpg + Math.floor(j / perWord)]! >>> (bits * (j % perWord))) & levels;
            const gotKey = (kw[(gi * wpg + Math.floor(j / perWord)) * 16 + (gi % 16)]! >>> (bits * (j % perWord))) & levels;
            if (got !== want || gotKey !== want) mismatches++;
          });
        });
        expect(mismatches).toBe(0);
      }
    });
  }
});

/** [tiles][width][G] (groups contiguous) → [tiles][G][width] (the key tile layout). */
function transposeTiles(a: Float32Array, tiles: number, G: number, width: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let t = 0; t < tiles; t++) {
    for (let c = 0; c < width; c++) for (let j = 0; j < G; j++) out[t * G * width + j * width + c] = a[t * G * width + c * G + j]!;
  }
  return out;
}

function diffCount(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) m++;
  return m;
}
