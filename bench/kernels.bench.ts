/**
 * Throughput of the compression kernels in GB/s of fp16 cache processed, each beside a plain
 * TypedArray.prototype.set copy of the same bytes measured in the same run (issue 4 targets:
 * restore and dequantize ≥ 30% of the copy's rate, merge and quantize ≥ 15%).
 *
 * Run: npx vite-node bench/kernels.bench.ts            (or: npm run build && node dist/bench/kernels.bench.js)
 * Options (env): BENCH_TOKENS (default 1024), BENCH_HEADS (32), BENCH_TIME_MS (400).
 *
 * One operation covers one LLaMA-2-7B-like layer pair (or layer): H heads × n tokens × D=128.
 * "fp16 bytes processed" is the fp16 size of the cache state the operation covers:
 *   merge    both layers of a pair (in: float32 K of both layers → out: unit directions, norms, angles)
 *   restore  both layers of a pair (in: fp16 directions + fp16 magnitudes → out: float32 layers)
 *   quantize one layer (float32 → KIVI-4 codes + fp16 scale/min), keys per-channel and values per-token
 *   dequantize the reverse
 */
import { Bench } from 'tinybench';
import { decodeHalf, encodeHalfBits, floatBits } from '../src/kernels/half.js';
import {
  dequantizeAlongChannels,
  dequantizeAlongTokens,
  quantizeAlongChannels,
  quantizeAlongTokens,
  type QuantBits,
} from '../src/kernels/quantize.js';
import { restoreRows } from '../src/kernels/restore.js';
import { allocMergeRows, slerpMergeRows } from '../src/kernels/slerp.js';

const D = 128;
const tokens = Number(process.env.BENCH_TOKENS ?? 1024);
const heads = Number(process.env.BENCH_HEADS ?? 32);
const timeMs = Number(process.env.BENCH_TIME_MS ?? 400);
const rows = heads * tokens;
const elements = rows * D;
const G = 32;
const bits: QuantBits = 4;

function gaussian(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const rand = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
  return a;
}

// Inputs: two correlated layers.
const prev = gaussian(elements, 1);
const noise = gaussian(elements, 2);
const cur = prev.map((x, i) => 0.8 * x + 0.6 * noise[i]!);
const merged = allocMergeRows(rows, D);
const opts = { t: 0.6, antiparallelEps: 0.01 };
slerpMergeRows(prev, cur, rows, D, opts, merged);

// fp16 record as a store holds it.
const dirHalf = new Uint16Array(elements);
encodeHalfBits(floatBits(merged.dir), 0, dirHalf, 0, elements);
const magPrevHalf = new Uint16Array(rows);
const magCurHalf = new Uint16Array(rows);
encodeHalfBits(floatBits(merged.magPrev), 0, magPrevHalf, 0, rows);
encodeHalfBits(floatBits(merged.magCur), 0, magCurHalf, 0, rows);
const magPrev = new Float32Array(rows);
const magCur = new Float32Array(rows);
const outPrev = new Float32Array(elements);
const outCur = new Float32Array(elements);

// KIVI-4 buffers for one layer.
const words = (elements * bits) / 32;
const codes = new Uint32Array(words);
const tokenParams = elements / G;
const scales = new Uint16Array(tokenParams);
const mins = new Uint16Array(tokenParams);
const deq = new Float32Array(elements);

function quantizeKeys(): void {
  const tileWords = (G * bits * D) / 32;
  for (let h = 0; h < heads; h++) {
    for (let g = 0; g < tokens / G; g++) {
      const tile = h * (tokens / G) + g;
      quantizeAlongTokens(prev, tile * G * D, D, G, bits, codes, tile * tileWords, scales, mins, tile * D);
    }
  }
}
function dequantizeKeys(): void {
  const tileWords = (G * bits * D) / 32;
  for (let tile = 0; tile < rows / G; tile++) dequantizeAlongTokens(codes, tile * tileWords, scales, mins, tile * D, D, G, bits, deq, tile * G * D);
}
function quantizeValues(): void {
  const wpt = (D * bits) / 32;
  for (let r = 0; r < rows; r++) quantizeAlongChannels(prev, r * D, D, G, bits, codes, r * wpt, scales, mins, (r * D) / G);
}
function dequantizeValues(): void {
  const wpt = (D * bits) / 32;
  for (let r = 0; r < rows; r++) dequantizeAlongChannels(codes, r * wpt, scales, mins, (r * D) / G, D, G, bits, deq, r * D);
}

// Copy baselines: the same fp16 byte counts, copied with TypedArray.prototype.set.
const pairHalfA = new Uint16Array(2 * elements);
const pairHalfB = new Uint16Array(2 * elements);
const layerHalfA = new Uint16Array(elements);
const layerHalfB = new Uint16Array(elements);

interface Op {
  name: string;
  fp16Bytes: number;
  target: number;
  run: () => void;
  copy: string;
}

const ops: Op[] = [
  { name: 'merge (SLERP pair)', fp16Bytes: 2 * elements * 2, target: 0.15, copy: 'copy pair', run: () => slerpMergeRows(prev, cur, rows, D, opts, merged) },
  {
    name: 'restore (fp16 record → pair)',
    fp16Bytes: 2 * elements * 2,
    target: 0.3,
    copy: 'copy pair',
    run: () => {
      decodeHalf(magPrevHalf, magPrev, 0, rows, 0);
      decodeHalf(magCurHalf, magCur, 0, rows, 0);
      decodeHalf(dirHalf, outCur, 0, elements, 0);
      restoreRows(outCur, magPrev, magCur, rows, D, outPrev, outCur);
    },
  },
  { name: 'quantize keys (KIVI-4, per-channel)', fp16Bytes: elements * 2, target: 0.15, copy: 'copy layer', run: quantizeKeys },
  { name: 'dequantize keys (KIVI-4)', fp16Bytes: elements * 2, target: 0.3, copy: 'copy layer', run: dequantizeKeys },
  { name: 'quantize values (KIVI-4, per-token)', fp16Bytes: elements * 2, target: 0.15, copy: 'copy layer', run: quantizeValues },
  { name: 'dequantize values (KIVI-4)', fp16Bytes: elements * 2, target: 0.3, copy: 'copy layer', run: dequantizeValues },
];

const only = process.env.BENCH_ONLY;
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const selected = ops.filter((op) => !only || op.name.includes(only));
quantizeKeys(); // so dequantize keys starts from real codes

/** Mean latency (ms) of one task, measured by tinybench. */
async function measure(name: string, fn: () => void): Promise<number> {
  const bench = new Bench({ name, time: timeMs, warmup: true });
  bench.add(name, fn);
  await bench.run();
  const r = bench.getTask(name)?.result;
  if (!r || !('latency' in r)) throw new Error(`no result for ${name}`);
  return r.latency.mean;
}

const copies: Record<string, () => void> = {
  'copy pair': () => pairHalfB.set(pairHalfA),
  'copy layer': () => layerHalfB.set(layerHalfA),
};
const gbps = (bytes: number, ms: number): number => bytes / (ms * 1e6);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(`compression kernels: ${heads} heads × ${tokens} tokens × D ${D} per layer (${(elements * 2) / 2 ** 20} MiB fp16 per layer); ${rounds} rounds of ${timeMs} ms per task, copy measured right before each kernel; medians`);
console.log('| operation | fp16 MiB | kernel GB/s | copy GB/s | kernel/copy | target | met |');
console.log('|---|---|---|---|---|---|---|');
for (const op of selected) {
  const k: number[] = [];
  const c: number[] = [];
  const ratio: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const copyMs = await measure(op.copy, copies[op.copy]!);
    const opMs = await measure(op.name, op.run);
    k.push(gbps(op.fp16Bytes, opMs));
    c.push(gbps(op.fp16Bytes, copyMs));
    ratio.push(copyMs / opMs);
  }
  const r = median(ratio);
  console.log(`| ${op.name} | ${(op.fp16Bytes / 2 ** 20).toFixed(0)} | ${median(k).toFixed(2)} | ${median(c).toFixed(2)} | ${(100 * r).toFixed(0)}% | ${op.target * 100}% | ${r >= op.target ? 'yes' : 'no'} |`);
}
