/**
 * Records whose strings carry HTML and script: a report must show them as text and never run them.
 * Each payload sets window.__pwned if it ever executes.
 */
import type { CellResult, OkRecord } from '../../src/results/record.js';

export const HOSTILE = {
  method: 'evil<script>window.__pwned="method"</script>',
  model: '<img src=x onerror="window.__pwned=\'model\'">',
  task: '</script><script>window.__pwned="task"</script>',
  label: '"><svg onload="window.__pwned=\'label\'">',
  error: '<iframe srcdoc="<script>parent.__pwned=\'error\'</script>"></iframe>',
};

export function hostileRecords(records: readonly CellResult[]): CellResult[] {
  const template = records.find((r): r is OkRecord => r.status === 'ok' && r.cell.method === 'kivi4' && r.cell.workload === 'longbench-embedded')!;
  const evil = JSON.parse(JSON.stringify(template)) as OkRecord;
  evil.cellId = 'ffff000011112222';
  evil.cell.method = HOSTILE.method;
  evil.tasks = evil.tasks!.map((t, i) => (i === 0 ? { ...t, task: HOSTILE.task } : t));
  const serving = records.find((r): r is OkRecord => r.status === 'ok' && r.cell.method === 'kivi4' && r.cell.workload === 'sharegpt')!;
  const evilServing = JSON.parse(JSON.stringify(serving)) as OkRecord;
  evilServing.cellId = 'ffff000011113333';
  evilServing.cell.model = HOSTILE.model;
  evilServing.cell.label = HOSTILE.label;
  const errored: CellResult = {
    schemaVersion: template.schemaVersion,
    cellId: 'ffff000011114444',
    suite: template.suite,
    cell: { ...template.cell, method: HOSTILE.method },
    provenance: template.provenance,
    startedAt: template.startedAt,
    durationMs: 1,
    status: 'errored',
    error: { name: 'Error', message: HOSTILE.error },
  };
  return [...records, evil, evilServing, errored];
}
