/**
 * Finding and launching Chromium for the browser runner (Playwright, playwright-core).
 * Which browser: --browser-path, else CHROMIUM_PATH, else Debian's /usr/bin/chromium (what CI
 * installs), else Playwright's own Chromium where the user installed it
 * (`npx playwright-core install chromium`).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { HarnessError } from '../../../src/errors.js';

export interface LaunchOptions {
  /** The EP the page will run (some V8 settings differ). */
  ep?: 'wasm' | 'webgpu';
  /** Show the window (a desktop session; a real GPU adapter instead of SwiftShader). */
  headed?: boolean;
  /** A Chromium or Chrome executable. */
  browserPath?: string;
}

export const SYSTEM_CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** How to get a Chromium on each system (README, "Set-up", says the same). */
export const INSTALL_CHROMIUM = "install Debian's (sudo apt-get install -y chromium) or, on any system, Playwright's (npx playwright-core install chromium)";

/**
 * WebGPU on (headless Chromium has it behind --enable-unsafe-webgpu, which also lifts the GPU
 * blocklist); no background traffic from the browser itself. Playwright adds --no-sandbox
 * (needed as root) since its chromiumSandbox option defaults to false.
 */
export const CHROMIUM_ARGS = ['--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/**
 * WASM EP only: V8 first runs WASM from its baseline compiler (Liftoff) and moves hot functions
 * to TurboFan while they run, so the first cell of a fresh page decoded at half speed (85 against
 * 210 tok/s on the embedded model). Optimised code from the start costs about 6 s per page load of
 * ort-wasm-simd-threaded.wasm. Not for the WebGPU EP: TurboFan takes minutes over its much larger
 * asyncify build (163 s measured here), and its timings are dominated by the GPU side anyway.
 */
export const WASM_EP_ARGS = ['--js-flags=--no-liftoff'];

/** Linux with a real GPU: Chromium's WebGPU runs on Vulkan, which it enables only on request. */
export const HEADED_LINUX_ARGS = ['--enable-features=Vulkan'];

/**
 * An inert switch naming the host process on the browser's command line, so a browser left
 * behind by a runner can be found (`pgrep -f minicache-bench-host=PID`); tests use it to check
 * that Ctrl-C closes the browser.
 */
export function hostMarker(pid = process.pid): string {
  return `--minicache-bench-host=${pid}`;
}

export function findChromium(browserPath?: string): { path: string; source: 'option' | 'env' | 'system' | 'playwright' } {
  if (browserPath) {
    if (!existsSync(browserPath)) throw new HarnessError('browser.missing', `no browser at --browser-path ${browserPath}`, undefined, 'give the path of a Chromium or Chrome executable');
    return { path: browserPath, source: 'option' };
  }
  const env = process.env.CHROMIUM_PATH;
  if (env) {
    if (!existsSync(env)) throw new HarnessError('browser.missing', `no browser at CHROMIUM_PATH=${env}`, undefined, `${INSTALL_CHROMIUM}, or point CHROMIUM_PATH at a Chromium or Chrome executable`);
    return { path: env, source: 'env' };
  }
  const system = SYSTEM_CHROMIUM.find((p) => existsSync(p));
  if (system) return { path: system, source: 'system' };
  let own: string | undefined;
  try {
    own = chromium.executablePath();
  } catch {
    own = undefined;
  }
  if (own && existsSync(own)) return { path: own, source: 'playwright' };
  throw new HarnessError(
    'browser.missing',
    'no Chromium found for the browser runner',
    undefined,
    `${INSTALL_CHROMIUM}, or pass --browser-path /path/to/chrome (or set CHROMIUM_PATH); looked at ${SYSTEM_CHROMIUM.join(', ')}${own ? ` and ${own}` : ''}`,
  );
}

export async function launchChromium(opts: LaunchOptions = {}): Promise<Browser> {
  const { path } = findChromium(opts.browserPath);
  const args = [
    ...CHROMIUM_ARGS,
    ...(opts.ep === 'wasm' ? WASM_EP_ARGS : []),
    ...(opts.headed && process.platform === 'linux' ? HEADED_LINUX_ARGS : []),
    hostMarker(),
  ];
  try {
    return await chromium.launch({
      executablePath: path,
      headless: !opts.headed,
      args,
      // The runner owns Ctrl-C (close the browser, keep finished cells, exit 130); Playwright's
      // own handler would exit the process first. Its exit hook still kills the browser.
      handleSIGINT: false,
      // Playwright's SIGTERM/SIGHUP handlers close the browser but keep the process alive, so a
      // hangup (terminal closed, ssh dropped) recorded the cell in flight as errored and the run
      // went on in a new browser. Without them a signal the runner does not handle ends the
      // process as by default; the browser exits with it (its pipe to this process closes).
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    throw new HarnessError('browser.launch', `cannot launch ${path}: ${msg}`, undefined, opts.headed ? 'a headed browser needs a display (DISPLAY or WAYLAND_DISPLAY); drop --headed on a server' : undefined);
  }
}
