import { createRequire } from 'node:module';
import type { Segmenter } from '../../src/workloads/metrics/segmenter.js';

interface JiebaWasm {
  cut(text: string, hmm?: boolean | null): string[];
}

let cached: Segmenter | undefined;

/**
 * Chinese segmenter for qa_f1_zh / rouge_zh in Node: jieba-wasm (jieba-rs, jieba's dictionary),
 * `cut(text, hmm = true)` like Python's `jieba.cut(text, cut_all=False)`. Loaded on first use
 * because the WASM module carries the whole dictionary.
 */
export function loadJiebaSegmenter(): Segmenter {
  if (!cached) {
    const jieba = createRequire(import.meta.url)('jieba-wasm/node') as JiebaWasm;
    cached = (text) => jieba.cut(text, true);
  }
  return cached;
}
