import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeResults } from '../../src/results/jsonl.js';
import type { CellResult } from '../../src/results/record.js';
import { parse } from 'yaml';
import { gateCommand } from '../../runners/node/gate-command.js';
import { manifestFor, syntheticRun, tweak } from '../report/synthetic-run.js';

const RULES = `
rules:
  - name: accuracy-vs-fp16
    metric: taskScore
    kind: vs-fp16
    cells: { method: [kivi4, minicache, minicache+kivi4], workload: longbench-embedded }
    min: 0.99
    level: error
  - name: decode-throughput-vs-baseline
    metric: decodeTokensPerSecond
    kind: vs-baseline
    min: 0.9
    level: error
  - name: compression-not-below-baseline
    metric: compressionRatio
    kind: vs-baseline
    min: 1
    level: error
  - name: compression-applies
    metric: compressionRatio
    kind: absolute
    cells: { method: ['*', '!fp16'] }
    min: 1.05
    level: error
  - name: kv-bytes-not-above-baseline
    metric: kvBytes
    kind: vs-baseline
    max: 1
    level: error
  - name: tokens-match-baseline
    metric: sampleTokens
    kind: vs-baseline
    equal: true
    level: error
  - name: peak-rss-vs-baseline
    metric: peakRssBytes
    kind: vs-baseline
    max: 1.1
    level: warn
`;

let root: string;
let config: string;
let baselineDir: string;
const records = syntheticRun();

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'gate-'));
  config = join(root, 'gates.yaml');
  writeFileSync(config, RULES);
  baselineDir = writeRun('baseline', records);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
function writeRun(name: string, recs: readonly CellResult[], results?: string): string {
  const dir = join(root, `${name}-${n++}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'results.jsonl'), results ?? serializeResults(recs));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifestFor(recs)));
  return dir;
}

async function gate(dir: string, over: { baseline?: string; config?: string } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const summary = join(root, `summary-${n++}.md`);
  const code = await gateCommand(dir, { baseline: baselineDir, config, stepSummary: summary, log: (t) => out.push(t), error: (t) => err.push(t), ...over });
  return { code, out: out.join('\n'), err: err.join('\n'), summary: readFileSync(summary, { encoding: 'utf8', flag: 'a+' }) };
}

const isMethod = (m: string, w?: string) => (r: { cell: { method: string; workload: string } }) => r.cell.method === m && (!w || r.cell.workload === w);

describe('gate', () => {
  it('identical results pass every rule (exit 0) and print a verdict row per rule', async () => {
    const g = await gate(writeRun('same', records));
    expect(g.code).toBe(0);
    for (const name of ['accuracy-vs-fp16', 'decode-throughput-vs-baseline', 'compression-not-below-baseline', 'compression-applies', 'kv-bytes-not-above-baseline', 'tokens-match-baseline', 'peak-rss-vs-baseline']) {
      expect(g.out).toContain(`| ✅ pass | ${name} |`);
    }
    expect(g.summary).toContain('### Gate: passed');
  });

  it('a planted accuracy drop on one task exits 1 naming the rule', async () => {
    const worse = tweak(records, isMethod('minicache', 'longbench-embedded'), (r) => {
      r.tasks![2]!.score *= 0.95;
    });
    const g = await gate(writeRun('acc', worse));
    expect(g.code).toBe(1);
    expect(g.out).toContain('| ❌ fail | accuracy-vs-fp16 |');
    expect(g.out).toContain('passage\\_retrieval\\_en');
    expect(g.err).toContain('rule "accuracy-vs-fp16" FAILED');
    expect(g.err).not.toContain('decode-throughput');
  });

  it('halved throughput exits 1 naming the throughput rule', async () => {
    const slower = tweak(records, (r) => r.cell.method === 'kivi2' && r.cell.batch === 64, (r) => {
      r.metrics.decodeTokensPerSecond! /= 2;
      r.metrics.repeats!.decodeTokensPerSecond = r.metrics.repeats!.decodeTokensPerSecond!.map((x) => x / 2);
    });
    const g = await gate(writeRun('slow', slower));
    expect(g.code).toBe(1);
    expect(g.err).toContain('rule "decode-throughput-vs-baseline" FAILED');
    expect(g.out).toContain('kivi2 · sharegpt · b64');
  });

  it('noisy metrics compare medians: one slow repeat out of three does not fail, two do', async () => {
    const oneSlow = tweak(records, (r) => r.cell.method === 'kivi2' && r.cell.batch === 64, (r) => {
      const reps = r.metrics.repeats!.decodeTokensPerSecond!;
      reps[0] = reps[0]! / 3;
    });
    expect((await gate(writeRun('noisy', oneSlow))).code).toBe(0);
    // …but two slow repeats move the median: the gate reads the repeats (metrics.decodeTokensPerSecond
    // itself is left untouched here), not their maximum.
    const twoSlow = tweak(records, (r) => r.cell.method === 'kivi2' && r.cell.batch === 64, (r) => {
      const reps = r.metrics.repeats!.decodeTokensPerSecond!;
      reps[0] = reps[0]! / 3;
      reps[1] = reps[1]! / 3;
    });
    const g = await gate(writeRun('noisy2', twoSlow));
    expect(g.code).toBe(1);
    expect(g.err).toContain('rule "decode-throughput-vs-baseline" FAILED');
  });

  it('a reduced compression ratio exits 1 naming the compression rule', async () => {
    const lessCompressed = tweak(records, isMethod('minicache+kivi4'), (r) => {
      r.metrics.kvBytes += 1024;
      r.metrics.compressionRatio = r.metrics.kvBytesBaseline / r.metrics.kvBytes;
    });
    const g = await gate(writeRun('ratio', lessCompressed));
    expect(g.code).toBe(1);
    expect(g.err).toContain('rule "compression-not-below-baseline" FAILED');
    expect(g.err).toContain('rule "kv-bytes-not-above-baseline" FAILED');
  });

  it('deterministic metrics are compared exactly: one byte more fails', async () => {
    const oneByte = tweak(records, (r) => r.cell.method === 'kivi4' && r.cell.batch === 1 && r.cell.workload === 'sharegpt', (r) => {
      r.metrics.kvBytes += 1;
    });
    const g = await gate(writeRun('byte', oneByte));
    expect(g.code).toBe(1);
    expect(g.err).toContain('kv-bytes-not-above-baseline');
  });

  it('compression that stopped applying fails the absolute rule', async () => {
    const none = tweak(records, isMethod('kivi4'), (r) => {
      r.metrics.kvBytes = r.metrics.kvBytesBaseline;
      r.metrics.compressionRatio = 1;
    });
    const g = await gate(writeRun('none', none));
    expect(g.code).toBe(1);
    expect(g.err).toContain('rule "compression-applies" FAILED');
  });

  it('a warn rule that fails still exits 0, and says so', async () => {
    const fatter = tweak(records, (r) => r.cell.method === 'fp16' && r.cell.batch === 128, (r) => {
      r.metrics.repeats!.peakRssBytes = r.metrics.repeats!.peakRssBytes!.map((x) => x * 1.5);
    });
    const g = await gate(writeRun('warn', fatter));
    expect(g.code).toBe(0);
    expect(g.out).toContain('| ⚠️ warn | peak-rss-vs-baseline |');
    expect(g.err).toContain('rule "peak-rss-vs-baseline" warning');
  });

  it('an errored cell under a rule is a failure, never a pass', async () => {
    const broken = records.map((r) => (r.status === 'ok' && r.cell.method === 'kivi2' && r.cell.batch === 8 && r.cell.workload === 'sharegpt' ? { ...r, status: 'errored' as const, error: { name: 'Error', message: 'boom' } } : r)) as CellResult[];
    const g = await gate(writeRun('errored', broken));
    expect(g.code).toBe(1);
    expect(g.out).toContain('cell errored: boom');
  });

  describe('unusable input exits 2', () => {
    it('missing results.jsonl', async () => {
      const dir = join(root, 'empty-dir');
      mkdirSync(dir, { recursive: true });
      const g = await gate(dir);
      expect(g.code).toBe(2);
      expect(g.out).toContain('no results.jsonl');
    });

    it('a missing run folder', async () => {
      expect((await gate(join(root, 'does-not-exist'))).code).toBe(2);
    });

    it('a corrupt line, named by file:line', async () => {
      const text = serializeResults(records).split('\n');
      text[4] = text[4]!.slice(0, 50);
      const dir = writeRun('corrupt', records, text.join('\n'));
      const g = await gate(dir);
      expect(g.code).toBe(2);
      expect(g.out).toContain(`results.jsonl:5`);
      expect(g.out).toContain('not valid JSON');
    });

    it('a record missing a metric field', async () => {
      const text = serializeResults(records).split('\n');
      const rec = JSON.parse(text[0]!);
      delete rec.metrics.kvBytes;
      text[0] = JSON.stringify(rec);
      const g = await gate(writeRun('shape', records, text.join('\n')));
      expect(g.code).toBe(2);
      expect(g.out).toContain('results.jsonl:1 metrics.kvBytes');
    });

    it('an empty results file', async () => {
      expect((await gate(writeRun('blank', records, '\n'))).code).toBe(2);
    });

    it('a corrupt baseline', async () => {
      const badBase = writeRun('badbase', records, '{"schemaVersion":1,');
      const g = await gate(writeRun('ok', records), { baseline: badBase });
      expect(g.code).toBe(2);
      expect(g.out).toContain('baseline:');
    });

    it('baseline cells that do not match the run (a cell gone from the run)', async () => {
      const fewer = records.filter((r) => !(r.cell.method === 'kivi4' && r.cell.batch === 32 && r.cell.workload === 'sharegpt'));
      const g = await gate(writeRun('fewer', fewer));
      expect(g.code).toBe(2);
      expect(g.out).toContain('baseline cell missing from this run');
    });

    it('run cells the baseline does not have', async () => {
      const base = writeRun('smallbase', records.filter((r) => r.cell.batch !== 2));
      const g = await gate(writeRun('ok', records), { baseline: base });
      expect(g.code).toBe(2);
      expect(g.out).toContain('no baseline cell with the same setup');
    });

    it('a rule that matches no cell, when a baseline fixes which cells the run must hold', async () => {
      const cfg = join(root, 'nomatch.yaml');
      writeFileSync(cfg, 'rules:\n  - name: ghost\n    metric: compressionRatio\n    kind: absolute\n    cells: { method: no-such-method }\n    min: 1\n');
      const g = await gate(writeRun('ok', records), { config: cfg });
      expect(g.code).toBe(2);
      expect(g.out).toMatch(/⛔ unusable \| ghost/);
    });

    it('every rule skipped: nothing was checked', async () => {
      const cfg = join(root, 'allskipped.yaml');
      writeFileSync(cfg, 'rules:\n  - { name: b, metric: kvBytes, kind: vs-baseline, max: 1 }\n  - { name: ghost, metric: compressionRatio, kind: absolute, cells: { method: no-such-method }, min: 1 }\n');
      const g = await gate(writeRun('ok', records), { config: cfg, baseline: undefined });
      expect(g.code).toBe(2);
      expect(g.out).toContain('no rule applies to this run: every rule was skipped');
    });

    it('a bad rules file, named by file:line', async () => {
      const cfg = join(root, 'bad.yaml');
      writeFileSync(cfg, 'rules:\n  - name: r\n    metric: compresionRatio\n    kind: absolute\n    min: 1\n');
      const g = await gate(writeRun('ok', records), { config: cfg });
      expect(g.code).toBe(2);
      expect(g.err).toMatch(/bad\.yaml:3:\d+ rules\[0\]\.metric: unknown metric "compresionRatio"/);
      expect(g.err).toContain('did you mean "compressionRatio"?');
    });
  });

  it('never writes to the baseline folder', async () => {
    const snapshot = () =>
      readdirSync(baselineDir)
        .sort()
        .map((f) => `${f}:${statSync(join(baselineDir, f)).mtimeMs}:${createHash('sha256').update(readFileSync(join(baselineDir, f))).digest('hex')}`);
    const before = snapshot();
    const slower = tweak(records, isMethod('kivi2', 'sharegpt'), (r) => {
      r.metrics.repeats!.decodeTokensPerSecond = r.metrics.repeats!.decodeTokensPerSecond!.map((x) => x / 2);
    });
    await gate(writeRun('slow2', slower));
    await gate(writeRun('ok', records));
    expect(snapshot()).toEqual(before);
  });
});

describe('gate: default rules', () => {
  it('pass a good run without --baseline: the baseline rules are skipped with a note, exit 0', async () => {
    // ci/baseline is a real run of suites/smoke.yaml (what CI gates): a good run by definition.
    const out: string[] = [];
    const err: string[] = [];
    const code = await gateCommand('ci/baseline', { log: (t) => out.push(t), error: (t) => err.push(t), stepSummary: join(root, 'defaults-summary.md') });
    const text = out.join('\n');
    expect(code, `${text}\n${err.join('\n')}`).toBe(0);
    const rules = parse(readFileSync('configs/gates.yaml', 'utf8')).rules as { name: string; kind: string }[];
    const baselineRules = rules.filter((r) => r.kind === 'vs-baseline');
    expect(baselineRules.length).toBeGreaterThanOrEqual(5);
    for (const r of baselineRules) expect(text).toMatch(new RegExp(`\\| ⏭️ skipped \\| ${r.name} \\|[^\\n]*none was given \\(--baseline DIR\\)`));
    for (const r of rules.filter((x) => x.kind !== 'vs-baseline')) expect(text).toContain(`| ✅ pass | ${r.name} |`);
    expect(text).toContain(`### Gate: passed (${baselineRules.length} of ${rules.length} rules skipped)`);
    expect(err.join('\n')).toBe('');
  });

  it('skip, without a baseline, a rule that no cell of the run has data for; a failing rule still fails', async () => {
    // The paper reproduction has no KIVI perplexity cell: that rule does not apply to it.
    const noKiviPerplexity = records.filter((r) => !(r.cell.method.startsWith('kivi') && r.cell.workload === 'perplexity'));
    const cfg = join(root, 'scoped.yaml');
    writeFileSync(cfg, 'rules:\n  - { name: kivi-ppl, metric: taskScore, kind: vs-fp16, cells: { method: [kivi2, kivi4], task: perplexity }, max: 1.05 }\n  - { name: applies, metric: compressionRatio, kind: absolute, cells: { method: [\'*\', \'!fp16\'] }, min: 1.05 }\n');
    const g = await gate(writeRun('scoped', noKiviPerplexity), { config: cfg, baseline: undefined });
    expect(g.code).toBe(0);
    expect(g.out).toMatch(/\| ⏭️ skipped \| kivi-ppl \|[^\n]*skipped: no cell of this run has taskScore among method kivi2.{1,2}kivi4, task perplexity/);
    const broken = tweak(noKiviPerplexity, (r) => r.cell.method === 'kivi2', (r) => {
      r.metrics.compressionRatio = 1;
    });
    expect((await gate(writeRun('scoped-bad', broken), { config: cfg, baseline: undefined })).code).toBe(1);
  });

  it('without --config, outside the project folder, uses the rules this package ships', async () => {
    const cwd = process.cwd();
    process.chdir(mkdtempSync(join(tmpdir(), 'gate-cwd-')));
    try {
      const err: string[] = [];
      const out: string[] = [];
      await gateCommand(writeRun('cwd', records), { log: (t) => out.push(t), error: (t) => err.push(t), stepSummary: join(root, 'cwd-summary.md') });
      expect(err.join('\n')).not.toMatch(/rules file not found/);
      expect(out.join('\n')).toContain('compression-applies');
    } finally {
      process.chdir(cwd);
    }
  });
});
