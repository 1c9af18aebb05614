import { HarnessError } from '../errors.js';

/** Which part of a sharded run this is: `index` of `total`, 1-based (as `--shard 2/3` reads). */
export interface ShardSpec {
  index: number;
  total: number;
}

/**
 * The cells of shard `index` (1-based) of `total`.
 *
 * Cells are sorted by id and dealt round-robin, so the partition depends only on the set of ids
 * (not on the order the suite listed them), every cell lands in exactly one shard, and shard sizes
 * differ by at most one. Round-robin over sorted ids also spreads each method/batch across shards
 * instead of giving one shard all the slow cells of a contiguous block.
 */
export function shardOf<T extends { cellId: string } | { id: string }>(cells: readonly T[], index: number, total: number): T[] {
  checkShard({ index, total });
  const sorted = [...cells].sort((a, b) => (idOf(a) < idOf(b) ? -1 : idOf(a) > idOf(b) ? 1 : 0));
  return sorted.filter((_, k) => k % total === index - 1);
}

/** Records carry `cellId`, planned cells `id`: both shard the same way. */
function idOf(c: { cellId: string } | { id: string }): string {
  return 'cellId' in c ? c.cellId : c.id;
}

/** `"2/3"` → `{ index: 2, total: 3 }`, with a clear error for anything else. */
export function parseShard(text: string): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new HarnessError('shard.format', `--shard expects i/n (e.g. 2/3), got "${text}"`);
  const spec = { index: Number(m[1]), total: Number(m[2]) };
  checkShard(spec);
  return spec;
}

function checkShard({ index, total }: ShardSpec): void {
  if (!Number.isInteger(total) || total < 1) throw new HarnessError('shard.range', `shard total must be an integer ≥ 1, got ${total}`);
  if (!Number.isInteger(index) || index < 1 || index > total) {
    throw new HarnessError('shard.range', `shard index must be an integer in 1..${total}, got ${index}`);
  }
}
