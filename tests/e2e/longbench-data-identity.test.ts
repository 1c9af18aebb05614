import { appendFileSync, cpSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cliAsync, readResults, ROOT, tempDir, writeSuite } from './cli-helpers.js';
import { describeWith, PARTS } from '../support/parts.js';

// Official-format LongBench data in a user's folder: cells know it by content, not by path.
const suite = `name: lb-data
seed: 0
repeats: 1
warmup: 0
models:
  - card: ${join(ROOT, 'models/minillama-12l')}
methods: [fp16, kivi4]
workloads:
  - name: longbench
    params: { tasks: [trec, passage_count], maxItems: 1, maxLength: 256 }
`;

type Rec = { cellId: string; cell: { workloadParams: { dataDir: string }; data?: string }; provenance: { suiteHash: string } };
const ids = (dir: string) => readResults<Rec>(dir).map((r) => r.cellId).sort();

describeWith([PARTS.cli], 'LongBench data identity', () => {
  it('a moved data folder resumes, shards reading it from different paths merge, a changed file is refused naming it', async () => {
    const dir = tempDir();
    const s = writeSuite(dir, suite);
    const a = join(dir, 'here');
    cpSync(join(ROOT, 'tests/fixtures/longbench/v1'), a, { recursive: true });
    const out = join(dir, 'out');
    const first = await cliAsync(['run', s, '--out', out, '--longbench', a, '-q']);
    expect(first.code, first.stderr).toBe(0);
    const before = readResults<Rec>(out);
    expect(before.every((r) => typeof r.cell.data === 'string')).toBe(true);

    // Moved: --resume finds every cell done (same ids, same suite hash).
    const b = join(dir, 'moved', 'elsewhere');
    mkdirSync(join(dir, 'moved'));
    renameSync(a, b);
    const resumed = await cliAsync(['run', s, '--out', out, '--longbench', b, '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/done: 0 ok, 0 errored, 2 already done \(of 2 cells\)/);

    // LongBench's data.zip layout (<dir>/data/<task>.jsonl) is found too, as the same data.
    const zipped = join(dir, 'unzipped');
    cpSync(b, join(zipped, 'data'), { recursive: true });
    const shard1 = await cliAsync(['run', s, '--out', join(dir, 's1'), '--longbench', b, '--shard', '1/2', '-q']);
    const shard2 = await cliAsync(['run', s, '--out', join(dir, 's2'), '--longbench', zipped, '--shard', '2/2', '-q']);
    expect([shard1.code, shard2.code], shard1.stderr + shard2.stderr).toEqual([0, 0]);
    const merged = await cliAsync(['merge', join(dir, 's1'), join(dir, 's2'), '--out', join(dir, 'merged')]);
    expect(merged.code, merged.stderr).toBe(0);
    expect(ids(join(dir, 'merged'))).toEqual(ids(out));

    // Changed: refused, naming the file.
    appendFileSync(join(b, 'trec.jsonl'), readFileSync(join(b, 'trec.jsonl'), 'utf8').split('\n')[0] + '\n');
    const changed = await cliAsync(['run', s, '--out', out, '--longbench', b, '--resume', '-q']);
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(/the data changed since this run: trec\.jsonl \(sha256 [0-9a-f]{12}… in this run, [0-9a-f]{12}… now\)/);
    expect(changed.stderr).toMatch(/hint: put back the files the run read, or run into another --out/);
  }, 240_000);
});
