/**
 * Greedy tokens of the project against transformers' on the GPU machine: the tiny transformers
 * folder on the WGSL engine and its torch ONNX export on onnxruntime CPU (tests/fixtures/hf-tiny),
 * and the embedded model — the llama2.c checkpoint on both engines, and its Hugging Face conversion
 * on the WGSL engine — against transformers on the converted folder
 * (tests/fixtures/minillama-transformers.json). Equal tokens, or a first divergence where
 * transformers' top two logits are within 0.01 (models/recipe/fidelity-tokens.ts). Skipped, with
 * the command that makes them, until tests/fixtures/device-fixtures.json lists the fixtures.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { compareTokens, engineGreedy, ortGreedy, type GreedyRef } from '../../models/recipe/fidelity-tokens.js';
import { deviceFixture, ROOT } from '../support/device-fixtures.js';
import { describeWith, itWhen, PARTS } from '../support/parts.js';
import { EMBEDDED_DIR, embeddedModel, gpu, gpuErrors } from './gpu-fixture.js';
import { embeddedAsHf } from './hf-writer.js';

const tiny = deviceFixture('hf-tiny');
const mini = deviceFixture('minillama-transformers');
const TINY = `${ROOT}tests/fixtures/hf-tiny`;
let dir: string;
beforeAll(async () => {
  await gpu();
  dir = mkdtempSync(join(tmpdir(), 'hf-fixture-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  expect(gpuErrors).toEqual([]);
});

function expectClose(refs: readonly GreedyRef[], got: number[][]): void {
  for (const [i, r] of refs.entries()) {
    const c = compareTokens(r, got[i]!);
    expect(c.ok, `${JSON.stringify(r.prompt)}: ${JSON.stringify(c.divergence)}`).toBe(true);
  }
  // near ties are rare: most prompts must match token for token
  expect(refs.filter((r, i) => compareTokens(r, got[i]!).equal).length).toBeGreaterThanOrEqual(Math.ceil(refs.length / 2));
}

describeWith([PARTS.webgpu], 'greedy tokens against transformers', () => {
  itWhen(tiny.ready, tiny.reason, 'the tiny transformers folder (bf16, GQA, Llama-3 rope scaling, untied) on the WGSL engine', async () => {
    const refs = (JSON.parse(readFileSync(`${TINY}/fixture.json`, 'utf8')) as { greedy: GreedyRef[] }).greedy;
    expectClose(refs, await engineGreedy(TINY, refs));
  });

  itWhen(tiny.ready, tiny.reason, "its torch ONNX export through the 'your ONNX decoder' path on onnxruntime CPU", async () => {
    const refs = (JSON.parse(readFileSync(`${TINY}/fixture.json`, 'utf8')) as { greedy: GreedyRef[] }).greedy;
    expectClose(refs, await ortGreedy(`${TINY}/onnx`, refs));
  });

  itWhen(mini.ready, mini.reason, 'the embedded model: llama2.c on both engines and its Hugging Face conversion on the engine', async () => {
    const refs = (JSON.parse(readFileSync(`${ROOT}tests/fixtures/minillama-transformers.json`, 'utf8')) as { greedy: GreedyRef[] }).greedy.slice(0, 3);
    const folder = embeddedAsHf(embeddedModel(), join(dir, 'minillama-hf'), { tokenizer: join(EMBEDDED_DIR, 'tokenizer.json') });
    expectClose(refs, await engineGreedy(folder, refs));
    expectClose(refs, await engineGreedy(EMBEDDED_DIR, refs));
    expectClose(refs, await ortGreedy(EMBEDDED_DIR, refs));
  }, 600_000);
});
