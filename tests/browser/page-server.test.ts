/**
 * The local server and the page it serves: cross-origin isolation headers on every response,
 * only registered files reachable, the import map picking onnxruntime-web's build per EP; and
 * in real Chromium the page is cross-origin isolated (threaded WASM), reports its WebGPU
 * adapter, and labels SwiftShader as a software fallback.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageBundle } from '../../runners/browser/host/bundle.js';
import { CHROMIUM_ARGS, findChromium, hostMarker } from '../../runners/browser/host/launch.js';
import { BrowserSession } from '../../runners/browser/host/page-session.js';
import { browserProvenance, timingCaveat } from '../../runners/browser/host/run-browser.js';
import { ORT_MODULE, startPageServer, type PageServer } from '../../runners/browser/host/server.js';
import { collectProvenance } from '../../runners/node/provenance.js';
import type { CellResult } from '../../src/results/record.js';
import { describeWith, PARTS } from '../support/parts.js';

let server: PageServer;
let file: string;

beforeAll(async () => {
  server = await startPageServer({ bundle: await pageBundle() });
  const dir = mkdtempSync(join(tmpdir(), 'mcb-server-'));
  file = join(dir, 'weights.bin');
  writeFileSync(file, Uint8Array.from({ length: 100_000 }, (_, i) => i % 251));
  writeFileSync(join(dir, 'secret.txt'), 'not registered');
});
afterAll(() => server?.close());

describe('page server', () => {
  it('serves the page with COOP/COEP and an import map for the EP build of onnxruntime-web', async () => {
    for (const ep of ['wasm', 'webgpu'] as const) {
      const res = await fetch(server.pageUrl(ep));
      expect(res.status).toBe(200);
      expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
      expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
      expect(await res.text()).toContain(`"onnxruntime-web":"/ort/${ORT_MODULE[ep]}"`);
    }
    expect((await fetch(`${server.origin}/?ep=cuda`)).status).toBe(400);
    expect(server.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('streams registered files byte for byte, and nothing else', async () => {
    const url = server.register(file);
    expect(server.register(file)).toBe(url);
    const res = await fetch(url);
    expect(res.headers.get('content-length')).toBe('100000');
    expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    const got = new Uint8Array(await res.arrayBuffer());
    expect(got.length).toBe(100_000);
    expect(got.every((b, i) => b === i % 251)).toBe(true);
    const id = /\/files\/(\d+)\//.exec(url)![1]!;
    expect((await fetch(`${server.origin}/files/${Number(id) + 1}/secret.txt`)).status).toBe(404);
    expect((await fetch(`${server.origin}/ort/..%2Fpackage.json`)).status).toBe(404);
    expect((await fetch(`${server.origin}/ort/${ORT_MODULE.wasm}`)).headers.get('content-type')).toMatch(/javascript/);
    const wasm = await fetch(`${server.origin}/ort/ort-wasm-simd-threaded.wasm`);
    expect(wasm.headers.get('content-type')).toBe('application/wasm');
    const dict = await fetch(`${server.origin}/jieba/dict.txt.gz`);
    expect([dict.status, dict.headers.get('content-type'), dict.headers.get('content-encoding')]).toEqual([200, 'application/gzip', null]);
    expect((await fetch(`${server.origin}/jieba/model.json.gz`)).status).toBe(200);
    expect((await fetch(`${server.origin}/jieba/make-jieba-data.py`)).status).toBe(404);
  });
});

describe('finding Chromium', () => {
  it('--browser-path wins and must exist; WebGPU is switched on; the host is named on the command line', () => {
    expect(() => findChromium('/no/such/chrome')).toThrow(/no browser at --browser-path \/no\/such\/chrome/);
    expect(findChromium(process.execPath)).toEqual({ path: process.execPath, source: 'option' });
    expect(CHROMIUM_ARGS).toContain('--enable-unsafe-webgpu');
    expect(hostMarker(42)).toBe('--minicache-bench-host=42');
  });

  it('CHROMIUM_PATH comes next, and a wrong one says how to install a browser', () => {
    const before = process.env.CHROMIUM_PATH;
    try {
      process.env.CHROMIUM_PATH = process.execPath;
      expect(findChromium()).toEqual({ path: process.execPath, source: 'env' });
      expect(findChromium('/bin/sh')).toEqual({ path: '/bin/sh', source: 'option' });
      process.env.CHROMIUM_PATH = '/no/such/chromium';
      expect(() => findChromium()).toThrow(/no browser at CHROMIUM_PATH=\/no\/such\/chromium/);
      const hint = (() => {
        try {
          findChromium();
        } catch (e) {
          return (e as { hint?: string }).hint;
        }
      })();
      expect(hint).toMatch(/apt-get install -y chromium.*npx playwright-core install chromium/);
    } finally {
      if (before === undefined) delete process.env.CHROMIUM_PATH;
      else process.env.CHROMIUM_PATH = before;
    }
  });
});

describeWith([PARTS.chromium], 'the runner page in Chromium', () => {
  it('wasm: cross-origin isolated, threaded, no adapter', async () => {
    const session = await BrowserSession.open(server, { ep: 'wasm' });
    try {
      expect(session.env).toMatchObject({ ep: 'wasm', crossOriginIsolated: true, ort: '1.30.0' });
      expect(session.env.wasmThreads).toBe(session.env.hardwareConcurrency);
      expect(session.env.adapter).toBeUndefined();
      expect(session.browserVersion).toMatch(/^chromium \d+\./);
    } finally {
      await session.close();
    }
  });

  it('the page segments Chinese exactly as Python jieba 0.42.1 (the fixture made by Python), as Node does', async () => {
    const golden = JSON.parse(readFileSync(new URL('../fixtures/longbench/jieba-golden.json', import.meta.url), 'utf8')) as { cases: { text: string; tokens: string[] }[] };
    const session = await BrowserSession.open(server, { ep: 'wasm' });
    try {
      const got = await session.segment(golden.cases.map((c) => c.text));
      const wrong = golden.cases.filter((c, i) => JSON.stringify(got[i]) !== JSON.stringify(c.tokens));
      expect(wrong.map((c) => c.text)).toEqual([]);
      expect(got.length).toBe(golden.cases.length);
    } finally {
      await session.close();
    }
  }, 60_000);

  it('webgpu: the adapter is described, SwiftShader marked as a fallback, and timings carry the caveat', async () => {
    const session = await BrowserSession.open(server, { ep: 'webgpu' });
    try {
      const a = session.env.adapter!;
      expect(a.vendor).not.toBe('');
      const base = collectProvenance({ runner: 'browser', executionProvider: 'webgpu', suiteHash: 'x', seed: 0 });
      const p = browserProvenance(base, session.browserVersion, session.env);
      expect(p.browser).toContain(session.browserVersion);
      expect(p.adapter).toEqual({ vendor: a.vendor, architecture: a.architecture, description: a.description, fallback: a.fallback });
      if (/swiftshader/i.test(`${a.architecture} ${a.description}`)) {
        expect(a.fallback).toBe(true);
        expect(a.description).toMatch(/CPU emulation/);
        expect(timingCaveat({ provenance: p } as CellResult)).toMatch(/not a GPU timing/);
      }
    } finally {
      await session.close();
    }
  });
});
