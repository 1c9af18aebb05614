/**
 * One Chromium with one runner page, seen from the host. Runs cells through the page's API and
 * keeps the run going when the page dies: a crash (renderer out of memory, a killed GPU
 * process) or a lost WebGPU device ends the cell in flight as an errored record and the next
 * cell gets a fresh page; when the browser itself exited, a fresh browser.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { HarnessError } from '../../../src/errors.js';
import { erroredRecord } from '../../../src/runs/run-cell.js';
import { PAGE_API, PROGRESS_BINDING, type BrowserEp, type PageApi, type PageCellRequest, type PageCellResponse, type PageEnvironment, type ProgressEvent } from '../protocol.js';
import { launchChromium, type LaunchOptions } from './launch.js';
import type { PageServer } from './server.js';

export interface SessionOptions extends LaunchOptions {
  ep: BrowserEp;
  /** WASM threads in the page (0: all cores the page sees). */
  threads?: number;
  /** Page console lines (errors and warnings), for the user's log. */
  onConsole?: (line: string) => void;
}

/**
 * The first page could not start (no WebGPU adapter, a page that fails to load): a user error
 * with the page's own message, not Playwright's "page.evaluate: Error: …" and its stack.
 */
function pageOpenError(e: unknown, ep: BrowserEp): HarnessError {
  if (e instanceof HarnessError) return e;
  const first = ((e as Error)?.message ?? String(e)).split('\n')[0]!.replace(/^[\w.]+: (Error: )?/, '');
  return /webgpu|navigator\.gpu|adapter/i.test(first) && ep === 'webgpu'
    ? new HarnessError('browser.webgpu-unavailable', `the browser page cannot use WebGPU: ${first}`, undefined, 'run the same cells on the browser\'s WASM EP (--ep wasm), or give a browser with WebGPU (--headed --browser-path /path/to/chrome on a desktop with a GPU)')
    : new HarnessError('browser.page', `the browser runner's page did not start: ${first}`);
}

type Api = { [K in keyof PageApi]: PageApi[K] };

/** The page died or could not be reached (crash, closed, lost device). */
class BrowserPageError extends Error {
  override readonly name = 'BrowserPageError';
}

export class BrowserSession {
  private context?: BrowserContext;
  private page?: Page;
  private progress?: (e: ProgressEvent) => void;
  private closed = false;
  /** Set by the page's crash/close events; rejects the cell in flight. */
  private pageGone?: (why: string) => void;
  env!: PageEnvironment;

  private constructor(
    private browser: Browser,
    private readonly server: PageServer,
    private readonly opts: SessionOptions,
  ) {}

  static async open(server: PageServer, opts: SessionOptions): Promise<BrowserSession> {
    const browser = await launchChromium(opts);
    const s = new BrowserSession(browser, server, opts);
    try {
      await s.openPage();
    } catch (e) {
      await browser.close().catch(() => {});
      throw pageOpenError(e, opts.ep);
    }
    return s;
  }

  /** The runner page, for diagnostics and tests (it changes after a crash). */
  get currentPage(): Page | undefined {
    return this.page;
  }

  /** e.g. "chromium 150.0.7871.100" */
  get browserVersion(): string {
    return `${this.browser.browserType().name()} ${this.browser.version()}`;
  }

  private async openPage(): Promise<void> {
    if (!this.browser.isConnected()) {
      // The browser itself is gone (killed for memory, crashed, its window closed): a page in it
      // cannot be opened, so every later cell would fail at once. Launch a new one.
      this.opts.onConsole?.('[runner] the browser exited: launching a new one');
      this.context = undefined;
      const browser = await launchChromium(this.opts);
      if (this.closed) {
        await browser.close().catch(() => {});
        throw new Error('browser session closed');
      }
      this.browser = browser;
    }
    await this.context?.close().catch(() => {});
    this.context = await this.browser.newContext();
    const page = await this.context.newPage();
    this.page = page;
    await page.exposeFunction(PROGRESS_BINDING, (e: ProgressEvent) => this.progress?.(e));
    page.on('crash', () => this.pageGone?.('the page crashed (renderer out of memory, or its GPU process died)'));
    page.on('close', () => this.pageGone?.('the page was closed, or its browser exited (killed, crashed, or its window closed)'));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') this.opts.onConsole?.(`[page ${m.type()}] ${m.text()}`);
    });
    page.on('pageerror', (e) => this.opts.onConsole?.(`[page exception] ${e.message}`));
    await page.goto(this.server.pageUrl(this.opts.ep));
    await page.waitForFunction((name) => name in globalThis, PAGE_API);
    const init = { ep: this.opts.ep, wasmPaths: `${this.server.origin}/ort/`, jiebaData: `${this.server.origin}/jieba/`, threads: this.opts.threads ?? 0 };
    this.env = await page.evaluate(([name, i]) => (globalThis as unknown as Record<string, Api>)[name]!.init(i), [PAGE_API, init] as const);
  }

  /**
   * Runs one cell in the page. Never throws for a page failure: a crash or an exception outside
   * the engine becomes an errored record, and the page is replaced before the next cell.
   * Throws only when the session was closed (Ctrl-C), so the caller can stop.
   */
  async runCell(req: PageCellRequest, onProgress?: (e: ProgressEvent) => void): Promise<PageCellResponse> {
    if (this.closed) throw new Error('browser session closed');
    const startedAt = new Date().toISOString();
    const t0 = performance.now();
    this.progress = onProgress;
    let res: PageCellResponse;
    try {
      if (!this.page || this.page.isClosed()) await this.openPage();
      const page = this.page!;
      const gone = new Promise<never>((_, reject) => (this.pageGone = (why) => reject(new Error(why))));
      gone.catch(() => {});
      res = await Promise.race([page.evaluate(([name, r]) => (globalThis as unknown as Record<string, Api>)[name]!.runCell(r), [PAGE_API, req] as const), gone]);
    } catch (e) {
      if (this.closed) throw e;
      const err = e as Error;
      const base = erroredRecord(req.id, req.cell, req.suite, req.provenance, new BrowserPageError(`browser page failed: ${err.message.split('\n')[0]}`));
      res = {
        record: { ...base, startedAt, durationMs: performance.now() - t0 },
        reload: err.message,
      };
    } finally {
      this.pageGone = undefined;
      this.progress = undefined;
    }
    if (res.reload) await this.replacePage(res.reload);
    return res;
  }

  /** The page's jieba segmentation of each text. */
  async segment(texts: string[]): Promise<string[][]> {
    if (!this.page || this.page.isClosed()) await this.openPage();
    return this.page!.evaluate(([name, t]) => (globalThis as unknown as Record<string, Api>)[name]!.segment(t), [PAGE_API, texts] as const);
  }

  /** A fresh page (and context) after a crash or device loss; the next cell reloads its model. */
  private async replacePage(why: string): Promise<void> {
    this.opts.onConsole?.(`[runner] reloading the page: ${why.split('\n')[0]}`);
    await this.page?.close().catch(() => {});
    this.page = undefined;
    if (!this.closed) await this.openPage().catch((e: Error) => this.opts.onConsole?.(`[runner] page reload failed: ${e.message}`));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pageGone?.('the browser was closed');
    await this.browser.close().catch(() => {});
  }
}
