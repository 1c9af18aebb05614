/**
 * The browser runner runs the same engine as the Node runner: on the same model, prompts and
 * methods, greedy decoding gives the same tokens on the Node CPU runner, in Chromium on the
 * wasm EP and in Chromium on the webgpu EP (SwiftShader here). Two paths are covered: the
 * `generate` workload (cache held by the host-side methods) and the `sharegpt` workload with
 * cache: auto, which on webgpu keeps the cache on the device (src/gpu's cache-op graphs run by
 * onnxruntime-web) — fp16 and minicache alike.
 *
 * Tolerance (docs/browser-runner.md): tokens are expected identical. Floating-point order
 * differs between these kernels (MLAS AVX vs WASM SIMD vs WGSL), and on SwiftShader (no
 * shader-f16) the device path stores the cache in float32 where the host path rounds it to
 * fp16, so an argmax whose top two logits are closer than that may flip. The test therefore
 * prints every cell's token match rate against Node CPU and requires the first token of every
 * sequence to be identical and the match rate to be at least AGREEMENT_TOLERANCE.
 */
import { expect, it } from 'vitest';
import type { OkRecord } from '../../src/results/record.js';
import { tokenMatchRate } from '../../src/workloads/agreement.js';
import { MINILLAMA, ok, ROOT, runSuite, STORIES_CARD } from './browser-fixture.js';
import { describeWith, PARTS } from '../support/parts.js';

export const AGREEMENT_TOLERANCE = 0.9;
const RUNNERS = [
  ['browser', 'wasm'],
  ['browser', 'webgpu'],
] as const;

function agreement(a: number[][], b: number[][]): number {
  return a.reduce((s, seq, i) => s + tokenMatchRate(seq, b[i] ?? []), 0) / Math.max(1, a.length);
}

/**
 * Runs `generate` (host cache path everywhere) and `sharegpt` with cache: auto (on the device on
 * webgpu) for fp16 and minicache in one suite per runner, and compares every cell with Node CPU.
 */
async function checkParity(label: string, card: string, workloads: { generate: string; sharegpt: string }, batch: number): Promise<void> {
  const methods = ['fp16', 'minicache'];
  const suite = { card, methods, batch, workloads: Object.entries(workloads).map(([name, params]) => ({ name, params })) };
  const node = await runSuite({ runner: 'node', ep: 'cpu', ...suite });
  // Every (workload, method) cell ran on Node: the comparisons below loop over these keys.
  const keys = Object.keys(workloads).flatMap((w) => methods.map((m) => `${w} ${m}`));
  expect([...node.keys()].sort()).toEqual(keys.sort());
  for (const [runner, ep] of RUNNERS) {
    const browser = await runSuite({ runner, ep, ...suite });
    for (const key of node.keys()) {
      const want = ok(node.get(key)).sampleTokens!;
      const got: OkRecord = ok(browser.get(key));
      const rate = agreement(got.sampleTokens!, want);
      console.log(`${label} ${key}: browser ${ep} vs node cpu token match ${(100 * rate).toFixed(1)}% (cache path: ${String(got.metrics.cachePath)})`);
      expect(got.cell.runner).toBe('browser');
      expect(got.metrics.cachePath, key).toBe(ep === 'webgpu' && got.cell.workload === 'sharegpt' ? 'device' : 'host');
      expect(got.provenance.browser).toMatch(/chromium/i);
      expect(got.sampleTokens!.map((s) => s[0]), `${label} ${key} ${ep}: first tokens`).toEqual(want.map((s) => s[0]));
      if (rate < 1) expect(rate, `${label} ${key} ${ep}: token match rate`).toBeGreaterThanOrEqual(AGREEMENT_TOLERANCE);
      else expect(got.sampleTokens).toEqual(want);
    }
  }
}

describeWith([PARTS.chromium], 'greedy tokens: Node CPU = browser wasm = browser webgpu', () => {
  it('stories260K, fp16 and minicache, a padded batch of 2, host and device cache paths', async () => {
    await checkParity('stories260K', STORIES_CARD, {
      generate: '{ prompts: ["Once upon a time", "The little dog ran to the park and"], maxNewTokens: 24, ignoreEos: true }',
      sharegpt: '{ promptLen: 12, outputLen: 20 }',
    }, 2);
  }, 600_000);

  it('embedded minillama-12l, fp16 and minicache, host and device cache paths', async () => {
    // Short: SwiftShader compiles shaders for every new cache length and runs a 12-layer model at
    // about one step per second.
    await checkParity('minillama-12l', MINILLAMA, { generate: '{ prompts: ["The history of the"], maxNewTokens: 8, ignoreEos: true }', sharegpt: '{ promptLen: 16, outputLen: 8 }' }, 1);
  }, 600_000);

  it('LongBench in the page: a Chinese task is scored with the page\'s jieba segmenter, as in Node', async () => {
    const suite = {
      card: STORIES_CARD,
      methods: ['fp16'],
      workloads: [{ name: 'longbench', params: `{ dataDir: ${ROOT}tests/fixtures/longbench/v1, tasks: [multifieldqa_zh], maxItems: 2, maxLength: 200 }` }],
    };
    const node = ok((await runSuite({ runner: 'node', ep: 'cpu', ...suite })).get('longbench fp16'));
    const page = ok((await runSuite({ runner: 'browser', ep: 'wasm', ...suite })).get('longbench fp16'));
    expect(page.tasks!.map((t) => [t.task, t.metric, t.items])).toEqual(node.tasks!.map((t) => [t.task, t.metric, t.items]));
    expect(page.sampleTokens).toEqual(node.sampleTokens);
  }, 120_000);
});
