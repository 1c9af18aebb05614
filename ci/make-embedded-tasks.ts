/**
 * Makes the embedded LongBench-format task set from the embedded model's held-out split.
 *
 *   npm run build && node dist/ci/make-embedded-tasks.js [--prose P] [--code C] [--out DIR]
 *                                                         [--seed N] [--items N] [--documents N]
 *
 * Defaults: models/minillama-12l/heldout/{prose,code}.jsonl → data/embedded-longbench/, seed 0,
 * 50 items per task, 20 long documents. Writes <task>.jsonl per task and manifest.json (inputs'
 * sha256, options, counts); the same inputs and options always give the same bytes.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readHeldoutFile } from '../runners/node/workload-files.js';
import { buildEmbeddedTaskSet } from '../src/workloads/embedded/build.js';
import { HarnessError } from '../src/errors.js';

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function main(): void {
  const { values } = parseArgs({
    options: {
      prose: { type: 'string', default: 'models/minillama-12l/heldout/prose.jsonl' },
      code: { type: 'string', default: 'models/minillama-12l/heldout/code.jsonl' },
      out: { type: 'string', default: 'data/embedded-longbench' },
      seed: { type: 'string', default: '0' },
      items: { type: 'string', default: '50' },
      documents: { type: 'string', default: '20' },
    },
  });
  const seed = Number(values.seed);
  const items = Number(values.items);
  const documents = Number(values.documents);
  for (const [k, v] of Object.entries({ seed, items, documents })) {
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`--${k} must be a non-negative integer, got ${JSON.stringify(values[k as keyof typeof values])}`);
  }
  const prose = readHeldoutFile(values.prose);
  const code = readHeldoutFile(values.code);
  const tasks = buildEmbeddedTaskSet(prose, code, { seed, items, documents });

  mkdirSync(values.out, { recursive: true });
  const counts: Record<string, number> = {};
  for (const [task, records] of Object.entries(tasks)) {
    writeFileSync(join(values.out, `${task}.jsonl`), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    counts[task] = records.length;
  }
  const manifest = {
    generator: 'ci/make-embedded-tasks.ts (src/workloads/embedded/build.ts)',
    seed,
    items,
    documents,
    inputs: {
      prose: { path: values.prose, sha256: sha256(values.prose), docs: prose.length },
      code: { path: values.code, sha256: sha256(values.code), docs: code.length },
    },
    licences: [...new Set([...prose, ...code].map((d) => `${d.source}: ${d.licence}`))].sort(),
    records: counts,
  };
  writeFileSync(join(values.out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  console.log(`wrote ${Object.entries(counts).map(([t, n]) => `${t} (${n})`).join(', ')} to ${values.out}`);
}

try {
  main();
} catch (e) {
  console.error(e instanceof HarnessError ? e.format() : (e as Error).message);
  process.exit(1);
}
