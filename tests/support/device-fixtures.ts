/**
 * Fixtures the GPU machine makes (tests/fixtures/device-fixtures.json): once listed as committed,
 * their tests run and fail when a file is missing; before that they are skipped with the command
 * that makes them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Entry {
  committed: boolean;
  files: string[];
  make: string;
}

const list = (JSON.parse(readFileSync(`${ROOT}tests/fixtures/device-fixtures.json`, 'utf8')) as { fixtures: Record<string, Entry> }).fixtures;

export function deviceFixture(name: string): { ready: boolean; reason: string; files: string[] } {
  const e = list[name];
  if (!e) throw new Error(`no device fixture "${name}" in tests/fixtures/device-fixtures.json`);
  if (e.committed) {
    const absent = e.files.filter((f) => !existsSync(`${ROOT}${f}`));
    if (absent.length) throw new Error(`device fixture ${name} is listed as committed, but ${absent.join(', ')} ${absent.length > 1 ? 'are' : 'is'} not in the checkout (${e.make})`);
  }
  return { ready: e.committed, reason: `fixture ${name} not made yet: ${e.make}; then set committed: true in tests/fixtures/device-fixtures.json`, files: e.files };
}
