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
  metrics: { kvBytes: number };
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
    expect(r.stderr.match(/in its own process/g)?.length).toBe(4);
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
    expect(again.stderr).not.toMatch(/in its own process/);
    expect(readResults(isolated)).toHaveLength(4);
  });
});
