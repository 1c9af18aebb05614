/** Progress lines and `validate` name a cell by its method, plus its label when it has one. */
import { describe, expect, it } from 'vitest';
import { cellName } from '../../runners/node/run-command.js';
import type { PlannedCell } from '../../src/suite/plan.js';

const spec = (method: string, label?: string) => ({ method, ...(label ? { label } : {}) }) as PlannedCell['spec'];

describe('cellName', () => {
  it('keeps the method visible when only the workload is labelled', () => {
    expect(cellName(spec('minicache+kivi4', 'batch128'))).toBe('minicache+kivi4 [batch128]');
    expect(cellName(spec('fp16', 'batch128'))).not.toBe(cellName(spec('kivi2', 'batch128')));
  });
  it('is the method alone without a label', () => {
    expect(cellName(spec('kivi2'))).toBe('kivi2');
  });
});
