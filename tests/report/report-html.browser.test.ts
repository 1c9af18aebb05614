import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport } from '../../src/report/build-report.js';
import { chartBlocks } from '../../src/report/model.js';
import { serializeResults } from '../../src/results/jsonl.js';
import { reportCommand } from '../../runners/node/report-command.js';
import { HOSTILE, hostileRecords } from './hostile-records.js';
import { manifestFor, syntheticRun } from './synthetic-run.js';
import { chromiumExecutable, MissingPartError, PARTS, skipNote } from '../support/parts.js';

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

let dir: string;
let browser: Browser;
const records = hostileRecords(syntheticRun({ withFailures: true, withAblations: true }));

beforeAll(async () => {
  // The same browser the runner finds; its absence fails with what to install (tests/support/parts.ts).
  if (!PARTS.chromium.present) throw new MissingPartError(skipNote(PARTS.chromium));
  dir = mkdtempSync(join(tmpdir(), 'report-html-'));
  writeFileSync(join(dir, 'results.jsonl'), serializeResults(records));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifestFor(records)));
  const quiet = { log: () => {}, error: (l: string) => console.error(l) };
  expect(await reportCommand(dir, { ...quiet })).toBe(0);
  expect(await reportCommand(dir, { ...quiet, layout: 'paper', out: join(dir, 'paper'), images: false })).toBe(0);
  browser = await chromium.launch({ executablePath: chromiumExecutable(), args: ARGS });
});

afterAll(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface PageVisit {
  requests: string[];
  consoleErrors: string[];
  charts: { id: string; state: string | null; svgs: number; marks: number }[];
  pwned: unknown;
  bodyText: string;
  scripts: number;
  injected: number;
  /** Tables wider than their place on a 1400 px wide window (they should wrap instead). */
  overflowing: string[];
  /** Tables in document order, and where the first chart sits among them. */
  firstTable: string | undefined;
  headlineBeforeCharts: boolean;
}

/** Open a report from file:// with every network request aborted, and wait for each chart to settle. */
async function visit(file: string): Promise<PageVisit> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const requests: string[] = [];
  const consoleErrors: string[] = [];
  const url = pathToFileURL(file).href;
  await context.route('**/*', (route) => (route.request().url() === url ? route.continue() : route.abort()));
  const page = await context.newPage();
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  await page.goto(url);
  await page.waitForFunction(() => Array.from(document.querySelectorAll('[data-chart]')).every((e) => e.hasAttribute('data-rendered')));
  const result = await page.evaluate(() => ({
    charts: Array.from(document.querySelectorAll('[data-chart]')).map((e) => ({
      id: e.getAttribute('data-chart') ?? '',
      state: e.getAttribute('data-rendered'),
      svgs: e.querySelectorAll('svg').length,
      marks: e.querySelectorAll('svg path, svg rect, svg line, svg text').length,
    })),
    pwned: (window as unknown as { __pwned?: unknown }).__pwned,
    bodyText: document.body.innerText,
    scripts: document.querySelectorAll('script:not([type])').length,
    injected: document.querySelectorAll('img, iframe, body > svg, [onload], [onerror]').length,
    overflowing: Array.from(document.querySelectorAll('.table-wrap'))
      .filter((e) => e.scrollWidth > e.clientWidth + 1)
      .map((e) => `${e.id} (${e.scrollWidth} > ${e.clientWidth} px)`),
    firstTable: document.querySelector('.table-wrap')?.id,
    headlineBeforeCharts: (() => {
      const head = document.querySelector('#table-headline');
      const chart = document.querySelector('[data-chart]');
      return Boolean(head && chart && head.compareDocumentPosition(chart) & Node.DOCUMENT_POSITION_FOLLOWING);
    })(),
  }));
  await context.close();
  return { requests, consoleErrors, ...result };
}

describe('report.html in Chromium from file://, network blocked', () => {
  for (const layout of ['default', 'paper'] as const) {
    it(`${layout} layout: every chart renders an SVG, no console errors, no requests`, async () => {
      const file = layout === 'default' ? join(dir, 'report.html') : join(dir, 'paper', 'report.html');
      const v = await visit(file);
      const expected = chartBlocks(buildReport(records, { layout })).map((c) => c.id);
      expect(v.charts.map((c) => c.id)).toEqual(expected);
      expect(expected.length).toBeGreaterThanOrEqual(layout === 'default' ? 10 : 12);
      for (const c of v.charts) {
        expect(c.state, c.id).toBe('ok');
        expect(c.svgs, c.id).toBeGreaterThanOrEqual(1);
        expect(c.marks, c.id).toBeGreaterThan(10);
      }
      expect(v.consoleErrors).toEqual([]);
      expect(v.requests).toEqual([pathToFileURL(file).href]);
    });

    it(`${layout} layout: leads with the answer, and every table fits a 1400 px window (cells wrap)`, async () => {
      const v = await visit(layout === 'default' ? join(dir, 'report.html') : join(dir, 'paper', 'report.html'));
      expect(v.firstTable).toBe('table-headline');
      expect(v.headlineBeforeCharts).toBe(true);
      expect(v.overflowing).toEqual([]);
    });
  }

  it('strings from the data carrying HTML or <script> show as text and never run', async () => {
    const v = await visit(join(dir, 'report.html'));
    expect(v.pwned).toBeUndefined();
    expect(v.scripts).toBe(4); // vega, vega-lite, vega-embed, the page script
    expect(v.injected).toBe(0);
    for (const s of [HOSTILE.method, HOSTILE.task, HOSTILE.model, HOSTILE.label, HOSTILE.error]) expect(v.bodyText).toContain(s);
  });

  it('writes charts/<id>.svg and .png for every chart, and summary.md', () => {
    const ids = chartBlocks(buildReport(records)).map((c) => c.id);
    const files = readdirSync(join(dir, 'charts')).sort();
    expect(files).toEqual(ids.flatMap((id) => [`${id}.png`, `${id}.svg`]).sort());
    for (const id of ids) {
      expect(readFileSync(join(dir, 'charts', `${id}.svg`), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>$/);
      expect(readFileSync(join(dir, 'charts', `${id}.png`)).subarray(1, 4).toString()).toBe('PNG');
    }
    const summary = readFileSync(join(dir, 'summary.md'), 'utf8');
    expect(summary).toContain('| minicache+kivi4 |');
    expect(summary).not.toContain('<script>');
  });
});
