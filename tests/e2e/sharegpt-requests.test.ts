import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cliAsync, readResults, ROOT, tempDir, writeSuite } from './cli-helpers.js';
import { describeWith, PARTS } from '../support/parts.js';

const MODEL = join(ROOT, 'models/minillama-12l');
const FIXTURE = join(ROOT, 'tests/fixtures/sharegpt/sharegpt-mini.json');

describeWith([PARTS.cli], 'sharegpt-requests workload (CLI, embedded model)', () => {
  it('serves the embedded ShareGPT-like requests and a ShareGPT_V3 file, varied lengths, ignore-EOS', async () => {
    const dir = tempDir();
    const suite = writeSuite(
      dir,
      `name: sgr
warmup: 0
models:
  - card: ${MODEL}
methods: [fp16, kivi2]
workloads:
  - name: sharegpt-requests
    batch: 4
  - name: sharegpt-requests
    label: file
    batch: 2
    params: { source: file, file: ${FIXTURE} }
`,
    );
    const out = join(dir, 'out');
    const r = await cliAsync(['run', suite, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const recs = readResults(out) as unknown as { status: string; cell: { label?: string; batch: number }; metrics: Record<string, any>; sampleTokens: number[][] }[];
    expect(recs).toHaveLength(4);
    for (const x of recs) {
      expect(x.status).toBe('ok');
      expect(x.metrics.decodeTokensPerSecond).toBeGreaterThan(0);
      // Each request generated exactly its own output length.
      const lens = x.sampleTokens.map((t) => t.length);
      expect(x.metrics.generatedTokens).toBe(lens.reduce((a, b) => a + b, 0));
    }
    const embedded = recs.filter((x) => !x.cell.label);
    expect(new Set(embedded[0]!.sampleTokens.map((t) => t.length)).size).toBeGreaterThan(1);
    const file = recs.find((x) => x.cell.label === 'file')!;
    expect(file.metrics.requestLengths.records).toBeGreaterThan(0);
  }, 300_000);

  it('a ShareGPT file is streamed, not read whole: a broken record is skipped and counted, and the cell runs', async () => {
    const dir = tempDir();
    const suite = writeSuite(
      dir,
      `name: sgr-broken
warmup: 0
models:
  - card: ${MODEL}
methods: [fp16]
workloads:
  - name: sharegpt-requests
    batch: 2
    params: { source: file, file: ${join(ROOT, 'tests/fixtures/sharegpt/sharegpt-broken-element.json')} }
`,
    );
    const out = join(dir, 'out');
    const r = await cliAsync(['run', suite, '--out', out, '-q']);
    expect(r.code, r.stderr).toBe(0);
    const [rec] = readResults(out) as unknown as { status: string; metrics: { requestLengths: { records: number; skippedRecords: Record<string, number> } } }[];
    expect(rec!.status).toBe('ok');
    expect(rec!.metrics.requestLengths.records).toBe(3);
    expect(rec!.metrics.requestLengths.skippedRecords['invalid-json']).toBe(1);
  }, 120_000);
});
