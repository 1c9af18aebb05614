/**
 * A failing cell does not end a browser run: an exception in the page (here a tokenizer file
 * that is not JSON) and a crashed renderer both end that cell as an errored record, and the
 * next cell runs (after a crash, on a fresh page). Ctrl-C closes the browser and exits 130,
 * keeping the finished cells.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { expect, it } from 'vitest';
import { runCommand } from '../../runners/node/run-command.js';
import { hostMarker } from '../../runners/browser/host/launch.js';
import { readModelCard } from '../../runners/node/load-model.js';
import { readRecords, ROOT, STORIES_CARD, suiteYaml, tempDir, withStoriesSession } from './browser-fixture.js';
import { CLI, describeWith, PARTS } from '../support/parts.js';

describeWith([PARTS.chromium, PARTS.cli], 'browser runner failures', () => {
  it('an exception in the page ends that cell as errored; the next model still runs', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'tok.json'), 'this is not a tokenizer.json');
    const weights = readModelCard(STORIES_CARD).path;
    writeFileSync(join(dir, 'broken.yaml'), `name: broken\nformat: llama2c\nweights: ${weights}\ntokenizer: tok.json\ntokenizerFormat: hf\n`);
    const suite = join(dir, 'suite.yaml');
    const text = suiteYaml({ runner: 'browser', ep: 'wasm', card: join(dir, 'broken.yaml'), methods: ['fp16'], workloads: [{ name: 'generate', params: '{ prompts: ["Once"], maxNewTokens: 4 }' }] });
    writeFileSync(suite, text.replace('models:\n', `models:\n  - card: ${STORIES_CARD}\n`));
    const summary = await runCommand(suite, { out: join(dir, 'out'), quiet: true });
    expect(summary).toMatchObject({ ok: 1, errored: 1 });
    const records = readRecords(join(dir, 'out'));
    const broken = records.find((r) => r.cell.model === 'broken')!;
    expect(broken.status).toBe('errored');
    if (broken.status === 'errored') expect(broken.error.message).toMatch(/JSON/);
    const good = records.find((r) => r.cell.model === 'stories260K')!;
    expect(good.status).toBe('ok');
    expect(good.provenance.runner).toBe('browser');
  });

  async function killRenderers(browser: Browser): Promise<void> {
    const cdp = await browser.newBrowserCDPSession();
    const { processInfo } = (await cdp.send('SystemInfo.getProcessInfo')) as { processInfo: { type: string; id: number }[] };
    for (const p of processInfo) if (p.type === 'renderer') process.kill(p.id, 'SIGKILL');
  }

  it('a renderer crash during a cell is recorded as errored and the next cell gets a fresh page', async () => {
    await withStoriesSession('wasm', async (session, req) => {
      let crashed = false;
      // A 400-token batch of 4 is still running when its renderer is killed (at its first progress
      // report), as the kernel's OOM killer would. The page's main thread is busy with the cell, so
      // the kill comes from outside: the renderer processes the browser lists.
      const res = await session.runCell(req(400, 4), () => {
        if (crashed) return;
        crashed = true;
        void killRenderers(session.currentPage!.context().browser()!);
      });
      expect(crashed).toBe(true);
      expect(res.record.status).toBe('errored');
      if (res.record.status === 'errored') expect(res.record.error.message).toMatch(/crash/i);
      expect((await session.runCell(req(3))).record.status).toBe('ok');
    });
  });

  it('a lost WebGPU device ends the cell as errored and the next cell gets a fresh page', async () => {
    await withStoriesSession('webgpu', async (session, req) => {
      expect(session.env.adapter?.fallback).toBe(true);
      let destroyed = false;
      const res = await session.runCell(req(400), () => {
        if (destroyed) return;
        destroyed = true;
        // onnxruntime-web's own device, destroyed from the page: what a GPU reset looks like to it.
        // (A string, so the test transform leaves its dynamic import alone.)
        void session.currentPage!.evaluate(`import('onnxruntime-web').then(async (ort) => (await ort.env.webgpu.device).destroy())`).catch(() => {});
      });
      expect(destroyed).toBe(true);
      expect(res.record.status).toBe('errored');
      if (res.record.status === 'errored') expect(res.record.error.message).toMatch(/device lost/i);
      expect(res.reload).toMatch(/device lost/i);
      expect((await session.runCell(req(3))).record.status).toBe('ok');
    });
  }, 300_000);

  it('Ctrl-C closes the browser, keeps the finished cells and exits 130', async () => {
    const dir = tempDir();
    const file = join(dir, 'suite.yaml');
    const out = join(dir, 'out');
    // Interrupted as soon as the second cell starts (a 400-token batch of 4 takes seconds).
    writeFileSync(file, suiteYaml({ runner: 'browser', ep: 'wasm', card: STORIES_CARD, methods: ['fp16', 'minicache'], batch: 4, workloads: [{ name: 'generate', params: '{ prompts: ["Once"], maxNewTokens: 400, ignoreEos: true }' }] }));
    const child = spawn(process.execPath, [CLI, 'run', file, '--out', out], { cwd: ROOT, env: { ...process.env, CI: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        // The second cell has started: interrupt it.
        if (/\[2\/2\][^\n]*started/.test(stderr) && !child.killed) child.kill('SIGINT');
      });
      child.on('exit', (c) => resolve(c));
    });
    expect(code, stderr).toBe(130);
    const records = readRecords(out);
    expect(records.map((r) => [r.cell.method, r.status])).toEqual([['fp16', 'ok']]);
    const left = spawnSync('pgrep', ['-f', hostMarker(child.pid!)], { encoding: 'utf8' });
    expect(left.stdout.trim(), 'browser processes left behind').toBe('');
    expect(readFileSync(join(out, 'manifest.json'), 'utf8')).toContain('"runner": "browser"');
  });
});
