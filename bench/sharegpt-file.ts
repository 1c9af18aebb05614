/**
 * Reading the full ShareGPT_V3 release (~650 MB, more than V8's longest string) for the
 * sharegpt-requests workload: generates a file of that size in ShareGPT_V3's shape (its records'
 * length spread, a few broken and short records), streams it through indexShareGptFile and samples
 * requests as the workload does, then prints the time and the process's peak RSS. Not a test.
 *
 * Run: npm run build && node dist/bench/sharegpt-file.js   (env BENCH_SHAREGPT_MB, default 650;
 *      BENCH_SHAREGPT_FILE=path to read an existing file instead of generating one)
 */
import { closeSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tokenizer } from '../src/engine/backend.js';
import { createPrng } from '../src/measure/prng.js';
import { sampleShareGpt } from '../src/workloads/sharegpt/sample.js';
import { indexShareGptFile } from '../runners/node/sharegpt-file.js';

const MB = 1 << 20;
const targetMb = Number(process.env.BENCH_SHAREGPT_MB ?? 650);
const given = process.env.BENCH_SHAREGPT_FILE;
const file = given ?? join(tmpdir(), `sharegpt-bench-${targetMb}mb.json`);

/** Words of varied length; turns of a few to a few thousand words, as ShareGPT's long tail. */
function generate(path: string, bytes: number): { records: number } {
  const rng = createPrng('sharegpt-bench');
  const words = ['the', 'model', 'cache', 'request', 'compression', 'layer', 'token', 'explain', 'python', 'function', 'return', '数据', 'é', '{', '"quoted"', 'a\\nb'];
  const text = (n: number) => Array.from({ length: n }, () => words[rng.int(words.length)]!).join(' ');
  const fd = openSync(path, 'w');
  let written = 0;
  let records = 0;
  const put = (s: string) => (written += writeSync(fd, s));
  put('[');
  while (written < bytes) {
    const turns = 1 + rng.int(6);
    const len = () => Math.round(Math.exp(3 + 2 * rng.next() + rng.next() * rng.next() * 3));
    const conv = Array.from({ length: turns }, (_, t) => ({ from: t % 2 ? 'gpt' : 'human', value: text(len()) }));
    const rec = records % 997 === 5 ? '{"id": "broken", "conversations": [{"from": "human", "value": "oops" "no comma"}]}' : JSON.stringify({ id: `r${records}`, conversations: conv });
    put(`${records ? ',\n' : '\n'}${rec}`);
    records++;
  }
  put('\n]\n');
  closeSync(fd);
  return { records };
}

const words: Tokenizer = {
  vocabSize: 1 << 20,
  encode: (t, o) => [...(o?.bos ? [1] : []), ...t.split(/\s+/).filter(Boolean).map((_, i) => 3 + (i % 1000))],
  decode: () => '',
};

if (!given) {
  const t0 = performance.now();
  const g = generate(file, targetMb * MB);
  console.log(`generated ${file}: ${(statSync(file).size / MB).toFixed(0)} MB, ${g.records} records in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
const rssBefore = process.resourceUsage().maxRSS * 1024;
const t1 = performance.now();
let lastPct = -1;
const source = await indexShareGptFile(file, {
  onProgress: (done, total) => {
    const pct = Math.floor((100 * done) / total);
    if (pct % 10 === 0 && pct !== lastPct) process.stderr.write(`  indexed ${pct}%\n`);
    lastPct = pct;
  },
});
const t2 = performance.now();
const sample = sampleShareGpt(source, { numRequests: 1000, seed: 0, tokenizer: words });
const t3 = performance.now();
const peak = process.resourceUsage().maxRSS * 1024;
console.log(`records ${source.total}, valid pairs ${source.length}, skipped ${JSON.stringify(source.skipped)}`);
console.log(`index: ${((t2 - t1) / 1000).toFixed(1)} s (${(statSync(file).size / MB / ((t2 - t1) / 1000)).toFixed(0)} MB/s); sample 1000 requests: ${(t3 - t2).toFixed(0)} ms, ${sample.considered} pairs read back`);
console.log(`peak RSS: ${(peak / MB).toFixed(0)} MB (before indexing ${(rssBefore / MB).toFixed(0)} MB; heap used now ${(process.memoryUsage().heapUsed / MB).toFixed(0)} MB) for a ${(statSync(file).size / MB).toFixed(0)} MB file`);
if (!given) rmSync(file);
