/**
 * The browser runner runs the same engine as the Node runner: on the same model, prompts and
 * methods, greedy decoding gives the same tokens on the Node CPU runner, in Chromium on the
 * wasm EP and in Chromium on the webgpu EP (SwiftShader here).
 *
 * Tolerance (docs/browser-runner.md): tokens are expected identical. Floating-point order
 * differs between these kernels (MLAS AVX vs WASM SIMD vs WGSL), and fp16 on webgpu keeps its
 * cache on the device in the graph's float32 instead of rounding it to fp16, so an argmax whose
 * top two logits are closer than that may flip. The test therefore prints every cell's token
 * match rate against Node CPU and requires the first token of every sequence to be identical
 * and the match rate to be at least AGREEMENT_TOLERANCE.
 */
import { describe, expect, it } from 'vitest';
import type { OkRecord } from '../../src/results/record.js';
import { tokenMatchRate } from '../../src/workloads/agreement.js';
import { HAVE_CHROMIUM, HAVE_MINILLAMA, HAVE_STORIES, MINILLAMA, NO_CHROMIUM, ok, runSuite, STORIES_CARD } from './browser-fixture.js';

export const AGREEMENT_TOLERANCE = 0.9;
const RUNNERS = [
  ['browser', 'wasm'],
  ['browser', 'webgpu'],
] as const;

function agreement(a: number[][], b: number[][]): number {
  return a.reduce((s, seq, i) => s + tokenMatchRate(seq, b[i] ?? []), 0) / Math.max(1, a.length);
}

async function checkParity(label: string, card: string, params: string, batch: number): Promise<void> {
  const methods = ['fp16', 'minicache'];
  const node = await runSuite({ runner: 'node', ep: 'cpu', card, methods, params, batch });
  for (const [runner, ep] of RUNNERS) {
    const browser = await runSuite({ runner, ep, card, methods, params, batch });
    for (const m of methods) {
      const want = ok(node.get(m)).sampleTokens!;
      const got: OkRecord = ok(browser.get(m));
      const rate = agreement(got.sampleTokens!, want);
      console.log(`${label} ${m}: browser ${ep} vs node cpu token match ${(100 * rate).toFixed(1)}% (cache on the ${String(got.metrics.cacheLocation)})`);
      expect(got.cell.runner).toBe('browser');
      expect(got.provenance.browser).toMatch(/chromium/i);
      expect(got.sampleTokens!.map((s) => s[0]), `${label} ${m} ${ep}: first tokens`).toEqual(want.map((s) => s[0]));
      if (rate < 1) expect(rate, `${label} ${m} ${ep}: token match rate`).toBeGreaterThanOrEqual(AGREEMENT_TOLERANCE);
      else expect(got.sampleTokens).toEqual(want);
    }
  }
}

describe.skipIf(!HAVE_CHROMIUM)(`greedy tokens: Node CPU = browser wasm = browser webgpu${HAVE_CHROMIUM ? '' : ` (skipped: ${NO_CHROMIUM})`}`, () => {
  it.skipIf(!HAVE_STORIES)(`stories260K, fp16 and minicache, a padded batch of 2${HAVE_STORIES ? '' : ' (skipped: ../shared/models/stories260K is absent)'}`, async () => {
    await checkParity('stories260K', STORIES_CARD, '{ prompts: ["Once upon a time", "The little dog ran to the park and"], maxNewTokens: 24, ignoreEos: true }', 2);
  }, 300_000);

  it.skipIf(!HAVE_MINILLAMA)(`embedded minillama-12l, fp16 and minicache${HAVE_MINILLAMA ? '' : ` (skipped: ${MINILLAMA}/model.json is not in the repository yet)`}`, async () => {
    // Short: SwiftShader runs a 12-layer model at a few steps per second.
    await checkParity('minillama-12l', MINILLAMA, '{ prompts: ["The history of the"], maxNewTokens: 8, ignoreEos: true }', 1);
  }, 600_000);
});
