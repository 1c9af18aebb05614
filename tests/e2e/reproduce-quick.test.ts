import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cliAsync, tempDir } from './cli-helpers.js';
import { describeWith, PARTS } from '../support/parts.js';
import { readRecords } from '../support/records.js';


describeWith([PARTS.cli], 'minicache-bench reproduce --quick', () => {
  it('writes report.html with the five sections of the paper, our figures beside the paper’s (--no-report: the cells only, the report on the next call)', async () => {
    const out = join(tempDir(), 'paper');
    // --repeats/--warmup override the paper suite's (3 and 1), as `run`'s do; --no-report runs the
    // cells only (as on a GPU machine without the report's packages)
    const r = await cliAsync(['reproduce', '--quick', '--out', out, '--quiet', '--repeats', '2', '--warmup', '0', '--no-report']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(out, 'report.html'))).toBe(false);
    expect(r.stderr).toMatch(/no report \(--no-report\)/);
    const results = readRecords<any>(out);
    expect(results.every((x: { status: string }) => x.status === 'ok')).toBe(true);
    // The serving cells ran one per process (their peak RSS is their own); the rest shared this one.
    const serving = results.filter((x: { cell: { workload: string } }) => x.cell.workload === 'sharegpt');
    expect(serving.length).toBeGreaterThan(0);
    for (const x of serving) expect(x.metrics.repeats?.decodeTokensPerSecond, `${x.cell.method} b${x.cell.batch}`).toHaveLength(2);
    for (const x of results) expect(x.provenance.isolated === true, `${x.cell.workload} ${x.cell.method}`).toBe(x.cell.workload === 'sharegpt');
    // Other settings do not resume it: the folder is refused, naming them.
    const other = await cliAsync(['reproduce', '--quick', '--out', out, '--quiet']);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/a reproduction made with other settings \(--repeats, --warmup/);
    // A second call with the same settings reuses every finished cell, and writes the report.
    const again = await cliAsync(['reproduce', '--quick', '--out', out, '--quiet', '--repeats', '2', '--warmup', '0']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`0 cells ran, ${results.length} reused`));
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    for (const section of ['Table 1', 'Fig. 5', 'Fig. 1a', 'Ablations over t, γ and S', 'Mean merging vs SLERP']) expect(html).toContain(section);
    // The paper's figures are labelled with the paper's model (the claims, the compression bars).
    expect(html).toContain('LLaMA-2-7B');
    expect(html).toContain('minillama-12l');
  }, 600_000);
});
