import { describe, expect, it } from 'vitest';
import { Llama2cTokenizer } from '../../src/model/tokenizer-llama2c.js';
import { GOLDEN_40, readStories } from './stories-fixture.js';


describe('llama2.c tokenizer (tok512.bin)', () => {
  const bytes = readStories().tokenizer;
  const tok = Llama2cTokenizer.fromBytes(bytes);

  it('reads all 512 pieces and the special ids', () => {
    expect(tok.vocabSize).toBe(512);
    expect(tok.maxTokenLength).toBe(7);
    expect(tok.idOf(' Once')).toBe(403);
    expect(tok.idOf('<0x41>')).toBe(0x41 + 3);
  });

  // Expected ids from a direct Python transcription of llama2.c's encode().
  it('encodes like llama2.c', () => {
    expect(tok.encode('Once upon a time')).toEqual([403, 407, 261, 378]);
    expect(tok.encode('Once upon a time', { bos: true })).toEqual([1, 403, 407, 261, 378]);
    expect(tok.encode('Hello, world! 你好 🙂')).toEqual([346, 306, 414, 432, 263, 304, 341, 443, 410, 231, 192, 163, 232, 168, 192, 410, 243, 162, 156, 133]);
    expect(tok.encode('Lily said,\n\t"Yes."')).toEqual([317, 336, 432, 13, 12, 436, 452, 406, 426, 436]);
    expect(tok.encode('')).toEqual([]);
  });

  it('agrees with the quadratic reference merge loop on longer text', () => {
    const vocab: Uint8Array[] = [];
    const scores: number[] = [];
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let off = 4; off < bytes.length; ) {
      scores.push(dv.getFloat32(off, true));
      const n = dv.getInt32(off + 4, true);
      vocab.push(bytes.slice(off + 8, off + 8 + n));
      off += 8 + n;
    }
    const key = (u: Uint8Array) => Array.from(u).join(',');
    const lut = new Map<string, number>();
    vocab.forEach((v, i) => lut.has(key(v)) || lut.set(key(v), i));
    const reference = (text: string): number[] => {
      const enc = new TextEncoder();
      const toks: number[] = [lut.get(key(enc.encode(' ')))!];
      for (const ch of text) {
        const id = lut.get(key(enc.encode(ch)));
        if (id !== undefined) toks.push(id);
        else for (const b of enc.encode(ch)) toks.push(b + 3);
      }
      for (;;) {
        let best = -Infinity;
        let at = -1;
        let id = -1;
        for (let i = 0; i + 1 < toks.length; i++) {
          const m = lut.get(key(new Uint8Array([...vocab[toks[i]!]!, ...vocab[toks[i + 1]!]!])));
          if (m !== undefined && scores[m]! > best) [best, at, id] = [scores[m]!, i, m];
        }
        if (at < 0) return toks;
        toks.splice(at, 2, id);
      }
    };
    const text = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine. One day, she saw a big, red ball — "Wow!" she said.';
    expect(tok.encode(text)).toEqual(reference(text));
  });

  it('decodes the golden continuation to the README sentence and round-trips text', () => {
    expect(tok.decode([1, ...GOLDEN_40]).startsWith('Once upon a time, there was a little girl named Lily.')).toBe(true);
    for (const text of ['Once upon a time', 'Hello, world! 你好 🙂', 'Lily said,\n\t"Yes."', '  two leading spaces']) {
      expect(tok.decode(tok.encode(text, { bos: true }))).toBe(text);
      // Without BOS the dummy-prefix space stays, as in llama2.c.
      expect(tok.decode(tok.encode(text))).toBe(' ' + text);
    }
  });

  it('keeps special pieces when asked', () => {
    // llama2.c strips the space after BOS whether or not BOS is printed.
    expect(tok.decode([1, 403, 2], { skipSpecial: false })).toBe('\n<s>\nOnce\n</s>\n');
  });
});
