/**
 * The WebGPU engine against its yardsticks, in one process on one device. Prints figures and a
 * JSON report; asserts nothing (targets are read from the printout, issue 16):
 *
 *   node dist/bench/engine-throughput.js [--model models/minillama-12l] [--batch 128] [--prompt 160]
 *        [--new 338] [--repeats 3] [--overhead-repeats 9] [--ort] [--json FILE] [--read-mib 1024]
 *
 * 1. Plain read bandwidth: a WGSL kernel that only reads a large buffer (the device's ceiling).
 * 2. Dispatch floor: N nearly empty dispatches in one pass, one submit (µs per dispatch).
 * 3. FP16 decode at the given batch and lengths: the harness's loop on the engine
 *    (generateOnEngine) and the engine's bare loop (session calls only), round-robin over
 *    --repeats after one warm-up each; with --ort, onnxruntime's WebGPU EP path with the cache on
 *    the device (the project's previous GPU path) in the same rotation. Tokens/s, median and range.
 *    The harness and bare loops alone go on to --overhead-repeats rounds; the harness overhead is
 *    also given per round (each round's harness against its bare loop), median and range.
 * 4. Decode attention alone, every layer at the decode's final length, each split kernel
 *    ('slots', 'rows', 'rowsp', 'rowsu') interleaved: bytes of K/V read per second against (1); and what it is made
 *    of: the split pass alone, the combine pass alone, and the plain read kernel over the same
 *    buffers in as many dispatches.
 * 5. Per-step fixed cost: a batch-1 step with a 16-token past against the same number of empty
 *    dispatches in one pass.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseLlama2c } from '../src/model/llama2c.js';
import { fixedLengthPrompts, textsFromJsonl } from '../src/runs/prompt-text.js';
import { median } from '../src/runs/serving-metrics.js';
import type { GpuContext } from '../src/webgpu/gpu-context.js';
import { DECODE_KERNELS, DecodeAttention, decodePartialBytes, defaultDecodeKernel, fp16PastReader, type DecodeKernel } from '../src/webgpu/kernels/attention.js';
import { WebGpuEngine } from '../src/webgpu/engine.js';
import { generateOnEngine } from '../src/webgpu/generate-engine.js';
import { llama2cEngineConfig, llama2cWeightSource } from '../src/webgpu/sources/llama2c-source.js';
import { loadModel, readModelCard } from '../runners/node/load-model.js';
import { nodeGpu } from '../runners/node/webgpu-device.js';
import { interleavedRuns, readBandwidth, readBody, timePass } from './device-yardsticks.js';
import { gitState } from '../runners/node/provenance.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
const cardPath = resolve(arg('model', 'models/minillama-12l'));
const B = Number(arg('batch', '128'));
const promptLen = Number(arg('prompt', '160'));
const newTokens = Number(arg('new', '338'));
const repeats = Math.max(1, Number(arg('repeats', '3')));
const overheadRepeats = Math.max(repeats, Number(arg('overhead-repeats', '9')));
const withOrt = process.argv.includes('--ort');
const jsonOut = arg('json', '');
const readMiB = Number(arg('read-mib', '1024'));

const ctx = await nodeGpu();
ctx.device.addEventListener('uncapturederror', (e) => console.error('webgpu error:', (e as GPUUncapturedErrorEvent).error.message));
const report: Record<string, unknown> = { code: gitState(), adapter: ctx.adapter, f16: ctx.f16, batch: B, promptLen, newTokens, repeats, node: process.version };
console.log(`engine bench on ${ctx.adapter.description ?? ctx.adapter.vendor} (${ctx.adapter.architecture})${ctx.adapter.fallback ? ' — SOFTWARE ADAPTER: not GPU timings' : ''}, shader-f16 ${ctx.f16}`);

async function dispatchFloor(c: GpuContext, n: number): Promise<number> {
  const buf = c.alloc('scratch', 1024, 'floor');
  const p = c.pipeline(`@group(0) @binding(0) var<storage, read_write> a: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) { if (g.x == 0u) { a[0] = a[0] + 1.0; } }`, 'empty');
  const bg = c.bindGroup(p, [buf]);
  const body = (pass: GPUComputePassEncoder) => {
    pass.setPipeline(p);
    pass.setBindGroup(0, bg);
    for (let i = 0; i < n; i++) pass.dispatchWorkgroups(1);
  };
  await timePass(c, body, 1);
  const runs: number[] = [];
  for (let r = 0; r < 7; r++) runs.push(await timePass(c, body, 1));
  buf.destroy();
  return median(runs);
}

// 1, 2
// SwiftShader cannot allocate 1 GiB: a smaller buffer there (its figures are not GPU figures anyway)
const bw = await readBandwidth(ctx, Math.min((ctx.adapter.fallback ? 64 : readMiB) * 2 ** 20, Math.floor(ctx.limits.maxStorageBufferBindingSize / 16) * 16));
report.readBandwidthGBps = bw;
console.log(`plain read bandwidth: ${bw.toFixed(0)} GB/s`);

// the engine on the embedded model
const card = readModelCard(cardPath);
const parsed = parseLlama2c(new Uint8Array(readFileSync(card.path)), { dtype: card.dtype });
const cfg = llama2cEngineConfig(parsed, { name: card.name, bos: card.bos, eos: card.eos, maxContext: card.maxContext, ropeTheta: card.ropeTheta, rmsEps: card.rmsEps });
const engine = await WebGpuEngine.load(ctx, cfg, llama2cWeightSource(parsed));
const L = cfg.layers;
const dispatchesPerStep = 1 + 9 * L + 3;
const floorMs = await dispatchFloor(ctx, dispatchesPerStep);
report.dispatchFloor = { dispatches: dispatchesPerStep, ms: floorMs, usPerDispatch: (floorMs * 1000) / dispatchesPerStep };
console.log(`dispatch floor: ${dispatchesPerStep} empty dispatches in one pass: ${floorMs.toFixed(3)} ms (${((floorMs * 1000) / dispatchesPerStep).toFixed(2)} µs each)`);

const { tokenizer } = await loadModel(cardPath);
const heldout = (() => {
  try {
    return readFileSync(join(dirname(card.file), 'heldout/prose.jsonl'), 'utf8');
  } catch {
    return '';
  }
})();
const prompts = fixedLengthPrompts(tokenizer, textsFromJsonl(heldout), B, promptLen, 0, cfg.bos);

/** Decode ms per step from token arrival times (all sequences, first to last token). */
const decodeStep = (times: number[][]) => {
  const first = Math.min(...times.map((t) => t[0]!));
  const last = Math.max(...times.map((t) => t[t.length - 1]!));
  return (last - first) / (times[0]!.length - 1);
};

// 3. harness loop vs bare loop (vs onnxruntime's WebGPU EP)
async function harnessRun(n: number): Promise<number> {
  const r = await generateOnEngine(engine, prompts, { maxNewTokens: n, ignoreEos: true });
  return decodeStep(r.tokenTimesMs);
}
async function bareRun(n: number): Promise<number> {
  const P = promptLen;
  const s = engine.session({ batch: B, promptSlots: P, capacity: P + n, sampling: { kind: 'greedy' }, seed: 0, stop: [], pad: 0, budgets: new Array(B).fill(n), ring: 4 });
  try {
    s.prefill(Uint32Array.from(prompts.flat()), new Uint32Array(B));
    await s.read(0);
    let t0 = 0;
    let submitted = 0;
    for (let used = 1; used < n; used++) {
      while (submitted < n - 1 && submitted - used < 2) {
        submitted++;
        s.step();
      }
      await s.read(used);
      if (used === 1) t0 = performance.now();
    }
    return (performance.now() - t0) / (n - 2);
  } finally {
    s.dispose();
  }
}
let ortRun: ((n: number) => Promise<number>) | undefined;
if (withOrt) {
  const { OrtDeviceDecoder } = await import('../runners/node/ort-gpu-decoder.js');
  const { generateOnDevice } = await import('../src/engine/generate-device.js');
  const { createDeviceMethod } = await import('../src/gpu/device-registry.js');
  const { backend } = await loadModel(cardPath, { ep: 'webgpu' });
  const dec = await OrtDeviceDecoder.fromLlama2c(parsed, backend.model, { ep: 'webgpu', ropeTheta: card.ropeTheta, rmsEps: card.rmsEps });
  ortRun = async (n) => {
    const r = await generateOnDevice(dec, backend.model, prompts, { createMethod: (g) => createDeviceMethod('fp16', g, {}, dec.exec, { fence: false }), maxNewTokens: n, ignoreEos: true });
    return decodeStep(r.tokenTimesMs);
  };
}
const loops: [string, (n: number) => Promise<number>][] = [
  ['engine harness', harnessRun],
  ['engine bare', bareRun],
  ...(ortRun ? [['onnxruntime webgpu EP', ortRun] as [string, (n: number) => Promise<number>]] : []),
];
const steps = new Map<string, number[]>(loops.map(([k]) => [k, []]));
for (const [, f] of loops) await f(Math.min(newTokens, 8)); // warm-up: pipelines, allocations
for (let r = 0; r < repeats; r++) for (const [k, f] of loops) steps.get(k)!.push(await f(newTokens));
// the harness-overhead pair alone takes further rounds (onnxruntime's path is 15× slower): the
// overhead is read per round, harness over the bare loop of the same round
for (let r = repeats; r < overheadRepeats; r++) for (const [k, f] of loops.slice(0, 2)) steps.get(k)!.push(await f(newTokens));
const fp16: Record<string, unknown> = {};
for (const [k] of loops) {
  const v = steps.get(k)!;
  const med = median(v);
  fp16[k] = { msPerStep: v, medianMsPerStep: med, decodeTokensPerSecond: (B * 1000) / med, range: [(B * 1000) / Math.max(...v), (B * 1000) / Math.min(...v)] };
  console.log(`${k.padEnd(24)} ${med.toFixed(3)} ms/step  ${((B * 1000) / med).toFixed(0)} tok/s  (repeats ${v.map((x) => x.toFixed(3)).join(', ')} ms)`);
}
report.fp16Decode = fp16;
const h = median(steps.get('engine harness')!);
const b = median(steps.get('engine bare')!);
const perRound = steps.get('engine harness')!.map((x, i) => ((x - steps.get('engine bare')![i]!) / steps.get('engine bare')![i]!) * 100);
report.harnessOverheadPct = ((h - b) / b) * 100;
report.harnessOverheadPerRoundPct = perRound;
console.log(
  `harness overhead vs bare engine loop: ${(((h - b) / b) * 100).toFixed(2)}% (medians); per round: median ${median(perRound).toFixed(2)}% [${Math.min(...perRound).toFixed(2)}% to ${Math.max(...perRound).toFixed(2)}%] over ${perRound.length} rounds`,
);
if (ortRun) {
  const o = median(steps.get('onnxruntime webgpu EP')!);
  report.engineVsOrt = o / h;
  console.log(`engine vs onnxruntime WebGPU EP (FP16 decode tokens/s): ${(o / h).toFixed(1)}x`);
}

// 4. decode attention alone over the fp16 cache of every layer at the final length
{
  const n = promptLen + newTokens - 1;
  const cap = n + 1;
  const { heads: H, kvHeads: KV, headDim: D } = cfg;
  const kvBytes = B * KV * cap * D * 2;
  const Ks = Array.from({ length: L }, () => ctx.alloc('scratch', kvBytes, 'K'));
  const Vs = Array.from({ length: L }, () => ctx.alloc('scratch', kvBytes, 'V'));
  const qkv = ctx.alloc('scratch', B * (H + 2 * KV) * D * 4, 'qkv');
  const starts = ctx.alloc('scratch', B * 4, 'starts');
  const prm = ctx.alloc('scratch', 16, 'prm');
  ctx.write(prm, Uint32Array.of(n, 0, 0, 0));
  const out = ctx.alloc('scratch', B * H * D * 4, 'out');
  const shape = { heads: H, kvHeads: KV, headDim: D, batch: B, cap, reader: fp16PastReader({ kvHeads: KV, headDim: D, cap }) };
  const partial = ctx.alloc('scratch', decodePartialBytes(shape), 'partials');
  // both split kernels (decode-attention.ts), interleaved round by round; the engine uses the default.
  // Beside them, what the time is made of: the default's split pass alone, its combine pass alone,
  // and the plain read kernel over the same 2·L buffers in as many dispatches (the bandwidth a kernel
  // reading these buffers one layer at a time can reach: small buffers do not fill the GPU the way
  // (1)'s 1 GiB does).
  const kernels = DECODE_KERNELS;
  const def = defaultDecodeKernel(shape);
  const opsOf = (kernel: DecodeKernel) => Ks.map((k, l) => new DecodeAttention(ctx, shape, { qkv: qkv.buffer, starts: starts.buffer, prm: prm.buffer, partial: partial.buffer, out: out.buffer, past: [k.buffer, Vs[l]!.buffer] }, kernel));
  const bodies = kernels.map((kernel) => {
    const ops = opsOf(kernel);
    return (pass: GPUComputePassEncoder) => {
      for (const op of ops) op.encode(pass);
    };
  });
  const defOps = opsOf(def);
  // the combine kernels side by side (the default, 'groups', is in defOps)
  const loopCombine = Ks.map((k, l) => new DecodeAttention(ctx, shape, { qkv: qkv.buffer, starts: starts.buffer, prm: prm.buffer, partial: partial.buffer, out: out.buffer, past: [k.buffer, Vs[l]!.buffer] }, def, false, 'loop'));
  const plain = readBody(ctx, [...Ks, ...Vs].map((b) => b.buffer), kvBytes);
  const parts = {
    [`${def} split pass only`]: (pass: GPUComputePassEncoder) => defOps.forEach((op) => op.encodeSplit(pass)),
    'combine pass only (groups, default)': (pass: GPUComputePassEncoder) => defOps.forEach((op) => op.encodeCombine(pass)),
    'combine pass only (loop)': (pass: GPUComputePassEncoder) => loopCombine.forEach((op) => op.encodeCombine(pass)),
    [`plain read, ${2 * L} dispatches over the same buffers`]: plain.body,
  };
  const runs = await interleavedRuns(ctx, [...bodies, ...Object.values(parts)]);
  const read = 2 * L * B * KV * n * D * 2;
  const byKernel: Record<string, unknown> = {};
  for (let k = 0; k < kernels.length; k++) {
    const ms = median(runs[k]!);
    const gbps = read / ms / 1e6;
    byKernel[kernels[k]!] = { msAllLayers: ms, minMs: Math.min(...runs[k]!), maxMs: Math.max(...runs[k]!), GBps: gbps, ofReadBandwidth: gbps / bw };
    console.log(`decode attention (${kernels[k]}), ${L} layers, batch ${B}, ${n} cached tokens: ${ms.toFixed(3)} ms [${Math.min(...runs[k]!).toFixed(3)}–${Math.max(...runs[k]!).toFixed(3)}, 7 rounds of 10], ${(read / 2 ** 20).toFixed(0)} MiB of fp16 K/V at ${gbps.toFixed(0)} GB/s = ${((100 * gbps) / bw).toFixed(0)}% of plain read`);
  }
  const breakdown: Record<string, unknown> = {};
  Object.keys(parts).forEach((name, i) => {
    const r = runs[kernels.length + i]!;
    const ms = median(r);
    breakdown[name] = { ms, minMs: Math.min(...r), maxMs: Math.max(...r) };
    console.log(`  ${name}: ${ms.toFixed(3)} ms [${Math.min(...r).toFixed(3)}–${Math.max(...r).toFixed(3)}]${name.startsWith('plain') ? ` = ${((2 * L * kvBytes) / ms / 1e6).toFixed(0)} GB/s (${((100 * (2 * L * kvBytes)) / ms / 1e6 / bw).toFixed(0)}% of (1))` : ''}`);
  });
  plain.destroy();
  report.decodeAttention = { tokens: n, bytesRead: read, defaultKernel: def, ...(byKernel[def] as object), byKernel, breakdown };
  for (const x of [...Ks, ...Vs, qkv, starts, prm, out, partial]) x.destroy();
}

// 5. per-step fixed cost: batch 1, 16-token past
{
  const P1 = Math.min(16, promptLen);
  const one = [prompts[0]!.slice(0, P1)];
  const stepTimes: number[] = [];
  for (let r = 0; r < 3; r++) {
    const s = engine.session({ batch: 1, promptSlots: P1, capacity: P1 + 40, sampling: { kind: 'greedy' }, seed: 0, stop: [], pad: 0, budgets: [40], ring: 2 });
    s.prefill(Uint32Array.from(one[0]!), new Uint32Array(1));
    await s.read(0);
    for (let i = 1; i < 40; i++) {
      const t0 = performance.now();
      s.step();
      await s.read(i);
      if (i > 4) stepTimes.push(performance.now() - t0);
    }
    s.dispose();
  }
  const step = median(stepTimes);
  report.fixedCost = { batch: 1, past: P1, msPerStepSynchronous: step, floorMs: floorMs, dispatches: dispatchesPerStep };
  console.log(`batch-1 step with a ${P1}-token past, submitted and read back one at a time: ${step.toFixed(3)} ms; floor of ${dispatchesPerStep} empty dispatches: ${floorMs.toFixed(3)} ms`);
}

// 6. --parity: greedy tokens of the engine against onnxruntime CPU on 8 left-padded prompts
if (process.argv.includes('--parity')) {
  const { generate } = await import('../src/engine/generate.js');
  const { createMethod } = await import('../src/methods/registry.js');
  const { backend } = await loadModel(cardPath);
  const lens = [5, 17, 33, 64, 9, 48, 2, 40];
  const ps = lens.map((n, i) => prompts[i % prompts.length]!.slice(0, n));
  const e = await generateOnEngine(engine, ps, { maxNewTokens: 24 });
  const o = await generate(backend, ps, { maxNewTokens: 24, createMethod: (g) => createMethod('fp16', g, {}) });
  const same = e.tokens.map((t, b) => JSON.stringify(t) === JSON.stringify(o.tokens[b]));
  report.parity = { lens, engine: e.tokens, onnxruntimeCpu: o.tokens, equal: same };
  console.log(`greedy parity with onnxruntime CPU (8 left-padded prompts, 24 tokens): ${same.filter(Boolean).length}/8 sequences equal`);
}

if (jsonOut) writeFileSync(jsonOut, JSON.stringify(report, null, 2));
engine.dispose();
process.exit(0);
