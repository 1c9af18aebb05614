/**
 * RoPE as the epilogue of the QKV projection in the row-group matmul kernels (row4/row8): the
 * kernel's weight rows are grouped so that each workgroup holds whole rotation quads — four
 * channels of one head that rotate in two pairs and fill two u32 words of an fp16 cache row —
 * and the workgroup rotates them and hands K and V to the cache itself. Decode at batch ≤ 8 then
 * makes one dispatch fewer a layer (the separate RoPE kernel, rope.ts, which this must equal).
 *
 * Quads, as rope.ts rotates them (j = quad index within a head, half = D/2):
 *  - 'interleaved': channels 4j, 4j+1, 4j+2, 4j+3; pairs (4j, 4j+1) and (4j+2, 4j+3) at
 *    frequencies 2j and 2j+1; cache words 2j and 2j+1.
 *  - 'half': channels 2j, 2j+half, 2j+1, 2j+1+half; pairs (2j, 2j+half), (2j+1, 2j+1+half) at
 *    frequencies 2j and 2j+1; cache words j (channels 2j, 2j+1) and j + half/2.
 * A workgroup of `rows` weight rows covers rows/4 quads: in the Q and K heads, 'interleaved' takes
 * rows consecutive channels, 'half' rows/2 consecutive channels from each half of the head. V rows
 * stay in order (not rotated; each quad is four consecutive channels, words channel/2).
 */
import type { RopeLayout } from './rope.js';

export interface RopeEpilogue {
  /** Tokens per sequence in this pass (row m is token m mod T of sequence m div T). */
  T: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  layout: RopeLayout;
  /** 'fp16': also store the rotated K and V in the fp16 cache [B, KV, cap, D]; 'none': QKV only. */
  write: 'fp16' | 'none';
  /** Cache capacity in slots per sequence. */
  cap: number;
}

/** Storage bindings the epilogue adds (cos/sin table, starts, prm, and with 'fp16' the K and V caches). */
export function ropeEpilogueBindings(r: RopeEpilogue): number {
  return r.write === 'fp16' ? 5 : 3;
}

/** Why the row-group kernel of `rows` rows cannot rotate this shape itself, or null. */
export function ropeEpilogueProblem(r: RopeEpilogue, rows: number): string | null {
  if (r.headDim % rows !== 0) return `head dim ${r.headDim} is not a multiple of the ${rows}-row group`;
  if (rows % 4 !== 0) return `a ${rows}-row group holds no whole quads`;
  return null;
}

/** The buffers the epilogue binds, in ropeEpilogueDecl's order (the caches only with 'fp16'). */
export function ropeEpilogueBuffers(r: RopeEpilogue, b: { cosSin: GPUBuffer; starts: GPUBuffer; prm: GPUBuffer; caches: GPUBuffer[] }): GPUBuffer[] {
  return [b.cosSin, b.starts, b.prm, ...(r.write === 'fp16' ? b.caches : [])];
}

/** WGSL declarations from binding `first` on: cosSin, starts, prm, [Kc, Vc]. */
export function ropeEpilogueDecl(r: RopeEpilogue, first: number): string {
  return `struct RopePrm { slot: u32, b0: u32 }
@group(0) @binding(${first}) var<storage, read> cosSin: array<vec2f>;
@group(0) @binding(${first + 1}) var<storage, read> starts: array<u32>;
@group(0) @binding(${first + 2}) var<storage, read> prm: RopePrm;
${
  r.write === 'fp16'
    ? `@group(0) @binding(${first + 3}) var<storage, read_write> Kc: array<u32>;
@group(0) @binding(${first + 4}) var<storage, read_write> Vc: array<u32>;
`
    : ''
}`;
}

/** WGSL: fn wrow(wg, r) — the weight row that local row r of workgroup wg computes. */
export function ropeRowMapWgsl(r: RopeEpilogue, rows: number): string {
  const D = r.headDim;
  const gph = D / rows; // groups per head
  const rotGroups = (r.heads + r.kvHeads) * gph;
  const rot =
    r.layout === 'interleaved'
      ? `h * ${D}u + gi * ${rows}u + r`
      : `h * ${D}u + select(${D / 2}u + gi * ${rows / 2}u + r - ${rows / 2}u, gi * ${rows / 2}u + r, r < ${rows / 2}u)`;
  return `fn wrow(wg: u32, r: u32) -> u32 {
  if (wg >= ${rotGroups}u) { return wg * ${rows}u + r; }
  let h = wg / ${gph}u;
  let gi = wg % ${gph}u;
  return ${rot};
}
`;
}

/**
 * WGSL of the epilogue: threads e of T take (quad, row m) pairs; val(a, m) is accumulator a's
 * final value (a = local row · M + m, as the row-group kernel lays them out).
 */
export function ropeEpilogueWgsl(r: RopeEpilogue, rows: number, M: number, threads: number, val: (a: string, m: string) => string): string {
  const { heads: H, kvHeads: KV, headDim: D, layout, T, cap } = r;
  const N = (H + 2 * KV) * D;
  const half = D / 2;
  const gph = D / rows;
  const quads = rows / 4;
  // local rows of the quad's channels c0..c3, and (for the cache) the words and value pairs
  const lr =
    layout === 'interleaved'
      ? ['4u * q', '4u * q + 1u', '4u * q + 2u', '4u * q + 3u']
      : ['2u * q', `${rows / 2}u + 2u * q`, '2u * q + 1u', `${rows / 2}u + 2u * q + 1u`];
  const words = layout === 'interleaved' ? { w0: '2u * j', w1: '2u * j + 1u', p0: 'vec2f(r0.x, r0.y)', p1: 'vec2f(r1.x, r1.y)' } : { w0: 'j', w1: `j + ${half / 2}u`, p0: 'vec2f(r0.x, r1.x)', p1: 'vec2f(r0.y, r1.y)' };
  const cacheK =
    r.write === 'fp16'
      ? `if (h >= ${H}u) {
        let kb = ((bg * ${KV}u + h - ${H}u) * ${cap}u + slot) * ${D / 2}u;
        Kc[kb + ${words.w0}] = pack2x16float(${words.p0});
        Kc[kb + ${words.w1}] = pack2x16float(${words.p1});
      }`
      : '';
  const cacheV =
    r.write === 'fp16'
      ? `let vc = n0 - ${(H + KV) * D}u;
      let vb = ((bg * ${KV}u + vc / ${D}u) * ${cap}u + slot) * ${D / 2}u + (vc % ${D}u) / 2u;
      Vc[vb] = pack2x16float(vec2f(x0, x1));
      Vc[vb + 1u] = pack2x16float(vec2f(x2, x3));`
      : '';
  return `for (var e = tid; e < ${quads * M}u; e += ${threads}u) {
    let q = e / ${M}u;
    let m = e % ${M}u;
    let b = m / ${T}u;
    let bg = prm.b0 + b;
    let slot = prm.slot + m % ${T}u;
    if (wg < ${(H + KV) * gph}u) {
      let x0 = ${val(`(${lr[0]}) * ${M}u + m`, 'm')};
      let x1 = ${val(`(${lr[1]}) * ${M}u + m`, 'm')};
      let x2 = ${val(`(${lr[2]}) * ${M}u + m`, 'm')};
      let x3 = ${val(`(${lr[3]}) * ${M}u + m`, 'm')};
      let h = wg / ${gph}u;
      let j = (wg % ${gph}u) * ${quads}u + q;
      let pos = u32(max(0i, i32(slot) - i32(starts[bg])));
      let cs0 = cosSin[pos * ${half}u + 2u * j];
      let cs1 = cosSin[pos * ${half}u + 2u * j + 1u];
      let r0 = vec2f(x0 * cs0.x - x1 * cs0.y, x0 * cs0.y + x1 * cs0.x);
      let r1 = vec2f(x2 * cs1.x - x3 * cs1.y, x2 * cs1.y + x3 * cs1.x);
      Y[m * ${N}u + wrow(wg, ${lr[0]})] = r0.x;
      Y[m * ${N}u + wrow(wg, ${lr[1]})] = r0.y;
      Y[m * ${N}u + wrow(wg, ${lr[2]})] = r1.x;
      Y[m * ${N}u + wrow(wg, ${lr[3]})] = r1.y;
      ${cacheK}
    } else {
      // V: not rotated, four consecutive channels
      let x0 = ${val(`(4u * q) * ${M}u + m`, 'm')};
      let x1 = ${val(`(4u * q + 1u) * ${M}u + m`, 'm')};
      let x2 = ${val(`(4u * q + 2u) * ${M}u + m`, 'm')};
      let x3 = ${val(`(4u * q + 3u) * ${M}u + m`, 'm')};
      let n0 = wg * ${rows}u + 4u * q;
      Y[m * ${N}u + n0] = x0;
      Y[m * ${N}u + n0 + 1u] = x1;
      Y[m * ${N}u + n0 + 2u] = x2;
      Y[m * ${N}u + n0 + 3u] = x3;
      ${cacheV}
    }
  }`;
}
