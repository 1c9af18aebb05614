/**
 * A fresh clone tests everything it ships: no test, suite, model card or config names a path
 * outside the checkout, and a skipped test is always reported with its reason.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './parts.js';
import { skipListing, strictFailures } from './skip-reporter.js';

function filesUnder(dir: string, exts: RegExp): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return filesUnder(p, exts);
    return exts.test(name) ? [p] : [];
  });
}

describe('self-contained tests', () => {
  it('no test, suite, model card or config reaches outside the repository', () => {
    const files = [
      ...filesUnder(join(ROOT, 'tests'), /\.(ts|ya?ml|json)$/),
      ...filesUnder(join(ROOT, 'suites'), /\.ya?ml$/),
      ...filesUnder(join(ROOT, 'configs'), /\.(ya?ml|json)$/),
      ...filesUnder(join(ROOT, 'models'), /^model\.(ya?ml|json)$/),
    ];
    expect(files.length).toBeGreaterThan(100);
    // the shared folder beside a developer's checkout, or this machine's absolute paths (the
    // pattern is assembled so that this file does not name them itself)
    const beside = new RegExp(['\\.\\.', 'shared', ''].join('\\/') + '|' + ['', 'work', ''].join('\\/'));
    const outside = files.filter((f) => beside.test(readFileSync(f, 'utf8'))).map((f) => relative(ROOT, f));
    expect(outside).toEqual([]);
  });

  it('lists each skipped test with its reason; a strict run fails on a missing part or a skip without a reason', () => {
    const skipped = [
      { file: 'a.test.ts', name: 'webgpu', note: 'a Vulkan driver missing: set VK_DRIVER_FILES' },
      { file: 'b.test.ts', name: 'cuda', note: "onnxruntime-node's CUDA provider is installed here" },
      { file: 'c.test.ts', name: 'bare', note: undefined },
    ];
    expect(skipListing(skipped)).toEqual([
      'Skipped tests (3):',
      '  - a.test.ts > webgpu: a Vulkan driver missing: set VK_DRIVER_FILES',
      "  - b.test.ts > cuda: onnxruntime-node's CUDA provider is installed here",
      '  - c.test.ts > bare: (no reason given)',
    ]);
    expect(skipListing([])).toEqual(['No test was skipped.']);
    expect(strictFailures(skipped).map((s) => s.name)).toEqual(['webgpu', 'bare']);
  });
});

describe('install', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean }> };

  it("denies onnxruntime-node's install script (its CUDA download) through package.json, not an .npmrc key npm warns about", () => {
    expect(pkg.allowScripts?.['onnxruntime-node']).toBe(false);
    const npmrc = join(ROOT, '.npmrc');
    const keys = existsSync(npmrc) ? readFileSync(npmrc, 'utf8').split('\n').map((l) => l.split('=')[0]!.trim()).filter((k) => k && !k.startsWith('#')) : [];
    expect(keys.filter((k) => k.startsWith('onnxruntime'))).toEqual([]);
  });

  it('decides on every dependency install script, so npm ci prints no advisory', () => {
    const withScripts = Object.entries(lock.packages)
      .filter(([path, p]) => path && p.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
    expect(withScripts.length).toBeGreaterThan(0);
    expect(withScripts.filter((name) => pkg.allowScripts?.[name] === undefined)).toEqual([]);
  });
});


describe('README', () => {
  it('lists every suite in suites/ (the GPU sessions\' files by their pattern)', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('Suites in `suites/`'), readme.indexOf('## Models'));
    const files = readdirSync(join(ROOT, 'suites')).filter((f) => f.endsWith('.yaml'));
    const gpu = files.filter((f) => f.startsWith('gpu-h200'));
    expect(section).toContain(`\`gpu-h200*.yaml\` (${gpu.length} files)`);
    expect(files.filter((f) => !f.startsWith('gpu-h200') && !section.includes(`\`${f}\``))).toEqual([]);
  });
});
