/**
 * What one node of a cache-op graph costs on an EP when it carries almost no data: the floor that
 * makes a MiniCache decode step slower than FP16's at small and medium batch (issue 6). Prints
 * figures, asserts nothing.
 *
 *   node dist/bench/dispatch-floor.js [--ep webgpu] [--nodes 1,50,100,200,400] [--elements 1024]
 *        [--io 1,12,24,48] [--runs 40] [--json FILE]
 *
 * For each node count N, a graph of N chained elementwise Adds over a float32 tensor of
 * --elements values is run --runs times, each run's output fed to the next run as its input, so
 * nothing crosses the host between runs. Two loops:
 *  - unfenced: the runs are issued back to back and only the last output is read (one sync);
 *  - fenced: every run's output is read (one sync per run, as a cache op that returns flags does).
 * The slope over N is the cost of one node; the intercept the cost of one run. Then, for each
 * count K of --io, a graph with K inputs and K outputs (output k = input k + 1, K nodes), its
 * outputs fed back as its inputs: the slope over K is the cost of one graph input, output and node
 * together (a restore has about 25 inputs and 24 outputs, a merge 40 and 15). A decode step of
 * minicache+kivi4 runs about 112 (restore) + 169 (merge) + 9 (retain) such nodes besides the model's.
 */
import { writeFileSync } from 'node:fs';
import { OrtGraphExec } from '../runners/node/ort-device-cache.js';
import { describeEp, type OrtEp } from '../runners/node/ort-ep.js';
import { DataType, GraphKit } from '../src/gpu/graph-kit.js';
import type { DeviceTensor, GraphSpec } from '../src/gpu/device-types.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

const ep = arg('ep', 'webgpu') as OrtEp;
const counts = arg('nodes', '1,50,100,200,400').split(',').map(Number);
const elements = Number(arg('elements', '1024'));
const runs = Number(arg('runs', '40'));
const jsonOut = arg('json', '');
const ioCounts = arg('io', '1,12,24,48').split(',').map(Number);

const exec = new OrtGraphExec(ep, 'float32');

function chain(n: number): GraphSpec {
  return {
    key: `floor${n}x${elements}`,
    build: () => {
      const g = new GraphKit('float32');
      let y = g.input('x', DataType.FLOAT, [elements]);
      // Alternate +1 and −1 so values stay bounded however many runs are chained.
      for (let i = 0; i < n; i++) y = g.op('Add', [y, g.f(i % 2 === 0 ? 1 : -1)]);
      g.output('y', y, DataType.FLOAT, [elements]);
      return g.encode(`floor${n}`);
    },
  };
}

async function loop(spec: GraphSpec, fenced: boolean): Promise<number> {
  let x: DeviceTensor = exec.upload('float32', new Float32Array(elements), [elements]);
  // Warm-up: builds the session and its pipelines.
  for (let i = 0; i < 3; i++) {
    const out = await exec.run(spec, { x });
    x.dispose();
    x = out.y!;
  }
  await exec.read(x);
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) {
    const out = await exec.run(spec, { x });
    x.dispose();
    x = out.y!;
    if (fenced) await exec.read(x);
  }
  if (!fenced) await exec.read(x);
  const ms = (performance.now() - t0) / runs;
  x.dispose();
  return ms;
}

function fit(xs: number[], ys: number[]): { slope: number; intercept: number } {
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  const slope = den > 0 ? num / den : 0;
  return { slope, intercept: my - slope * mx };
}

console.log(`dispatch floor: ep ${ep} ${JSON.stringify(describeEp(ep).adapter ?? {})}, ${elements} float32 elements, ${runs} runs per point`);
const rows: { nodes: number; unfencedMs: number; fencedMs: number }[] = [];
for (const n of counts) {
  const spec = chain(n);
  // Interleave the two loops twice and keep the faster of each (the machine's jitter is one-sided).
  const u = Math.min(await loop(spec, false), await loop(spec, false));
  const f = Math.min(await loop(spec, true), await loop(spec, true));
  rows.push({ nodes: n, unfencedMs: u, fencedMs: f });
  console.log(`${String(n).padStart(5)} nodes  unfenced ${u.toFixed(3)} ms/run  fenced ${f.toFixed(3)} ms/run`);
}
function fanout(k: number): GraphSpec {
  return {
    key: `io${k}x${elements}`,
    build: () => {
      const g = new GraphKit('float32');
      for (let i = 0; i < k; i++) g.output(`y${i}`, g.op('Add', [g.input(`x${i}`, DataType.FLOAT, [elements]), g.f(i % 2 === 0 ? 1 : -1)]), DataType.FLOAT, [elements]);
      return g.encode(`io${k}`);
    },
  };
}

async function ioLoop(k: number): Promise<number> {
  const spec = fanout(k);
  let xs: DeviceTensor[] = Array.from({ length: k }, () => exec.upload('float32', new Float32Array(elements), [elements]));
  const step = async () => {
    const out = await exec.run(spec, Object.fromEntries(xs.map((x, i) => [`x${i}`, x])));
    for (const x of xs) x.dispose();
    xs = xs.map((_, i) => out[`y${i}`]!);
  };
  for (let i = 0; i < 3; i++) await step();
  await exec.read(xs[0]!);
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await step();
  await exec.read(xs[0]!);
  const ms = (performance.now() - t0) / runs;
  for (const x of xs) x.dispose();
  return ms;
}

const ioRows: { io: number; unfencedMs: number }[] = [];
for (const k of ioCounts) {
  const u = Math.min(await ioLoop(k), await ioLoop(k));
  ioRows.push({ io: k, unfencedMs: u });
  console.log(`${String(k).padStart(5)} inputs, outputs and nodes  unfenced ${u.toFixed(3)} ms/run`);
}
const io = fit(ioRows.map((r) => r.io), ioRows.map((r) => r.unfencedMs));
const un = fit(rows.map((r) => r.nodes), rows.map((r) => r.unfencedMs));
const fe = fit(rows.map((r) => r.nodes), rows.map((r) => r.fencedMs));
console.log(`per node: unfenced ${(un.slope * 1000).toFixed(1)} µs, fenced ${(fe.slope * 1000).toFixed(1)} µs`);
console.log(`per run:  unfenced ${un.intercept.toFixed(3)} ms, fenced ${fe.intercept.toFixed(3)} ms (the fence adds a read-back)`);
console.log(`per input + output + node: ${(io.slope * 1000).toFixed(1)} µs unfenced (less the node: about ${((io.slope - un.slope) * 1000).toFixed(1)} µs per input and output pair)`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ ep, adapter: describeEp(ep).adapter ?? null, elements, runs, rows, ioRows, perIoMs: io.slope, perNodeMs: { unfenced: un.slope, fenced: fe.slope }, perRunMs: { unfenced: un.intercept, fenced: fe.intercept }, node: process.version }, null, 2));
await exec.dispose();
