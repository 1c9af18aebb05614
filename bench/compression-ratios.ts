/**
 * Byte-exact compression ratios of the paper's methods on a LLaMA-2-7B-shaped cache (32 layers,
 * 32 KV heads, head dim 128, batch 1), measured from the bytes each method holds after a
 * prefill of n tokens, beside the numbers the paper reports. Prints a Markdown table
 * (the one in docs/methods.md). Not a timing benchmark.
 *
 * Run: npx vite-node bench/compression-ratios.ts        (env BENCH_LENGTHS, default "160,1024,2048")
 */
import { allocBlock, type CacheGeometry, type KVBlock } from '../src/engine/kv-block.js';
import { createMethod } from '../src/methods/registry.js';
import { totalBytes, type MethodParams } from '../src/methods/types.js';

const geometry: CacheGeometry = { layers: 32, batch: 1, kvHeads: 32, headDim: 128 };
const lengths = (process.env.BENCH_LENGTHS ?? '160,1024,2048').split(',').map(Number);

interface Row {
  label: string;
  method: string;
  params?: MethodParams;
  paper?: string;
}

const rows: Row[] = [
  { label: 'kivi2 (G 32, R 128)', method: 'kivi2', paper: '3.95× (KIVI-2, LongBench table)' },
  { label: 'kivi4 (G 32, R 128)', method: 'kivi4' },
  { label: 'rtn (4 bit, G 32)', method: 'rtn', paper: '3.21× (RTN, LongBench table)' },
  { label: 'mean-merge (S 16)', method: 'mean-merge' },
  { label: 'minicache (fp16, S 16, γ 0.05)', method: 'minicache', paper: '1.53× (cross-layer merging, abstract)' },
  { label: 'minicache (fp16, S 10: 22 layers merged)', method: 'minicache', params: { startLayer: 10 } },
  { label: 'minicache+kivi4 (G 32, R 128)', method: 'minicache+kivi4', paper: '5.02× ("4-bit MiniCache")' },
  { label: 'minicache+kivi4 (G 128, R 128)', method: 'minicache+kivi4', params: { groupSize: 128 } },
];

/** Correlated random layers (cos ≈ 0.8 between neighbours); four distinct blocks reused cyclically. */
function layers(tokens: number): KVBlock[] {
  let s = 12345;
  const rand = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  const gauss = (): number => Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
  const pool: KVBlock[] = [];
  let prev: KVBlock | null = null;
  for (let p = 0; p < 4; p++) {
    const b = allocBlock(geometry, tokens);
    for (const kv of ['k', 'v'] as const) {
      const a = b[kv];
      for (let i = 0; i < a.length; i++) a[i] = prev ? 0.8 * prev[kv][i]! + 0.6 * gauss() : gauss();
    }
    pool.push(b);
    prev = b;
  }
  return Array.from({ length: geometry.layers }, (_, l) => pool[l % 4]!);
}

const fp16Bytes = (n: number): number => 2 * geometry.layers * geometry.kvHeads * n * geometry.headDim * 2;
const results = new Map<string, string[]>();
for (const n of lengths) {
  const input = layers(n);
  for (const row of rows) {
    const m = createMethod(row.method, geometry, row.params);
    m.prefill(input);
    const ratio = fp16Bytes(n) / totalBytes(m.bytes());
    const pairs = m.diagnostics().pairs ?? [];
    const retained = pairs.length ? pairs.reduce((a, p) => a + p.retainedFracK + p.retainedFracV, 0) / (2 * pairs.length) : 0;
    results.set(row.label, [...(results.get(row.label) ?? []), `${ratio.toFixed(3)}×${pairs.length ? ` (r ${(100 * retained).toFixed(2)}%)` : ''}`]);
    m.dispose();
  }
}

console.log(`| method (LLaMA-2-7B shape, batch 1) | ${lengths.map((n) => `n = ${n}`).join(' | ')} | paper reports |`);
console.log(`|---|${lengths.map(() => '---|').join('')}---|`);
for (const row of rows) console.log(`| ${row.label} | ${results.get(row.label)!.join(' | ')} | ${row.paper ?? ''} |`);
