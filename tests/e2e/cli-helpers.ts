import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { CLI, PARTS } from '../support/parts.js';
import { readRecords } from '../support/records.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export { CLI };
/** Prefer describeWith([PARTS.cli], …) (tests/support/parts.ts): a missing build then fails, saying so, instead of skipping. */
export const HAVE_CLI = PARTS.cli.present;
export { STORIES_CARD } from '../model/stories-fixture.js';

export function tempDir(prefix = 'mcb-e2e-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeSuite(dir: string, text: string): string {
  const p = join(dir, 'suite.yaml');
  writeFileSync(p, text);
  return p;
}

export function cli(args: string[], opts: { cwd?: string } = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? ROOT, encoding: 'utf8', env: { ...process.env, CI: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Like cli(), without blocking the test worker's event loop (vitest's RPC times out on long sync calls). */
export function cliAsync(args: string[], opts: { cwd?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? ROOT, env: { ...process.env, CI: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Start the CLI and SIGKILL it once `file` has at least `lines` complete lines. */
export function cliKilledAfter(args: string[], file: string, lines: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, CI: '1' }, stdio: 'ignore' });
    const timer = setInterval(() => {
      if (lineCount(file) >= lines) {
        child.kill('SIGKILL');
      }
    }, 20);
    child.on('exit', (code, signal) => {
      clearInterval(timer);
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`the run finished (code ${code}) before it could be killed`));
    });
  });
}

/** Complete non-empty lines of a file (0 while it does not exist): records appended so far. */
export function lineCount(file: string): number {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).length : 0;
}

/** The records of a run folder's results.jsonl, typed as the caller reads them. */
export const readResults = <T = { cellId: string; status: string }>(dir: string): T[] => readRecords<T>(dir);
