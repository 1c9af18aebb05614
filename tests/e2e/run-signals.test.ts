import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { CLI, cliAsync, lineCount, readResults, ROOT, tempDir, writeSuite } from './cli-helpers.js';
import { describeWith, PARTS } from '../support/parts.js';

// Three cells of a few seconds each on the embedded model.
const suite = `name: signals
seed: 0
repeats: 1
warmup: 0
models:
  - card: ${join(ROOT, 'models/minillama-12l')}
methods: [fp16, kivi4, minicache]
workloads:
  - name: generate
    batch: [4]
    params: { promptLen: 256, maxNewTokens: 400, ignoreEos: true }
`;

/** Start `run`, send `signal` to the CLI process alone `delayMs` after results.jsonl has a record; resolve with how it ended. */
function runAndSignal(args: string[], file: string, signal: NodeJS.Signals, delayMs = 0): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, CI: '1' } });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setInterval(() => {
      if (lineCount(file) >= 1) {
        clearInterval(timer);
        setTimeout(() => child.kill(signal), delayMs);
      }
    }, 20);
    child.on('exit', (code, sig) => {
      clearInterval(timer);
      resolve({ code, signal: sig, stderr });
    });
  });
}

describeWith([PARTS.cli], 'run: interrupted by a signal', () => {
  it('SIGTERM stops like Ctrl-C: exit 143, a message, valid results, and --resume finishes without duplicates', async () => {
    const dir = tempDir();
    const s = writeSuite(dir, suite);
    const out = join(dir, 'out');
    const file = join(out, 'results.jsonl');
    const r = await runAndSignal(['run', s, '--out', out], file, 'SIGTERM');
    expect(r.signal).toBeNull();
    expect(r.code).toBe(143);
    expect(r.stderr).toMatch(/interrupted \(SIGTERM\)[^\n]*--resume/);
    const partial = readResults(out);
    expect(partial.length).toBeGreaterThanOrEqual(1);
    expect(partial.length).toBeLessThan(3);
    const resumed = await cliAsync(['run', s, '--out', out, '--resume', '-q']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const ids = readResults(out).map((x) => x.cellId);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
  }, 120_000);

  it('--isolate: SIGTERM to the parent stops the cell process too (no record lands after the run ended)', async () => {
    const dir = tempDir();
    const s = writeSuite(dir, suite);
    const out = join(dir, 'out');
    const file = join(out, 'results.jsonl');
    // 1.5 s after the first record: the next cell's process is running.
    const r = await runAndSignal(['run', s, '--out', out, '--isolate', '-q'], file, 'SIGTERM', 1500);
    expect(r.code).toBe(143);
    const after = lineCount(file);
    // The cell in flight takes seconds; a child left running would append its record meanwhile.
    await new Promise((res) => setTimeout(res, 8000));
    expect(lineCount(file)).toBe(after);
    const resumed = await cliAsync(['run', s, '--out', out, '--resume', '--isolate', '-q']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const ids = readResults(out).map((x) => x.cellId);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
  }, 120_000);
});
