import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const text = readFileSync('ci/github-actions.yml', 'utf8');
const wf = parse(text) as {
  jobs: Record<string, { needs?: string | string[]; strategy?: { matrix: { shard: number[] } }; steps: { run?: string; uses?: string; with?: Record<string, unknown> }[] }>;
};
const runs = (job: string) => wf.jobs[job]!.steps.map((s) => s.run ?? '').join('\n');

describe('CI workflow', () => {
  it('.github/workflows/bench.yml is the same file', () => {
    expect(readFileSync('.github/workflows/bench.yml', 'utf8')).toBe(text);
  });

  it('installs, typechecks and tests with Chromium', () => {
    expect(runs('test')).toContain('apt-get install -y -qq chromium');
    expect(runs('test')).toContain('npm ci');
    expect(runs('test')).toContain('npm test');
    // Strict: a browser test skipped for want of the Chromium this job installs fails the job.
    const tests = wf.jobs.test!.steps.find((s) => s.run === 'npm test') as { env?: Record<string, string> };
    expect(tests.env?.MINICACHE_TESTS_STRICT).toBe('1');
  });

  it('runs the smoke suite in as many shards as the merge step merges', () => {
    const shards = wf.jobs.smoke!.strategy!.matrix.shard;
    expect(shards).toEqual([1, 2, 3]);
    expect(runs('smoke')).toContain(`npx minicache-bench run suites/smoke.yaml --shard \${{ matrix.shard }}/${shards.length} --out out/shard-\${{ matrix.shard }}`);
    expect(existsSync('suites/smoke.yaml')).toBe(true);
    expect(runs('gate')).toContain(`npx minicache-bench merge ${shards.map((s) => `out/shard-${s}`).join(' ')} --out out/merged`);
  });

  it('reports, uploads report.html, writes the job summary and gates against the committed baseline', () => {
    expect(wf.jobs.gate!.needs).toBe('smoke');
    const gate = runs('gate');
    expect(gate).toContain('npx minicache-bench report out/merged');
    expect(gate).toContain('>> "$GITHUB_STEP_SUMMARY"');
    expect(gate).toContain('npx minicache-bench gate out/merged --baseline ci/baseline --config configs/gates.yaml');
    expect(existsSync('configs/gates.yaml')).toBe(true);
    const upload = wf.jobs.gate!.steps.find((s) => s.uses?.startsWith('actions/upload-artifact'))!;
    expect(String(upload.with!.path)).toContain('out/merged/report.html');
    // The upload comes before the gate, so a failing gate still leaves the report to look at.
    const steps = wf.jobs.gate!.steps;
    expect(steps.indexOf(upload)).toBeLessThan(steps.findIndex((s) => s.run?.includes('minicache-bench gate')));
  });
});
