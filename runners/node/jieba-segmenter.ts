import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { JIEBA_DICT_FILE, JIEBA_MODEL_FILE, jiebaFromData } from '../../src/workloads/jieba/model.js';
import type { Segmenter } from '../../src/workloads/metrics/segmenter.js';
import { projectRoot } from './provenance.js';

let cached: Segmenter | undefined;

/**
 * Chinese segmenter for qa_f1_zh / rouge_zh in Node: the port of Python jieba 0.42.1's
 * `jieba.cut(text, cut_all=False)` (src/workloads/jieba) over this package's data/jieba.
 * Loaded on first use: the dictionary takes a few hundred milliseconds and tens of MB.
 */
export function loadJiebaSegmenter(): Segmenter {
  if (!cached) {
    const read = (file: string) => gunzipSync(readFileSync(join(projectRoot, file))).toString('utf8');
    const jieba = jiebaFromData(read(JIEBA_DICT_FILE), read(JIEBA_MODEL_FILE));
    cached = (text) => jieba.cut(text);
  }
  return cached;
}
