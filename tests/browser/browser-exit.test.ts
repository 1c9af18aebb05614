/**
 * The browser process itself dies mid-run (the OOM killer picks Chromium, it crashes, a headed
 * window is closed): the cell in flight ends as errored and the next cell runs in a newly
 * launched browser, instead of every remaining cell being recorded at once as errored with
 * "browser.newContext: Target page, context or browser has been closed".
 */
import { spawnSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { hostMarker } from '../../runners/browser/host/launch.js';
import { withStoriesSession } from './browser-fixture.js';
import { describeWith, PARTS } from '../support/parts.js';

/** Chromium's main process: launched by this process, with the runner's marker on its command line. */
function browserPids(): number[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' }).stdout;
  return ps
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([, ppid, ...args]) => Number(ppid) === process.pid && args.join(' ').includes(hostMarker()))
    .map(([pid]) => Number(pid));
}

describeWith([PARTS.chromium], 'browser runner when the browser exits', () => {
  it('ends the cell in flight as errored and runs the next cell in a new browser', async () => {
    await withStoriesSession('wasm', async (session, req) => {
      const [first] = browserPids();
      expect(first, 'the browser process').toBeDefined();
      let killed = false;
      const res = await session.runCell(req(400, 4), () => {
        if (killed) return;
        killed = true;
        process.kill(first!, 'SIGKILL');
      });
      expect(killed).toBe(true);
      expect(res.record.status).toBe('errored');
      const next = await session.runCell(req(3));
      expect(next.record.status, next.record.status === 'errored' ? next.record.error.message : '').toBe('ok');
      expect(browserPids().filter((p) => p !== first)).toHaveLength(1);
    });
    expect(browserPids()).toEqual([]);
  }, 120_000);
});
