/**
 * What a decode step costs each method on the host: restore of the whole past and append of
 * one token, in ms per layer, on LLaMA-2-7B-sized layers (32 KV heads, head dim 128, batch 1).
 * Eight layers stand in for the model (the default start layer then merges the deeper four),
 * so per-layer figures carry over to 32 layers. tinybench, mean latency.
 *
 * Restore is measured as the engine does it (restoreOwned: the method restores into buffers in
 * its own kernel heap, which the model then reads) and into ordinary arrays (restore(): the
 * same kernels plus a copy out).
 *
 * Run: npx vite-node bench/method-ops.bench.ts     (or: npm run build && node dist/bench/method-ops.bench.js)
 * Env: BENCH_TOKENS (default 1024), BENCH_TIME_MS (500), BENCH_KERNELS=ts for the TypeScript
 * kernels (the fallback where WebAssembly SIMD is missing) instead of the WebAssembly ones.
 */
import { Bench } from 'tinybench';
import { allocBlock, type CacheGeometry, type KVBlock } from '../src/engine/kv-block.js';
import { setKernelBackend } from '../src/kernels/wasm/heap.js';
import { createMethod, methodNames } from '../src/methods/registry.js';

const tokens = Number(process.env.BENCH_TOKENS ?? 1024);
const timeMs = Number(process.env.BENCH_TIME_MS ?? 500);
const geometry: CacheGeometry = { layers: 8, batch: 1, kvHeads: 32, headDim: 128 };
const kernels = process.env.BENCH_KERNELS === 'ts' ? 'ts' : 'wasm';
setKernelBackend(kernels);

function correlated(n: number, seed: number): KVBlock[] {
  let s = seed >>> 0;
  const rand = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  const gauss = (): number => Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
  const out: KVBlock[] = [];
  for (let l = 0; l < geometry.layers; l++) {
    const b = allocBlock(geometry, n);
    for (const kv of ['k', 'v'] as const) {
      const prev = out[l - 1]?.[kv];
      for (let i = 0; i < b[kv].length; i++) b[kv][i] = prev ? 0.8 * prev[i]! + 0.6 * gauss() : gauss();
    }
    out.push(b);
  }
  return out;
}

const prompt = correlated(tokens, 1);
const step = correlated(1, 2);
const restoreBuf = Array.from({ length: geometry.layers }, () => allocBlock(geometry, tokens + 1));

console.log(`host cache ops per decode step (${kernels} kernels): ${geometry.kvHeads} KV heads × D ${geometry.headDim}, batch 1, past of ${tokens} tokens; ms per layer (mean)`);
console.log('| method | restore ms/layer (restoreOwned) | restore ms/layer (into arrays) | append ms/layer |');
console.log('|---|---|---|---|');
const mean = (b: Bench, name: string): number => (b.getTask(name)!.result as { latency: { mean: number } }).latency.mean;
for (const name of methodNames()) {
  const m = createMethod(name, geometry);
  m.prefill(prompt);
  const n = m.length;
  const past = restoreBuf.map((b) => ({ k: b.k.subarray(0, b.k.length / (tokens + 1) * n), v: b.v.subarray(0, b.v.length / (tokens + 1) * n), tokens: n }));
  const bench = new Bench({ time: timeMs, warmup: true });
  bench.add('restoreOwned', () => m.restoreOwned!(tokens + 1));
  bench.add('restore', () => m.restore(past));
  await bench.run();
  // Append grows the cache; time a fixed number of appends on the same instance.
  const appends = 64;
  const t0 = performance.now();
  for (let i = 0; i < appends; i++) m.append(step);
  const appendMs = (performance.now() - t0) / appends;
  const per = (ms: number): string => (ms / geometry.layers).toFixed(2);
  console.log(`| ${name} | ${per(mean(bench, 'restoreOwned'))} | ${per(mean(bench, 'restore'))} | ${(appendMs / geometry.layers).toFixed(3)} |`);
  m.dispose();
}
