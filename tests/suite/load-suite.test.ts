import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HarnessError, HarnessErrors } from '../../src/errors.js';
import { workloadCatalogue } from '../../src/runs/catalogue.js';
import { loadSuite, suiteHash } from '../../src/suite/load-suite.js';
import { planCells } from '../../src/suite/plan.js';
import { cardFile, nodeSuiteFiles } from '../../runners/node/suite-files.js';

function fixture(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'mcb-suite-'));
  mkdirSync(join(dir, 'model'));
  writeFileSync(join(dir, 'model', 'model.json'), '{}');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const good = `name: t
models:
  - card: model/model.json
methods:
  - fp16
workloads:
  - name: generate
    params: { maxNewTokens: 4 }
batch: [1, 2]
`;

function errorOf(text: string, extra: Record<string, string> = {}): HarnessError {
  const dir = fixture({ 's.yaml': text, ...extra });
  try {
    loadSuite(join(dir, 's.yaml'), nodeSuiteFiles, workloadCatalogue());
  } catch (e) {
    expect(e).toBeInstanceOf(HarnessError);
    return e as HarnessError;
  }
  throw new Error('suite loaded but should have failed');
}

describe('loadSuite', () => {
  it('resolves defaults and expands the matrix into cells with stable ids', () => {
    const dir = fixture({ 's.yaml': good });
    const s = loadSuite(join(dir, 's.yaml'), nodeSuiteFiles, workloadCatalogue());
    expect(s.ep).toBe('cpu');
    expect(s.workloads[0]!.params.maxNewTokens).toBe(4);
    expect(s.workloads[0]!.params.promptLen).toBe(32);
    const cells = planCells(s);
    expect(cells.map((c) => c.spec.batch).sort()).toEqual([1, 2]);
    const again = planCells(loadSuite(join(dir, 's.yaml'), nodeSuiteFiles, workloadCatalogue()));
    expect(again.map((c) => c.id)).toEqual(cells.map((c) => c.id));
    expect(new Set(cells.map((c) => c.id)).size).toBe(2);
    expect(suiteHash(s)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('names file, line and field for an unknown field, with a suggestion', () => {
    const e = errorOf(good.replace('batch: [1, 2]', 'bacth: [1, 2]'));
    expect(e.location?.line).toBe(9);
    expect(e.location?.field).toBe('bacth');
    expect(e.format()).toMatch(/s\.yaml:9:1 bacth: unknown field "bacth"/);
    expect(e.hint).toMatch(/did you mean "batch"/);
  });

  it('names the field for a wrong type', () => {
    const e = errorOf(good.replace('batch: [1, 2]', 'batch: [1, "two"]'));
    expect(e.location?.field).toBe('batch[1]');
    expect(e.location?.line).toBe(9);
    expect(e.message).toMatch(/integer/);
  });

  it('reports a missing model file at its line', () => {
    const e = errorOf(good.replace('model/model.json', 'nowhere/model.json'));
    expect(e.location?.line).toBe(3);
    expect(e.location?.field).toBe('models[0].card');
    expect(e.message).toMatch(/model card not found/);
  });

  it('reports malformed YAML with its position', () => {
    const e = errorOf('name: t\nmodels: [\n  - card: x\n');
    expect(e.code).toBe('suite.yaml');
    expect(e.location?.line).toBeGreaterThan(1);
  });

  it('rejects unknown methods, method params and workload params by name', () => {
    expect(errorOf(good.replace('  - fp16', '  - kivvi')).message).toMatch(/unknown method "kivvi"/);
    const p = errorOf(good.replace('maxNewTokens: 4', 'maxNewToken: 4'));
    expect(p.location?.field).toBe('workloads[0].params.maxNewToken');
    expect(p.hint).toMatch(/maxNewTokens/);
    expect(p.location?.line).toBe(8);
  });

  it('merges includes under the suite and points errors into the included file', () => {
    const base = 'methods:\n  - fp16\nbatch: 3\n';
    const dir = fixture({ 'frag.yaml': base, 's.yaml': 'name: t\ninclude: [frag.yaml]\nmodels:\n  - card: model\nworkloads: [generate]\n' });
    const s = loadSuite(join(dir, 's.yaml'), nodeSuiteFiles, workloadCatalogue());
    expect(s.workloads[0]!.batch).toEqual([3]);
    const bad = errorOf('name: t\ninclude: [frag.yaml]\nmodels:\n  - card: model\nworkloads: [generate]\n', { 'frag.yaml': 'methods:\n  - fp16\nbatch: 0\n' });
    expect(bad.location?.file).toMatch(/frag\.yaml$/);
    expect(bad.location?.line).toBe(3);
  });
});

describe('loadSuite: every problem of a file at once', () => {
  it('schema problems: each unknown field and wrong value with its line, not only the first', () => {
    const text = `name: t
models:
  - card: model/model.json
methods:
  - name: kivi
    parms: { bits: 4 }
    lable: x
workloads:
  - name: generate
    params: { maxNewTokens: 4 }
batch: [1, 2]
repeets: 3
runner: nodejs
`;
    const e = errorOf(text);
    expect(e).toBeInstanceOf(HarnessErrors);
    const lines = (e as HarnessErrors).errors.map((x) => x.format().split('\n')[0]);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/s\.yaml:6:5 methods\[0\]\.parms: unknown field "parms"/),
        expect.stringMatching(/s\.yaml:7:5 methods\[0\]\.lable: unknown field "lable"/),
        expect.stringMatching(/s\.yaml:12:1 repeets: unknown field "repeets"/),
        expect.stringMatching(/s\.yaml:13:\d+ runner: must be equal to one of the allowed values/),
      ]),
    );
    expect(lines).toHaveLength(4);
    expect(e.format()).toMatch(/^4 problems:\n- /);
    expect(e.format()).toContain('hint: did you mean "params"?');
    expect(e.format()).toContain('hint: did you mean "repeats"?');
  });

  it('name problems: methods, method and workload parameters, with hints for near misses and case-only slips', () => {
    const text = `name: t
models:
  - card: model/model.json
methods:
  - FP16
  - name: kivi
    params: { Bits: 4, residul: 64 }
workloads:
  - name: Perplexity
  - name: generate
    params: { maxNewToken: 4 }
    methods: [fp61]
`;
    const e = errorOf(text) as HarnessErrors;
    const text2 = e.format();
    expect(e.errors.map((x) => x.location?.field)).toEqual([
      'methods[0]',
      'methods[1].params.Bits',
      'methods[1].params.residul',
      'workloads[0].name',
      'workloads[1].params.maxNewToken',
      'workloads[1].methods[0]',
    ]);
    expect(text2).toMatch(/s\.yaml:5:5 methods\[0\]: unknown method "FP16"\n  {3}hint: did you mean "fp16"\? \(names are case-sensitive\)/);
    expect(text2).toContain('did you mean "bits"? (names are case-sensitive)');
    expect(text2).toContain('did you mean "residual"?');
    expect(text2).toContain('did you mean "perplexity"? (names are case-sensitive)');
    expect(text2).toContain('did you mean "maxNewTokens"?');
    expect(text2).toMatch(/s\.yaml:12:\d+ workloads\[1\]\.methods\[0\]: no method labelled "fp61"/);
  });
});

describe('loadSuite: suites that would run a cell twice or run nonsense', () => {
  it('refuses a batch size listed twice, naming the entry', () => {
    const e = errorOf(good.replace("params: { maxNewTokens: 4 }", "params: { maxNewTokens: 4 }\n    batch: [1, 2, 1]"));
    expect(e.format()).toMatch(/s\.yaml:\d+:\d+ workloads\[0\]\.batch\[2\]: batch size 1 is listed twice/);
  });

  it('refuses a workload entry that repeats another one', () => {
    const e = errorOf(good.replace("    params: { maxNewTokens: 4 }\n", "    params: { maxNewTokens: 4 }\n  - name: generate\n    params: { maxNewTokens: 4 }\n"));
    expect(e.location?.field).toBe('workloads[1]');
    expect(e.location?.line).toBe(9);
    expect(e.message).toMatch(/repeats workloads\[0\]/);
    // The same workload with other parameters, or a label, is a different cell.
    const dir = fixture({ 's.yaml': good.replace("    params: { maxNewTokens: 4 }\n", "    params: { maxNewTokens: 4 }\n  - name: generate\n    params: { maxNewTokens: 8 }\n") });
    expect(planCells(loadSuite(join(dir, 's.yaml'), nodeSuiteFiles, workloadCatalogue()))).toHaveLength(4);
  });

  it('refuses the same model listed twice', () => {
    const e = errorOf(good.replace('  - card: model/model.json\n', '  - card: model/model.json\n  - card: model\n'));
    expect(e.location?.field).toBe('models[1]');
    expect(e.message).toMatch(/already listed as models\[0\]/);
  });

  it('a batch size of 0 is reported as out of range, not as a wrong type', () => {
    const e = errorOf(good.replace('batch: [1, 2]', 'batch: 0'));
    expect(e.format()).toMatch(/s\.yaml:9:1 batch: must be >= 1, got 0/);
    expect(errorOf(good.replace('batch: [1, 2]', 'batch: "two"')).message).toMatch(/must be (integer|array), got "two"/);
  });

  it('checks a workload parameter against the type of its default, with file:line', () => {
    const e = errorOf(good.replace('maxNewTokens: 4', 'maxNewTokens: "four"'));
    expect(e.format()).toMatch(/s\.yaml:8:15 workloads\[0\]\.params\.maxNewTokens: workload "generate" parameter "maxNewTokens" must be a number, got "four"/);
    expect(errorOf(good.replace('maxNewTokens: 4', 'maxNewTokens: 4, ignoreEos: "yes"')).message).toMatch(/"ignoreEos" must be a boolean/);
  });

  it('takes a model folder holding model.yaml (as the README documents), not only model.json', () => {
    const dir = fixture({ 's.yaml': good.replace('card: model/model.json', 'card: yaml-model') });
    mkdirSync(join(dir, 'yaml-model'));
    writeFileSync(join(dir, 'yaml-model', 'model.yaml'), 'name: x\n');
    const s = loadSuite(join(dir, 's.yaml'), nodeSuiteFiles, workloadCatalogue());
    expect(s.models[0]!.id).toBe('yaml-model');
    expect(cardFile(s.models[0]!.card)).toBe(join(dir, 'yaml-model', 'model.yaml'));
  });
});

describe('suiteHash', () => {
  it('is the same for one suite in two checkouts (model cards at other absolute paths), so shards from two machines merge', () => {
    const a = loadSuite(join(fixture({ 's.yaml': good }), 's.yaml'), nodeSuiteFiles, workloadCatalogue());
    const b = loadSuite(join(fixture({ 's.yaml': good }), 's.yaml'), nodeSuiteFiles, workloadCatalogue());
    expect(a.models[0]!.card).not.toBe(b.models[0]!.card);
    expect(suiteHash(a)).toBe(suiteHash(b));
    expect(planCells(a).map((c) => c.id)).toEqual(planCells(b).map((c) => c.id));
    // What runs still changes it.
    const c = loadSuite(join(fixture({ 's.yaml': good.replace('maxNewTokens: 4', 'maxNewTokens: 5') }), 's.yaml'), nodeSuiteFiles, workloadCatalogue());
    expect(suiteHash(c)).not.toBe(suiteHash(a));
  });
});

describe('nonFinite', () => {
  it('count or error is taken from the suite; left out, the resolved suite and its hash are as before', () => {
    const plain = loadSuite(join(fixture({ 's.yaml': good }), 's.yaml'), nodeSuiteFiles, workloadCatalogue());
    expect('nonFinite' in plain).toBe(false);
    const count = loadSuite(join(fixture({ 's.yaml': `${good}nonFinite: count\n` }), 's.yaml'), nodeSuiteFiles, workloadCatalogue());
    expect(count.nonFinite).toBe('count');
    expect(suiteHash(count)).not.toBe(suiteHash(plain));
    expect(errorOf(`${good}nonFinite: ignore\n`).format()).toMatch(/nonFinite/);
  });
});
