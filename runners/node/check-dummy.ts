/**
 * Cells a dummy-weight model cannot run, found before anything loads: workloads that measure what
 * the weights know (longbench, longbench-embedded, perplexity, similarity), and any engine but the
 * WGSL one (dummy weights are made on its device). Every such cell is reported at once.
 */
import { HarnessError, Problems } from '../../src/errors.js';
import { getWorkload } from '../../src/runs/catalogue.js';
import { dummyRefusal } from '../../src/runs/run-cell.js';
import type { PlannedCell } from '../../src/suite/plan.js';
import { readModelCard } from './load-model.js';
import { cardFile } from './suite-files.js';

export function checkDummyCells(cells: readonly PlannedCell[], suiteFile: string): void {
  const problems = new Problems();
  const dummy = new Map<string, boolean>();
  for (const c of cells) {
    const card = cardFile(c.modelCard);
    if (!dummy.has(card)) {
      try {
        dummy.set(card, readModelCard(card).weights === 'dummy');
      } catch {
        dummy.set(card, false); // a card that does not load is its cells' error, reported when they run
      }
    }
    if (!dummy.get(card)) continue;
    const where = { file: suiteFile, field: `workloads(${c.spec.workload})` };
    if (getWorkload(c.spec.workload)?.needsRealWeights) problems.add(new HarnessError('run.dummy-weights', dummyRefusal(c.spec.workload, c.spec.model), where, 'drop the workload for this model, or restrict it to other models'));
    else if (c.spec.engine !== 'webgpu') problems.add(new HarnessError('run.dummy-weights', `${c.spec.model} has dummy weights, which are made on the webgpu engine's device; this cell runs on ${c.spec.engine ?? 'onnxruntime'}`, { file: suiteFile, field: 'engine' }, 'run with --engine webgpu (suite: engine: webgpu)'));
  }
  problems.throwIfAny();
}
