/**
 * On the WASM EP, V8 compiles onnxruntime-web's WASM functions when they are first called. That
 * compilation (TurboFan under --no-liftoff: about 1.5 s here) must happen while the model loads,
 * not inside the first cell's timed prefill: a run's first cell (warmup 0, as in the smoke
 * suite) recorded a TTFT of 1.5 s against 7 ms for the next cell, and a third of its decode speed.
 */
import { expect, it } from 'vitest';
import { ok, runSuite, STORIES_CARD } from './browser-fixture.js';
import { describeWith, PARTS } from '../support/parts.js';

describeWith([PARTS.chromium], 'browser runner first cell', () => {
  it('the first cell of a wasm run does not pay for compiling the WASM in its timings', async () => {
    const records = await runSuite({ runner: 'browser', ep: 'wasm', card: STORIES_CARD, methods: ['fp16', 'minicache'], workloads: [{ name: 'generate', params: '{ prompts: ["Once upon"], maxNewTokens: 8, ignoreEos: true }' }] });
    const first = ok(records.get('generate fp16')).metrics;
    const second = ok(records.get('generate minicache')).metrics;
    // Prefill of a few tokens on stories260K takes milliseconds; compiling took over a second.
    expect(first.ttftMs!, `first cell TTFT ${first.ttftMs} ms, second ${second.ttftMs} ms`).toBeLessThan(Math.max(250, 20 * second.ttftMs!));
  }, 120_000);
});
