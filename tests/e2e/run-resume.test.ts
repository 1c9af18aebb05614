import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cli, cliKilledAfter, readResults, STORIES_CARD, tempDir, writeSuite } from './cli-helpers.js';
import { describeWith, PARTS } from '../support/parts.js';

const suite = (maxNew: number) => `name: e2e
seed: 3
warmup: 0
models:
  - card: ${STORIES_CARD}
methods:
  - fp16
  - minicache
  - mean-merge
  - name: kivi
    params: { bits: 4, groupSize: 8, residual: 16 }
workloads:
  - name: generate
    params: { prompts: ["Once upon a time", "The dog"], maxNewTokens: ${maxNew} }
batch: [1, 4, 8]
`;

describeWith([PARTS.cli], 'minicache-bench run (CLI, stories260K)', () => {
  it('a killed run resumed with --resume completes with no cell duplicated or lost', async () => {
    const dir = tempDir();
    const s = writeSuite(dir, suite(200));
    const out = join(dir, 'out');
    await cliKilledAfter(['run', s, '--out', out], join(out, 'results.jsonl'), 3);
    const partial = readResults(out);
    expect(partial.length).toBeGreaterThanOrEqual(3);
    expect(partial.length).toBeLessThan(12);

    const refused = cli(['run', s, '--out', out]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/already holds results[\s\S]*--resume/);

    const resumed = cli(['run', s, '--out', out, '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const all = readResults(out);
    const ids = all.map((r) => r.cellId);
    expect(new Set(ids).size).toBe(12);
    expect(ids.length).toBe(12);
    expect(all.every((r) => r.status === 'ok')).toBe(true);
    // What was finished before the kill is still there, unchanged.
    expect(all.slice(0, partial.length)).toEqual(partial);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.provenance.gitSha).toMatch(/^([0-9a-f]{40}|unknown)$/);
    expect(manifest.suite.name).toBe('e2e');

    const again = cli(['run', s, '--out', out, '--resume']);
    expect(again.code).toBe(0);
    expect(readResults(out).length).toBe(12);
  });

  it('a bad suite exits non-zero naming file, line and field, and leaves earlier results valid', () => {
    const dir = tempDir();
    const good = writeSuite(dir, suite(4));
    const out = join(dir, 'out');
    expect(cli(['run', good, '--out', out]).code).toBe(0);
    const before = readFileSync(join(out, 'results.jsonl'), 'utf8');
    const cases: [string, RegExp][] = [
      [suite(4).replace('seed: 3', 'sed: 3'), /suite\.yaml:2:1 sed: unknown field "sed"[\s\S]*did you mean "seed"/],
      [suite(4).replace('batch: [1, 4, 8]', 'batch: [1, four]'), /suite\.yaml:15:\d+ batch\[1\]: must be integer, got "four"/],
      [suite(4).replace(STORIES_CARD, '/nonexistent/model.json'), /suite\.yaml:5:\d+ models\[0\]\.card: model card not found/],
      [suite(4).replace('methods:\n', 'methods: [\n'), /suite\.yaml:\d+:\d+.*malformed YAML/],
    ];
    for (const [text, pattern] of cases) {
      const bad = writeSuite(dir, text);
      const r = cli(['run', bad, '--out', out, '--resume']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(pattern);
    }
    expect(readFileSync(join(out, 'results.jsonl'), 'utf8')).toBe(before);
  });

  it('--shard i/n partitions the cells, and merging the shards gives the unsharded run', () => {
    const dir = tempDir();
    const s = writeSuite(dir, suite(4));
    const ids = [1, 2, 3].flatMap((i) => {
      const r = cli(['run', s, '--out', join(dir, `shard${i}`), '--shard', `${i}/3`]);
      expect(r.code, r.stderr).toBe(0);
      const own = readResults(join(dir, `shard${i}`)).map((x) => x.cellId);
      // The summary counts the shard's own cells, not the suite's 12.
      expect(r.stderr).toMatch(new RegExp(`^done: ${own.length} ok, 0 errored, 0 already done \\(of ${own.length} cells\\)`, 'm'));
      return own;
    });
    const whole = cli(['run', s, '--out', join(dir, 'whole')]);
    expect(whole.code).toBe(0);
    expect([...ids].sort()).toEqual(readResults(join(dir, 'whole')).map((x) => x.cellId).sort());
    expect(new Set(ids).size).toBe(12);
    // Merged shards equal the unsharded run cell for cell in every deterministic figure.
    const merged = cli(['merge', join(dir, 'shard1'), join(dir, 'shard2'), join(dir, 'shard3'), '--out', join(dir, 'merged')]);
    expect(merged.code, merged.stderr).toBe(0);
    const deterministic = (d: string) =>
      Object.fromEntries(
        (readResults(d) as unknown as { cellId: string; metrics: Record<string, unknown>; sampleTokens?: number[][] }[]).map((r) => [
          r.cellId,
          { kvBytes: r.metrics.kvBytes, ratio: r.metrics.compressionRatio, bytes: r.metrics.kvBytesByComponent, tokens: r.sampleTokens },
        ]),
      );
    expect(deterministic(join(dir, 'merged'))).toEqual(deterministic(join(dir, 'whole')));
  });
});
