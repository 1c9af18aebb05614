import { HarnessError } from '../../errors.js';
import { Jieba } from './jieba.js';

/** data/jieba/model.json.gz: finalseg's HMM and Python's logarithms (see make-jieba-data.py). */
export interface JiebaModel {
  total: number;
  logTotal: number;
  /** [frequency, Python's math.log(frequency)] for every frequency of the dictionary, and 1. */
  logFreq: [number, number][];
  minFloat: number;
  start: Record<'B' | 'M' | 'E' | 'S', number>;
  trans: Record<'B' | 'M' | 'E' | 'S', Partial<Record<'B' | 'M' | 'E' | 'S', number>>>;
  emit: Record<'B' | 'M' | 'E' | 'S', Record<string, number>>;
}

/** jieba's dict.txt and model.json, gzipped (the runners unpack them: zlib, DecompressionStream). */
export const JIEBA_DICT_FILE = 'data/jieba/dict.txt.gz';
export const JIEBA_MODEL_FILE = 'data/jieba/model.json.gz';

function bad(file: string, message: string, line?: number): HarnessError {
  return new HarnessError('WORKLOAD_DATA', message, { file, ...(line !== undefined ? { line } : {}) });
}

/**
 * jieba's gen_pfdict: `word freq [tag]` per line; a later line for the same word replaces its
 * frequency (the total counts both, as Python's does), and every prefix of a word is present
 * with frequency 0 so the DAG knows when to stop extending.
 */
export function parseJiebaDict(text: string, file = JIEBA_DICT_FILE): { freq: Map<string, number>; total: number } {
  const freq = new Map<string, number>();
  let total = 0;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const fields = lines[i]!.trim().split(' ');
    const word = fields[0]!;
    const f = fields.length >= 2 && /^[0-9]+$/.test(fields[1]!) ? Number(fields[1]) : NaN;
    if (word === '' || !Number.isSafeInteger(f)) throw bad(file, 'expected "word frequency [tag]"', i + 1);
    freq.set(word, f);
    total += f;
    for (let ch = 1; ch < word.length; ch++) {
      const prefix = word.slice(0, ch);
      if (!freq.has(prefix)) freq.set(prefix, 0);
    }
  }
  return { freq, total };
}

/** A Jieba from the (unpacked) texts of data/jieba's dictionary and model, checked against each other. */
export function jiebaFromData(dictText: string, modelJson: string): Jieba {
  let model: JiebaModel;
  try {
    model = JSON.parse(modelJson) as JiebaModel;
  } catch (e) {
    throw bad(JIEBA_MODEL_FILE, `not valid JSON (${(e as Error).message})`);
  }
  for (const key of ['total', 'logTotal', 'logFreq', 'minFloat', 'start', 'trans', 'emit'] as const) {
    if (model?.[key] === undefined) throw bad(JIEBA_MODEL_FILE, `field "${key}" missing (regenerate it with data/jieba/make-jieba-data.py)`);
  }
  const { freq, total } = parseJiebaDict(dictText);
  if (total !== model.total) throw bad(JIEBA_MODEL_FILE, `total ${model.total} does not match ${JIEBA_DICT_FILE} (${total}); the two files come from different jieba versions`);
  const logged = new Set(model.logFreq.map(([f]) => f));
  for (const f of freq.values()) {
    if (f !== 0 && !logged.has(f)) throw bad(JIEBA_MODEL_FILE, `no logarithm for frequency ${f} of ${JIEBA_DICT_FILE}; regenerate it with make-jieba-data.py`);
  }
  return new Jieba(freq, model);
}
