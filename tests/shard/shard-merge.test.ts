import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/results/canonical-json.js';
import { parseResultsJsonl, serializeResults } from '../../src/results/jsonl.js';
import { mergeRuns } from '../../src/results/merge.js';
import type { CellResult } from '../../src/results/record.js';
import { parseShard, shardOf } from '../../src/shard/shard-of.js';
import { mergeCommand } from '../../runners/node/merge-command.js';
import { manifestFor, syntheticRun, tweak } from '../report/synthetic-run.js';

const all = syntheticRun({ withFailures: true, withAblations: true });
let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'shard-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
function writeRun(records: readonly CellResult[], manifest: object = manifestFor(records)): string {
  const dir = join(root, `run-${n++}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'results.jsonl'), serializeResults(records));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

const byId = (rs: readonly CellResult[]) => new Map(rs.map((r) => [r.cellId, canonicalJson(r)]));
const quiet = { log: () => {}, error: () => {} };

describe('shardOf', () => {
  it('partitions: every cell in exactly one shard, sizes differ by at most one', () => {
    for (const total of [1, 2, 3, 7]) {
      const shards = Array.from({ length: total }, (_, i) => shardOf(all, i + 1, total));
      const ids = shards.flat().map((c) => c.cellId);
      expect(new Set(ids).size).toBe(all.length);
      expect(ids.length).toBe(all.length);
      const sizes = shards.map((s) => s.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });

  it('depends only on the set of ids, not their order', () => {
    const reversed = [...all].reverse();
    for (let i = 1; i <= 3; i++) expect(shardOf(reversed, i, 3).map((c) => c.cellId)).toEqual(shardOf(all, i, 3).map((c) => c.cellId));
  });

  it('takes planned cells ({id}) the same way as records ({cellId})', () => {
    const planned = all.map((r) => ({ id: r.cellId }));
    expect(shardOf(planned, 2, 3).map((c) => c.id)).toEqual(shardOf(all, 2, 3).map((c) => c.cellId));
  });

  it('parses i/n and rejects nonsense', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, total: 3 });
    for (const bad of ['0/3', '4/3', '1/0', 'a/b', '2']) expect(() => parseShard(bad)).toThrow(/shard/);
  });
});

describe('merge', () => {
  it('three shards merged equal the unsharded run, cell for cell', async () => {
    const dirs = [1, 2, 3].map((i) => {
      const part = shardOf(all, i, 3);
      return writeRun(part, { ...manifestFor(part), shard: `${i}/3` });
    });
    const out = join(root, 'merged');
    expect(await mergeCommand(dirs, { out, ...quiet })).toBe(0);
    const merged = parseResultsJsonl(readFileSync(join(out, 'results.jsonl'), 'utf8'), 'merged');
    expect(byId(merged)).toEqual(byId(all));
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.shard).toBeNull();
    expect(manifest.mergedFrom.map((m: { shard: string }) => m.shard)).toEqual(['1/3', '2/3', '3/3']);
    expect(manifest.cells.map((c: { id: string }) => c.id).sort()).toEqual(all.map((r) => r.cellId).sort());
  });

  it('dedupes: an ok record wins over an errored one of the same cell; identical duplicates are fine', () => {
    const okOne = all.find((r) => r.status === 'ok')!;
    const erroredTwin: CellResult = { ...okOne, status: 'errored', error: { name: 'Error', message: 'first attempt crashed' } } as CellResult;
    const m = mergeRuns([
      { source: 'a', manifest: manifestFor(all), records: [erroredTwin, ...all] },
      { source: 'b', manifest: manifestFor(all), records: all },
    ]);
    expect(byId(m.records)).toEqual(byId(all));
    expect(m.notes.some((x) => x.includes('kept the ok one'))).toBe(true);
  });

  it('conflicting deterministic metrics for one cell are an error', () => {
    const other = tweak(all, (r) => r.cell.method === 'kivi4' && r.cell.batch === 8, (r) => {
      r.metrics.kvBytes += 2;
    });
    expect(() => mergeRuns([
      { source: 'a', manifest: manifestFor(all), records: all },
      { source: 'b', manifest: manifestFor(all), records: other },
    ])).toThrow(/deterministic results differ between a and b \(kvBytes/);
  });

  it('timings may differ between two ok runs of one cell (noisy), the first is kept', () => {
    const other = tweak(all, (r) => r.cell.method === 'kivi4' && r.cell.batch === 8, (r) => {
      r.metrics.decodeTokensPerSecond! *= 1.1;
    });
    expect(byId(other)).not.toEqual(byId(all)); // the edit hit a cell: there is a second timing to lose
    const m = mergeRuns([
      { source: 'a', manifest: manifestFor(all), records: all },
      { source: 'b', manifest: manifestFor(all), records: other },
    ]);
    expect(byId(m.records)).toEqual(byId(all));
  });

  it('refuses shards of different suites (hash) or schema versions', async () => {
    const a = writeRun(all.slice(0, 5));
    const b = writeRun(all.slice(5, 10), { ...manifestFor(all.slice(5, 10)), suiteHash: 'ffffffffffffffff' });
    const errors: string[] = [];
    expect(await mergeCommand([a, b], { out: join(root, 'x1'), log: () => {}, error: (e) => errors.push(e) })).toBe(2);
    expect(errors.join('\n')).toMatch(/manifest\.json suiteHash: suite hash ffffffffffffffff differs/);
    const c = writeRun(all.slice(5, 10), { ...manifestFor(all.slice(5, 10)), schemaVersion: 99 });
    expect(await mergeCommand([a, c], { out: join(root, 'x2'), ...quiet })).toBe(2);
  });

  it('refuses a folder without manifest.json, a corrupt shard, and an output that already holds results', async () => {
    const a = writeRun(all.slice(0, 5));
    const noManifest = join(root, 'nomanifest');
    mkdirSync(noManifest);
    writeFileSync(join(noManifest, 'results.jsonl'), serializeResults(all.slice(5, 10)));
    expect(await mergeCommand([a, noManifest], { out: join(root, 'x3'), ...quiet })).toBe(2);
    const corrupt = writeRun(all.slice(5, 10));
    writeFileSync(join(corrupt, 'results.jsonl'), '{"schemaVersion": 1, "cellId"\n');
    expect(await mergeCommand([a, corrupt], { out: join(root, 'x4'), ...quiet })).toBe(2);
    expect(await mergeCommand([a], { out: a, ...quiet })).toBe(2);
    const full = writeRun(all.slice(0, 2));
    expect(await mergeCommand([a], { out: full, ...quiet })).toBe(2);
    expect(readFileSync(join(full, 'results.jsonl'), 'utf8')).toBe(serializeResults(all.slice(0, 2)));
  });

  it('warns on stderr when shards of the split are missing (2 of 3 shards must not look complete)', async () => {
    const dirs = [1, 2].map((i) => {
      const part = shardOf(all, i, 3);
      return writeRun(part, { ...manifestFor(part), shard: `${i}/3` });
    });
    const errors: string[] = [];
    expect(await mergeCommand(dirs, { out: join(root, 'partial'), log: () => {}, error: (e) => errors.push(e) })).toBe(0);
    expect(errors.join('\n')).toMatch(/merge: warning: incomplete: shard 3\/3 not given/);
    const whole = [1, 2, 3].map((i) => ({ source: `s${i}`, manifest: { ...manifestFor(all), shard: `${i}/3` }, records: shardOf(all, i, 3) }));
    expect(mergeRuns(whole).warnings).toEqual([]);
    expect(mergeRuns([whole[0]!, { ...whole[1]!, manifest: { ...whole[1]!.manifest, shard: '2/4' } }]).warnings.join()).toMatch(/split the suite in different ways/);
    // A whole run among the folders covers every cell.
    expect(mergeRuns([whole[0]!, { source: 'all', manifest: manifestFor(all), records: all }]).warnings).toEqual([]);
  });

  it('takes a shard that drew no cell (more shards than cells): a manifest planning nothing, no results.jsonl', async () => {
    const few = all.slice(0, 3);
    const dirs = [1, 2, 3, 4].map((i) => {
      const part = shardOf(few, i, 4);
      return writeRun(part, { ...manifestFor(part), cells: part.map((r) => ({ id: r.cellId })), shard: `${i}/4` });
    });
    rmSync(join(dirs[3]!, 'results.jsonl'));
    const errors: string[] = [];
    expect(await mergeCommand(dirs, { out: join(root, 'empty-shard'), log: () => {}, error: (e) => errors.push(e) })).toBe(0);
    expect(errors).toEqual([]);
    const merged = parseResultsJsonl(readFileSync(join(root, 'empty-shard', 'results.jsonl'), 'utf8'), 'merged');
    expect(byId(merged)).toEqual(byId(few));
    // A shard that planned cells but has no results is still refused.
    const lost = writeRun(few.slice(0, 1), { ...manifestFor(few.slice(0, 1)), cells: [{ id: few[0]!.cellId }], shard: '1/2' });
    rmSync(join(lost, 'results.jsonl'));
    expect(await mergeCommand([lost, dirs[0]!], { out: join(root, 'lost-shard'), ...quiet })).toBe(2);
  });
});
