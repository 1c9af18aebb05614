/**
 * The analytic byte formulas of spec §2.9 and §3.6, per sequence (batch 1), used to check the
 * byte counts the methods report. Shapes: L layers, H KV heads, head dim D, n tokens.
 */
export interface Shape {
  L: number;
  H: number;
  D: number;
}

export const fp16Bytes = ({ L, H, D }: Shape, n: number): number => 2 * L * H * n * D * 2;

/** §3.6, one head of one layer: keys (per-channel groups, chunked residual) + values (window). */
export function kiviHeadBytes(D: number, n: number, bits: number, G: number, R: number): number {
  const Tq = n - (n % R);
  const keys = Math.ceil((Tq * D * bits) / 8) + D * (Tq / G) * 4 + (n % R) * D * 2;
  const Tv = Math.max(0, n - R);
  const values = Math.ceil((Tv * D * bits) / 8) + Tv * (D / G) * 4 + Math.min(n, R) * D * 2;
  return keys + values;
}

export const kiviBytes = ({ L, H, D }: Shape, n: number, bits: number, G: number, R: number): number => L * H * kiviHeadBytes(D, n, bits, G, R);

export const rtnBytes = ({ L, H, D }: Shape, n: number, bits: number, G: number): number => 2 * L * H * n * D * (bits / 8 + 4 / G);

/**
 * §2.9: M_mc = 2·H·s·[(S+U)·n·D + P·(n·D + 2n + 2·r·n·D)] + index bytes, written with the
 * number of retained vectors `retained` (over K and V, all pairs and heads) in place of r.
 */
export function miniCacheBytes({ L, H, D }: Shape, n: number, S: number, retained: number): number {
  const P = Math.floor((L - S) / 2);
  const U = L - S - 2 * P;
  return 2 * H * 2 * ((S + U) * n * D + P * (n * D + 2 * n)) + retained * (2 * D * 2 + 4);
}

/** MiniCache over KIVI (decision 9): every stored tensor per §3.6, magnitudes/retained/indices as above. */
export function miniCacheKiviBytes({ L, H, D }: Shape, n: number, S: number, retained: number, bits: number, G: number, R: number): number {
  const P = Math.floor((L - S) / 2);
  const U = L - S - 2 * P;
  const head = kiviHeadBytes(D, n, bits, G, R);
  return H * ((S + U) * head + P * (head + 2 * 2 * n * 2)) + retained * (2 * D * 2 + 4);
}

export function meanMergeBytes({ L, H, D }: Shape, n: number, S: number): number {
  const P = Math.floor((L - S) / 2);
  return 2 * H * 2 * (L - P) * n * D;
}
