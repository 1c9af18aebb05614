/**
 * Interleaved repeats: the order a run takes its cells (planWork), the one record a cell's rounds
 * make (combineRepeats), and the run's elapsed time and ETA.
 */
import { describe, expect, it } from 'vitest';
import type { CellSpec, OkRecord } from '../../src/results/record.js';
import { combineRepeats, Rounds } from '../../src/runs/combine-repeats.js';
import { planWork } from '../../src/runs/work-plan.js';
import { etaMs, fmtDuration } from '../../runners/node/progress.js';

const spec = (method: string, workload: string, batch: number): CellSpec => ({ model: 'm', method, methodParams: {}, workload, workloadParams: {}, batch, seed: 0, runner: 'node', ep: 'cpu' });
const cell = (method: string, workload: string, batch: number) => ({ id: `${workload}-${batch}-${method}`, spec: spec(method, workload, batch) });

describe('planWork', () => {
  const cells = [cell('kivi2', 'sharegpt', 8), cell('fp16', 'sharegpt', 8), cell('kivi2', 'sharegpt', 1), cell('fp16', 'sharegpt', 1), cell('kivi2', 'perplexity', 4), cell('fp16', 'perplexity', 4)];

  it('runs a timed group in rounds, FP16 first in each round; untimed cells once', () => {
    const items = planWork(cells, 3).map((i) => `${i.cell.id}${i.round ? `@${i.round.index + 1}/${i.round.of}` : ''}`);
    expect(items).toEqual([
      'sharegpt-8-fp16@1/3', 'sharegpt-8-kivi2@1/3', 'sharegpt-8-fp16@2/3', 'sharegpt-8-kivi2@2/3', 'sharegpt-8-fp16@3/3', 'sharegpt-8-kivi2@3/3',
      'sharegpt-1-fp16@1/3', 'sharegpt-1-kivi2@1/3', 'sharegpt-1-fp16@2/3', 'sharegpt-1-kivi2@2/3', 'sharegpt-1-fp16@3/3', 'sharegpt-1-kivi2@3/3',
      'perplexity-4-fp16', 'perplexity-4-kivi2',
    ]);
  });

  it('one repeat: whole cells, no rounds', () => {
    expect(planWork(cells, 1).every((i) => i.round === undefined)).toBe(true);
  });
});

function round(tps: number, rss: number, i: number): OkRecord {
  return {
    schemaVersion: 1,
    cellId: 'c',
    suite: 's',
    cell: spec('kivi2', 'sharegpt', 8),
    provenance: {} as OkRecord['provenance'],
    startedAt: `2026-01-01T00:00:0${i}.000Z`,
    durationMs: 1000,
    status: 'ok',
    metrics: {
      kvBytes: 100,
      kvBytesBaseline: 400,
      compressionRatio: 4,
      seqLen: 497,
      kvBytesByComponent: { data: 100 } as OkRecord['metrics']['kvBytesByComponent'],
      decodeTokensPerSecond: tps,
      ttftMs: tps / 10,
      peakRssBytes: rss,
      repeats: { decodeTokensPerSecond: [tps], ttftMs: [tps / 10] },
    },
    sampleTokens: [[i]],
  };
}

describe('combineRepeats', () => {
  it('concatenates repeats in round order, takes medians, the median round\'s details, memory per round', () => {
    const c = combineRepeats([round(300, 5e8, 1), round(100, 7e8, 2), round(200, 6e8, 3)]);
    expect(c.metrics.repeats).toEqual({ decodeTokensPerSecond: [300, 100, 200], ttftMs: [30, 10, 20], peakRssBytes: [5e8, 7e8, 6e8] });
    expect(c.metrics.decodeTokensPerSecond).toBe(200);
    expect(c.metrics.ttftMs).toBe(20); // from the median round
    expect(c.sampleTokens).toEqual([[3]]);
    expect(c.metrics.peakRssBytes).toBe(6e8);
    expect(c.metrics.interleavedRounds).toBe(3);
    expect(c.metrics.compressionRatio).toBe(4);
    const ci = c.metrics.decodeTokensPerSecondCi as { lo: number; hi: number; n: number };
    expect(ci.n).toBe(3);
    expect(ci.lo).toBeGreaterThanOrEqual(100);
    expect(ci.hi).toBeLessThanOrEqual(300);
    expect(c.durationMs).toBe(3000);
    expect(c.startedAt).toBe('2026-01-01T00:00:01.000Z');
  });
});

describe('run progress', () => {
  it('formats durations and estimates the time left from the fraction done', () => {
    expect([fmtDuration(45_000), fmtDuration(185_000), fmtDuration(3_720_000)]).toEqual(['45s', '3m05s', '1h02m']);
    expect(etaMs(60_000, 0.25)).toBe(180_000);
    expect(etaMs(500, 0.5)).toBeUndefined(); // too early to say
    expect(etaMs(60_000, 0)).toBeUndefined();
  });
});

describe('Rounds', () => {
  const item = (index: number) => ({ cell: { id: 'c' }, round: { index, of: 3 } });
  it('keeps nothing until the last round, then the combined record', () => {
    const r = new Rounds();
    expect(r.add(item(0), round(300, 5e8, 1))).toBeUndefined();
    expect(r.add(item(1), round(100, 7e8, 2))).toBeUndefined();
    const done = r.add(item(2), round(200, 6e8, 3));
    expect(done?.status).toBe('ok');
    expect((done as OkRecord).metrics.interleavedRounds).toBe(3);
  });

  it('a failed round ends its cell: errored, naming the round, and its later rounds are skipped', () => {
    const r = new Rounds();
    expect(r.add(item(0), round(300, 5e8, 1))).toBeUndefined();
    const failed = r.add(item(1), { ...round(1, 1, 2), status: 'errored', error: { name: 'Error', message: 'out of memory' } } as unknown as OkRecord);
    expect(failed).toMatchObject({ status: 'errored', error: { message: 'round 2 of 3: out of memory' } });
    expect(r.skip(item(2))).toBe(true);
    expect(r.skip({ cell: { id: 'other' }, round: { index: 2, of: 3 } })).toBe(false);
  });

  it('a whole cell passes straight through', () => {
    const rec = round(1, 1, 1);
    expect(new Rounds().add({ cell: { id: 'c' } }, rec)).toBe(rec);
  });
});
