/**
 * `run suites/smoke.yaml --engine webgpu`: every cell of the CI smoke suite on the WGSL engine
 * (SwiftShader in CI), one timed repeat and no warm-up (SwiftShader runs the engine about a
 * hundred times slower than a GPU). Every cell must be ok, held on the engine's device store
 * (cachePath 'engine'), recorded as an engine cell with its adapter and device memory by
 * category, with the bytes of the same method on the host path.
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { OkRecord } from '../../src/results/record.js';
import { cliAsync, tempDir } from './cli-helpers.js';
import { describeWith, PARTS } from '../support/parts.js';
import { readRecords } from '../support/records.js';

describeWith([PARTS.cli, PARTS.webgpu], 'the smoke suite on the WebGPU engine', () => {
  it(
    'every cell ok on the device store, with engine provenance and device bytes by category',
    async () => {
      const out = join(tempDir(), 'smoke-webgpu');
      const r = await cliAsync(['run', 'suites/smoke.yaml', '--engine', 'webgpu', '--repeats', '1', '--warmup', '0', '--out', out, '--quiet']);
      expect(r.code, r.stderr).toBe(0);
      const records = readRecords(out);
      expect(records.length).toBe(15);
      for (const rec of records) {
        expect(rec.status, `${rec.cell.workload} ${rec.cell.method} b=${rec.cell.batch}: ${rec.status === 'errored' ? rec.error.message : ''}`).toBe('ok');
        const ok = rec as OkRecord;
        expect(ok.cell.engine).toBe('webgpu');
        expect(ok.provenance.engine).toBe('webgpu');
        expect(ok.provenance.adapter?.description ?? ok.provenance.adapter?.vendor).toBeTruthy();
        const dev = ok.metrics.deviceBytesByCategory as { weights: number; kvStore: number; scratch: number };
        expect(dev.weights).toBeGreaterThan(19e6);
        expect(dev.kvStore).toBeGreaterThan(0);
        expect(dev.scratch).toBeGreaterThan(0);
        if (rec.cell.workload === 'generate') expect(ok.metrics.cachePath).toBe('engine');
      }
      // bytes held equal the host formula for fp16 (the other methods' are checked against the host
      // stores in tests/webgpu): 2 · layers · batch · kvHeads · seqLen · headDim · 2
      const fp16 = records.find((x) => x.cell.method === 'fp16' && x.cell.workload === 'generate' && x.cell.batch === 4) as OkRecord;
      expect(fp16.metrics.kvBytes).toBe(2 * 12 * 4 * 2 * fp16.metrics.seqLen * 64 * 2);
    },
    45 * 60_000,
  );
});
