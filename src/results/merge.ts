import { HarnessError } from '../errors.js';
import { canonicalJson } from './canonical-json.js';
import { SCHEMA_VERSION, type CellResult, type OkRecord } from './record.js';

/** The manifest.json fields merge relies on; everything else is carried over from the first shard. */
export interface RunManifestLike {
  schemaVersion: number;
  suiteHash: string;
  suite?: unknown;
  /** "i/n" for a shard, null for a whole run. */
  shard?: string | null;
  /** Cells this run planned (after sharding), each with its id. */
  cells?: ({ id: string } & Record<string, unknown>)[];
  provenance?: unknown;
  [extra: string]: unknown;
}

export interface ShardRun {
  /** Where the shard came from (its folder), for messages. */
  source: string;
  manifest: RunManifestLike;
  records: readonly CellResult[];
}

export interface MergedManifest extends RunManifestLike {
  shard: null;
  mergedFrom: { source: string; shard: string | null; records: number }[];
}

export interface MergedRun {
  /** One record per cell id, sorted by id. */
  records: CellResult[];
  manifest: MergedManifest;
  /** Things worth saying that are not errors (duplicates dropped, planned cells without a record). */
  notes: string[];
  /** Reasons the merged run is not the whole suite (shards not given), for stderr. */
  warnings: string[];
}

/**
 * Merge shard runs into one run.
 *
 * Phases: check every shard has this schema version and the same suite hash (manifest and
 * records) → group records by cell id → per id keep one record (ok over errored over skipped;
 * duplicates of an ok cell must agree on every deterministic metric, else it is an error) → sort
 * by id → manifest listing the shards and the union of their planned cells.
 * Throws HarnessError (code merge.*) on anything that would make the merged run lie.
 */
export function mergeRuns(shards: readonly ShardRun[]): MergedRun {
  if (shards.length === 0) throw new HarnessError('merge.empty', 'nothing to merge: no shard folders given');
  checkCompatible(shards);
  const groups = new Map<string, { record: CellResult; source: string }[]>();
  for (const s of shards) {
    for (const r of s.records) {
      const list = groups.get(r.cellId) ?? [];
      list.push({ record: r, source: s.source });
      groups.set(r.cellId, list);
    }
  }
  const notes: string[] = [];
  const records: CellResult[] = [];
  for (const [id, list] of [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    records.push(pickOne(id, list, notes));
  }
  const planned = new Map<string, { id: string } & Record<string, unknown>>();
  for (const s of shards) for (const c of s.manifest.cells ?? []) if (!planned.has(c.id)) planned.set(c.id, c);
  const missing = [...planned.keys()].filter((id) => !groups.has(id));
  if (missing.length) notes.push(`${missing.length} planned cell(s) have no record yet: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`);
  const first = shards[0]!.manifest;
  const manifest: MergedManifest = {
    ...first,
    shard: null,
    ...(planned.size ? { cells: [...planned.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) } : {}),
    mergedFrom: shards.map((s) => ({ source: s.source, shard: s.manifest.shard ?? null, records: s.records.length })),
  };
  return { records, manifest, notes, warnings: missingShards(shards) };
}

/**
 * Shards of an i/n split that were not given: each shard's manifest lists only its own cells, so
 * without this a merge of 2 of 3 shards would look complete.
 */
function missingShards(shards: readonly ShardRun[]): string[] {
  const specs = shards.map((s) => s.manifest.shard);
  if (specs.some((x) => x === null || x === undefined)) return []; // a whole run is among them
  const parsed = specs.map((x) => /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(String(x))).map((m) => (m ? { index: Number(m[1]), total: Number(m[2]) } : undefined));
  if (parsed.some((p) => !p)) return [];
  const totals = [...new Set(parsed.map((p) => p!.total))];
  if (totals.length > 1) return [`the folders split the suite in different ways (${specs.join(', ')}): some cells may have no record`];
  const n = totals[0]!;
  const have = new Set(parsed.map((p) => p!.index));
  const missing = Array.from({ length: n }, (_, i) => i + 1).filter((i) => !have.has(i));
  return missing.length ? [`incomplete: shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${n}`).join(', ')} not given, so their cells have no record in the merged run`] : [];
}

function checkCompatible(shards: readonly ShardRun[]): void {
  const first = shards[0]!;
  for (const s of shards) {
    const m = s.manifest;
    if (m.schemaVersion !== SCHEMA_VERSION) {
      throw new HarnessError('merge.version', `schemaVersion ${m.schemaVersion} differs from this tool's ${SCHEMA_VERSION}`, { file: `${s.source}/manifest.json`, field: 'schemaVersion' });
    }
    if (m.suiteHash !== first.manifest.suiteHash) {
      throw new HarnessError(
        'merge.suite',
        `suite hash ${m.suiteHash} differs from ${first.manifest.suiteHash} (${first.source}): the shards ran different suites`,
        { file: `${s.source}/manifest.json`, field: 'suiteHash' },
        'run every shard from the same suite file and flags',
      );
    }
    for (const r of s.records) {
      if (r.schemaVersion !== SCHEMA_VERSION) {
        throw new HarnessError('merge.version', `record ${r.cellId} has schemaVersion ${r.schemaVersion}, expected ${SCHEMA_VERSION}`, { file: `${s.source}/results.jsonl`, field: 'schemaVersion' });
      }
      if (r.provenance.suiteHash !== m.suiteHash) {
        throw new HarnessError('merge.suite', `record ${r.cellId} carries suite hash ${r.provenance.suiteHash}, its manifest says ${m.suiteHash}`, { file: `${s.source}/results.jsonl`, field: 'provenance.suiteHash' });
      }
    }
  }
}

const RANK: Record<CellResult['status'], number> = { ok: 0, errored: 1, skipped: 2 };

function pickOne(id: string, list: { record: CellResult; source: string }[], notes: string[]): CellResult {
  const spec = canonicalJson(list[0]!.record.cell);
  for (const x of list) {
    if (canonicalJson(x.record.cell) !== spec) {
      throw new HarnessError('merge.conflict', `cell ${id} has two different specs (${list[0]!.source} and ${x.source}): the id no longer matches its cell`, { file: `${x.source}/results.jsonl`, field: 'cell' });
    }
  }
  const best = [...list].sort((a, b) => RANK[a.record.status] - RANK[b.record.status])[0]!;
  if (best.record.status === 'ok') {
    const key = deterministicKey(best.record);
    for (const x of list) {
      if (x.record.status !== 'ok') continue;
      const other = deterministicKey(x.record);
      if (other !== key) {
        throw new HarnessError(
          'merge.conflict',
          `cell ${id}: deterministic results differ between ${best.source} and ${x.source} (${firstDifference(best.record, x.record)})`,
          { file: `${x.source}/results.jsonl` },
          'bytes, ratios, task scores and tokens on a fixed seed must not change between runs; rerun the cell',
        );
      }
    }
  }
  if (list.length > 1) {
    const identical = list.every((x) => canonicalJson(x.record) === canonicalJson(best.record));
    if (!identical) notes.push(`cell ${id}: ${list.length} records (${list.map((x) => `${x.record.status} in ${x.source}`).join(', ')}); kept the ${best.record.status} one from ${best.source}`);
  }
  return best.record;
}

/** What two ok runs of one cell must agree on: bytes, ratios, lengths, task scores, sampled tokens. */
function deterministicParts(r: OkRecord): Record<string, unknown> {
  const m = r.metrics;
  return {
    kvBytes: m.kvBytes,
    kvBytesBaseline: m.kvBytesBaseline,
    compressionRatio: m.compressionRatio,
    seqLen: m.seqLen,
    kvBytesByComponent: m.kvBytesByComponent,
    modelWeightBytes: m.modelWeightBytes,
    tasks: r.tasks?.map((t) => ({ task: t.task, score: t.score, n: t.n })),
    sampleTokens: r.sampleTokens,
  };
}

function deterministicKey(r: OkRecord): string {
  return canonicalJson(deterministicParts(r));
}

function firstDifference(a: OkRecord, b: OkRecord): string {
  const pa = deterministicParts(a);
  const pb = deterministicParts(b);
  const field = Object.keys(pa).find((k) => canonicalJson(pa[k]) !== canonicalJson(pb[k]));
  return field ? `${field}: ${short(pa[field!])} vs ${short(pb[field!])}` : 'unknown field';
}

function short(v: unknown): string {
  const s = canonicalJson(v);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}
