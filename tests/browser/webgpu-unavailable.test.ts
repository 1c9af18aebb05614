/**
 * A browser without WebGPU (here Chromium with WebGPU switched off) on --ep webgpu: the run stops
 * with the page's reason and what to do, as a user error (exit 2, no stack trace), not with
 * Playwright's "page.evaluate: Error: …" and a Node stack; nothing is recorded and no browser is
 * left behind.
 */
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { HarnessError } from '../../src/errors.js';
import { runCommand } from '../../runners/node/run-command.js';
import { ROOT, STORIES_CARD, suiteYaml, tempDir } from './browser-fixture.js';
import { chromiumExecutable, CLI, describeWith, PARTS } from '../support/parts.js';

function setUp(): { file: string; out: string; browser: string } {
  const dir = tempDir();
  const browser = join(dir, 'chromium-without-webgpu');
  writeFileSync(browser, `#!/bin/sh\nexec ${chromiumExecutable()} --disable-features=WebGPU,Vulkan --disable-gpu --disable-software-rasterizer "$@"\n`);
  chmodSync(browser, 0o755);
  const file = join(dir, 'suite.yaml');
  writeFileSync(file, suiteYaml({ runner: 'browser', ep: 'webgpu', card: STORIES_CARD, methods: ['fp16'], workloads: [{ name: 'generate', params: '{ prompts: ["Once"], maxNewTokens: 2 }' }] }));
  return { file, out: join(dir, 'out'), browser };
}

describeWith([PARTS.chromium, PARTS.cli], 'browser runner without WebGPU', () => {
  it('stops the run with a user error naming the cause and the way out', async () => {
    const { file, out, browser } = setUp();
    const err = await runCommand(file, { out, quiet: true, browserPath: browser }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HarnessError);
    const message = (err as HarnessError).format();
    expect(message).toMatch(/WebGPU/);
    expect(message).toMatch(/--ep wasm/);
    expect(message).not.toMatch(/page\.evaluate|\n\s+at /);
    expect(existsSync(join(out, 'results.jsonl'))).toBe(false);
  }, 120_000);

  it('the CLI exits 2 without a stack trace', () => {
    const { file, out, browser } = setUp();
    const r = spawnSync(process.execPath, [CLI, 'run', file, '--out', out, '--browser-path', browser], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/error: .*WebGPU/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 150_000);
});
