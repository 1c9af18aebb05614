/**
 * Throughput of the compression kernels in GB/s of fp16 cache processed, each beside a plain
 * TypedArray.prototype.set copy of the same bytes measured in the same run (issue 4 targets:
 * restore and dequantize ≥ 30% of the copy's rate, merge and quantize ≥ 15%).
 *
 * Two implementations per operation: the WebAssembly SIMD kernel on buffers in the kernel heap
 * (src/kernels/wasm/heap.ts: where the methods keep their cache) and the TypeScript reference
 * (src/kernels/*.ts) on ordinary typed arrays. The copy runs on buffers in the same heap.
 *
 * Run: npm run build && node dist/bench/kernels.bench.js      (or: npx vite-node bench/kernels.bench.ts)
 * Options (env): BENCH_TOKENS (default "1024,8192": one table per size; 8192 tokens is 64 MiB of
 * fp16 per layer, beyond a 32 MiB L3), BENCH_HEADS (32), BENCH_TIME_MS (400), BENCH_ROUNDS (3),
 * BENCH_ONLY=<substring>, BENCH_TS=0 to skip the TypeScript rows.
 *
 * One operation covers one LLaMA-2-7B-like layer pair (or layer): H heads × n tokens × D=128.
 * "fp16 bytes processed" is the fp16 size of the cache state the operation covers:
 *   merge    both layers of a pair (in: float32 K of both layers → out: unit directions, norms, angles)
 *   restore  both layers of a pair (in: fp16 directions + fp16 magnitudes → out: float32 layers)
 *   quantize one layer (float32 → KIVI-4 codes + fp16 scale/min), keys per-channel and values per-token
 *   dequantize the reverse
 *   fp16 encode / decode one layer (float32 ↔ fp16)
 * The "probe" rows are roofline micro-benchmarks (wasm/kernels.ts, roofline probes), credited
 * with one layer's fp16 bytes like dequantize and quantize: a sequential float32 store stream,
 * key dequantize's arithmetic with its inputs in L1, and the quantizer's min/max read.
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
import { KernelHeap } from '../src/kernels/wasm/heap.js';

const D = 128;
const tokenSizes = String(process.env.BENCH_TOKENS ?? '1024,8192').split(',').map(Number);
const heads = Number(process.env.BENCH_HEADS ?? 32);
const timeMs = Number(process.env.BENCH_TIME_MS ?? 400);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const only = process.env.BENCH_ONLY;
const withTs = process.env.BENCH_TS !== '0';
const G = 32;
const bits: QuantBits = 4;
const opts = { t: 0.6, antiparallelEps: 0.01 };

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

interface Op {
  name: string;
  fp16Bytes: number;
  target: number | null;
  wasm: () => void;
  /** The TypeScript reference; null for the roofline probes. */
  ts: (() => void) | null;
  /** Copy of the same number of fp16 bytes. */
  copy: () => void;
}

function setup(tokens: number): Op[] {
  const rows = heads * tokens;
  const elements = rows * D;
  const heap = new KernelHeap('wasm');

  // Inputs: two correlated layers, as ordinary arrays (TypeScript rows) and in the heap.
  const prev = gaussian(elements, 1);
  const noise = gaussian(elements, 2);
  const cur = prev.map((x, i) => 0.8 * x + 0.6 * noise[i]!);
  const merged = allocMergeRows(rows, D);
  slerpMergeRows(prev, cur, rows, D, opts, merged);
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
  const words = (elements * bits) / 32;
  const codes = new Uint32Array(words);
  const params = elements / G;
  const scales = new Uint16Array(params);
  const mins = new Uint16Array(params);
  const deq = new Float32Array(elements);
  const half = new Uint16Array(elements);

  // The same buffers in the kernel heap (all allocations first: views are taken afterwards).
  const hPrev = heap.alloc(elements * 4);
  const hCur = heap.alloc(elements * 4);
  const hDir = heap.alloc(elements * 4);
  const hDirHalf = heap.alloc(elements * 2);
  const hMagPrev = heap.alloc(rows * 2);
  const hMagCur = heap.alloc(rows * 2);
  const hOutPrev = heap.alloc(elements * 4);
  const hOutCur = heap.alloc(elements * 4);
  const hCodes = heap.alloc(words * 4);
  const hScales = heap.alloc(params * 2);
  const hMins = heap.alloc(params * 2);
  const hDeq = heap.alloc(elements * 4);
  const hHalf = heap.alloc(elements * 2);
  const hCopyA = heap.alloc(elements * 4);
  const hCopyB = heap.alloc(elements * 4);
  const hBlk = heap.alloc(1536);
  heap.f32.set(prev, hPrev >> 2);
  heap.f32.set(cur, hCur >> 2);
  heap.u16.set(dirHalf, hDirHalf >> 1);
  heap.u16.set(magPrevHalf, hMagPrev >> 1);
  heap.u16.set(magCurHalf, hMagCur >> 1);
  heap.f32.fill(0.25, hBlk >> 2, (hBlk + 1536) >> 2);
  const probes = heap.wasm;
  if (!probes) throw new Error('kernels bench: WebAssembly kernels are not available');
  const hMerged = allocMergeRows(rows, 1);
  const pairA = heap.u16At(hCopyA, 2 * elements);
  const pairB = heap.u16At(hCopyB, 2 * elements);
  const layerA = heap.u16At(hCopyA, elements);
  const layerB = heap.u16At(hCopyB, elements);
  const copyPair = (): void => pairB.set(pairA);
  const copyLayer = (): void => layerB.set(layerA);
  const tileWords = (G * bits * D) / 32;
  const wpt = (D * bits) / 32;

  const ops: Op[] = [
    {
      name: 'merge (SLERP pair)',
      fp16Bytes: 2 * elements * 2,
      target: 0.15,
      copy: copyPair,
      wasm: () => heap.mergeRows(hPrev, hCur, rows, D, opts, hDir, hMerged),
      ts: () => slerpMergeRows(prev, cur, rows, D, opts, merged),
    },
    {
      name: 'restore (fp16 record → pair)',
      fp16Bytes: 2 * elements * 2,
      target: 0.3,
      copy: copyPair,
      wasm: () => heap.restoreRows(hDirHalf, true, hMagPrev, hMagCur, rows, D, hOutPrev, hOutCur),
      ts: () => {
        decodeHalf(magPrevHalf, magPrev, 0, rows, 0);
        decodeHalf(magCurHalf, magCur, 0, rows, 0);
        decodeHalf(dirHalf, outCur, 0, elements, 0);
        restoreRows(outCur, magPrev, magCur, rows, D, outPrev, outCur);
      },
    },
    {
      name: 'quantize keys (KIVI-4, per-channel)',
      fp16Bytes: elements * 2,
      target: 0.15,
      copy: copyLayer,
      wasm: () => heap.quantTokens(hPrev, rows / G, G * D, D, G, bits, hCodes, tileWords, hScales, hMins, D),
      ts: () => {
        for (let tile = 0; tile < rows / G; tile++) quantizeAlongTokens(prev, tile * G * D, D, G, bits, codes, tile * tileWords, scales, mins, tile * D);
      },
    },
    {
      name: 'dequantize keys (KIVI-4)',
      fp16Bytes: elements * 2,
      target: 0.3,
      copy: copyLayer,
      wasm: () => heap.dequantTokens(hCodes, rows / G, tileWords, hScales, hMins, D, D, G, bits, hDeq, G * D),
      ts: () => {
        for (let tile = 0; tile < rows / G; tile++) dequantizeAlongTokens(codes, tile * tileWords, scales, mins, tile * D, D, G, bits, deq, tile * G * D);
      },
    },
    {
      name: 'quantize values (KIVI-4, per-token)',
      fp16Bytes: elements * 2,
      target: 0.15,
      copy: copyLayer,
      wasm: () => heap.quantChannels(hPrev, rows, D, D, G, bits, hCodes, wpt, hScales, hMins, D / G),
      ts: () => {
        for (let r = 0; r < rows; r++) quantizeAlongChannels(prev, r * D, D, G, bits, codes, r * wpt, scales, mins, (r * D) / G);
      },
    },
    {
      name: 'dequantize values (KIVI-4)',
      fp16Bytes: elements * 2,
      target: 0.3,
      copy: copyLayer,
      wasm: () => heap.dequantChannels(hCodes, rows, wpt, hScales, hMins, D / G, D, G, bits, hDeq, D),
      ts: () => {
        for (let r = 0; r < rows; r++) dequantizeAlongChannels(codes, r * wpt, scales, mins, (r * D) / G, D, G, bits, deq, r * D);
      },
    },
    {
      name: 'fp16 encode (f32 → fp16)',
      fp16Bytes: elements * 2,
      target: null,
      copy: copyLayer,
      wasm: () => heap.encodeHalfRows(hPrev, 0, hHalf, 0, 1, elements),
      ts: () => encodeHalfBits(floatBits(prev), 0, half, 0, elements),
    },
    {
      name: 'fp16 decode (fp16 → f32)',
      fp16Bytes: elements * 2,
      target: null,
      copy: copyLayer,
      wasm: () => heap.decodeHalfRows(hDirHalf, 0, hDeq, 0, 1, elements),
      ts: () => decodeHalf(dirHalf, deq, 0, elements, 0),
    },
    // Roofline probes: what this machine allows kernels of each kind at this size, credited with
    // the same fp16 bytes as dequantize / quantize (see "What limits each kernel" in docs/methods.md).
    {
      name: 'probe: f32 store stream (dequantize output)',
      fp16Bytes: elements * 2,
      target: null,
      copy: copyLayer,
      wasm: () => probes.probeStore(hDeq, elements),
      ts: null,
    },
    {
      name: 'probe: dequantize arithmetic + store',
      fp16Bytes: elements * 2,
      target: null,
      copy: copyLayer,
      wasm: () => probes.probeDequant(hBlk, hDeq, elements),
      ts: null,
    },
    {
      name: 'probe: min/max read (quantize input)',
      fp16Bytes: elements * 2,
      target: null,
      copy: copyLayer,
      wasm: () => probes.probeMinMax(hPrev, elements),
      ts: null,
    },
  ];
  // Dequantize starts from real codes.
  ops[2]!.wasm();
  ops[2]!.ts!();
  return ops;
}

/** Mean latency (ms) of one task, measured by tinybench. */
async function measure(name: string, fn: () => void): Promise<number> {
  const bench = new Bench({ name, time: timeMs, warmup: true });
  bench.add(name, fn);
  await bench.run();
  const r = bench.getTask(name)?.result;
  if (!r || !('latency' in r)) throw new Error(`no result for ${name}`);
  return r.latency.mean;
}

const gbps = (bytes: number, ms: number): number => bytes / (ms * 1e6);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;

for (const tokens of tokenSizes) {
  const ops = setup(tokens).filter((op) => !only || op.name.includes(only));
  const layerMiB = (heads * tokens * D * 2) / 2 ** 20;
  console.log(`\ncompression kernels: ${heads} heads × ${tokens} tokens × D ${D} per layer (${layerMiB} MiB fp16 per layer); ${rounds} rounds of ${timeMs} ms per task, copy measured right before each kernel; medians`);
  console.log('| operation | fp16 MiB | wasm GB/s | TS GB/s | copy GB/s | wasm/copy | TS/copy | target | wasm met |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const op of ops) {
    const w: number[] = [];
    const t: number[] = [];
    const c: number[] = [];
    const rw: number[] = [];
    const rt: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const copyMs = await measure('copy', op.copy);
      const wasmMs = await measure(op.name, op.wasm);
      c.push(gbps(op.fp16Bytes, copyMs));
      w.push(gbps(op.fp16Bytes, wasmMs));
      rw.push(copyMs / wasmMs);
      if (withTs && op.ts) {
        const tsMs = await measure(`${op.name} (TS)`, op.ts);
        t.push(gbps(op.fp16Bytes, tsMs));
        rt.push(copyMs / tsMs);
      }
    }
    const ratio = median(rw);
    const target = op.target === null ? '—' : pct(op.target);
    const met = op.target === null ? '—' : ratio >= op.target ? 'yes' : 'no';
    const tsCols = t.length ? `${median(t).toFixed(2)} | ` : '— | ';
    const tsRatio = t.length ? pct(median(rt)) : '—';
    console.log(`| ${op.name} | ${(op.fp16Bytes / 2 ** 20).toFixed(0)} | ${median(w).toFixed(2)} | ${tsCols}${median(c).toFixed(2)} | ${pct(ratio)} | ${tsRatio} | ${target} | ${met} |`);
  }
}
