/**
 * GPU decode throughput of the device-resident cache path (issue 6). Prints figures, asserts
 * nothing about speed (speed targets are read from the printout, not tested).
 *
 *   node dist/bench/gpu-throughput.js [--ep webgpu] [--model models/minillama-12l] [--batch 128]
 *        [--prompt 160] [--new 64] [--roundtrip-new 16] [--methods fp16,kivi2,minicache,minicache+kivi4]
 *        [--smoke] [--json FILE] [--repeats 1] [--chunk-mib 32]
 *
 * 1. --smoke: every method on the device path at batch 2 for a few tokens; the first generated
 *    token must equal the host path's (prefill is exact); exits 1 otherwise. Cheap check that the
 *    EP runs the fp16 graphs (a GPU without shader-f16 fails here: set MINICACHE_DEVICE_KV=float32).
 * 2. Round trip: FP16 with the cache copied through the host every step (OrtBackend + generate())
 *    against the device-resident FP16 loop and a bare onnxruntime loop on the same fp16-KV graph.
 *    --roundtrip-new 0 skips this section.
 * 3. Per method on the device path: ms per decode step with cache ops fenced (their device work
 *    inside their own time: the cache-op / model split) and unfenced (the device pipelines them),
 *    and decode tokens/s. --repeats N runs the unfenced loop N times per method, round-robin over
 *    the methods in this process, and reports the median step; --chunk-mib sets the restore chunk
 *    bound (DeviceMethodOptions.chunkBytes), and a method written name@MiB sets its own, so chunk
 *    bounds can be compared inside one process (e.g. --methods minicache+kivi4@32,minicache+kivi4@8).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { generate } from '../src/engine/generate.js';
import { generateOnDevice } from '../src/engine/generate-device.js';
import { createDeviceMethod } from '../src/gpu/device-registry.js';
import type { DeviceCacheMethod } from '../src/gpu/device-types.js';
import type { OpTimings } from '../src/gpu/op-cache.js';
import { createMethod } from '../src/methods/registry.js';
import { parseLlama2c } from '../src/model/llama2c.js';
import { loadModel, readModelCard } from '../runners/node/load-model.js';
import { benchPrompts, createBareLoop, medianOf, sum } from '../runners/node/ort-gpu-bench.js';
import { OrtDeviceDecoder } from '../runners/node/ort-gpu-decoder.js';
import { describeEp, type OrtEp } from '../runners/node/ort-ep.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

const ep = arg('ep', 'webgpu') as OrtEp;
const cardPath = resolve(arg('model', 'models/minillama-12l'));
const batch = Number(arg('batch', '128'));
const promptLen = Number(arg('prompt', '160'));
const newTokens = Number(arg('new', '64'));
const roundtripNew = Number(arg('roundtrip-new', '16'));
const methods = arg('methods', 'fp16,kivi2,minicache,minicache+kivi4').split(',');
const smoke = process.argv.includes('--smoke');
const jsonOut = arg('json', '');
const repeats = Math.max(1, Number(arg('repeats', '1')));
const chunkMib = arg('chunk-mib', '');
const chunkBytes = chunkMib ? Number(chunkMib) * 2 ** 20 : undefined;

const { backend, tokenizer, card } = await loadModel(cardPath, { ep });
const weights = parseLlama2c(new Uint8Array(readFileSync(readModelCard(cardPath).path)), { dtype: card.dtype });
const m = backend.model;
const heldout = (() => {
  try {
    return readFileSync(join(dirname(card.file ?? cardPath), 'heldout/prose.jsonl'), 'utf8');
  } catch {
    return undefined;
  }
})();
const device = await OrtDeviceDecoder.fromLlama2c(weights, m, { ep, ropeTheta: card.ropeTheta, rmsEps: card.rmsEps });
const report: Record<string, unknown> = { model: m.name, ep, device: describeEp(ep), kvDtype: device.kv, batch, promptLen, newTokens, repeats, chunkBytes: chunkBytes ?? null, node: process.version };
console.log(`gpu throughput: ${m.name}, ep ${ep} (${JSON.stringify(describeEp(ep).adapter ?? {})}), device kv ${device.kv}`);

const decodeMs = (times: number[][]) => Math.max(...times.map((t) => t[t.length - 1]!)) - Math.min(...times.map((t) => t[0]!));

if (smoke) {
  const prompts = benchPrompts(tokenizer, heldout, 2, 16, m.bos);
  const host = await generate(backend, prompts, { createMethod: (g) => createMethod('fp16', g), maxNewTokens: 6, ignoreEos: true });
  let ok = true;
  for (const name of methods) {
    try {
      const r = await generateOnDevice(device, m, prompts, { createMethod: (g) => createDeviceMethod(name, g, {}, device.exec, { fence: true }), maxNewTokens: 6, ignoreEos: true });
      const same = r.tokens.every((t, b) => t[0] === host.tokens[b]![0]);
      ok &&= same;
      console.log(`smoke ${name}: ${same ? 'ok' : 'FIRST TOKEN DIFFERS'} tokens ${JSON.stringify(r.tokens[0])} (host fp16 ${JSON.stringify(host.tokens[0])})`);
    } catch (e) {
      ok = false;
      console.log(`smoke ${name}: FAILED ${(e as Error).message.split('\n')[0]}`);
    }
  }
  process.exit(ok ? 0 : 1);
}

const prompts = benchPrompts(tokenizer, heldout, batch, promptLen, m.bos);

// 2. Round trip through the host vs device-resident FP16 vs bare onnxruntime (--roundtrip-new 0 skips it).
if (roundtripNew > 0) {
  const bare = await createBareLoop(weights, m, { ep, kvDtype: device.kv, ropeTheta: card.ropeTheta, rmsEps: card.rmsEps });
  await bare.run(prompts, 4);
  await generateOnDevice(device, m, prompts, { createMethod: (g) => createDeviceMethod('fp16', g, {}, device.exec), maxNewTokens: 4, ignoreEos: true });
  await generate(backend, prompts, { createMethod: (g) => createMethod('fp16', g), maxNewTokens: 4, ignoreEos: true });
  const b = await bare.run(prompts, newTokens);
  const d = await generateOnDevice(device, m, prompts, { createMethod: (g) => createDeviceMethod('fp16', g, {}, device.exec), maxNewTokens: newTokens, ignoreEos: true });
  const h = await generate(backend, prompts, { createMethod: (g) => createMethod('fp16', g), maxNewTokens: roundtripNew, ignoreEos: true });
  await bare.release();
  const bareStep = sum(b.stepMs) / b.stepMs.length;
  const devStep = decodeMs(d.tokenTimesMs) / (d.tokens[0]!.length - 1);
  const hostStep = decodeMs(h.tokenTimesMs) / (h.tokens[0]!.length - 1);
  const rt = {
    bareMsPerStep: bareStep,
    deviceFp16MsPerStep: devStep,
    hostRoundTripFp16MsPerStep: hostStep,
    hostRoundTripModelMsPerStep: medianOf(h.modelMs),
    hostRoundTripCacheMsPerStep: medianOf(h.cacheMs.slice(1)),
    harnessOverheadPct: ((devStep - bareStep) / bareStep) * 100,
    roundTripSlowdown: hostStep / devStep,
  };
  report.roundTrip = rt;
  console.log(`bare onnxruntime (fp16 KV on device)  ${bareStep.toFixed(2)} ms/step  ${((batch * 1000) / bareStep).toFixed(0)} tok/s`);
  console.log(`harness fp16, cache on device         ${devStep.toFixed(2)} ms/step  ${((batch * 1000) / devStep).toFixed(0)} tok/s  overhead ${rt.harnessOverheadPct.toFixed(1)}%`);
  console.log(`harness fp16, cache through the host  ${hostStep.toFixed(2)} ms/step  ${((batch * 1000) / hostStep).toFixed(0)} tok/s  (${rt.roundTripSlowdown.toFixed(1)}x slower; ${roundtripNew} tokens)`);
}

// 3. Every method on the device path: fenced split and unfenced step time. A method may carry its
// own restore chunk bound ("minicache+kivi4@8": 8 MiB). The unfenced repeats go round-robin over
// all methods in this one process, so that their ratios are not skewed by the process-to-process
// variance of the GPU machine (up to 30% with identical graphs).
const perMethod: Record<string, unknown> = {};
interface Spec {
  label: string;
  name: string;
  chunkBytes?: number;
}
const specs: Spec[] = methods.map((label) => {
  const [name, mib] = label.split('@') as [string, string | undefined];
  const bytes = mib ? Number(mib) * 2 ** 20 : chunkBytes;
  return { label, name, ...(bytes ? { chunkBytes: bytes } : {}) };
});
const runOf = (spec: Spec, fence: boolean, n: number, made?: { m: DeviceCacheMethod | null }) =>
  generateOnDevice(device, m, prompts, {
    createMethod: (g) => {
      const x = createDeviceMethod(spec.name, g, {}, device.exec, { fence, ...(spec.chunkBytes ? { chunkBytes: spec.chunkBytes } : {}) });
      if (made) made.m = x;
      return x;
    },
    maxNewTokens: n,
    ignoreEos: true,
  });
const fenced = new Map<Spec, { f: Awaited<ReturnType<typeof runOf>>; perKind: Record<string, { msPerStep: number; runsPerStep: number }> }>();
for (const spec of specs) {
  const made = { m: null as DeviceCacheMethod | null };
  await runOf(spec, true, newTokens); // warm-up: every graph variant of this length
  const f = await runOf(spec, true, newTokens, made);
  // Fenced time per kind of cache-op graph, per decode step (prefill graphs excluded by kind).
  const timings: OpTimings = made.m?.opTimings?.() ?? {};
  const steps = f.tokens[0]!.length - 1;
  const perKind = Object.fromEntries(Object.entries(timings).filter(([k]) => !k.endsWith('P')).map(([k, t]) => [k, { msPerStep: t.ms / steps, runsPerStep: t.runs / steps }]));
  fenced.set(spec, { f, perKind });
}
const unfenced = new Map<Spec, number[]>(specs.map((x) => [x, []]));
for (let i = 0; i < repeats; i++) {
  for (const spec of specs) {
    const u = await runOf(spec, false, newTokens);
    unfenced.get(spec)!.push(decodeMs(u.tokenTimesMs) / (u.tokens[0]!.length - 1));
  }
}
for (const spec of specs) {
  const { f, perKind } = fenced.get(spec)!;
  const uSteps = unfenced.get(spec)!;
  const fStep = decodeMs(f.tokenTimesMs) / (f.tokens[0]!.length - 1);
  const uStep = medianOf(uSteps);
  const row = {
    chunkBytes: spec.chunkBytes ?? null,
    fencedMsPerStep: fStep,
    cacheOpMsPerStep: medianOf(f.cacheMs.slice(1)),
    cacheOpKinds: perKind,
    modelMsPerStep: medianOf(f.modelMs),
    unfencedMsPerStep: uStep,
    unfencedMsPerStepRepeats: uSteps,
    decodeTokensPerSecond: (batch * 1000) / uStep,
    kvBytes: f.peakHeldBytes,
    kvBytesPackedEquivalent: f.peakPackedBytes,
    compressionRatio: f.kvBytesBaseline / f.peakPackedBytes,
  };
  perMethod[spec.label] = row;
  const kinds = Object.entries(perKind).map(([k, t]) => `${k} ${t.msPerStep.toFixed(2)}`).join(', ');
  console.log(
    `${spec.label.padEnd(16)} fenced ${fStep.toFixed(2)} ms/step (cache ops ${row.cacheOpMsPerStep.toFixed(2)}, model ${row.modelMsPerStep.toFixed(2)})  unfenced ${uStep.toFixed(2)} ms/step${repeats > 1 ? ` (median of ${uSteps.map((x) => x.toFixed(1)).join(', ')})` : ''}  ${row.decodeTokensPerSecond.toFixed(0)} tok/s  kv ${(row.kvBytes / 2 ** 20).toFixed(1)} MiB (${row.compressionRatio.toFixed(2)}x)${kinds ? `\n${''.padEnd(17)}fenced cache ops per step: ${kinds} ms` : ''}`,
  );
}
report.methods = perMethod;
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(report, null, 2));
await device.dispose();
await backend.dispose();
