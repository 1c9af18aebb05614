/**
 * Screenshot a report.html (for README): `node dist/ci/screenshot-report.js out/paper/report.html docs/images/report.png`.
 * Uses the Chromium the browser runner finds (CHROMIUM_PATH, Debian's, Playwright's) through
 * playwright-core; the page is opened from file://.
 */
import { chromium } from 'playwright-core';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { findChromium } from '../runners/browser/host/launch.js';

const [input, output, height] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: screenshot-report REPORT_HTML OUT_PNG [HEIGHT]');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: findChromium().path,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: Number(height ?? 2400) } });
  await page.goto(pathToFileURL(resolve(input)).href);
  await page.waitForFunction(() => document.querySelectorAll('svg').length > 0, undefined, { timeout: 30_000 });
  await page.waitForTimeout(500);
  await page.screenshot({ path: output, fullPage: false });
  console.log(`wrote ${output}`);
} finally {
  await browser.close();
}
