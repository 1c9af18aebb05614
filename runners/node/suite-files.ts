import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { SuiteFiles } from '../../src/suite/load-suite.js';

/** Card file names looked for, in order, when a model is given as a folder. */
export const CARD_FILE_NAMES = ['model.yaml', 'model.yml', 'model.json', 'model-card.yaml', 'model-card.yml', 'model-card.json'];

/**
 * Disk access for suite loading; a folder given as a model card means the card file inside it
 * (model.yaml, model.json, …), or for a Hugging Face folder without one its config.json.
 */
export const nodeSuiteFiles: SuiteFiles = {
  read: (p) => readFileSync(p, 'utf8'),
  exists: (p) => existsSync(p) && (!statSync(p).isDirectory() || [...CARD_FILE_NAMES, 'config.json'].some((n) => existsSync(join(p, n)))),
  resolve: (from, rel) => (isAbsolute(rel) ? rel : resolve(dirname(from), rel)),
};

/** The card file of a model: the path itself, or for a folder the first of CARD_FILE_NAMES in it. */
export function cardFile(p: string): string {
  if (!existsSync(p) || !statSync(p).isDirectory()) return p;
  const hit = [...CARD_FILE_NAMES, 'config.json'].map((n) => join(p, n)).find((f) => existsSync(f));
  return hit ?? join(p, 'model.json');
}
