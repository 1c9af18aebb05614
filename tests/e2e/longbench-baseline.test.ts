import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cliAsync, readResults, ROOT, tempDir, writeSuite } from './cli-helpers.js';
import { describeWith, PARTS } from '../support/parts.js';

// LongBench cells carry their agreement with FP16's outputs and the paired difference to FP16.
const suite = `name: lb-baseline
seed: 0
repeats: 1
warmup: 0
models:
  - card: ${join(ROOT, 'models/minillama-12l')}
methods: [fp16, kivi4, minicache]
workloads:
  - name: longbench-embedded
    params: { maxItems: 1, maxLength: 256, tasks: [lcc_heldout] }
`;

type Rec = { cellId: string; cell: { method: string }; tasks: { agreement?: unknown; deltaVsFp16?: unknown }[] };
const records = (dir: string) => readResults<Rec>(dir);
const comparisons = (dir: string) => Object.fromEntries(records(dir).map((r) => [r.cellId, r.tasks.map((t) => ({ agreement: t.agreement, deltaVsFp16: t.deltaVsFp16 }))]));

describeWith([PARTS.cli], 'LongBench comparisons with FP16 survive sharding and --resume', () => {
  it('a merged sharded run and a resumed run equal one run, agreement and paired difference included', async () => {
    const dir = tempDir();
    const s = writeSuite(dir, suite);
    const whole = join(dir, 'whole');
    expect((await cliAsync(['run', s, '--out', whole, '-q'])).code).toBe(0);
    const expected = comparisons(whole);
    const compressed = records(whole).filter((r) => r.cell.method !== 'fp16');
    expect(compressed.every((r) => r.tasks[0]!.agreement !== undefined && r.tasks[0]!.deltaVsFp16 !== undefined)).toBe(true);

    // Shards: FP16 lands in one shard only.
    for (const i of [1, 2]) expect((await cliAsync(['run', s, '--out', join(dir, `s${i}`), '--shard', `${i}/2`, '-q'])).code).toBe(0);
    expect((await cliAsync(['merge', join(dir, 's1'), join(dir, 's2'), '--out', join(dir, 'merged')])).code).toBe(0);
    expect(comparisons(join(dir, 'merged'))).toEqual(expected);

    // Resume: FP16 finished before the interruption, the others had not.
    const resumed = join(dir, 'resumed');
    expect((await cliAsync(['run', s, '--out', resumed, '-q'])).code).toBe(0);
    const lines = readFileSync(join(resumed, 'results.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"method":"fp16"'));
    writeFileSync(join(resumed, 'results.jsonl'), `${lines.join('\n')}\n`);
    expect((await cliAsync(['run', s, '--out', resumed, '--resume', '-q'])).code).toBe(0);
    expect(comparisons(resumed)).toEqual(expected);
  }, 180_000);
});
