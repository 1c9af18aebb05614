/**
 * Every cache method on the WGSL engine (issue 17's benchmarks), in one process on one device,
 * methods interleaved round by round after a warm-up each. Prints figures and a JSON report;
 * asserts nothing:
 *
 *   node dist/bench/engine-methods.js [--model models/minillama-12l] [--methods fp16,kivi2,kivi4,minicache,minicache+kivi4]
 *        [--repeats 3] [--batch 128] [--prompt 160] [--new 338] [--kv-prompt 1920] [--kv-new 128]
 *        [--skip kvbound,budget] [--attention all|default] [--json FILE]
 *
 * 1. Equal batch (--batch, --prompt + --new): decode tokens/s per method; device memory the engine
 *    allocated, by category (the peak over the run), and the KV store's bytes held and allocated.
 * 2. Fused decode attention per store, every layer at the run's final length: the engine's own
 *    choice layer by layer (the figure of record), then each split kernel ('slots', 'rows', 'rowsp',
 *    'rowsu', for KIVI keys also read in tiles) and each other form of the readers, interleaved: the
 *    store's bytes (what attention reads) per second against the plain WGSL read bandwidth. And
 *    where the step's time goes: its device work alone (no host) and the store's append kernels.
 * 3. KV-bound length: the same batch at --kv-prompt + --kv-new (the embedded model's context is
 *    2048), every method.
 * 4. Equal KV memory: FP16's KV store at --batch is the budget; each method runs the largest batch
 *    whose allocated KV store fits it (from its bytes per sequence in 1, checked on the run).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { median } from '../src/runs/serving-metrics.js';
import { fixedLengthPrompts, textsFromJsonl } from '../src/runs/prompt-text.js';
import { totalBytes } from '../src/methods/types.js';
import type { GpuContext } from '../src/webgpu/gpu-context.js';
import { DECODE_KERNELS, DecodeAttention, decodePartialBytes, defaultDecodeKernel, type DecodeKernel } from '../src/webgpu/kernels/attention.js';
import type { WebGpuEngine } from '../src/webgpu/engine.js';
import { generateOnEngine, type EngineGenerateResult } from '../src/webgpu/generate-engine.js';
import { engineStoreFor } from '../src/webgpu/store-registry.js';
import { loadEngine } from '../runners/node/load-engine.js';
import { readModelCard } from '../runners/node/load-model.js';
import { interleavedRuns, readBandwidth } from './device-yardsticks.js';
import { gitState } from '../runners/node/provenance.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
const cardPath = resolve(arg('model', 'models/minillama-12l'));
const methods = arg('methods', 'fp16,kivi2,kivi4,minicache,minicache+kivi4').split(',');
const repeats = Math.max(1, Number(arg('repeats', '3')));
const B = Number(arg('batch', '128'));
const P = Number(arg('prompt', '160'));
const N = Number(arg('new', '338'));
const kvP = Number(arg('kv-prompt', '1920'));
const kvN = Number(arg('kv-new', '128'));
const skip = new Set(arg('skip', '').split(',').filter(Boolean));
// 'default' times only the engine's own kernel choice in the attention section: every variant (12–16
// per store, × 12 layers) made a 5-repeat run overrun a 385 s call
const attentionScope = arg('attention', 'all');
if (attentionScope !== 'all' && attentionScope !== 'default') throw new Error(`--attention: "all" or "default", got "${attentionScope}"`);
const jsonOut = arg('json', '');

const { engine, tokenizer } = await loadEngine(cardPath);
const ctx = engine.ctx;
ctx.device.addEventListener('uncapturederror', (e) => console.error('webgpu error:', (e as GPUUncapturedErrorEvent).error.message));
const cfg = engine.config;
const report: Record<string, unknown> = { code: gitState(), model: cfg.name, adapter: ctx.adapter, batch: B, promptLen: P, newTokens: N, repeats, methods, attention: attentionScope, node: process.version };
console.log(`engine methods on ${ctx.adapter.description ?? ctx.adapter.vendor}${ctx.adapter.fallback ? ' — SOFTWARE ADAPTER: not GPU timings' : ''}; ${cfg.name}`);
const bw = await readBandwidth(ctx, Math.min(ctx.adapter.fallback ? 64 * 2 ** 20 : 1024 * 2 ** 20, Math.floor(ctx.limits.maxStorageBufferBindingSize / 16) * 16));
report.readBandwidthGBps = bw;
console.log(`plain read bandwidth: ${bw.toFixed(0)} GB/s`);

const card = readModelCard(cardPath);
const heldout = (() => {
  try {
    return readFileSync(join(dirname(card.file), 'heldout/prose.jsonl'), 'utf8');
  } catch {
    return '';
  }
})();
const promptsOf = (batch: number, len: number) => fixedLengthPrompts(tokenizer, textsFromJsonl(heldout), batch, len, 0, cfg.bos);

/** Decode ms per step from token arrival times (first token to last, all sequences). */
const decodeStep = (r: EngineGenerateResult) => {
  const first = Math.min(...r.tokenTimesMs.map((t) => t[0]!));
  const last = Math.max(...r.tokenTimesMs.map((t) => t[t.length - 1]!));
  return (last - first) / (r.tokenTimesMs[0]!.length - 1);
};

async function run(method: string, prompts: number[][], n: number, inspect?: (s: Parameters<NonNullable<Parameters<typeof generateOnEngine>[2]['inspect']>>[0], tokens: number) => Promise<void>) {
  const store = engineStoreFor(method, {}, cfg.headDim);
  if (!store) throw new Error(`${method} has no device store on the engine`);
  return generateOnEngine(engine, prompts, { maxNewTokens: n, ignoreEos: true, store, ...(inspect ? { inspect } : {}) });
}

/** Round-robin: a warm-up run of each method, then `repeats` rounds over the methods. */
async function rounds(label: string, batchOf: (m: string) => number, len: number, n: number, onLast?: (m: string, r: EngineGenerateResult) => void) {
  const out: Record<string, { batch: number; msPerStep: number[]; last?: EngineGenerateResult }> = {};
  for (const m of methods) {
    await run(m, promptsOf(batchOf(m), len), Math.min(n, 8));
    out[m] = { batch: batchOf(m), msPerStep: [] };
  }
  for (let r = 0; r < repeats; r++) {
    for (const m of methods) {
      const res = await run(m, promptsOf(batchOf(m), len), n);
      out[m]!.msPerStep.push(decodeStep(res));
      out[m]!.last = res;
      if (r === repeats - 1) onLast?.(m, res);
    }
  }
  const fp = out.fp16 ? (out.fp16.batch * 1000) / median(out.fp16.msPerStep) : NaN;
  const rows: Record<string, unknown> = {};
  for (const m of methods) {
    const o = out[m]!;
    const med = median(o.msPerStep);
    const tps = (o.batch * 1000) / med;
    const range = [(o.batch * 1000) / Math.max(...o.msPerStep), (o.batch * 1000) / Math.min(...o.msPerStep)];
    const held = totalBytes(o.last!.bytesHeld);
    rows[m] = {
      batch: o.batch,
      msPerStep: o.msPerStep,
      decodeTokensPerSecond: tps,
      range,
      vsFp16: tps / fp,
      kvBytesHeld: held,
      kvStoreAllocated: held + o.last!.kvHeadroomBytes,
      compressionRatio: o.last!.kvBytesBaseline / held,
      deviceBytesByCategory: o.last!.deviceBytesByCategory,
      hostMsPerStep: Object.fromEntries(Object.entries(o.last!.hostMs).map(([k, v]) => [k, v / o.last!.stepMs.length])),
    };
    const dev = o.last!.deviceBytesByCategory;
    console.log(
      `${label} ${m.padEnd(16)} batch ${String(o.batch).padStart(4)}  ${med.toFixed(3)} ms/step  ${tps.toFixed(0)} tok/s [${range.map((x) => x.toFixed(0)).join('–')}]  ${(tps / fp).toFixed(2)}× fp16  kv ${(held / 2 ** 20).toFixed(1)} MiB held (${(o.last!.kvBytesBaseline / held).toFixed(2)}×), ${((held + o.last!.kvHeadroomBytes) / 2 ** 20).toFixed(1)} MiB allocated; device peak ${((dev.weights + dev.kvStore + dev.scratch) / 2 ** 20).toFixed(1)} MiB (weights ${(dev.weights / 2 ** 20).toFixed(1)}, kv ${(dev.kvStore / 2 ** 20).toFixed(1)}, scratch ${(dev.scratch / 2 ** 20).toFixed(1)})`,
    );
  }
  return rows;
}

/** Decode attention alone over a session's store, every layer, at its current length. */
type Session = Parameters<NonNullable<Parameters<typeof generateOnEngine>[2]['inspect']>>[0];

async function attentionBandwidth(c: GpuContext, e: WebGpuEngine, session: Session, n: number) {
  const { heads: H, kvHeads: KV, headDim: D, layers: L } = e.config;
  const batch = session.B;
  const cap = session.cap;
  const qkv = c.alloc('scratch', batch * (H + 2 * KV) * D * 4, 'bench qkv');
  c.write(qkv, Float32Array.from({ length: batch * (H + 2 * KV) * D }, (_, i) => Math.sin(i)));
  const starts = c.alloc('scratch', batch * 4, 'bench starts');
  const prm = c.alloc('scratch', 16, 'bench prm');
  c.write(prm, Uint32Array.of(n, 0, 0, 0));
  const out = c.alloc('scratch', batch * H * D * 4, 'bench out');
  const shape = { heads: H, kvHeads: KV, headDim: D, batch, cap };
  const partial = c.alloc('scratch', decodePartialBytes(shape), 'bench partials');
  // the engine's choice layer by layer (the figure of record: a store's layers may differ, as
  // minicache+kivi4's unmerged KIVI layers and its merged pairs do), then every split kernel on
  // every layer, interleaved round by round ('rows' and 'rowsu' also reading keys in tiles where
  // the store keeps them so), and each other form of the readers (PastReader.variants, by name; a
  // layer without that form reads through its own) under 'rows' and 'rowsu'
  const readers = Array.from({ length: L }, (_, l) => session.store.reader(l));
  const chosen = readers.map((rd) => defaultDecodeKernel({ ...shape, reader: rd.reader }));
  const mix = [...new Set(chosen)].map((k) => `${k}${chosen.every((x) => x === k) ? '' : ` ×${chosen.filter((x) => x === k).length}`}`).join(', ');
  const defaultName = `engine default: ${mix}`;
  const tiles = readers.some((rd) => rd.reader.kTile);
  const forms = [...new Set(readers.flatMap((rd) => (rd.reader.variants ?? []).map((v) => v.name)))];
  const variants: { name: string; kernel: DecodeKernel | 'default'; keyTiles: boolean; form?: string }[] = [
    { name: defaultName, kernel: 'default', keyTiles: false },
  ];
  if (attentionScope === 'all') variants.push(
    ...DECODE_KERNELS.map((kernel) => ({ name: kernel, kernel, keyTiles: false })),
    ...(tiles ? (['rows', 'rowsu'] as const).map((kernel) => ({ name: `${kernel}, keys in tiles`, kernel, keyTiles: true })) : []),
    ...forms.flatMap((form) => [
      ...(['rows', 'rowsu'] as const).map((kernel) => ({ name: `${kernel}, ${form}`, kernel, keyTiles: false, form })),
      ...(tiles ? [{ name: `rowsu, keys in tiles, ${form}`, kernel: 'rowsu' as const, keyTiles: true, form }] : []),
    ]),
  );
  const bodies = variants.map(({ kernel, keyTiles, form }) => {
    const ops = readers.map((rd, l) => {
      const reader = form === undefined ? rd.reader : (rd.reader.variants?.find((v) => v.name === form)?.reader ?? rd.reader);
      return new DecodeAttention(c, { ...shape, reader }, { qkv: qkv.buffer, starts: starts.buffer, prm: prm.buffer, partial: partial.buffer, out: out.buffer, past: rd.buffers }, kernel === 'default' ? chosen[l]! : kernel, keyTiles);
    });
    return (pass: GPUComputePassEncoder) => {
      for (const op of ops) op.encode(pass);
    };
  });
  const runs = await interleavedRuns(c, bodies);
  for (const x of [qkv, starts, prm, out, partial]) x.destroy();
  const bytes = totalBytes(session.store.bytes(n).held);
  const byKernel: Record<string, { msAllLayers: number; minMs: number; maxMs: number; GBps: number; ofReadBandwidth: number }> = {};
  variants.forEach(({ name: k }, i) => {
    const ms = median(runs[i]!);
    byKernel[k] = { msAllLayers: ms, minMs: Math.min(...runs[i]!), maxMs: Math.max(...runs[i]!), GBps: bytes / ms / 1e6, ofReadBandwidth: bytes / ms / 1e6 / bw };
  });
  return { defaultKernel: defaultName, kernelPerLayer: chosen, storeBytes: bytes, ...byKernel[defaultName]!, byKernel };
}

/**
 * Where a decode step's time goes, at the run's final length: the whole step's device work encoded
 * back to back (no host, no read-back), the store's append kernels alone and decode attention
 * alone (every layer each). The wall-clock step minus the device step is the host's and the
 * pipeline's share. Repeats write the last slot again; where MiniCache keeps that token, its
 * retained count grows by one a repeat (the kernels bound writes by the list's capacity).
 */
async function stepBreakdown(c: GpuContext, e: WebGpuEngine, session: Session) {
  const L = e.config.layers;
  const appends = Array.from({ length: L }, (_, l) => session.store.appendOps?.(l)).filter((o): o is NonNullable<typeof o> => !!o);
  const bodies = [(pass: GPUComputePassEncoder) => session.encodeStep(pass), ...(appends.length ? [(pass: GPUComputePassEncoder) => appends.forEach((o) => o(pass))] : [])];
  const runs = await interleavedRuns(c, bodies);
  const stat = (r: number[]) => ({ ms: median(r), minMs: Math.min(...r), maxMs: Math.max(...r) });
  return { deviceStep: stat(runs[0]!), ...(runs[1] ? { appendAllLayers: stat(runs[1]) } : {}) };
}

// the report is written after each part, so a run stopped at its time limit keeps what it measured
const save = () => {
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(report, null, 2));
};

// 1 + 2: equal batch, and each store's attention at the final length (timed on the last round)
const attention: Record<string, unknown> = {};
const equal = await rounds(`b${B} ${P}+${N}`, () => B, P, N);
report.equalBatch = equal;
save();
for (const m of methods) {
  await run(m, promptsOf(B, P), N, async (s, n) => {
    const a = await attentionBandwidth(ctx, engine, s, n);
    const parts = await stepBreakdown(ctx, engine, s);
    attention[m] = { ...a, ...parts, upkeep: { ...(s.store.upkeep ?? {}), rebuildMs: s.rebuildMs, layersRebuilt: s.layersRebuilt } };
    const row = equal[m] as { msPerStep: number[]; hostMsPerStep: { maintain: number; submit: number; wait: number } };
    const wall = median(row.msPerStep);
    const h = row.hostMsPerStep;
    const f = (x?: { ms: number; minMs: number; maxMs: number }) => (x ? `${x.ms.toFixed(3)} ms [${x.minMs.toFixed(3)}–${x.maxMs.toFixed(3)}]` : 'none (RoPE writes the cache)');
    console.log(`step ${m.padEnd(16)} at ${n} tokens: wall ${wall.toFixed(3)} ms; device work ${f(parts.deviceStep)}; append kernels ${f(parts.appendAllLayers)}; attention (default) ${a.msAllLayers.toFixed(3)} ms; host per step (last round): upkeep ${h.maintain.toFixed(3)}, submit ${h.submit.toFixed(3)}, waiting for ids ${h.wait.toFixed(3)} ms; rebuilt in this run: ${s.layersRebuilt} layers' attention and append (${s.rebuildMs.toFixed(1)} ms), the whole pass ${s.wholeRebuilds}×${s.store.upkeep ? `; the store's upkeep ${Object.entries(s.store.upkeep).map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(1)}`).join(', ')}` : ''}`);
    for (const [k, f] of Object.entries(a.byKernel)) {
      console.log(`attention ${m.padEnd(16)} (${k}) ${cfg.layers} layers at ${n} tokens: ${f.msAllLayers.toFixed(3)} ms [${f.minMs.toFixed(3)}–${f.maxMs.toFixed(3)}, 7 rounds of 10], ${(a.storeBytes / 2 ** 20).toFixed(1)} MiB held at ${f.GBps.toFixed(0)} GB/s = ${(100 * f.ofReadBandwidth).toFixed(0)}% of plain read`);
    }
  });
}
report.attention = attention;
save();

// 3: KV-bound length
if (!skip.has('kvbound') && kvP + kvN <= cfg.maxContext) {
  report.kvBound = await rounds(`b${B} ${kvP}+${kvN}`, () => B, kvP, kvN);
  save();
}

// 4: equal KV memory: FP16's allocated KV store at batch B is the budget
if (!skip.has('budget')) {
  const fp = equal.fp16 as { kvStoreAllocated: number } | undefined;
  if (fp) {
    const budget = fp.kvStoreAllocated;
    const batchOf = (m: string) => {
      const row = equal[m] as { kvStoreAllocated: number };
      return Math.max(1, Math.floor((budget * B) / row.kvStoreAllocated));
    };
    const rows = await rounds(`budget ${(budget / 2 ** 20).toFixed(0)} MiB`, batchOf, P, N);
    for (const [m, row] of Object.entries(rows) as [string, { kvStoreAllocated: number; batch: number }][]) {
      if (row.kvStoreAllocated > budget) console.log(`  note: ${m} at batch ${row.batch} allocated ${(row.kvStoreAllocated / 2 ** 20).toFixed(1)} MiB, over the budget (one sequence needs more than it, or MiniCache's retained tokens grew)`);
    }
    report.equalMemory = { budgetBytes: budget, rows };
  }
}

save();
engine.dispose();
process.exit(0);
