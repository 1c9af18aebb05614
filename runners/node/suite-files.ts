import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { SuiteFiles } from '../../src/suite/load-suite.js';

/** Disk access for suite loading; a folder given as a model card means its model.json. */
export const nodeSuiteFiles: SuiteFiles = {
  read: (p) => readFileSync(p, 'utf8'),
  exists: (p) => existsSync(p) && (!statSync(p).isDirectory() || existsSync(join(p, 'model.json'))),
  resolve: (from, rel) => (isAbsolute(rel) ? rel : resolve(dirname(from), rel)),
};

export function cardFile(p: string): string {
  return existsSync(p) && statSync(p).isDirectory() ? join(p, 'model.json') : p;
}
