/** The small real model committed under models/stories260K, for tests that need trained weights. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const STORIES_DIR = fileURLToPath(new URL('../../models/stories260K/', import.meta.url));
export const STORIES_CARD = join(STORIES_DIR, 'model.yaml');
export const STORIES_WEIGHTS = join(STORIES_DIR, 'stories260K.bin');
export const STORIES_TOKENIZER = join(STORIES_DIR, 'tok512.bin');

/** The 40 greedy tokens from BOS (models/stories260K/README.md: checked against an independent forward pass). */
export const GOLDEN_40 = [
  403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410, 408, 419, 292, 411,
  322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394, 261, 370, 432, 352,
];

export function readStories(): { weights: Uint8Array; tokenizer: Uint8Array } {
  return { weights: new Uint8Array(readFileSync(STORIES_WEIGHTS)), tokenizer: new Uint8Array(readFileSync(STORIES_TOKENIZER)) };
}
