/**
 * `run --isolate`: every cell runs in its own child process and appends to the same results, so a
 * record's peak RSS and device memory are its own. Records made that way say so in provenance.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cliAsync, readResults, STORIES_CARD, tempDir, writeSuite } from './cli-helpers.js';
import { describeWith, PARTS } from '../support/parts.js';

interface Rec {
  cellId: string;
  status: string;
  provenance: { isolated?: boolean };
  metrics: { kvBytes: number; interleavedRounds?: number; repeats?: Record<string, number[]>; decodeTokensPerSecond?: number; peakRssBytes?: number };
  cell: { method: string; workload: string };
  sampleTokens: unknown;
}

const suite = `name: isolate
seed: 5
warmup: 0
models:
  - card: ${STORIES_CARD}
methods:
  - fp16
  - name: kivi
    params: { bits: 4, groupSize: 8, residual: 16 }
workloads:
  - name: generate
    params: { prompts: ["Once upon a time"], maxNewTokens: 6 }
batch: [1, 2]
`;

describeWith([PARTS.cli], 'minicache-bench run --isolate (CLI, stories260K)', () => {
  it('runs each cell in its own process, records it, and gives the same tokens and bytes as one process', async () => {
    const dir = tempDir();
    const s = writeSuite(dir, suite);
    const isolated = join(dir, 'isolated');
    const r = await cliAsync(['run', s, '--out', isolated, '--isolate']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.match(/own process: started/g)?.length).toBe(4);
    const records = readResults(isolated) as Rec[];
    expect(records.map((x) => x.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(records.every((x) => x.provenance.isolated === true)).toBe(true);
    const manifest = JSON.parse(readFileSync(join(isolated, 'manifest.json'), 'utf8'));
    expect(manifest.isolate).toBe(true);
    expect(manifest.cells).toHaveLength(4);

    const together = join(dir, 'together');
    expect((await cliAsync(['run', s, '--out', together, '--quiet'])).code).toBe(0);
    const base = readResults(together) as Rec[];
    expect(base.every((x) => x.provenance.isolated === undefined)).toBe(true);
    const key = (x: Rec) => [x.cellId, x.metrics.kvBytes, JSON.stringify(x.sampleTokens)];
    expect(records.map(key).sort()).toEqual(base.map(key).sort());

    // Resuming an isolated run that is complete starts no process.
    const again = await cliAsync(['run', s, '--out', isolated, '--isolate', '--resume']);
    expect(again.code).toBe(0);
    expect(again.stderr).not.toMatch(/own process/);
    expect(readResults(isolated)).toHaveLength(4);
  });

  it('times repeats in rounds, methods interleaved, in one process and one process per round; one record per cell', async () => {
    const dir = tempDir();
    const s = writeSuite(
      dir,
      `name: rounds
seed: 2
repeats: 3
warmup: 1
models:
  - card: ${STORIES_CARD}
methods:
  - fp16
  - name: kivi
    params: { bits: 4, groupSize: 8, residual: 8 }
workloads:
  - name: sharegpt
    batch: 2
    params: { promptLen: 12, outputLen: 10 }
  - name: generate
    params: { prompts: ["Once upon a time"], maxNewTokens: 4 }
`,
    );
    for (const isolate of [false, true]) {
      const out = join(dir, isolate ? 'isolated' : 'together');
      const r = await cliAsync(['run', s, '--out', out, ...(isolate ? ['--isolate'] : [])]);
      expect(r.code, r.stderr).toBe(0);
      // One progress count over every item of the run: 2 workloads × 2 methods × 3 rounds.
      const started = [...r.stderr.matchAll(/^\[(\d+)\/(\d+)\] stories260K (\S+) (\S+) b=\d+ \(round (\d)\/3\)[^\n]*: started/gm)];
      expect(started.map((m) => m[2])).toEqual(Array(12).fill('12'));
      expect(started.map((m) => Number(m[1]))).toEqual([...Array(12).keys()].map((i) => i + 1));
      // Within each workload: round 1 of every method, then round 2, then round 3; FP16 first.
      for (const workload of ['sharegpt', 'generate']) {
        expect(started.filter((m) => m[3] === workload).map((m) => `${m[4]}@${m[5]}`)).toEqual(['fp16@1', 'kivi@1', 'fp16@2', 'kivi@2', 'fp16@3', 'kivi@3']);
      }
      const records = readResults(out) as Rec[];
      expect(records).toHaveLength(4);
      for (const x of records) {
        expect(x.status).toBe('ok');
        expect(x.metrics.interleavedRounds).toBe(3);
        const tps = x.metrics.repeats!.decodeTokensPerSecond!;
        expect(tps).toHaveLength(3);
        expect(x.metrics.decodeTokensPerSecond).toBe([...tps].sort((a, b) => a - b)[1]);
        expect(x.metrics.peakRssBytes).toBeGreaterThan(0);
        expect(x.provenance.isolated === true).toBe(isolate);
      }
    }
  });
});
