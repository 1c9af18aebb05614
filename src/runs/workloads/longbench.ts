import type { GenerateResult } from '../../engine/generate.js';
import { generateForCell } from '../generation.js';
import { totalBytes, type ByteBreakdown } from '../../methods/types.js';
import type { TaskScore } from '../../results/record.js';
import { EMBEDDED_TASKS, embeddedTask, isPerplexityTask } from '../../workloads/embedded/specs.js';
import { chatTemplate, isLongBenchTask, LONGBENCH_E_TASKS, LONGBENCH_TASKS, longBenchTask, modelPromptSettings, type TaskSpec } from '../../workloads/longbench/config.js';
import { prepareLongBenchPrompt } from '../../workloads/longbench/prompt.js';
import { parseLongBenchRecord, type LongBenchRecord } from '../../workloads/longbench/record.js';
import { scoreTask } from '../../workloads/longbench/score.js';
import { buildTaskScore } from '../../workloads/task-score.js';
import type { WorkloadContext, WorkloadDef, WorkloadOutput } from '../workload.js';

function taskSpec(name: string): TaskSpec {
  if (isLongBenchTask(name)) return longBenchTask(name);
  const spec = embeddedTask(name);
  if (isPerplexityTask(spec)) throw new Error(`task "${name}" is a perplexity task: run it with the perplexity workload`);
  return spec;
}

/** `<dataDir>/<task>.jsonl`, or LongBench-E's `<task>_e.jsonl`. */
function taskFile(dir: string, task: string, e = false): string {
  return `${dir.replace(/\/$/, '')}/${task}${e ? '_e' : ''}.jsonl`;
}

/** The tasks a cell runs: the given list, else every task of LongBench v1 (or of LongBench-E with e). */
export function tasksOf(p: Record<string, unknown>): string[] {
  if (Array.isArray(p.tasks)) return p.tasks as string[];
  return [...(p.e ? LONGBENCH_E_TASKS : LONGBENCH_TASKS)];
}

/**
 * maxLength and chat template: the suite's, else those LongBench's or KIVI's pred.py sets for the
 * model named in promptSettings (configs/longbench/models.json, e.g. "kivi/Llama-2-7b-chat-hf"),
 * else the model card's context less the task's new tokens, and no template.
 */
export function promptSettings(p: Record<string, unknown>): { maxLength: number | null; chatTemplate: string } {
  const named = typeof p.promptSettings === 'string' ? p.promptSettings : null;
  let fromModel: { maxLength: number; chatTemplate: string | null } | undefined;
  if (named) {
    const slash = named.indexOf('/');
    const pipeline = named.slice(0, slash);
    if (slash < 0 || (pipeline !== 'longbench-v1' && pipeline !== 'kivi')) throw new Error(`longbench: promptSettings must be "longbench-v1/<model>" or "kivi/<model>" (configs/longbench/models.json), got ${JSON.stringify(named)}`);
    fromModel = modelPromptSettings(pipeline, named.slice(slash + 1));
    if (fromModel.chatTemplate === null) throw new Error(`longbench: ${named} builds its prompts with its tokenizer's own code (chatglm), which is not built in; set chatTemplate and maxLength instead`);
  }
  const given = p.chatTemplate === undefined || p.chatTemplate === 'none' ? null : String(p.chatTemplate);
  return {
    maxLength: p.maxLength != null ? Number(p.maxLength) : (fromModel?.maxLength ?? null),
    chatTemplate: given ?? fromModel?.chatTemplate ?? 'none',
  };
}

function parseRecords(text: string, file: string, task: string): LongBenchRecord[] {
  const out: LongBenchRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new Error(`${file}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    out.push(parseLongBenchRecord(value, { file, line: i + 1 }, { expectDataset: task }));
  });
  return out;
}

/**
 * LongBench-format tasks through the compressed cache, scored with LongBench's metrics:
 * format → middle truncation by tokens → chat template (per task) → greedy generation →
 * post-processing → per-item max over gold answers. Each task carries its paired difference
 * against FP16 (bootstrap CI) and token agreement with FP16's outputs when FP16 ran first.
 */
function longBenchWorkload(kind: 'official' | 'embedded'): WorkloadDef {
  return {
    description:
      kind === 'official'
        ? 'Official LongBench v1 tasks from dataDir (<task>.jsonl), official prompts, truncation and metrics'
        : 'The embedded LongBench-format task set made from the embedded model’s held-out text',
    defaults: {
      dataDir: kind === 'official' ? null : 'project:data/embedded-longbench',
      // official: null = all 21 v1 tasks, or LongBench-E's 13 with e (files <task>_e.jsonl, scores by length bucket too).
      tasks: kind === 'official' ? null : EMBEDDED_TASKS.filter((t) => !isPerplexityTask(embeddedTask(t))),
      ...(kind === 'official' ? { e: false } : {}),
      maxItems: kind === 'official' ? null : 20,
      maxLength: null,
      chatTemplate: 'none',
      ...(kind === 'official' ? { promptSettings: null } : {}),
    },
    dataFiles: (p) => {
      if (!p.dataDir) throw new Error('longbench: give dataDir (the folder holding <task>.jsonl), e.g. with `run SUITE --longbench DIR` or `reproduce --longbench DIR`');
      const tasks = tasksOf(p);
      const notE = p.e ? tasks.filter((t) => !LONGBENCH_E_TASKS.includes(t)) : [];
      if (notE.length > 0) throw new Error(`longbench: LongBench-E has no task ${notE.join(', ')} (its tasks: ${LONGBENCH_E_TASKS.join(', ')})`);
      promptSettings(p); // a bad promptSettings fails here, before anything runs
      return tasks.map((t) => taskFile(String(p.dataDir), t, Boolean(p.e)));
    },
    run: (ctx) => runLongBench(ctx),
    usesBaseline: true,
    needsRealWeights: true,
  };
}

async function runLongBench(ctx: WorkloadContext): Promise<WorkloadOutput> {
  const p = ctx.cell.workloadParams;
  const m = ctx.backend.model;
  const tasks = tasksOf(p);
  const settings = promptSettings(p);
  const template = settings.chatTemplate === 'none' ? null : chatTemplate(settings.chatTemplate, ctx.tokenizer);
  const newline = ctx.tokenizer.encode('\n').at(-1);
  const scores: TaskScore[] = [];
  const allTokens: number[][] = [];
  let baseIndex = 0;
  let held = 0;
  let base = 0;
  let peak = 0;
  let peakBaseline = 0;
  let seqLen = 0;
  let bytes: ByteBreakdown = {};
  const plan = tasks.map((task) => {
    const file = taskFile(String(p.dataDir), task, Boolean(p.e));
    const records = parseRecords(ctx.data.get(file) ?? '', file, task);
    return { task, spec: taskSpec(task), records: p.maxItems ? records.slice(0, Number(p.maxItems)) : records };
  });
  const totalItems = plan.reduce((s, t) => s + t.records.length, 0);
  let doneItems = 0;
  for (const { task, spec, records } of plan) {
    const maxLength = settings.maxLength ?? m.maxContext - spec.maxNewTokens;
    const prompts = records.map((r) => ctx.tokenizer.encode(prepareLongBenchPrompt(spec, r, { tokenizer: ctx.tokenizer, maxLength, chatTemplate: template }).text, { bos: true }));
    const outputs: number[][] = [];
    for (let i = 0; i < prompts.length; i += ctx.cell.batch) {
      const chunk = prompts.slice(i, i + ctx.cell.batch);
      const r: GenerateResult = await generateForCell(ctx, chunk, {
        maxNewTokens: spec.maxNewTokens,
        ...(spec.stopAtNewline && newline !== undefined ? { stopTokens: [newline] } : {}),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        onStep: (s, n) => ctx.onProgress?.(doneItems + (chunk.length * s) / Math.max(1, n), totalItems, task),
      });
      outputs.push(...r.tokens);
      held += totalBytes(r.bytes);
      base += r.kvBytesBaseline;
      if (r.peakKvBytes >= peak) [peak, peakBaseline, bytes, seqLen] = [r.peakKvBytes, r.kvBytesBaseline, r.bytes, r.seqLen];
      doneItems += chunk.length;
    }
    const predictions = outputs.map((t) => ctx.tokenizer.decode(t, { skipSpecial: true }));
    const scored = scoreTask(spec, predictions, records, ctx.segment ? { segment: ctx.segment } : {});
    const fp16 = ctx.baseline?.tasks?.find((t) => t.task === task);
    const fp16Outputs = ctx.baseline?.outputs?.tokens.slice(baseIndex, baseIndex + records.length);
    scores.push(
      buildTaskScore({
        task,
        metric: spec.metric,
        items: scored.items,
        lengths: records.map((r) => r.length),
        ...(fp16?.items ? { baselineItems: fp16.items } : {}),
        ...(fp16Outputs && fp16Outputs.length === outputs.length ? { outputs, baselineOutputs: fp16Outputs } : {}),
      }),
    );
    baseIndex += records.length;
    allTokens.push(...outputs);
  }
  return {
    metrics: {
      kvBytes: peak,
      kvBytesBaseline: peakBaseline,
      // Over all items: FP16 bytes for the same tokens / bytes held, each summed at the end of its batch.
      compressionRatio: base / Math.max(1, held),
      seqLen,
      kvBytesByComponent: bytes,
      meanScore: scores.reduce((s, t) => s + t.score, 0) / Math.max(1, scores.length),
      modelWeightBytes: m.weightBytes,
    },
    tasks: scores,
    sampleTokens: allTokens.slice(0, 8),
    outputs: { tokens: allTokens },
  };
}

export const longbenchWorkload = longBenchWorkload('official');
export const longbenchEmbeddedWorkload = longBenchWorkload('embedded');
