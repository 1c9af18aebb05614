import type { CellResult, Provenance } from '../../results/record.js';
import { plannedWithoutRecord } from '../cells.js';
import type { CodeBlock, ReportBlock, TableBlock } from '../model.js';

/** Provenance rows: one row per field, every distinct value seen across records and the manifest. */
export function provenanceBlocks(records: readonly CellResult[], manifest: Record<string, unknown> | undefined): ReportBlock[] {
  const provs: Provenance[] = records.map((r) => r.provenance);
  const mp = manifest?.provenance;
  if (mp && typeof mp === 'object') provs.push(mp as Provenance);
  const fields: [string, (p: Provenance) => unknown][] = [
    ['git SHA', (p) => `${p.gitSha}${p.gitDirty ? ' (dirty)' : ''}`],
    ['package version', (p) => p.packageVersion],
    ['runner', (p) => p.runner],
    ['execution provider', (p) => p.executionProvider],
    ['execution provider options', (p) => (p.executionProviderOptions && Object.keys(p.executionProviderOptions).length ? Object.entries(p.executionProviderOptions).map(([k, v]) => `${k}=${v}`).join(', ') : undefined)],
    ['adapter', (p) => (p.adapter ? `${p.adapter.vendor} ${p.adapter.architecture}${p.adapter.description ? ` (${p.adapter.description})` : ''}${p.adapter.fallback ? ' — software fallback adapter: timings are not GPU timings' : ''}` : undefined)],
    ['browser', (p) => p.browser],
    ['node', (p) => p.node],
    ['CPU', (p) => `${p.cpu} × ${p.cpuCount}`],
    ['platform', (p) => p.platform],
    ['suite hash', (p) => p.suiteHash],
    ['seed', (p) => p.seed],
    ['versions', (p) => (p.versions ? Object.entries(p.versions).map(([k, v]) => `${k} ${v}`).join(', ') : undefined)],
  ];
  const rows = fields
    .map(([name, get]) => {
      const values = [...new Set(provs.map((p) => get(p)).filter((v) => v !== undefined && v !== null && v !== '').map(String))];
      return [name, values.join(' | ')];
    })
    .filter(([, v]) => v !== '');
  const statuses = { ok: 0, errored: 0, skipped: 0 };
  for (const r of records) statuses[r.status]++;
  const missing = plannedWithoutRecord(records, manifest).length;
  rows.push(['cells', `${records.length} (${statuses.ok} ok, ${statuses.errored} errored, ${statuses.skipped} skipped)${missing ? `; ${missing} more planned, not run` : ''}`]);
  // Peak RSS is per process: say which cells ran alone (--isolate), since that decides whether RSS compares.
  const isolated = records.filter((r) => r.provenance?.isolated).length;
  const dummy = records.filter((r) => r.provenance?.weights === 'dummy');
  if (dummy.length) rows.push(['weights', `dummy (seeded values in the model's shapes) in ${dummy.length} of ${records.length} cells: ${[...new Set(dummy.map((r) => r.cell.model))].join(', ')}`]);
  if (records.length) rows.push(['own process per cell (--isolate)', isolated === 0 ? 'no: cells shared a process, so a cell\'s peak RSS includes earlier cells\'' : `${isolated} of ${records.length} cells (their peak RSS is their own)`]);
  const times = records.map((r) => r.startedAt).filter(Boolean).sort();
  if (times.length) rows.push(['started', `${times[0]} … ${times[times.length - 1]}`]);
  const table: TableBlock = { kind: 'table', id: 'provenance', title: 'Provenance', columns: [{ header: 'field' }, { header: 'value' }], rows };
  const blocks: ReportBlock[] = [table];
  if (manifest) {
    // The planned-cell list repeats the cells table; keep the block readable.
    const shown = Array.isArray(manifest.cells) ? { ...manifest, cells: `${manifest.cells.length} planned cells (listed in the cells table)` } : manifest;
    const code: CodeBlock = { kind: 'code', title: 'manifest.json (resolved suite and provenance)', text: JSON.stringify(shown, null, 2) };
    blocks.push(code);
  }
  return blocks;
}
