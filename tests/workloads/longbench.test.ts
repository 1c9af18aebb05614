import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readLongBenchTask } from '../../runners/node/workload-files.js';
import { loadJiebaSegmenter } from '../../runners/node/jieba-segmenter.js';
import { HarnessError } from '../../src/errors.js';
import { chatTemplate, LONGBENCH_TASKS, longBenchTask, modelPromptSettings } from '../../src/workloads/longbench/config.js';
import { buildPrompt, prepareLongBenchPrompt, truncateMiddle } from '../../src/workloads/longbench/prompt.js';
import { postProcessPrediction, scoreTask, taskScore } from '../../src/workloads/longbench/score.js';
import { pyFormat } from '../../src/workloads/py-format.js';
import { charTokenizer } from './helpers/char-tokenizer.js';

const dir = new URL('../fixtures/longbench/v1', import.meta.url).pathname;
const badDir = new URL('../fixtures/longbench/bad', import.meta.url).pathname;
const golden = JSON.parse(readFileSync(new URL('../fixtures/longbench/prompts-golden.json', import.meta.url), 'utf8')).prompts as Record<string, string[]>;
const MAX = 256;

describe('LongBench configuration', () => {
  it('has the 21 v1 tasks with their metric, generation length and pipeline flags', () => {
    expect(LONGBENCH_TASKS).toHaveLength(21);
    expect(longBenchTask('samsum')).toMatchObject({ metric: 'rouge', maxNewTokens: 128, chat: false, firstLineOnly: true, stopAtNewline: true });
    expect(longBenchTask('gov_report')).toMatchObject({ metric: 'rouge', maxNewTokens: 512, chat: true, firstLineOnly: false });
    expect(longBenchTask('lcc')).toMatchObject({ metric: 'code_sim', chat: false, firstLineOnly: false });
    expect(longBenchTask('narrativeqa').template).toContain('asconcisely'); // typo kept verbatim
    expect(() => longBenchTask('hotpot')).toThrow(/unknown LongBench task "hotpot"/);
  });

  it('model budgets and chat templates per pipeline', () => {
    expect(modelPromptSettings('longbench-v1', 'llama2-7b-chat-4k')).toEqual({ maxLength: 3500, chatTemplate: 'llama2-inst' });
    expect(modelPromptSettings('kivi', 'Llama-2-7b-chat-hf')).toEqual({ maxLength: 4096, chatTemplate: 'none' });
    expect(modelPromptSettings('kivi', 'Mistral-7B-Instruct-v0.2').chatTemplate).toBe('none'); // KIVI's substring bug
    expect(chatTemplate('llama2-inst')).toEqual({ prefix: '[INST]', suffix: '[/INST]' });
  });
});

describe('LongBench fixture files: read, prompt, truncate, score', () => {
  const tasks = ['hotpotqa', 'gov_report', 'trec', 'passage_retrieval_en', 'passage_count', 'lcc', 'multifieldqa_zh'];

  it.each(tasks)('%s: prompts are byte-identical to Python str.format of the template', (task) => {
    const { records } = readLongBenchTask(dir, task);
    const prompts = records.map((r) => buildPrompt(longBenchTask(task), r));
    expect(prompts).toEqual(golden[task]);
  });

  it('a code context holding "{input}" and "{{" is not expanded again', () => {
    const { records } = readLongBenchTask(dir, 'lcc');
    const p = buildPrompt(longBenchTask('lcc'), records[1]!);
    expect(p).toBe('Please complete the code given below. \nfmt = "{input} and {context} stay literal, {{doubled}} too"\ndef run(a, b):\nNext line of code:\n');
  });

  it.each(tasks)('%s: middle truncation keeps decode(first half) + decode(last half) of the tokens', (task) => {
    const { records } = readLongBenchTask(dir, task);
    let truncated = 0;
    // MAX, and a budget of 64 under which every fixture prompt (≥ 88 characters) is cut.
    for (const max of [MAX, 64]) {
      for (const r of records) {
        const full = buildPrompt(longBenchTask(task), r);
        const t = truncateMiddle(full, charTokenizer, max);
        // ids = [BOS, c0, c1, …]; half = max/2: head = BOS + (half − 1) chars (BOS dropped by decode), tail = last half chars
        const chars = Array.from(full);
        const half = max / 2;
        if (chars.length + 1 > max) {
          truncated++;
          expect(t).toEqual({ prompt: chars.slice(0, half - 1).join('') + chars.slice(-half).join(''), truncated: true, tokensBefore: chars.length + 1 });
        } else {
          expect(t).toEqual({ prompt: full, truncated: false, tokensBefore: chars.length + 1 });
        }
      }
    }
    expect(truncated).toBeGreaterThanOrEqual(records.length);
  });

  it('chat template wraps the truncated prompt, except on the tasks LongBench leaves raw', () => {
    const inst = chatTemplate('llama2-inst');
    const hot = readLongBenchTask(dir, 'hotpotqa').records[0]!;
    const p = prepareLongBenchPrompt(longBenchTask('hotpotqa'), hot, { tokenizer: charTokenizer, maxLength: MAX, chatTemplate: inst });
    expect(p.truncated).toBe(true);
    expect(p.text).toBe(`[INST]${p.prompt}[/INST]`);
    expect(p.chatApplied).toBe(true);
    const trec = readLongBenchTask(dir, 'trec').records[0]!;
    const q = prepareLongBenchPrompt(longBenchTask('trec'), trec, { tokenizer: charTokenizer, maxLength: MAX, chatTemplate: inst });
    expect(q.text).toBe(q.prompt);
    expect(q.chatApplied).toBe(false);
    const none = prepareLongBenchPrompt(longBenchTask('hotpotqa'), hot, { tokenizer: charTokenizer, maxLength: MAX, chatTemplate: chatTemplate('none') });
    expect(none.text).toBe(none.prompt);
  });

  it("the model's own chat template (chatTemplate: tokenizer) renders one user message, as KIVI's build_chat for Llama-3-Instruct", () => {
    const withTemplate = { ...charTokenizer, applyChatTemplate: (m: readonly { role: string; content: string }[]) => `<u>${m.map((x) => `${x.role}:${x.content}`).join('')}</u>` };
    const own = chatTemplate('tokenizer', withTemplate);
    const hot = readLongBenchTask(dir, 'hotpotqa').records[0]!;
    const p = prepareLongBenchPrompt(longBenchTask('hotpotqa'), hot, { tokenizer: withTemplate, maxLength: MAX, chatTemplate: own });
    expect(p.text).toBe(`<u>user:${p.prompt}</u>`);
    expect(p.chatApplied).toBe(true);
    const trec = readLongBenchTask(dir, 'trec').records[0]!;
    expect(prepareLongBenchPrompt(longBenchTask('trec'), trec, { tokenizer: withTemplate, maxLength: MAX, chatTemplate: own }).chatApplied).toBe(false);
    expect(() => chatTemplate('tokenizer', charTokenizer)).toThrow(/has no chat template .*tokenizer_config\.json/);
  });

  // Predictions per task with per-item scores worked out by hand.
  const cases: [string, string[], number[], number][] = [
    // "The Miller Lane." → "miller lane" (F1 1); "It was 1846 I think" vs "1846": P 1/5, R 1 → 1/3
    // (vs "the year 1846" → [year, 1846]: 2·(1/5·1/2)/(1/5+1/2) = 2/7, lower) → round(100·(4/3)/2, 2)
    ['hotpotqa', ['The Miller Lane.', 'It was 1846 I think'], [1, 1 / 3], 66.67],
    // pred sentences [The agency found waste in its budget]; ref [The agency reviewed its budget],
    // [It found waste]: m = 8, n = 7, union LCS {The, agency, its, budget} ∪ {found, waste} = 6 →
    // R = 3/4, P = 6/7, F = 2PR/(P+R+1e-8) ≈ 0.8; empty prediction → 0
    ['gov_report', ['The agency found waste in its budget.', ''], [2 * ((6 / 7) * 0.75) / (6 / 7 + 0.75 + 1e-8), 0], 40],
    // first line "City" → 1; both "Number of something" and "Other number" match → 1/2; none → 0
    ['trec', ['\nCity\nType: Country', 'Number of something or Other number', 'I am not sure'], [1, 0.5, 0], 50],
    ['passage_retrieval_en', ['Paragraph 2', 'Paragraph 3 or Paragraph 1'], [1, 0.5], 75],
    ['passage_count', ['3', 'There are 4'], [1, 0], 50],
    // "x = compute(a)" vs "x = compute(a, b)": blocks "x = compute(a" (13) + ")" (1) → 2·14/31 → fuzz 90
    ['lcc', ['    return total\n    # done', '# compute\nx = compute(a)\n'], [1, 0.9], 95],
    // jieba: [北京, 。] → [北京]; [两个, 苹果] vs [三个, 苹果] → F1 1/2
    ['multifieldqa_zh', ['北京。', '两个苹果'], [1, 0.5], 75],
  ];

  it.each(cases)('%s: scores items by hand-computed values and the task as round(100·mean, 2)', (task, preds, items, score) => {
    const { records } = readLongBenchTask(dir, task);
    const r = scoreTask(longBenchTask(task), preds, records, { segment: loadJiebaSegmenter() });
    expect(r.items).toHaveLength(items.length);
    r.items.forEach((x, i) => expect(x).toBeCloseTo(items[i]!, 12));
    expect(r.score).toBe(score);
  });

  it('LongBench-E buckets by the length field', () => {
    const { records } = readLongBenchTask(dir, 'passage_retrieval_en'); // lengths 4100, 8200
    const r = scoreTask(longBenchTask('passage_retrieval_en'), ['Paragraph 2', 'Paragraph 3 or Paragraph 1'], records);
    expect(r.byLength).toEqual({ '4-8k': { score: 100, n: 1 }, '8k+': { score: 50, n: 1 } });
  });

  it('post-processing keeps only the first line for trec-like tasks', () => {
    expect(postProcessPrediction(longBenchTask('triviaqa'), '\n\nParis\nQuestion: next')).toBe('Paris');
    expect(postProcessPrediction(longBenchTask('hotpotqa'), '\nParis\nmore')).toBe('\nParis\nmore');
  });

  it('task score rounds like Python (half to even on exact ties)', () => {
    expect(taskScore([1, 0, 0])).toBe(33.33);
    expect(taskScore([0.00125])).toBe(0.12); // 100·0.00125 = 0.125 exactly → 0.12
  });
});

/** HarnessError.format() of what fn throws: the text a user sees. */
function formatted(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof HarnessError) return e.format();
    throw e;
  }
  throw new Error('did not throw');
}

describe('bad LongBench data', () => {
  it('names the file, line and field', () => {
    expect(formatted(() => readLongBenchTask(badDir, 'hotpotqa'))).toBe(`${badDir}/hotpotqa.jsonl:2 answers: expected a non-empty array of strings, got nothing (field missing)`);
  });

  it('invalid JSON names its line (blank lines skipped but counted)', () => {
    expect(formatted(() => readLongBenchTask(badDir, 'trec'))).toMatch(new RegExp(`${badDir}/trec\\.jsonl:3: invalid JSON`));
  });

  it('a file holding another task is caught by its dataset field', () => {
    expect(formatted(() => readLongBenchTask(badDir, 'lcc'))).toBe(`${badDir}/lcc.jsonl:1 dataset: expected "lcc" (the task this file was read as), got a string "hotpotqa"`);
  });

  it('a missing task file says where it looked', () => {
    expect(() => readLongBenchTask(badDir, 'qmsum')).toThrow(/no qmsum\.jsonl/);
  });

  it('template errors match Python\'s: a missing field, a stray brace', () => {
    expect(() => pyFormat('{context} {nope}', { context: 'x' })).toThrow(/KeyError 'nope'/);
    expect(() => pyFormat('a } b', {})).toThrow(/Single '}'/);
    expect(pyFormat('{{x}} {a}', { a: 7 })).toBe('{x} 7');
  });
});
