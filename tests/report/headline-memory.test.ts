/**
 * The headline's memory claim: on the WGSL engine it is the device memory the engine allocated
 * (weights + KV store + scratch), the figure the paper's −41% is about; elsewhere the process's
 * peak RSS beside the KV bytes held.
 */
import { describe, expect, it } from 'vitest';
import { headlineClaims } from '../../src/report/tables/headline.js';
import type { CellResult, OkRecord } from '../../src/results/record.js';
import { syntheticRun } from './synthetic-run.js';

const MiB = 2 ** 20;

/** The synthetic run with engine device bytes on every serving cell: FP16's store as given, minicache+kivi4's `mcKv`. */
function onEngine(mcKv: number, mcScratch = 52 * MiB): CellResult[] {
  return syntheticRun().map((r) => {
    if (r.status !== 'ok' || r.cell.workload !== 'sharegpt') return r;
    const mc = r.cell.method === 'minicache+kivi4';
    const deviceBytesByCategory = { weights: 18.6 * MiB, kvStore: mc ? mcKv : 373.5 * MiB, scratch: mc ? mcScratch : 37.1 * MiB };
    return { ...r, metrics: { ...r.metrics, engine: 'webgpu', deviceBytesByCategory } } as OkRecord;
  });
}
const memory = (records: CellResult[]) => headlineClaims(records).find((c) => c.claim.startsWith('memory vs FP16'))!;

describe('the memory claim', () => {
  it('on the engine: device memory allocated against FP16, reproduced at the H200 figures (−45%)', () => {
    const c = memory(onEngine(167.3 * MiB, 51.8 * MiB));
    // (18.6 + 167.3 + 51.8) / (18.6 + 373.5 + 37.1) = 237.7 / 429.2
    expect(c.ours).toContain(`device memory the engine allocated −${((1 - 237.7 / 429.2) * 100).toFixed(1)}%`);
    expect(c.ours).toContain('KV bytes held');
    expect(c.ours).not.toContain('peak RSS');
    expect(c.verdict).toBe('reproduced');
    expect(c.why).toContain(`FP16's is ${Math.round((373.5 / 429.2) * 100)}% of its device memory`);
  });

  it('on the engine: a store held at its full size (the H100 run before per-scope segments) is not reproduced', () => {
    const c = memory(onEngine(363.5 * MiB));
    expect(c.ours).toMatch(/device memory the engine allocated \+/);
    expect(c.verdict).toBe('KV cache: reproduced; device memory: not');
  });

  it('without engine device bytes: peak RSS beside the KV bytes', () => {
    const c = memory(syntheticRun());
    expect(c.ours).toContain('KV bytes held');
    expect(c.ours).toContain('peak RSS');
    expect(c.ours).not.toContain('device memory the engine allocated');
  });
});
