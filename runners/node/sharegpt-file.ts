import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { HarnessError } from '../../src/errors.js';
import { JsonArraySplitter } from '../../src/workloads/sharegpt/array-splitter.js';
import { emptySkipCounts, shareGptPair, type ShareGptPair, type ShareGptSource } from '../../src/workloads/sharegpt/parse.js';

/**
 * A ShareGPT_V3 file of any size (the full release is ~650 MB, more than V8's longest string)
 * with bounded memory: one streamed pass finds every record's byte range and keeps, for each valid
 * (prompt, completion) pair, only where it is; a pair is read back from the file when the sampler
 * reaches it. Broken records are skipped and counted as readShareGptFile does, so the sample is
 * the one the whole file parsed at once would give.
 */
export async function indexShareGptFile(file: string, opts: { onProgress?: (bytesRead: number, bytes: number) => void; chunkBytes?: number } = {}): Promise<ShareGptSource> {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (e) {
    throw new HarnessError('WORKLOAD_FILE', `cannot read: ${(e as Error).message}`, { file });
  }
  const splitter = new JsonArraySplitter(file);
  const decoder = new TextDecoder('utf-8');
  const skipped = emptySkipCounts();
  // Per valid pair: its record's byte range and position in the array.
  let starts = new Float64Array(1024);
  let ends = new Float64Array(1024);
  let indices = new Uint32Array(1024);
  let length = 0;
  let total = 0;
  let read = 0;
  const stream = createReadStream(file, { highWaterMark: opts.chunkBytes ?? 4 << 20 });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    splitter.push(chunk, (el) => {
      const index = total++;
      const pair = parsePair(decoder, el.bytes, index);
      if (typeof pair === 'string') {
        skipped[pair]++;
        return;
      }
      if (length === starts.length) [starts, ends, indices] = [grow(starts), grow(ends), grow(indices)];
      starts[length] = el.start;
      ends[length] = el.end;
      indices[length++] = index;
    });
    read += chunk.length;
    opts.onProgress?.(read, size);
  }
  splitter.end();
  return {
    total,
    skipped,
    length,
    get(i) {
      if (!(i >= 0 && i < length)) throw new RangeError(`ShareGPT pair ${i} of ${length}`);
      const buf = Buffer.alloc(ends[i]! - starts[i]!);
      const fd = openSync(file, 'r');
      try {
        readSync(fd, buf, 0, buf.length, starts[i]!);
      } finally {
        closeSync(fd);
      }
      const pair = parsePair(decoder, buf, indices[i]!);
      if (typeof pair === 'string') throw new HarnessError('WORKLOAD_FILE', 'the file changed while it was being read', { file });
      return pair;
    },
  };
}

function parsePair(decoder: TextDecoder, bytes: Uint8Array, index: number): ShareGptPair | ReturnType<typeof shareGptPair> {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    return 'invalid-json';
  }
  return shareGptPair(value, index);
}

function grow<T extends Float64Array | Uint32Array>(a: T): T {
  const b = new (a.constructor as new (n: number) => T)(a.length * 2);
  b.set(a);
  return b;
}
