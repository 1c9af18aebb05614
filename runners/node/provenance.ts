import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, platform, arch, release } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Provenance } from '../../src/results/record.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root: dist/runners/node → ../../..; runners/node (vitest) → ../.. */
export const projectRoot = (() => {
  for (const up of ['../..', '../../..']) {
    const dir = join(here, up);
    try {
      if (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name === 'minicache-bench') return dir;
    } catch {
      /* keep looking */
    }
  }
  return process.cwd();
})();

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: projectRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

const require = createRequire(join(projectRoot, 'package.json'));
function versionOf(pkg: string): string {
  try {
    return JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')).version;
  } catch {
    try {
      // Packages whose exports hide package.json.
      return JSON.parse(readFileSync(join(projectRoot, 'node_modules', pkg, 'package.json'), 'utf8')).version;
    } catch {
      return 'unknown';
    }
  }
}

export function packageVersion(): string {
  return JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')).version;
}

export interface ProvenanceInput {
  runner: 'node' | 'browser';
  executionProvider: string;
  suiteHash: string;
  seed: number;
  adapter?: Provenance['adapter'];
  browser?: string;
  executionProviderOptions?: Record<string, string>;
}

/**
 * The commit a run's code came from. MINICACHE_GIT_SHA overrides what the checkout says, for
 * machines that receive a copy of the tree whose git metadata is stale or absent (the project's GPU
 * machine): pass the commit the build was made from, and MINICACHE_GIT_DIRTY=1 if it had local changes.
 */
export function gitState(env: Record<string, string | undefined> = process.env): { sha: string; dirty: boolean } {
  const forced = env.MINICACHE_GIT_SHA?.trim();
  if (forced) {
    if (!/^[0-9a-f]{7,40}$/i.test(forced)) throw new Error(`MINICACHE_GIT_SHA: "${forced}" is not a git commit id (7–40 hex digits)`);
    return { sha: forced, dirty: env.MINICACHE_GIT_DIRTY === '1' };
  }
  return {
    sha: git(['rev-parse', 'HEAD']) ?? 'unknown',
    dirty: (git(['status', '--porcelain', '--untracked-files=no']) ?? '') !== '',
  };
}

export function collectProvenance(input: ProvenanceInput): Provenance {
  const { sha, dirty } = gitState();
  const versions = Object.fromEntries(
    ['onnxruntime-node', 'onnxruntime-web', 'tinybench', 'playwright-core', 'vega', 'vega-lite', 'yaml'].map((p) => [p, versionOf(p)]),
  );
  const c = cpus();
  return {
    gitSha: sha,
    gitDirty: dirty,
    packageVersion: packageVersion(),
    versions,
    node: process.version,
    runner: input.runner,
    executionProvider: input.executionProvider,
    ...(input.executionProviderOptions ? { executionProviderOptions: input.executionProviderOptions } : {}),
    ...(input.adapter ? { adapter: input.adapter } : {}),
    ...(input.browser ? { browser: input.browser } : {}),
    cpu: c[0]?.model ?? 'unknown',
    cpuCount: c.length,
    platform: `${platform()}-${arch()} ${release()}`,
    suiteHash: input.suiteHash,
    seed: input.seed,
  };
}
