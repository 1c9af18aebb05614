/**
 * A LongBench cell compares its outputs with FP16's (token agreement, paired difference). When
 * its FP16 cell is not in the run (done before a --resume, or in another shard), the browser
 * runner runs FP16 again unrecorded, as the Node runner does: the resumed record equals the one
 * of a whole run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runCommand } from '../../runners/node/run-command.js';
import type { CellResult } from '../../src/results/record.js';
import { readRecords, STORIES_CARD, suiteYaml, tempDir } from './browser-fixture.js';
import { describeWith, PARTS } from '../support/parts.js';

function tasks(r: CellResult | undefined): unknown {
  if (!r || r.status !== 'ok') throw new Error(`no ok record: ${JSON.stringify(r)?.slice(0, 300)}`);
  return (r as unknown as { tasks: unknown }).tasks;
}

describeWith([PARTS.chromium], 'browser runner --resume', () => {
  it('a resumed LongBench cell still gets its agreement with FP16', async () => {
    const dir = tempDir();
    const file = join(dir, 'suite.yaml');
    const out = join(dir, 'out');
    writeFileSync(
      file,
      suiteYaml({ runner: 'browser', ep: 'wasm', card: STORIES_CARD, methods: ['fp16', 'minicache'], batch: 2, workloads: [{ name: 'longbench-embedded', params: '{ maxItems: 2, tasks: [passage_count_heldout] }' }] }),
    );
    await runCommand(file, { out, quiet: true });
    const whole = readRecords(out).find((r) => r.cell.method === 'minicache');
    const wholeTasks = tasks(whole) as { agreement?: unknown; deltaVsFp16?: unknown }[];
    expect(wholeTasks[0]?.agreement).toBeDefined();
    expect(wholeTasks[0]?.deltaVsFp16).toBeDefined();

    // Keep only FP16's record, as a run interrupted after its first cell would.
    const lines = readFileSync(join(out, 'results.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"method":"fp16"'));
    writeFileSync(join(out, 'results.jsonl'), `${lines.join('\n')}\n`);
    const summary = await runCommand(file, { out, quiet: true, resume: true });
    expect(summary).toMatchObject({ ok: 1, skipped: 1, errored: 0 });
    const records = readRecords(out);
    expect(records.map((r) => r.cell.method)).toEqual(['fp16', 'minicache']); // FP16's rerun is not recorded
    expect(tasks(records[1])).toEqual(wholeTasks);
  }, 180_000);
});
