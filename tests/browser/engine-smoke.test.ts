/**
 * The browser runner with the WGSL engine in its page (navigator.gpu: SwiftShader in CI): the
 * smoke suite, one timed repeat and no warm-up. Every cell ok on the engine's device store, with
 * the same record fields as the Node runner's engine cells.
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { OkRecord } from '../../src/results/record.js';
import { cliAsync, tempDir } from '../e2e/cli-helpers.js';
import { describeWith, PARTS } from '../support/parts.js';
import { readRecords } from '../support/records.js';

describeWith([PARTS.cli, PARTS.chromium], 'the smoke suite on the engine in the browser page', () => {
  it(
    'every cell ok on the device store, with the page adapter in provenance',
    async () => {
      const out = join(tempDir(), 'smoke-browser-engine');
      const r = await cliAsync(['run', 'suites/smoke.yaml', '--runner', 'browser', '--ep', 'webgpu', '--engine', 'webgpu', '--repeats', '1', '--warmup', '0', '--out', out, '--quiet']);
      expect(r.code, r.stderr).toBe(0);
      const records = readRecords(out);
      expect(records.length).toBe(15);
      for (const rec of records) {
        expect(rec.status, `${rec.cell.workload} ${rec.cell.method} b=${rec.cell.batch}: ${rec.status === 'errored' ? rec.error.message : ''}`).toBe('ok');
        const ok = rec as OkRecord;
        expect([ok.cell.engine, ok.cell.runner, ok.provenance.engine]).toEqual(['webgpu', 'browser', 'webgpu']);
        expect(ok.metrics.cachePath).toBe('engine');
        expect((ok.metrics.deviceBytesByCategory as { kvStore: number }).kvStore).toBeGreaterThan(0);
      }
    },
    45 * 60_000,
  );
});
