/**
 * The browser process itself dies mid-run (the OOM killer picks Chromium, it crashes, a headed
 * window is closed): the cell in flight ends as errored and the next cell runs in a newly
 * launched browser, instead of every remaining cell being recorded at once as errored with
 * "browser.newContext: Target page, context or browser has been closed".
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { workloadCatalogue } from '../../src/runs/catalogue.js';
import { loadSuite, suiteHash } from '../../src/suite/load-suite.js';
import { planCells } from '../../src/suite/plan.js';
import { collectProvenance } from '../../runners/node/provenance.js';
import { readModelCard } from '../../runners/node/load-model.js';
import { nodeSuiteFiles } from '../../runners/node/suite-files.js';
import { pageBundle } from '../../runners/browser/host/bundle.js';
import { hostMarker } from '../../runners/browser/host/launch.js';
import { BrowserSession } from '../../runners/browser/host/page-session.js';
import { startPageServer } from '../../runners/browser/host/server.js';
import type { PageCellRequest } from '../../runners/browser/protocol.js';
import { HAVE_CHROMIUM, HAVE_STORIES, NO_CHROMIUM, STORIES_CARD, suiteYaml, tempDir } from './browser-fixture.js';

const READY = HAVE_CHROMIUM && HAVE_STORIES;
const WHY = !HAVE_CHROMIUM ? NO_CHROMIUM : '../shared/models/stories260K is absent';

/** Chromium's main process: launched by this process, with the runner's marker on its command line. */
function browserPids(): number[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' }).stdout;
  return ps
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([, ppid, ...args]) => Number(ppid) === process.pid && args.join(' ').includes(hostMarker()))
    .map(([pid]) => Number(pid));
}

describe.skipIf(!READY)(`browser runner when the browser exits${READY ? '' : ` (skipped: ${WHY})`}`, () => {
  it('ends the cell in flight as errored and runs the next cell in a new browser', async () => {
    const dir = tempDir();
    const file = join(dir, 'suite.yaml');
    writeFileSync(file, suiteYaml({ runner: 'browser', ep: 'wasm', card: STORIES_CARD, methods: ['fp16'], workloads: [{ name: 'generate', params: '{ prompts: ["Once"], maxNewTokens: 4, ignoreEos: true }' }] }));
    const suite = loadSuite(file, nodeSuiteFiles, workloadCatalogue());
    const [cell] = planCells(suite);
    const provenance = collectProvenance({ runner: 'browser', executionProvider: 'wasm', suiteHash: suiteHash(suite), seed: 0 });
    const server = await startPageServer({ bundle: await pageBundle() });
    const session = await BrowserSession.open(server, { ep: 'wasm' });
    const card = readModelCard(STORIES_CARD);
    const req = (maxNewTokens: number, batch = 1): PageCellRequest => ({
      id: `${cell!.id}-${maxNewTokens}`,
      cell: { ...cell!.spec, batch, workloadParams: { ...cell!.spec.workloadParams, maxNewTokens } },
      model: { key: 'stories', card: { ...card, path: server.register(card.path), tokenizer: server.register(card.tokenizer) }, fileBytes: 0 },
      data: [],
      provenance,
      suite: suite.name,
      repeats: 1,
      warmup: 0,
    });
    try {
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
    } finally {
      await session.close();
      await server.close();
    }
    expect(browserPids()).toEqual([]);
  }, 120_000);
});
