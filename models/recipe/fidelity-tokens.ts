/**
 * The project's side of the fidelity check (models/recipe/README.md, ci/fidelity-device.sh): greedy
 * tokens of the WGSL engine and of onnxruntime CPU against the tokens transformers produced, and a
 * comparison that holds the engine-parity tolerance (equal tokens, or a first divergence where
 * transformers' top two logits are within 0.01 of each other: an argmax flip that fp16 weights or
 * summation order can cause). Tests use the same functions on the committed fixture.
 *
 *   node dist/models/recipe/fidelity-tokens.js --minillama-hf DIR --minillama-ref FILE --tiny DIR --out summary.json
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generate } from '../../src/engine/generate.js';
import { createMethod } from '../../src/methods/registry.js';
import { generateOnEngine } from '../../src/webgpu/generate-engine.js';
import { loadEngine } from '../../runners/node/load-engine.js';
import { loadModel } from '../../runners/node/load-model.js';

/** What transformers produced for one prompt: ids (BOS included), greedy tokens, top-1 minus top-2 logit per step. */
export interface GreedyRef {
  prompt: string;
  ids: number[];
  tokens: number[];
  margins: number[];
}

export const FLIP_TOLERANCE = 0.01;

export interface TokenComparison {
  prompt: string;
  equal: boolean;
  /** First differing step, and transformers' margin there. */
  divergence?: { at: number; margin: number; want: number; got: number };
  /** Equal, or a first divergence within the tolerance. */
  ok: boolean;
}

export function compareTokens(ref: GreedyRef, got: readonly number[]): TokenComparison {
  const at = ref.tokens.findIndex((t, i) => got[i] !== t);
  if (at < 0 && got.length >= ref.tokens.length) return { prompt: ref.prompt, equal: true, ok: true };
  const i = at < 0 ? got.length : at;
  const margin = ref.margins[i] ?? Infinity;
  return { prompt: ref.prompt, equal: false, divergence: { at: i, margin, want: ref.tokens[i]!, got: got[i] ?? -1 }, ok: margin < FLIP_TOLERANCE };
}

/** Greedy tokens of the WGSL engine on a model folder or card, one prompt at a time, EOS ignored (as the reference loop). */
export async function engineGreedy(model: string, refs: readonly GreedyRef[]): Promise<number[][]> {
  const l = await loadEngine(model);
  try {
    const out: number[][] = [];
    for (const r of refs) out.push((await generateOnEngine(l.engine, [r.ids], { maxNewTokens: r.tokens.length, ignoreEos: true })).tokens[0]!);
    return out;
  } finally {
    await l.backend.dispose();
  }
}

/** Greedy tokens of onnxruntime CPU (the harness's generate with the FP16 method) on a model card. */
export async function ortGreedy(model: string, refs: readonly GreedyRef[]): Promise<number[][]> {
  const m = await loadModel(model, { ep: 'cpu' });
  try {
    const out: number[][] = [];
    for (const r of refs) out.push((await generate(m.backend, [r.ids], { maxNewTokens: r.tokens.length, ignoreEos: true, createMethod: (g) => createMethod('fp16', g, {}) })).tokens[0]!);
    return out;
  } finally {
    await m.backend.dispose();
  }
}

function summarize(name: string, refs: readonly GreedyRef[], got: number[][]) {
  const cases = refs.map((r, i) => ({ ...compareTokens(r, got[i]!), tokens: got[i] }));
  return { check: name, ok: cases.every((c) => c.ok), equal: cases.filter((c) => c.equal).length, of: cases.length, cases };
}

async function main(argv: string[]): Promise<number> {
  const arg = (k: string) => {
    const i = argv.indexOf(k);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const out = arg('--out') ?? 'fidelity-summary.json';
  const checks: unknown[] = [];
  const run = async (name: string, f: () => Promise<unknown>) => {
    try {
      checks.push(await f());
    } catch (e) {
      checks.push({ check: name, ok: false, error: (e as Error).stack ?? String(e) });
    }
    process.stderr.write(`fidelity: ${name} done\n`);
  };
  const miniHf = arg('--minillama-hf');
  const miniRef = arg('--minillama-ref');
  if (miniHf && miniRef) {
    const refs = (JSON.parse(readFileSync(miniRef, 'utf8')) as { greedy: GreedyRef[] }).greedy;
    const embedded = resolve(arg('--minillama') ?? 'models/minillama-12l');
    await run('minillama: engine on the converted Hugging Face folder vs transformers', async () => summarize('minillama: engine on the converted Hugging Face folder vs transformers', refs, await engineGreedy(miniHf, refs)));
    await run('minillama: onnxruntime CPU on the llama2.c build vs transformers', async () => summarize('minillama: onnxruntime CPU on the llama2.c build vs transformers', refs, await ortGreedy(embedded, refs)));
    await run('minillama: engine on the llama2.c checkpoint vs transformers', async () => summarize('minillama: engine on the llama2.c checkpoint vs transformers', refs, await engineGreedy(embedded, refs)));
  }
  const tiny = arg('--tiny');
  if (tiny) {
    const fx = JSON.parse(readFileSync(join(tiny, 'fixture.json'), 'utf8')) as { greedy: GreedyRef[] };
    await run('tiny: engine on the transformers folder vs transformers', async () => summarize('tiny: engine on the transformers folder vs transformers', fx.greedy, await engineGreedy(tiny, fx.greedy)));
    await run('tiny: onnxruntime CPU on the torch ONNX export vs transformers', async () => summarize('tiny: onnxruntime CPU on the torch ONNX export vs transformers', fx.greedy, await ortGreedy(join(tiny, 'onnx'), fx.greedy)));
  }
  const ok = checks.every((c) => (c as { ok: boolean }).ok);
  writeFileSync(out, JSON.stringify({ ok, tolerance: FLIP_TOLERANCE, gitSha: process.env.MINICACHE_GIT_SHA ?? null, checks }, null, 2));
  process.stderr.write(`fidelity: ${ok ? 'all checks hold' : 'a check failed'} → ${out}\n`);
  return ok ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(2);
    },
  );
}
