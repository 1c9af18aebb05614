/**
 * SIGHUP (terminal closed, ssh session dropped) ends a browser run as it ends any Node process:
 * finished cells stay, the cell in flight is not recorded (--resume reruns it), no browser is
 * left behind. Playwright's own SIGHUP handler used to close the browser and keep the process
 * running: the cell in flight was recorded as errored and the run went on in a new browser.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { hostMarker } from '../../runners/browser/host/launch.js';
import { readRecords, ROOT, STORIES_CARD, suiteYaml, tempDir } from './browser-fixture.js';
import { CLI, describeWith, PARTS } from '../support/parts.js';

describeWith([PARTS.chromium, PARTS.cli], 'browser runner on SIGHUP', () => {
  it('stops the run: the cell in flight is not recorded and no browser is left', async () => {
    const dir = tempDir();
    const file = join(dir, 'suite.yaml');
    const out = join(dir, 'out');
    writeFileSync(file, suiteYaml({ runner: 'browser', ep: 'wasm', card: STORIES_CARD, methods: ['fp16', 'minicache'], batch: 4, workloads: [{ name: 'generate', params: '{ prompts: ["Once"], maxNewTokens: 400, ignoreEos: true }' }] }));
    const child = spawn(process.execPath, [CLI, 'run', file, '--out', out], { cwd: ROOT, env: { ...process.env, CI: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/\[2\/2\][^\n]*started/.test(stderr) && !child.killed) child.kill('SIGHUP');
      });
      child.on('exit', (code, signal) => resolve({ code, signal }));
    });
    expect(exit.signal === 'SIGHUP' || exit.code === 129, `${JSON.stringify(exit)}\n${stderr}`).toBe(true);
    expect(stderr).not.toMatch(/\[2\/2\][^\n]*errored/);
    expect(readRecords(out).map((r) => [r.cell.method, r.status])).toEqual([['fp16', 'ok']]);
    await new Promise((r) => setTimeout(r, 1000));
    const left = spawnSync('pgrep', ['-f', hostMarker(child.pid!)], { encoding: 'utf8' });
    expect(left.stdout.trim(), 'browser processes left behind').toBe('');
  }, 120_000);
});
