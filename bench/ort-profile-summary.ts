/**
 * Summarises onnxruntime profiles (MINICACHE_ORT_PROFILE=prefix writes one JSON per session):
 * per session, the runs, nodes per run and kernel time per run, then the op types and the nodes
 * that take the most time. On the WebGPU EP a node's time is its host-side cost (recording the
 * dispatch, allocating its outputs), which is what bounds a small model's decode step.
 * Where the adapter supports timestamp queries, the EP also records each dispatch's GPU time
 * ("Api" events named node&op&program); those are summarised per op type and node as well, so
 * host-bound and GPU-bound graphs can be told apart.
 *
 *   node dist/bench/ort-profile-summary.js PROFILE.json… [--top 12] [--json FILE]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

interface Event {
  cat?: string;
  name: string;
  dur?: number;
  args?: { op_name?: string; output_size?: string; output_type_shape?: unknown; cache_key?: string; shapes?: string };
}

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

const top = Number(arg('top', '12'));
const jsonOut = arg('json', '');
const files = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !(all[i - 1] ?? '').startsWith('--'));
if (files.length === 0) {
  console.error('usage: ort-profile-summary PROFILE.json… [--top N] [--json FILE]');
  process.exit(2);
}

const ms = (us: number) => (us / 1000).toFixed(3);

interface Row {
  op: string;
  node: string;
  us: number;
  bytes: number;
}

/** Time and output bytes per op type and per node, each sorted by time (host nodes and GPU dispatches alike). */
function tally(rows: readonly Row[]) {
  const byOp = new Map<string, { count: number; us: number; bytes: number }>();
  const byNode = new Map<string, { op: string; us: number; bytes: number }>();
  for (const r of rows) {
    const o = byOp.get(r.op) ?? { count: 0, us: 0, bytes: 0 };
    o.count++;
    o.us += r.us;
    o.bytes += r.bytes;
    byOp.set(r.op, o);
    const n = byNode.get(r.node) ?? { op: r.op, us: 0, bytes: 0 };
    n.us += r.us;
    n.bytes += r.bytes;
    byNode.set(r.node, n);
  }
  const byTime = <T extends { us: number }>(m: Map<string, T>) => [...m].sort((a, b) => b[1].us - a[1].us);
  return { ops: byTime(byOp), heavy: byTime(byNode) };
}

const summaries: unknown[] = [];
for (const file of files) {
  const events = JSON.parse(readFileSync(file, 'utf8')) as Event[];
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
  if (runs.length === 0) continue;
  const nodes = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
  const runUs = runs.reduce((a, e) => a + (e.dur ?? 0), 0) / runs.length;
  const kernelUs = nodes.reduce((a, e) => a + (e.dur ?? 0), 0) / runs.length;
  const host = tally(
    nodes.map((e) => ({ op: e.args?.op_name ?? '?', node: e.name.replace(/_kernel_time$/, ''), us: e.dur ?? 0, bytes: Number(e.args?.output_size ?? 0) })),
  );
  const per = (x: number) => x / runs.length;
  const { ops, heavy } = host;
  console.log(`\n${basename(file)}: ${runs.length} runs, ${per(nodes.length).toFixed(0)} nodes/run, run ${ms(runUs)} ms, kernels ${ms(kernelUs)} ms per run`);
  console.log('  op            nodes/run  ms/run  µs/node  MB out/run');
  for (const [op, o] of ops.slice(0, top)) {
    console.log(`  ${op.padEnd(13)} ${per(o.count).toFixed(0).padStart(9)} ${ms(per(o.us)).padStart(7)} ${(o.us / o.count).toFixed(1).padStart(8)} ${(per(o.bytes) / 1e6).toFixed(1).padStart(11)}`);
  }
  console.log('  heaviest nodes (ms/run, MB out/run):');
  for (const [name, n] of heavy.slice(0, top)) console.log(`    ${ms(per(n.us)).padStart(7)} ${(per(n.bytes) / 1e6).toFixed(1).padStart(7)}  ${n.op} ${name}`);
  // GPU time per dispatch (WebGPU EP with timestamp queries): name = node&op&program.
  const gpu = events.filter((e) => e.cat === 'Api' && e.name.includes('&') && e.args?.cache_key !== undefined);
  let gpuMs: number | null = null;
  if (gpu.length > 0) {
    const g = tally(
      gpu.map((e) => {
        const [node = '?', op = '?', program = ''] = e.name.split('&');
        return { op: program && program !== op ? `${op}/${program}` : op, node, us: e.dur ?? 0, bytes: 0 };
      }),
    );
    const total = gpu.reduce((a, e) => a + (e.dur ?? 0), 0);
    gpuMs = per(total) / 1000;
    console.log(`  GPU: ${per(gpu.length).toFixed(0)} dispatches/run, ${ms(per(total))} ms of GPU time per run`);
    console.log('  op[/program]        dispatches/run  GPU ms/run  µs/dispatch');
    for (const [op, o] of g.ops.slice(0, top)) {
      console.log(`  ${op.padEnd(22)} ${per(o.count).toFixed(0).padStart(11)} ${ms(per(o.us)).padStart(11)} ${(o.us / o.count).toFixed(1).padStart(12)}`);
    }
    console.log('  heaviest nodes by GPU time (ms/run):');
    for (const [name, n] of g.heavy.slice(0, top)) console.log(`    ${ms(per(n.us)).padStart(7)}  ${n.op} ${name}`);
  }
  summaries.push({
    gpuMs,
    file: basename(file),
    runs: runs.length,
    nodesPerRun: per(nodes.length),
    runMs: runUs / 1000,
    kernelMs: kernelUs / 1000,
    ops: Object.fromEntries(ops.map(([op, o]) => [op, { nodesPerRun: per(o.count), msPerRun: per(o.us) / 1000, mbOutPerRun: per(o.bytes) / 1e6 }])),
  });
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(summaries, null, 1));
