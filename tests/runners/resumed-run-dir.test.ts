import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRunDir } from '../../reports/run-dir.js';
import { serializeResults } from '../../src/results/jsonl.js';
import type { CellResult } from '../../src/results/record.js';
import { reportCommand } from '../../runners/node/report-command.js';
import { manifestFor, syntheticRun } from '../report/synthetic-run.js';

const failed = (r: CellResult, message: string): CellResult => {
  const { metrics: _m, tasks: _t, diagnostics: _d, sampleTokens: _s, ...rest } = r as CellResult & Record<string, unknown>;
  return { ...rest, status: 'errored', error: { name: 'Error', message } } as CellResult;
};

describe('a resumed run folder (results.jsonl keeps every attempt of a cell)', () => {
  const all = syntheticRun().slice(0, 4);
  // Cell 0 errored, then succeeded on --resume; cell 1 errored on both attempts.
  const attempts = [failed(all[0]!, 'out of memory'), failed(all[1]!, 'first'), all[2]!, all[3]!, all[0]!, failed(all[1]!, 'second')];

  it('is read as one record per cell: ok wins, else the latest attempt', () => {
    const dir = mkdtempSync(join(tmpdir(), 'resumed-'));
    writeFileSync(join(dir, 'results.jsonl'), serializeResults(attempts));
    const { records } = readRunDir(dir);
    expect(records.map((r) => r.cellId).sort()).toEqual(all.map((r) => r.cellId).sort());
    expect(records.find((r) => r.cellId === all[0]!.cellId)!.status).toBe('ok');
    const c1 = records.find((r) => r.cellId === all[1]!.cellId)!;
    expect(c1.status === 'errored' && c1.error.message).toBe('second');
  });

  it("report's summary counts cells, not attempts", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'resumed-'));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'results.jsonl'), serializeResults(attempts));
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifestFor(all)));
    expect(await reportCommand(dir, { images: false, log: () => {}, error: () => {} })).toBe(0);
    const summary = readFileSync(join(dir, 'summary.md'), 'utf8');
    expect(summary).toContain('4 cells: 3 ok, 1 errored');
  });
});
