import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cli, tempDir } from './cli-helpers.js';
import { describeWith, PARTS } from '../support/parts.js';

const line = (pred: string, answers: string[], length: number) => JSON.stringify({ pred, answers, all_classes: null, length });

describeWith([PARTS.cli], 'minicache-bench score PRED_DIR', () => {
  it('reads <task>.jsonl predictions, writes result.json as eval.py does and prints the table', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'passage_count.jsonl'), [line('3', ['3'], 100), line('there are 4', ['3'], 9000)].join('\n') + '\n');
    writeFileSync(join(dir, 'multifieldqa_zh.jsonl'), line('价格在400-820元之间', ['400'], 50) + '\n');
    const r = cli(['score', dir]);
    expect(r.code, r.stderr).toBe(0);
    // jieba as Python: 价格 / 在 / 400 / - / 820 / 元 / 之间 → 6 tokens after normalising, one shared: F1 = 2/7.
    expect(readFileSync(join(dir, 'result.json'), 'utf8')).toBe('{\n    "multifieldqa_zh": 28.57,\n    "passage_count": 50.0\n}');
    expect(r.stdout).toMatch(/^task\s+n\s+score\nmultifieldqa_zh\s+1\s+28\.57\npassage_count\s+2\s+50\.0\n/);
    expect(r.stderr).toMatch(/2 tasks → .*result\.json/);

    const e = cli(['score', dir, '--e']);
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8').replace(/NaN/g, 'null'))).toEqual({
      multifieldqa_zh: { '0-4k': 28.57, '4-8k': null, '8k+': null },
      passage_count: { '0-4k': 100, '4-8k': null, '8k+': 0 },
    });
    expect(e.stdout).toMatch(/task\s+n\s+0-4k\s+4-8k\s+8k\+/);
  });

  it('bad input exits 2 listing every problem; a folder without predictions is named', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'hotpotqa.jsonl'), '{oops\n' + JSON.stringify({ pred: 'a', all_classes: null }) + '\n');
    const r = cli(['score', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('hotpotqa.jsonl:1: not valid JSON');
    expect(r.stderr).toContain('hotpotqa.jsonl:2 answers: expected an array of strings');
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const n = cli(['score', empty]);
    expect(n.code).toBe(2);
    expect(n.stderr).toMatch(/no <task>\.jsonl prediction files here/);
  });
});

describeWith([PARTS.cli], 'usage errors', () => {
  it('an unknown option, a missing argument or an unknown command exits 2 like every user error; --help exits 0', () => {
    for (const args of [['run', 'x.yaml', '--no-such-option'], ['score'], ['report'], ['frobnicate']]) {
      const r = cli(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/error: (unknown option|missing required argument|unknown command)/);
    }
    expect(cli(['--help']).code).toBe(0);
    expect(cli(['score', '--help']).code).toBe(0);
    expect(cli(['--version']).code).toBe(0);
  });
});
