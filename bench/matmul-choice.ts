/**
 * Which matmul kernels to run, from bench/engine-matmul.ts's timings: the least total median time
 * over the (shape, M) cases every candidate has, M ≤ SMALL_M and above apart. Written as
 * MINICACHE_MATMUL's value, so a device script can run what follows with it.
 */
import { SMALL_M, SPLIT_K_TARGET_GROUPS } from '../src/webgpu/kernels/matmul.js';

/** Split-K's workgroup targets timed side by side: the default (two per SM of a 132-SM GPU) and eight per SM. */
export const SPLIT_TARGETS = [SPLIT_K_TARGET_GROUPS, 1056];

/** One timed kernel: 'row', 'row4', 'row8', 'tiled', 'splitk', 'splitk@<target>'. */
export interface Timed {
  shape: string;
  M: number;
  kernel: string;
  ms: number;
}

/**
 * 'splitk' counts as 'tiled' where it does not split (it is the same kernel there), and a target
 * that splits as the default does as 'splitk'.
 */
export function fastestChoice(rows: Timed[]): string | undefined {
  const pick = (small: boolean, candidates: string[]) => {
    const cases = new Map<string, Map<string, number>>();
    for (const r of rows.filter((x) => (x.M <= SMALL_M) === small)) {
      const key = `${r.shape}@${r.M}`;
      if (!cases.has(key)) cases.set(key, new Map());
      cases.get(key)!.set(r.kernel, r.ms);
    }
    const total = new Map<string, number>();
    for (const byKernel of cases.values()) {
      // a split-K variant that does not split there is the tiled kernel; one that splits as
      // another variant does was timed once, under the other's name
      if (!small && byKernel.has('tiled')) {
        if (!byKernel.has('splitk')) byKernel.set('splitk', byKernel.get('tiled')!);
        for (const t of SPLIT_TARGETS.slice(1)) if (!byKernel.has(`splitk@${t}`)) byKernel.set(`splitk@${t}`, byKernel.get('splitk')!);
      }
      if (!candidates.every((k) => byKernel.has(k))) continue;
      for (const k of candidates) total.set(k, (total.get(k) ?? 0) + byKernel.get(k)!);
    }
    if (total.size === 0) return undefined;
    return [...total].sort((a, b) => a[1] - b[1])[0]![0];
  };
  const small = pick(true, ['row', 'row4', 'row8']);
  const large = pick(false, ['tiled', 'splitk', ...SPLIT_TARGETS.slice(1).map((t) => `splitk@${t}`)]);
  const [largeKernel, target] = (large ?? '').split('@');
  const parts = [small ? `small=${small}` : '', largeKernel ? `large=${largeKernel}` : '', target ? `splitGroups=${target}` : ''].filter(Boolean);
  return parts.length ? parts.join(',') : undefined;
}
