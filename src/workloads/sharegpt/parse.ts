import { HarnessError } from '../../errors.js';

/** The first (prompt, completion) turn pair of one ShareGPT conversation, as vLLM takes it. */
export interface ShareGptPair {
  id: string;
  /** Position of the record in the file's array. */
  index: number;
  prompt: string;
  completion: string;
}

/**
 * Why a record did not give a pair. `too-few-turns` is vLLM's own filter (fewer than 2
 * conversation entries); the others are records vLLM would crash on, skipped here.
 */
export type ShareGptSkip = 'not-an-object' | 'no-conversations' | 'too-few-turns' | 'bad-turn' | 'invalid-json';

export interface ShareGptPairs {
  pairs: ShareGptPair[];
  /** Records in the file's array. */
  total: number;
  skipped: Record<ShareGptSkip, number>;
}

/**
 * The valid pairs of a ShareGPT file, read by position: an in-memory list (pairsSource), or an
 * index of byte ranges over a file the Node runner never holds whole (runners/node/sharegpt-file.ts).
 */
export interface ShareGptSource {
  /** Records in the file's array. */
  total: number;
  skipped: Record<ShareGptSkip, number>;
  /** Valid pairs, in file order. */
  length: number;
  get(i: number): ShareGptPair;
}

export function pairsSource(p: ShareGptPairs): ShareGptSource {
  return { total: p.total, skipped: p.skipped, length: p.pairs.length, get: (i) => p.pairs[i]! };
}

export function emptySkipCounts(): Record<ShareGptSkip, number> {
  return { 'not-an-object': 0, 'no-conversations': 0, 'too-few-turns': 0, 'bad-turn': 0, 'invalid-json': 0 };
}

/** vLLM's pair extraction for one record: conversations[0].value, conversations[1].value, whoever spoke. */
export function shareGptPair(value: unknown, index: number): ShareGptPair | ShareGptSkip {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not-an-object';
  const rec = value as Record<string, unknown>;
  const conv = rec.conversations;
  if (!Array.isArray(conv)) return 'no-conversations';
  if (conv.length < 2) return 'too-few-turns';
  const turn = (t: unknown) => (typeof t === 'object' && t !== null && typeof (t as { value?: unknown }).value === 'string' ? (t as { value: string }).value : undefined);
  const prompt = turn(conv[0]);
  const completion = turn(conv[1]);
  if (prompt === undefined || completion === undefined) return 'bad-turn';
  return { id: typeof rec.id === 'string' ? rec.id : `#${index}`, index, prompt, completion };
}

/** Pairs of a parsed ShareGPT_V3 file (a JSON array); anything else is a clear error. */
export function parseShareGpt(data: unknown, file: string): ShareGptPairs {
  if (!Array.isArray(data)) {
    const got = data === null ? 'null' : typeof data === 'object' ? 'an object' : typeof data;
    throw new HarnessError('WORKLOAD_DATA', `expected a JSON array of {id, conversations: [{from, value}, …]}, got ${got}`, { file }, 'ShareGPT_V3_unfiltered_cleaned_split.json is one JSON array');
  }
  const out: ShareGptPairs = { pairs: [], total: data.length, skipped: emptySkipCounts() };
  data.forEach((rec, i) => {
    const p = shareGptPair(rec, i);
    if (typeof p === 'string') out.skipped[p]++;
    else out.pairs.push(p);
  });
  return out;
}
