/**
 * `run --isolate`, the parent's side: when a cell's process dies before it records anything, the
 * parent records the cell as errored (with the exit code) and goes on to the next cell. The child
 * command here is a node process that exits at once, standing in for one killed by the OOM killer.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../../runners/node/run-command.js';
import { readRecords } from '../support/records.js';

const card = fileURLToPath(new URL('../../models/minillama-12l', import.meta.url));

describe('run --isolate (parent)', () => {
  it('records a cell whose process died without a result as errored, and runs the others', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcb-isolate-'));
    const suite = join(dir, 'suite.yaml');
    writeFileSync(
      suite,
      `name: isolate-crash\nseed: 1\nmodels:\n  - card: ${card}\nmethods: [fp16, kivi4]\nworkloads:\n  - name: generate\n    params: { prompts: ["Once"], maxNewTokens: 2 }\nbatch: 1\n`,
    );
    const out = join(dir, 'out');
    const summary = await runCommand(suite, { out, quiet: true, isolate: { self: [process.execPath, '-e', 'process.exit(3)'] } });
    expect(summary).toMatchObject({ planned: 2, ok: 0, errored: 2 });
    const records = readRecords<any>(out);
    expect(records).toHaveLength(2);
    for (const r of records) {
      expect(r.status).toBe('errored');
      expect(r.error.message).toMatch(/exited with code 3 before recording a result/);
      expect(r.provenance.isolated).toBe(true);
    }
    expect(new Set(records.map((r) => r.cell.method))).toEqual(new Set(['fp16', 'kivi4']));

    // Resumed, the errored cells run again; a second death is recorded anew, not mistaken for the old record.
    const again = await runCommand(suite, { out, quiet: true, resume: true, isolate: { self: [process.execPath, '-e', 'process.exit(4)'] } });
    expect(again).toMatchObject({ ok: 0, errored: 2 });
    const all = readRecords<any>(out);
    expect(all).toHaveLength(4);
    expect(all.slice(2).every((r) => /exited with code 4/.test(r.error.message))).toBe(true);
  });
});
