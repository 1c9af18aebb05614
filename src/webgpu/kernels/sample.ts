/**
 * Next-token choice on the device, one workgroup per sequence. Reference: sample.ref.ts.
 *
 * Greedy: argmax with the lowest id on ties (the host Sampler's rule). Sampling: probabilities
 * p_i = exp((l_i − max)/T); top-k and top-p keep the tokens whose p is at least a threshold found
 * by bisection (top-k: the largest θ with at least k tokens at or above it; top-p: the largest θ
 * whose kept mass is at least topP of the top-k mass); the token is drawn by inverse CDF in id
 * order with a uniform from a counter-based hash of (seed, step, sequence), so a step's draw does
 * not depend on the host or on other sequences. That is not the host Sampler's stream (mulberry32
 * in row order): sampled tokens are deterministic per engine, not equal across engines.
 *
 * The chosen ids go to `ids` (next step's input) and to `out[step]` (the read-back ring). As the
 * host loop does, a sequence that chose a stop id or used its budget is done and is fed `pad`
 * from then on. Teacher forcing (prm.forced = 1): the host wrote `ids`; they stay, state too.
 */
import { f32Lit } from './wgsl-common.js';

export interface SampleShape {
  batch: number;
  vocab: number;
  /** 0 = greedy. */
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  /** Rows of the read-back ring (steps held before the host reads them). */
  ring: number;
  /** Ids that end a sequence, and the id fed to finished sequences. */
  stop: readonly number[];
  pad: number;
}

const WG = 256;

export function sampleWgsl(s: SampleShape): string {
  const { batch: B, vocab: V, ring } = s;
  const greedy = !(s.temperature > 0);
  const per = Math.ceil(V / WG);
  const head = `struct Prm { slot: u32, b0: u32, step: u32, forced: u32 }
@group(0) @binding(0) var<storage, read> L: array<f32>;
@group(0) @binding(1) var<storage, read_write> ids: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
@group(0) @binding(3) var<storage, read> prm: Prm;
@group(0) @binding(4) var<storage, read> budgets: array<u32>;
@group(0) @binding(5) var<storage, read_write> state: array<vec2u>; // (tokens kept, done)
var<workgroup> rv: array<f32, ${WG}>;
var<workgroup> ri: array<u32, ${WG}>;
`;
  const argmax = `
  var best = 0u;
  var bv = -3.4e38;
  for (var e = 0u; e < ${per}u; e++) {
    let i = tid * ${per}u + e;
    if (i < ${V}u) { let v = L[b * ${V}u + i]; if (v > bv) { bv = v; best = i; } }
  }
  rv[tid] = bv;
  ri[tid] = best;
  workgroupBarrier();
  for (var st = ${WG / 2}u; st > 0u; st = st >> 1u) {
    if (tid < st) {
      let ov = rv[tid + st];
      let oi = ri[tid + st];
      if (ov > rv[tid] || (ov == rv[tid] && oi < ri[tid])) { rv[tid] = ov; ri[tid] = oi; }
    }
    workgroupBarrier();
  }`;
  const isStop = s.stop.length ? s.stop.map((t) => `tok == ${t >>> 0}u`).join(' || ') : 'false';
  // the host's choose(): a finished sequence is fed pad; a stop id ends it unkept; the budget ends it
  const emit = `
  if (tid == 0u) {
    var tok = ri[0];
    if (prm.forced == 0u) {
      var st = state[b];
      if (st.y != 0u) { tok = ${s.pad >>> 0}u; }
      else {
        if (${isStop}) { st.y = 1u; } else { st.x += 1u; }
        if (st.x >= budgets[b]) { st.y = 1u; }
      }
      state[b] = st;
      ids[b] = tok;
    }
    out[(prm.step % ${ring}u) * ${B}u + b] = tok;
  }`;
  if (greedy) {
    return `${head}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) gid3: vec3u, @builtin(local_invocation_index) tid: u32) {
  let b = gid3.x;
  ${argmax}
  ${emit}
}
`;
  }
  const invT = f32Lit(1 / s.temperature);
  const topK = s.topK > 0 ? Math.min(s.topK, V) : 0;
  return `${head}
fn hash(x: u32) -> u32 {
  var h = x;
  h ^= h >> 16u; h *= 0x7feb352du; h ^= h >> 15u; h *= 0x846ca68bu; h ^= h >> 16u;
  return h;
}
fn p(b: u32, i: u32, m: f32) -> f32 { return exp((L[b * ${V}u + i] - m) * ${invT}); }
// sum of p ≥ th (mode 0) or count of p ≥ th (mode 1), over the whole row, in every thread
fn total(b: u32, m: f32, th: f32, mode: u32, tid: u32) -> f32 {
  var s = 0.0;
  for (var e = 0u; e < ${per}u; e++) {
    let i = tid * ${per}u + e;
    if (i < ${V}u) { let v = p(b, i, m); if (v >= th) { s += select(v, 1.0, mode == 1u); } }
  }
  workgroupBarrier();
  rv[tid] = s;
  workgroupBarrier();
  for (var st = ${WG / 2}u; st > 0u; st = st >> 1u) {
    if (tid < st) { rv[tid] += rv[tid + st]; }
    workgroupBarrier();
  }
  return workgroupUniformLoad(&rv[0]);
}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) gid3: vec3u, @builtin(local_invocation_index) tid: u32) {
  let b = gid3.x;
  ${argmax}
  let m = workgroupUniformLoad(&rv[0]);
  // top-k threshold: largest θ in (0, 1] with at least k tokens at or above it
  var thK = 0.0;
  ${
    topK > 0
      ? `{
    var lo = 0.0; var hi = 1.0;
    for (var it = 0u; it < 30u; it++) {
      let mid = 0.5 * (lo + hi);
      if (total(b, m, mid, 1u, tid) >= ${f32Lit(topK)}) { lo = mid; } else { hi = mid; }
    }
    thK = lo;
  }`
      : ''
  }
  let mass = total(b, m, thK, 0u, tid);
  var th = thK;
  ${
    s.topP < 1
      ? `{
    var lo = thK; var hi = 1.0;
    let want = ${f32Lit(s.topP)} * mass;
    for (var it = 0u; it < 30u; it++) {
      let mid = 0.5 * (lo + hi);
      if (total(b, m, mid, 0u, tid) >= want) { lo = mid; } else { hi = mid; }
    }
    th = lo;
  }`
      : ''
  }
  let kept = total(b, m, th, 0u, tid);
  let u = f32(hash(hash(${s.seed >>> 0}u ^ hash(prm.step)) ^ hash(b + 0x9e3779b9u)) >> 8u) / 16777216.0;
  let goal = u * kept;
  // exclusive scan of each thread's kept mass, in id order
  var mine = 0.0;
  for (var e = 0u; e < ${per}u; e++) {
    let i = tid * ${per}u + e;
    if (i < ${V}u) { let v = p(b, i, m); if (v >= th) { mine += v; } }
  }
  workgroupBarrier();
  rv[tid] = mine;
  workgroupBarrier();
  if (tid == 0u) {
    var acc = 0.0;
    var chosen = ri[0];
    for (var t = 0u; t < ${WG}u; t++) {
      let next = acc + rv[t];
      if (goal < next) {
        var c = acc;
        for (var e = 0u; e < ${per}u; e++) {
          let i = t * ${per}u + e;
          if (i < ${V}u) { let v = p(b, i, m); if (v >= th) { c += v; if (goal < c) { chosen = i; break; } } }
        }
        break;
      }
      acc = next;
    }
    ri[0] = chosen;
  }
  ${emit}
}
`;
}
