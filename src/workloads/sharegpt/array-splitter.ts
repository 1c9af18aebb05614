import { HarnessError } from '../../errors.js';

/**
 * Splits a top-level JSON array into its elements' bytes as chunks of the file arrive, without
 * holding the file (ShareGPT_V3 is ~650 MB, more than V8's longest string): only the element
 * being read is kept. Strings and nesting are tracked so commas and brackets inside them are not
 * boundaries; an element's bytes are trimmed of surrounding whitespace and handed over whole,
 * valid JSON or not (the caller parses and counts the broken ones).
 */
export interface ArrayElement {
  bytes: Uint8Array;
  /** Byte offsets of the element in the file, [start, end). */
  start: number;
  end: number;
  /** 1-based line where it starts. */
  line: number;
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

export class JsonArraySplitter {
  /** start: before '['; open: after '[' (']' closes an empty array); next: after ','; element: inside one; done: after ']'. */
  private state: 'start' | 'open' | 'next' | 'element' | 'done' = 'start';
  private offset = 0;
  private line = 1;
  private depth = 0;
  private inString = false;
  private escape = false;
  private elStart = 0;
  private elLine = 0;
  /** Offset just past the element's last non-whitespace byte. */
  private elEnd = 0;
  private pieces: Uint8Array[] = [];

  constructor(private readonly file: string) {}

  /** Feed the next chunk; `emit` gets every element that ends in it. */
  push(chunk: Uint8Array, emit: (el: ArrayElement) => void): void {
    const base = this.offset;
    let from = this.state === 'element' ? 0 : -1; // where the current element's bytes start in this chunk
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (c === 0x0a) this.line++;
      switch (this.state) {
        case 'start':
          if (WS.has(c)) continue;
          if (c !== 0x5b /* [ */) throw this.notArray(c);
          this.state = 'open';
          continue;
        case 'done':
          continue;
        case 'open':
        case 'next':
          if (WS.has(c)) continue;
          if (this.state === 'open' && c === 0x5d /* ] */) {
            this.state = 'done';
            continue;
          }
          this.state = 'element';
          this.elStart = this.elEnd = base + i;
          this.elLine = this.line;
          this.depth = 0;
          this.inString = this.escape = false;
          from = i;
          break; // read this byte as part of the element
        default:
          break;
      }
      // Inside an element.
      let closes: 'comma' | 'bracket' | null = null;
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === 0x5c /* \ */) this.escape = true;
        else if (c === 0x22 /* " */) this.inString = false;
      } else if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) this.depth++;
      else if (c === 0x7d || c === 0x5d) {
        if (this.depth === 0) closes = 'bracket';
        else this.depth--;
      } else if (c === 0x2c /* , */ && this.depth === 0) closes = 'comma';
      if (closes) {
        this.pieces.push(chunk.subarray(from, i));
        emit({ bytes: this.take(), start: this.elStart, end: this.elEnd, line: this.elLine });
        this.state = closes === 'comma' ? 'next' : 'done';
        from = -1;
      } else if (!WS.has(c)) this.elEnd = base + i + 1;
    }
    if (this.state === 'element' && from >= 0) this.pieces.push(chunk.slice(from)); // a copy: the caller may reuse its buffer
    this.offset += chunk.length;
  }

  /** The file ended: it must have closed its array. */
  end(): void {
    if (this.state === 'start') throw this.notArray(undefined);
    if (this.state !== 'done') {
      throw new HarnessError('WORKLOAD_DATA', 'unexpected end of file inside the top-level array (file truncated?)', { file: this.file, line: this.state === 'element' ? this.elLine : this.line });
    }
  }

  /** The element's bytes from its pieces, trimmed to its last non-whitespace byte. */
  private take(): Uint8Array {
    const n = this.elEnd - this.elStart;
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of this.pieces) {
      if (at >= n) break;
      const part = p.subarray(0, Math.min(p.length, n - at));
      out.set(part, at);
      at += part.length;
    }
    this.pieces = [];
    return out;
  }

  private notArray(c: number | undefined): HarnessError {
    const first = c === undefined ? '' : String.fromCharCode(c);
    const got = first === '{' ? 'an object' : first === '' ? 'an empty file' : `a value starting with ${JSON.stringify(first)}`;
    return new HarnessError('WORKLOAD_DATA', `expected a JSON array of {id, conversations: [{from, value}, …]}, got ${got}`, { file: this.file, line: this.line }, 'ShareGPT_V3_unfiltered_cleaned_split.json is one JSON array');
  }
}
