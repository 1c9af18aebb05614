/**
 * MiniCache's per-token merge (spec §2.3, mirroring src/kernels/slerp.ts), retention rule
 * (distinctBand, §2.4) and restoration (§2.6, mirroring src/kernels/restore.ts) as graph
 * fragments over [B,KV,T,D] tensors, one state vector per (sequence, head, token).
 *
 * Differences from the float64 reference, all within float32 rounding: the sums and the angle
 * are float32 (Acos/Sin of the device), and a zero vector gets d = 0.5 instead of NaN (it still
 * restores to zero; real model K/V have no zero vectors). Non-finite inputs are not screened.
 */
import { PARALLEL_COS, PARALLEL_SIN, HALF_LIMIT } from '../kernels/slerp.js';
import { DataType, attr, type GraphKit } from './graph-kit.js';

export interface MergeOut {
  /** Unit direction, float32 [B,KV,T,D]. */
  dir: string;
  /** ‖prev‖, ‖cur‖ float32 [B,KV,T,1]. */
  magPrev: string;
  magCur: string;
  /** Ω/π float32 [B,KV,T,1]. */
  d: string;
  /** 1 where the row must be retained (antiparallel, or a magnitude fp16 cannot hold), float32 [B,KV,T,1]. */
  forced: string;
}

const TINY = 1e-30;

/** prev/cur float32 [B,KV,T,D] → merge of each row pair. */
export function emitMerge(g: GraphKit, prev: string, cur: string, t: number, antiparallelEps: number): MergeOut {
  const aa = g.reduce('ReduceSumSquare', prev, -1);
  const bb = g.reduce('ReduceSumSquare', cur, -1);
  const ab = g.reduceSum(g.op('Mul', [prev, cur]), -1);
  const na = g.op('Sqrt', [aa]);
  const nb = g.op('Sqrt', [bb]);
  const cos = g.op('Clip', [g.op('Div', [ab, g.op('Max', [g.op('Mul', [na, nb]), g.f(TINY)])]), g.f(-1), g.f(1)]);
  const omega = g.op('Acos', [cos]);
  const s = g.op('Sin', [omega]);
  const zero = g.f(0);
  const invA = g.where(g.op('Greater', [na, zero]), g.op('Div', [g.f(1), na]), zero);
  const invB = g.where(g.op('Greater', [nb, zero]), g.op('Div', [g.f(1), nb]), zero);
  // SLERP weights, or the linear limit for near-parallel pairs (the unselected branch may be inf/NaN: Where drops it).
  const toF = (b: string) => g.cast(b, DataType.FLOAT);
  // "or" as a max of 0/1 floats: WebGPU has no Or.
  const isLinear = g.op('Greater', [g.op('Max', [toF(g.op('Less', [s, g.f(PARALLEL_SIN)])), toF(g.op('Greater', [cos, g.f(PARALLEL_COS)]))]), zero]);
  const sSafe = g.op('Max', [s, g.f(TINY)]);
  const wa0 = g.where(isLinear, g.f(1 - t), g.op('Div', [g.op('Sin', [g.op('Mul', [omega, g.f(1 - t)])]), sSafe]));
  const wb0 = g.where(isLinear, g.f(t), g.op('Div', [g.op('Sin', [g.op('Mul', [omega, g.f(t)])]), sSafe]));
  const wa1 = g.op('Mul', [wa0, invA]);
  const wb1 = g.op('Mul', [wb0, invB]);
  // ‖wa·a + wb·b‖² from the sums already taken, then normalise (reference: one write pass).
  const ee = g.op('Add', [
    g.op('Add', [g.op('Mul', [g.op('Mul', [wa1, wa1]), aa]), g.op('Mul', [g.op('Mul', [wb1, wb1]), bb])]),
    g.op('Mul', [g.op('Mul', [g.op('Mul', [wa1, wb1]), ab]), g.f(2)]),
  ]);
  const ok = g.op('Greater', [ee, g.f(1e-12)]);
  const k = g.where(ok, g.op('Div', [g.f(1), g.op('Sqrt', [g.op('Max', [ee, g.f(TINY)])])]), zero);
  // Cancellation fallback (antiparallel at t≈0.5: the row is retained anyway), as in slerpMergeRows.
  const fa = t >= 0.5 ? g.where(g.op('Greater', [nb, zero]), zero, invA) : invA;
  const fb = t >= 0.5 ? invB : g.where(g.op('Greater', [na, zero]), zero, invB);
  const wa = g.where(ok, g.op('Mul', [wa1, k]), fa);
  const wb = g.where(ok, g.op('Mul', [wb1, k]), fb);
  const dir = g.op('Add', [g.op('Mul', [prev, wa]), g.op('Mul', [cur, wb])]);
  const d = g.op('Mul', [omega, g.f(1 / Math.PI)]);
  const antiparallel = g.op('And', [g.op('Less', [cos, zero]), g.op('Less', [s, g.f(antiparallelEps)])]);
  const forced = g.op('Max', [
    toF(antiparallel),
    toF(g.op('GreaterOrEqual', [na, g.f(HALF_LIMIT)])),
    toF(g.op('GreaterOrEqual', [nb, g.f(HALF_LIMIT)])),
  ]);
  return { dir, magPrev: na, magCur: nb, d, forced };
}

/** distinctBand at prefill: per (sequence, head) over the T tokens; keep [B,KV,T,1] (0/1) and the decode threshold tau [B,KV,1,1]. */
export function emitPrefillRetention(g: GraphKit, d: string, forced: string, gamma: number): { keep: string; tau: string } {
  const dMin = g.reduce('ReduceMin', d, 2);
  const dMax = g.reduce('ReduceMax', d, 2);
  const span = g.op('Sub', [dMax, dMin]);
  const hasSpan = g.op('Greater', [span, g.f(0)]);
  const tau = g.where(hasSpan, g.op('Sub', [dMax, g.op('Mul', [span, g.f(gamma)])]), dMin);
  const inBand = g.op('And', [hasSpan, g.op('GreaterOrEqual', [d, tau])]);
  return { keep: g.op('Max', [forced, g.cast(inBand, DataType.FLOAT)]), tau };
}

/** A decode token joins the retained set when forced or (by threshold) d > tau. */
export function emitDecodeRetention(g: GraphKit, d: string, forced: string, tau: string | null): string {
  if (!tau) return forced;
  return g.op('Max', [forced, g.cast(g.op('Greater', [d, tau]), DataType.FLOAT)]);
}

/**
 * Restoration of both layers of a pair, x̂ = ‖x‖·e/‖e‖: dir [B,KV,n,D] and the magnitudes
 * [B,KV,n] in the kv dtype, outputs in the kv dtype. The norm and the per-row factor ‖x‖/‖e‖ are
 * float32 (small tensors); the full-size products are in the kv dtype, so the only full-size
 * float32 tensor is the one the norm is taken over.
 */
export function emitRescale(g: GraphKit, dir: string, magPrev: string, magCur: string): [string, string] {
  const norm = g.op('Sqrt', [g.reduce('ReduceSumSquare', g.toF32(dir), -1)]);
  const inv = g.where(g.op('Greater', [norm, g.f(0)]), g.op('Div', [g.f(1), g.op('Max', [norm, g.f(TINY)])]), g.f(0));
  const factor = (mag: string) => g.toKv(g.op('Mul', [g.op('Unsqueeze', [g.toF32(mag), g.i64([-1])]), inv]));
  return [g.op('Mul', [dir, factor(magPrev)]), g.op('Mul', [dir, factor(magCur)])];
}

/**
 * The ScatterND indices of the retained rows: idx int32 [c] holding scope·65536 + token →
 * int64 [c, 2] (scope, token) pairs over a [B·KV, n, D] view. Built once per pair record and
 * shared by both layers' put-backs.
 */
export function emitPutBackIndex(g: GraphKit, idx: string): string {
  const scope = g.op('Div', [idx, g.i32(65536)]);
  const token = g.op('Sub', [idx, g.op('Mul', [scope, g.i32(65536)])]);
  const pairs = g.op('Concat', [g.op('Unsqueeze', [scope, g.i64([1])]), g.op('Unsqueeze', [token, g.i64([1])])], [attr.int('axis', 1)]);
  return g.cast(pairs, DataType.INT64);
}

/** Puts retained originals back: x [B,KV,n,D] (kv dtype), pairs from emitPutBackIndex, rows [c,D] (kv dtype). */
export function emitPutBack(g: GraphKit, x: string, pairs: string, rows: string, B: number, KV: number, D: number): string {
  const flat = g.reshape(x, [B * KV, -1, D]);
  const put = g.op('ScatterND', [flat, pairs, rows]);
  return g.reshape(put, [B, KV, -1, D]);
}

/** Gathers rows of a [B,KV,N,D] tensor by flat row index (int32 [m]) → [m, D]. */
export function emitGatherRows(g: GraphKit, x: string, rows: string, D: number): string {
  return g.op('Gather', [g.reshape(x, [-1, D]), rows], [attr.int('axis', 0)]);
}

/** Largest token index the packed retained index (scope·65536 + token) can hold. */
export const MAX_TOKENS = 65536;
