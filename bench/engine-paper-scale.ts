/**
 * The WGSL engine at the paper's scale (issue 18's benchmarks), on any card the engine loads — a
 * 7B dummy card (configs/models/llama-2-7b), a Hugging Face folder, a llama2.c model. One process,
 * one device; prints figures and writes a JSON report; asserts nothing:
 *
 *   node dist/bench/engine-paper-scale.js [--model configs/models/llama-2-7b] [--batch 128] [--prompt 160]
 *        [--new 338] [--b1-new 64] [--methods fp16,kivi2,minicache+kivi4] [--read-mib 1024] [--json FILE]
 *
 * 1. Yardsticks: the plain WGSL read bandwidth (a kernel that only reads a 1 GiB buffer) and the
 *    f32 FMA rate of a plain WGSL kernel (no matrix units: WebGPU exposes none without
 *    experimental features); the adapter's features (subgroups, subgroup matrices) are listed.
 * 2. Batch 1, fp16: decode ms per step against the weight-bandwidth bound (weight bytes ÷ read
 *    bandwidth), the ratio the issue asks ≥ 60% of.
 * 3. Batch B at prompt + new tokens (--batch 0 skips it): decode tokens/s of each method with a device store on the
 *    engine, with the compute bound beside them (2 FLOPs per weight per token plus attention over
 *    the mean context, at the measured FMA rate). Methods without a device store are reported as
 *    such (their host path uploads the whole past every step: not a serving figure).
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { median } from '../src/runs/serving-metrics.js';
import { fixedLengthPrompts } from '../src/runs/prompt-text.js';
import { generateOnEngine } from '../src/webgpu/generate-engine.js';
import { engineStoreFor } from '../src/webgpu/store-registry.js';
import { loadEngine } from '../runners/node/load-engine.js';
import { fmaRate, readBandwidth } from './device-yardsticks.js';
import { gitState } from '../runners/node/provenance.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
const model = resolve(arg('model', 'configs/models/llama-2-7b'));
const B = Number(arg('batch', '128'));
const promptLen = Number(arg('prompt', '160'));
const newTokens = Number(arg('new', '338'));
const b1New = Number(arg('b1-new', '64'));
const methods = arg('methods', 'fp16,kivi2,minicache+kivi4').split(',');
const jsonOut = arg('json', '');
const readMiB = Number(arg('read-mib', '1024'));

const t0 = performance.now();
let shown = -1;
const loaded = await loadEngine(model, {
  onProgress: (d, t) => {
    const pct = Math.floor((10 * d) / t) * 10; // a line per 10%, terminal or log
    if (pct !== shown) process.stderr.write(`loading weights: ${pct}% of ${(t / 1e9).toFixed(2)} GB\n`);
    shown = pct;
  },
});
const { engine, tokenizer } = loaded;
const ctx = engine.ctx;
const cfg = engine.config;
const report: Record<string, unknown> = { code: gitState(), model, weights: cfg.weights ?? 'checkpoint', adapter: ctx.adapter, loadSeconds: (performance.now() - t0) / 1000 };
console.log(`${cfg.name}${cfg.weights === 'dummy' ? ' (dummy weights)' : ''} on ${ctx.adapter.description ?? ctx.adapter.vendor}${ctx.adapter.fallback ? ' — SOFTWARE ADAPTER: not GPU timings' : ''}: ${(engine.weights.bytes / 1e9).toFixed(2)} GB of weights, loaded in ${(report.loadSeconds as number).toFixed(1)} s`);

// 1. yardsticks
// SwiftShader cannot allocate 1 GiB: a smaller buffer there (its figures are not GPU figures anyway)
const bw = await readBandwidth(ctx, Math.min((ctx.adapter.fallback ? 64 : readMiB) * 2 ** 20, Math.floor(ctx.limits.maxStorageBufferBindingSize / 16) * 16));
const fma = await fmaRate(ctx);
const features = [...ctx.device.features].sort();
report.readBandwidthGBps = bw;
report.fmaGflops = fma;
report.deviceFeatures = features;
console.log(`plain read bandwidth ${bw.toFixed(0)} GB/s; plain f32 FMA ${(fma / 1000).toFixed(2)} TFLOP/s; device features: ${features.join(', ') || 'none'}`);

const decodeStep = (times: number[][]) => {
  const first = Math.min(...times.map((t) => t[0]!));
  const last = Math.max(...times.map((t) => t[t.length - 1]!));
  return (last - first) / (times[0]!.length - 1);
};
const prompts = (batch: number) => fixedLengthPrompts(tokenizer, [], batch, promptLen, 0, cfg.bos);

// 2. batch 1 against the weight-bandwidth bound
const fp16 = engineStoreFor('fp16', {}, cfg.headDim)!;
await generateOnEngine(engine, prompts(1), { maxNewTokens: 4, ignoreEos: true, store: fp16 });
const b1: number[] = [];
for (let r = 0; r < 3; r++) b1.push(decodeStep((await generateOnEngine(engine, prompts(1), { maxNewTokens: b1New, ignoreEos: true, store: fp16 })).tokenTimesMs));
const boundMs = engine.weights.bytes / (bw * 1e6);
report.batch1 = { msPerStep: b1, medianMsPerStep: median(b1), weightBoundMs: boundMs, fractionOfBound: boundMs / median(b1) };
console.log(`batch 1 fp16 decode: ${median(b1).toFixed(2)} ms/step; weight-bandwidth bound ${boundMs.toFixed(2)} ms → ${((100 * boundMs) / median(b1)).toFixed(0)}% of it (target ≥ 60%)`);

// 3. batch B, each method with a device store
const params = engine.weights.params;
const ctxMean = promptLen + newTokens / 2;
const flopsPerToken = 2 * params + 4 * cfg.layers * cfg.heads * cfg.headDim * ctxMean;
const computeBound = (fma * 1e9) / flopsPerToken;
report.computeBoundTokensPerSecond = computeBound;
console.log(`compute bound at the plain FMA rate: ${computeBound.toFixed(0)} tok/s (${(flopsPerToken / 1e9).toFixed(1)} GFLOP per token)`);
const batchB: Record<string, unknown> = {};
for (const m of B > 0 ? methods : []) {
  const store = engineStoreFor(m, {}, cfg.headDim);
  if (!store) {
    batchB[m] = { note: 'no device store on the engine yet: its host path uploads the whole past every step, not a serving figure' };
    console.log(`${m.padEnd(18)} no device store on the engine (skipped)`);
    continue;
  }
  try {
    await generateOnEngine(engine, prompts(B), { maxNewTokens: 4, ignoreEos: true, store });
    const r = await generateOnEngine(engine, prompts(B), { maxNewTokens: newTokens, ignoreEos: true, store });
    const ms = decodeStep(r.tokenTimesMs);
    batchB[m] = { msPerStep: ms, decodeTokensPerSecond: (B * 1000) / ms, fractionOfComputeBound: (B * 1000) / ms / computeBound, deviceBytesByCategory: r.deviceBytesByCategory };
    console.log(`${m.padEnd(18)} batch ${B}: ${((B * 1000) / ms).toFixed(0)} tok/s (${ms.toFixed(2)} ms/step, ${((100 * (B * 1000)) / ms / computeBound).toFixed(0)}% of the compute bound); KV ${(r.deviceBytesByCategory.kvStore / 1e9).toFixed(2)} GB`);
  } catch (e) {
    batchB[m] = { error: (e as Error).message };
    console.log(`${m.padEnd(18)} batch ${B}: failed: ${(e as Error).message}`);
  }
}
report.batchB = { batch: B, promptLen, newTokens, methods: batchB };
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(report, null, 2));
await loaded.backend.dispose();
process.exit(0);
