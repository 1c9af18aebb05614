import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cli, readResults, ROOT, tempDir, writeSuite } from './cli-helpers.js';
import { describeWith, PARTS } from '../support/parts.js';

const MODEL = join(ROOT, 'models/minillama-12l');

/**
 * Compression that silently stops applying is a known failure of peer tools: run every method
 * on the embedded model and check that each compressed method both holds fewer bytes than FP16
 * and changes what the model reads back (its perplexity through the restored cache differs).
 */
describeWith([PARTS.cli], 'compressed methods really compress (embedded model, CLI run)', () => {
  it('fp16, kivi2, kivi4, minicache, minicache+kivi4: bytes below FP16 and restored states differ', () => {
    const dir = tempDir();
    const suite = writeSuite(
      dir,
      `name: applies
warmup: 0
models:
  - card: ${MODEL}
methods: [fp16, kivi2, kivi4, minicache, minicache+kivi4]
workloads:
  - name: perplexity
    batch: 2
    params: { documents: 2, prefixLen: 160, scoredLen: 24 }
`,
    );
    const out = join(dir, 'out');
    const r = cli(['run', suite, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const recs = readResults(out) as unknown as { status: string; cell: { method: string }; metrics: { kvBytes: number; kvBytesBaseline: number; compressionRatio: number; perplexity: number } }[];
    const by = Object.fromEntries(recs.map((x) => [x.cell.method, x]));
    const fp16 = by.fp16!;
    expect(fp16.metrics.compressionRatio).toBe(1);
    expect(fp16.metrics.kvBytes).toBe(fp16.metrics.kvBytesBaseline);
    for (const m of ['kivi2', 'kivi4', 'minicache', 'minicache+kivi4']) {
      const x = by[m]!;
      expect(x.status, m).toBe('ok');
      expect(x.metrics.kvBytesBaseline, m).toBe(fp16.metrics.kvBytesBaseline);
      expect(x.metrics.kvBytes, m).toBeLessThan(fp16.metrics.kvBytes);
      expect(x.metrics.compressionRatio, m).toBeGreaterThan(1.1);
      expect(x.metrics.perplexity, m).not.toBe(fp16.metrics.perplexity);
    }
    // Composition compresses more than either part alone.
    expect(by['minicache+kivi4']!.metrics.kvBytes).toBeLessThan(by.kivi4!.metrics.kvBytes);
    expect(by['minicache+kivi4']!.metrics.kvBytes).toBeLessThan(by.minicache!.metrics.kvBytes);
  });
});
