import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { workloadCatalogue } from '../../src/runs/catalogue.js';
import { legacySuiteHash, loadSuite } from '../../src/suite/load-suite.js';
import { nodeSuiteFiles } from '../../runners/node/suite-files.js';
import { cliAsync, readResults, ROOT, tempDir, writeSuite } from './cli-helpers.js';
import { describeWith, PARTS } from '../support/parts.js';

const suite = `name: hash
repeats: 1
warmup: 0
models:
  - card: ${join(ROOT, 'models/minillama-12l')}
methods: [fp16, kivi4]
workloads:
  - name: generate
    params: { promptLen: 8, maxNewTokens: 2 }
`;

describeWith([PARTS.cli], 'suite hash', () => {
  it('a run folder written with the older path-dependent suite hash still resumes, keeping that hash', async () => {
    const dir = tempDir();
    const s = writeSuite(dir, suite);
    const out = join(dir, 'out');
    expect((await cliAsync(['run', s, '--out', out, '-q'])).code).toBe(0);
    const legacy = legacySuiteHash(loadSuite(s, nodeSuiteFiles, workloadCatalogue()));
    // As the previous version wrote it: one cell done, under the old hash.
    const first = JSON.parse(readFileSync(join(out, 'results.jsonl'), 'utf8').split('\n')[0]!);
    first.provenance.suiteHash = legacy;
    writeFileSync(join(out, 'results.jsonl'), `${JSON.stringify(first)}\n`);
    const r = await cliAsync(['run', s, '--out', out, '--resume', '-q']);
    expect(r.code, r.stderr).toBe(0);
    const records = readResults(out) as unknown as { provenance: { suiteHash: string } }[];
    expect(records).toHaveLength(2);
    expect(records.every((x) => x.provenance.suiteHash === legacy)).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).suiteHash).toBe(legacy);
  });
});
