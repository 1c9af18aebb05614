import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HarnessError } from '../../src/errors.js';
import { parseGateConfig } from '../../src/gate/config.js';
import { gatesSchema } from '../../src/gate/gates-schema.js';
import { matchesPattern } from '../../src/gate/glob.js';

function errorOf(yaml: string): string {
  try {
    parseGateConfig(yaml, 'gates.yaml');
  } catch (e) {
    if (e instanceof HarnessError) return e.format();
    throw e;
  }
  throw new Error('expected an error');
}

describe('gate rules file', () => {
  it('configs/gates.schema.json is the schema the code validates with', () => {
    expect(JSON.parse(readFileSync('configs/gates.schema.json', 'utf8'))).toEqual(JSON.parse(JSON.stringify(gatesSchema)));
  });

  it('reports every problem of the file at once, each at its rule', () => {
    const text = errorOf(
      'rules:\n  - { name: a, metric: compresionRatio, kind: absolute, min: 1 }\n  - { name: b, metric: kvBytes, kind: vs-baseline, mx: 1 }\n  - { name: a, metric: kvBytes, kind: absolute, min: 2, max: 1 }\n  - { name: d, metric: kvBytes, kind: Absolute, max: 1 }\n',
    );
    expect(text).toMatch(/^5 problems:/);
    expect(text).toMatch(/gates\.yaml:2:\d+ rules\[0\]\.metric: unknown metric "compresionRatio"\n {4}hint: did you mean "compressionRatio"\?/);
    expect(text).toMatch(/gates\.yaml:3:\d+ rules\[1\]\S*: unknown field "mx"/);
    expect(text).toMatch(/gates\.yaml:4:\d+ rules\[2\]\.min: min 2 is above max 1/);
    expect(text).toMatch(/gates\.yaml:4:\d+ rules\[2\]\.name: duplicate rule name "a"/);
    expect(text).toMatch(/gates\.yaml:5:\d+ rules\[3\]\.kind: expected one of/);
  });

  for (const file of ['configs/gates.yaml', 'configs/gates-paper.yaml']) {
    it(`${file} parses`, () => {
      const cfg = parseGateConfig(readFileSync(file, 'utf8'), file);
      expect(cfg.rules.length).toBeGreaterThan(0);
      for (const r of cfg.rules) expect(['warn', 'error']).toContain(r.level);
    });
  }

  it('level defaults to error', () => {
    const cfg = parseGateConfig('rules:\n  - { name: a, metric: kvBytes, kind: absolute, max: 10 }\n', 'g.yaml');
    expect(cfg.rules[0]!.level).toBe('error');
  });

  it('names the line and field of a bad kind', () => {
    expect(errorOf('rules:\n  - name: a\n    metric: kvBytes\n    kind: relative\n    max: 1\n')).toMatch(/^gates\.yaml:4:\d+ rules\[0\]\.kind: expected one of "vs-fp16", "vs-baseline", "absolute"/);
  });

  it('a rule without a bound', () => {
    expect(errorOf('rules:\n  - name: a\n    metric: kvBytes\n    kind: absolute\n')).toMatch(/^gates\.yaml:2:\d+ rules\[0\]: a rule needs a bound: min, max or equal: true/);
  });

  it('an unknown field, with did-you-mean', () => {
    expect(errorOf('rules:\n  - name: a\n    metric: kvBytes\n    kind: absolute\n    mni: 1\n')).toContain('unknown field "mni"\n  hint: did you mean "min"?');
  });

  it('equality-only metrics reject min/max', () => {
    expect(errorOf('rules:\n  - { name: a, metric: sampleTokens, kind: vs-baseline, min: 1 }\n')).toContain('sampleTokens can only be compared for equality');
  });

  it('task patterns only on per-task metrics', () => {
    expect(errorOf('rules:\n  - { name: a, metric: kvBytes, kind: absolute, max: 1, cells: { task: lcc } }\n')).toContain('kvBytes is not a per-task metric');
  });

  it('duplicate rule names', () => {
    expect(errorOf('rules:\n  - { name: a, metric: kvBytes, kind: absolute, max: 1 }\n  - { name: a, metric: kvBytes, kind: absolute, max: 2 }\n')).toContain('duplicate rule name "a"');
  });

  it('malformed YAML', () => {
    expect(errorOf('rules:\n  - name: [unclosed\n')).toMatch(/^gates\.yaml:\d+:\d+: malformed YAML/);
  });
});

describe('cell patterns', () => {
  it('globs with *, ?, {a,b} and literal + . :', () => {
    expect(matchesPattern('minicache+kivi4', 'minicache*')).toBe(true);
    expect(matchesPattern('minicache+kivi4', 'minicache+kivi?')).toBe(true);
    expect(matchesPattern('minicachexkivi4', 'minicache+kivi4')).toBe(false);
    expect(matchesPattern('kivi2', '{kivi2,rtn}')).toBe(true);
    expect(matchesPattern('ablation:t=0.4', 'ablation:t=*')).toBe(true);
    expect(matchesPattern('ablation:t=0x4', 'ablation:t=0.4')).toBe(false);
  });

  it('lists with ! exclusions', () => {
    expect(matchesPattern('fp16', ['*', '!fp16'])).toBe(false);
    expect(matchesPattern('kivi2', ['*', '!fp16'])).toBe(true);
    expect(matchesPattern('kivi2', '!fp16')).toBe(true);
  });

  it('a cell without a label matches only an absent pattern, * or exclusions', () => {
    expect(matchesPattern(undefined, undefined)).toBe(true);
    expect(matchesPattern(undefined, '*')).toBe(true);
    expect(matchesPattern(undefined, 'ablation:*')).toBe(false);
    expect(matchesPattern(undefined, '!*:*')).toBe(true);
    expect(matchesPattern('ablation:t=1', '!*:*')).toBe(false);
  });
});
