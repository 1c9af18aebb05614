import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cli, ROOT, tempDir, writeSuite } from './cli-helpers.js';
import { CUDA_PROVIDER_INSTALLED, describeWith, itWhen, PARTS } from '../support/parts.js';

const suite = (dir: string) =>
  writeSuite(
    dir,
    `name: errs\nrepeats: 1\nwarmup: 0\nmodels:\n  - card: ${join(ROOT, 'models/minillama-12l')}\nmethods: [fp16]\nworkloads:\n  - name: generate\n    params: { promptLen: 8, maxNewTokens: 2 }\n`,
  );

describeWith([PARTS.cli], 'CLI: output paths that cannot be written', () => {
  it('run --out naming a file: exit 2, the path and no stack trace', () => {
    const dir = tempDir();
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const r = cli(['run', suite(dir), '--out', file, '-q']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot mkdir ${file}: a file is in the way (EEXIST)`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('merge --out and report --out under a file: exit 2, the path and no stack trace', () => {
    const dir = tempDir();
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const run = join(dir, 'run');
    expect(cli(['run', suite(dir), '--out', run, '-q']).code).toBe(0);
    const m = cli(['merge', run, '--out', file]);
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/cannot mkdir .*a-file: a file is in the way/);
    expect(m.stderr).not.toMatch(/\n\s+at /);
    const r = cli(['report', run, '--no-images', '--out', join(file, 'report')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot mkdir .*a-file\/report: a file is in the way \(not a folder\)/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describeWith([PARTS.cli], 'CLI: --isolate output', () => {
  it('--quiet --isolate prints one summary line for the run, not one per cell process', () => {
    const dir = tempDir();
    const s = writeSuite(
      dir,
      `name: iso\nrepeats: 1\nwarmup: 0\nmodels:\n  - card: ${join(ROOT, 'models/minillama-12l')}\nmethods: [fp16, kivi4]\nworkloads:\n  - name: generate\n    params: { promptLen: 8, maxNewTokens: 2 }\n`,
    );
    const r = cli(['run', s, '--out', join(dir, 'out'), '--isolate', '-q']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.match(/^done:/gm)).toHaveLength(1);
    expect(r.stderr).toMatch(/^done: 2 ok, 0 errored, 0 already done \(of 2 cells\)/m);
  });
});

describeWith([PARTS.cli], 'CLI: validate', () => {
  it('checks the model cards too: a card with a misspelt field exits 2 naming its file, line and field', () => {
    const dir = tempDir();
    const card = join(dir, 'model.json');
    const good = JSON.parse(readFileSync(join(ROOT, 'models/minillama-12l/model.json'), 'utf8')) as Record<string, unknown>;
    const { layers, ...rest } = good;
    // Paths stay those of the embedded model.
    for (const k of ['path', 'tokenizer']) if (typeof rest[k] === 'string') rest[k] = join(ROOT, 'models/minillama-12l', rest[k] as string);
    writeFileSync(card, JSON.stringify({ ...rest, layres: layers }));
    const s = writeSuite(dir, `name: v\nmodels:\n  - card: ${card}\nmethods: [fp16]\nworkloads: [generate]\n`);
    const r = cli(['validate', s]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${card.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1:\\d+ layres: unknown field "layres"`));
    expect(cli(['validate', join(ROOT, 'suites/smoke.yaml')]).code).toBe(0);
  });

  it('builds each method on each model, so a parameter value the method refuses is reported at its place', () => {
    const dir = tempDir();
    const s = writeSuite(dir, `name: v\nmodels:\n  - card: ${join(ROOT, 'models/minillama-12l')}\nmethods:\n  - fp16\n  - name: kivi\n    params: { bits: 3 }\nworkloads: [generate]\n`);
    const r = cli(['validate', s]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/suite\.yaml:7:5 methods\[1\]: kivi cannot run on model minillama-12l \(12 layers, 2 KV heads, head dim 64\): .*bits must be 2, 4 or 8, got 3/);
  });

  it('checks the data files a run would read first', () => {
    const dir = tempDir();
    const s = writeSuite(dir, `name: v\nmodels:\n  - card: ${join(ROOT, 'models/minillama-12l')}\nmethods: [fp16]\nworkloads:\n  - name: perplexity\n    params: { text: nothere.jsonl }\n`);
    const r = cli(['validate', s]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`data file not found: ${join(dir, 'nothere.jsonl')}`);
    // Official LongBench data comes from --longbench, as for run.
    expect(cli(['validate', join(ROOT, 'suites/longbench.yaml')]).stderr).toMatch(/give dataDir .*--longbench DIR/);
    expect(cli(['validate', join(ROOT, 'suites/longbench.yaml'), '--longbench', join(dir, 'none')]).stderr).toMatch(/--longbench: no folder at/);
  });
});

describeWith([PARTS.cli], 'CLI: --ep-option', () => {
  it('a value that is not key=value is refused naming the flag, before any output is written', () => {
    const dir = tempDir();
    const out = join(dir, 'out');
    const r = cli(['run', suite(dir), '--out', out, '--ep-option', 'validationMode']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/option '--ep-option <key=value>' argument 'validationMode' is invalid\. expected key=value/);
    expect(r.stderr).not.toContain('MINICACHE_EP_OPTIONS: "validationMode" is not key=value');
    expect(existsSync(out)).toBe(false);
  });
});

describeWith([PARTS.cli], 'CLI: --resume --shard', () => {
  it('refuses to resume a folder of another shard (its manifest would name one shard beside the records of two)', () => {
    const dir = tempDir();
    const s = writeSuite(
      dir,
      `name: shards\nrepeats: 1\nwarmup: 0\nmodels:\n  - card: ${join(ROOT, 'models/minillama-12l')}\nmethods: [fp16, kivi4, kivi2]\nworkloads:\n  - name: generate\n    params: { promptLen: 8, maxNewTokens: 2 }\n`,
    );
    const out = join(dir, 'out');
    expect(cli(['run', s, '--out', out, '--shard', '1/3', '-q']).code).toBe(0);
    const r = cli(['run', s, '--out', out, '--shard', '2/3', '--resume', '-q']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/manifest\.json shard: .* holds shard 1\/3, not shard 2\/3\n  hint: resume it with --shard 1\/3/);
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).shard).toBe('1/3');
    // The same shard resumes.
    expect(cli(['run', s, '--out', out, '--shard', '1/3', '--resume', '-q']).code).toBe(0);
  });
});

describeWith([PARTS.cli], 'CLI: reproduce --fresh', () => {
  it('refuses to delete an --out folder that holds more than a reproduction', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    writeFileSync(join(dir, 'results.jsonl'), '');
    const r = cli(['reproduce', '--quick', '--fresh', '--out', dir, '-q']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--fresh would delete .* which holds more than a reproduction \(notes\.txt\)/);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
  });
});

describeWith([PARTS.cli], 'CLI: reproduce --repeats', () => {
  it('refuses a repeat count below one before running anything', () => {
    const dir = tempDir();
    const r = cli(['reproduce', '--quick', '--repeats', '0', '--out', join(dir, 'out'), '-q']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--repeats/);
    expect(existsSync(join(dir, 'out', 'results.jsonl'))).toBe(false);
  });
});

const WITH_CUDA = "onnxruntime-node's CUDA provider is installed here, so a run without it cannot be shown";

describeWith([PARTS.cli], 'CLI: an execution provider that cannot start', () => {
  itWhen(!CUDA_PROVIDER_INSTALLED, WITH_CUDA, '--ep cuda without its binaries stops the run with the install instruction, recording no cell', () => {
    const dir = tempDir();
    const out = join(dir, 'out');
    const r = cli(['run', suite(dir), '--out', out, '--ep', 'cuda']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error: cannot start the CUDA execution provider[^\n]*\n  hint: [^\n]*ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules\/onnxruntime-node\/script\/install\.js/);
    expect(existsSync(join(out, 'results.jsonl')) ? readFileSync(join(out, 'results.jsonl'), 'utf8') : '').toBe('');
  });

  itWhen(!CUDA_PROVIDER_INSTALLED, WITH_CUDA, 'the same with --isolate: the first cell process stops the run', () => {
    const dir = tempDir();
    const out = join(dir, 'out');
    const r = cli(['run', suite(dir), '--out', out, '--ep', 'cuda', '--isolate', '-q']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ONNXRUNTIME_NODE_INSTALL=cuda12');
    expect(r.stderr).toMatch(/stopped with exit code 2/);
    expect(existsSync(join(out, 'results.jsonl')) ? readFileSync(join(out, 'results.jsonl'), 'utf8') : '').toBe('');
  });
});

describeWith([PARTS.cli], 'CLI: run into a folder that holds results', () => {
  it('suggests --resume only for a run of the same suite', () => {
    const dir = tempDir();
    const out = join(dir, 'out');
    const s = suite(dir);
    expect(cli(['run', s, '--out', out, '-q']).code).toBe(0);
    const same = cli(['run', s, '--out', out, '-q']);
    expect(same.code).toBe(2);
    expect(same.stderr).toMatch(/already holds results of this suite\n  hint: pass --resume/);
    writeFileSync(s, readFileSync(s, 'utf8').replace('maxNewTokens: 2', 'maxNewTokens: 3'));
    const other = cli(['run', s, '--out', out, '-q']);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/already holds results of another suite/);
    expect(other.stderr).not.toContain('--resume');
  });
});

describeWith([PARTS.cli], 'CLI: options of the other runner', () => {
  it('--headed and --browser-path on the Node runner exit 2 naming the option, and write nothing', () => {
    const dir = tempDir();
    for (const extra of [['--headed'], ['--browser-path', '/usr/bin/chromium']]) {
      const out = join(dir, `out-${extra[0]!.slice(2)}`);
      const r = cli(['run', suite(dir), '--out', out, '-q', ...extra]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`${extra[0]} applies to the browser runner; this run uses the node runner`);
      expect(existsSync(join(out, 'results.jsonl'))).toBe(false);
    }
  });
});
