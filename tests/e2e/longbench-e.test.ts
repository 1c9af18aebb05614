import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { promptSettings, tasksOf } from '../../src/runs/workloads/longbench.js';
import { LONGBENCH_E_TASKS, LONGBENCH_TASKS } from '../../src/workloads/longbench/config.js';
import { cliAsync, readResults, ROOT, tempDir, writeSuite } from './cli-helpers.js';
import { describeWith, PARTS } from '../support/parts.js';

describe('longbench workload: LongBench-E and models.json prompt settings', () => {
  it('tasks default to all 21 v1 tasks, or the 13 of LongBench-E with e', () => {
    expect(tasksOf({ tasks: null })).toEqual([...LONGBENCH_TASKS]);
    expect(tasksOf({ tasks: null, e: true })).toEqual([...LONGBENCH_E_TASKS]);
    expect(tasksOf({ tasks: ['trec'], e: true })).toEqual(['trec']);
  });

  it("promptSettings takes max_length and the chat template of LongBench's or KIVI's pred.py for a model; the suite's own values win", () => {
    expect(promptSettings({ promptSettings: 'longbench-v1/llama2-7b-chat-4k', maxLength: null, chatTemplate: 'none' })).toEqual({ maxLength: 3500, chatTemplate: 'llama2-inst' });
    expect(promptSettings({ promptSettings: 'kivi/Llama-2-7b-chat-hf', maxLength: null, chatTemplate: 'none' })).toEqual({ maxLength: 4096, chatTemplate: 'none' });
    expect(promptSettings({ promptSettings: 'longbench-v1/llama2-7b-chat-4k', maxLength: 1000, chatTemplate: 'vicuna' })).toEqual({ maxLength: 1000, chatTemplate: 'vicuna' });
    expect(promptSettings({ promptSettings: null, maxLength: null, chatTemplate: 'none' })).toEqual({ maxLength: null, chatTemplate: 'none' });
    expect(() => promptSettings({ promptSettings: 'llama2-7b-chat-4k' })).toThrow(/must be "longbench-v1\/<model>" or "kivi\/<model>"/);
    expect(() => promptSettings({ promptSettings: 'kivi/no-such-model' })).toThrow(/no max_length for model "no-such-model"/);
    expect(() => promptSettings({ promptSettings: 'longbench-v1/chatglm2-6b' })).toThrow(/not built in/);
  });
});

describeWith([PARTS.cli], 'LongBench-E in a run', () => {
  it('e: true reads <task>_e.jsonl and scores by length bucket; a task LongBench-E lacks is refused before running', async () => {
    const dir = tempDir();
    const data = join(dir, 'lb');
    cpSync(join(ROOT, 'tests/fixtures/longbench/v1'), data, { recursive: true });
    // LongBench-E records name their dataset <task>_e.
    writeFileSync(join(data, 'trec_e.jsonl'), readFileSync(join(data, 'trec.jsonl'), 'utf8').replaceAll('"dataset": "trec"', '"dataset": "trec_e"'));
    const suite = (tasks: string) => `name: lb-e
warmup: 0
models:
  - card: ${join(ROOT, 'models/minillama-12l')}
methods: [fp16]
workloads:
  - name: longbench
    params: { dataDir: ${data}, e: true, tasks: ${tasks}, maxLength: 256 }
`;
    const out = join(dir, 'out');
    const r = await cliAsync(['run', writeSuite(dir, suite('[trec]')), '--out', out, '-q']);
    expect(r.code, r.stderr).toBe(0);
    const [rec] = readResults<{ tasks: { task: string; n: number; byLength: Record<string, { n: number }> }[] }>(out);
    expect(rec!.tasks[0]).toMatchObject({ task: 'trec', n: 3, byLength: { '0-4k': { n: 3 } } });
    const bad = await cliAsync(['validate', writeSuite(dir, suite('[trec, dureader]'))]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/LongBench-E has no task dureader/);
  }, 120_000);
});
