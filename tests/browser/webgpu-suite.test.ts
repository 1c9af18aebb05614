/**
 * suites/webgpu.yaml is a valid browser suite and keeps what its comments promise: it runs in
 * the browser on WebGPU, and every cell meant to keep its cache on the GPU (sharegpt, cache:
 * auto) uses a method that has a device-resident version.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasDeviceMethod } from '../../src/gpu/device-registry.js';
import { workloadCatalogue } from '../../src/runs/catalogue.js';
import { loadSuite } from '../../src/suite/load-suite.js';
import { planCells } from '../../src/suite/plan.js';
import { nodeSuiteFiles } from '../../runners/node/suite-files.js';
import { ROOT } from './browser-fixture.js';

describe('suites/webgpu.yaml', () => {
  it('is a browser suite on WebGPU whose device-path cells all have device methods', () => {
    const suite = loadSuite(join(ROOT, 'suites/webgpu.yaml'), nodeSuiteFiles, workloadCatalogue());
    expect([suite.runner, suite.ep]).toEqual(['browser', 'webgpu']);
    const cells = planCells(suite);
    expect(cells.length).toBeGreaterThan(0);
    const device = cells.filter((c) => c.spec.workloadParams.cache === 'auto');
    expect(new Set(device.map((c) => c.spec.method))).toEqual(new Set(['fp16', 'kivi4', 'minicache', 'minicache+kivi4']));
    for (const c of device) expect(hasDeviceMethod(c.spec.method), c.spec.method).toBe(true);
  });
});
