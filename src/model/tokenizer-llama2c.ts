/**
 * llama2.c's tokenizer.bin: int32 max_token_length, then per token: float32 score, int32 byte
 * length, the bytes. Encoding follows llama2.c's `encode`: a dummy-prefix space, one token per
 * UTF-8 character (unknown characters fall back to byte tokens <0xXX>), then greedy merges of
 * the adjacent pair whose concatenation is a token with the highest score. Decoding maps byte
 * tokens back to raw bytes and drops the leading space of a piece that follows BOS.
 */
import type { Tokenizer } from '../engine/backend.js';
import { mergeGreedy } from './bpe-merge.js';

export interface Llama2cTokenizerOptions {
  /** Defaults follow llama2.c: <unk> 0, BOS 1, EOS 2. */
  unk?: number;
  bos?: number;
  eos?: number;
}

const latin1 = (bytes: Uint8Array): string => String.fromCharCode(...bytes);
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

export class Llama2cTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly maxTokenLength: number;
  readonly unk: number;
  readonly bos: number;
  readonly eos: number;
  /** Raw bytes of each piece, as latin1 strings (one char per byte) so they can key a Map. */
  private readonly pieces: string[];
  private readonly scores: Float32Array;
  private readonly ids = new Map<string, number>();
  /** Byte value → id of its <0xXX> token (−1 if the vocabulary lacks it). */
  private readonly byteIds = new Int32Array(256).fill(-1);
  /** id → the byte a <0xXX> token stands for (−1 otherwise). */
  private readonly byteOf: Int16Array;
  private readonly pairCache = new Map<number, { rank: number; id: number } | null>();

  private constructor(pieces: string[], scores: Float32Array, maxTokenLength: number, opts: Llama2cTokenizerOptions) {
    this.pieces = pieces;
    this.scores = scores;
    this.vocabSize = pieces.length;
    this.maxTokenLength = maxTokenLength;
    this.unk = opts.unk ?? 0;
    this.bos = opts.bos ?? 1;
    this.eos = opts.eos ?? 2;
    this.byteOf = new Int16Array(pieces.length).fill(-1);
    pieces.forEach((p, id) => {
      if (!this.ids.has(p)) this.ids.set(p, id);
      const m = BYTE_PIECE.exec(p);
      if (m) {
        const b = parseInt(m[1]!, 16);
        this.byteOf[id] = b;
        if (this.byteIds[b] === -1) this.byteIds[b] = id;
      }
    });
  }

  /** Parses tokenizer.bin; `vocabSize` limits how many entries are read (default: all in the file). */
  static fromBytes(data: ArrayBuffer | Uint8Array, vocabSize?: number, opts: Llama2cTokenizerOptions = {}): Llama2cTokenizer {
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < 4) throw new Error('llama2.c tokenizer: file shorter than its 4-byte header');
    const maxLen = dv.getInt32(0, true);
    const pieces: string[] = [];
    const scores: number[] = [];
    let off = 4;
    while (off < bytes.length && (vocabSize === undefined || pieces.length < vocabSize)) {
      if (off + 8 > bytes.length) throw new Error(`llama2.c tokenizer: truncated entry ${pieces.length} at byte ${off}`);
      scores.push(dv.getFloat32(off, true));
      const len = dv.getInt32(off + 4, true);
      off += 8;
      if (len < 0 || off + len > bytes.length) throw new Error(`llama2.c tokenizer: entry ${pieces.length} has bad length ${len} at byte ${off - 4}`);
      pieces.push(latin1(bytes.subarray(off, off + len)));
      off += len;
    }
    if (vocabSize !== undefined && pieces.length < vocabSize) throw new Error(`llama2.c tokenizer: ${pieces.length} entries, expected ${vocabSize}`);
    return new Llama2cTokenizer(pieces, Float32Array.from(scores), maxLen, opts);
  }

  /** Id of a piece given as text (UTF-8), or undefined. */
  idOf(piece: string): number | undefined {
    return this.ids.get(latin1(new TextEncoder().encode(piece)));
  }

  private pushChar(out: number[], utf8: Uint8Array): void {
    const id = this.ids.get(latin1(utf8));
    if (id !== undefined) out.push(id);
    else for (const b of utf8) out.push(this.byteIds[b]! >= 0 ? this.byteIds[b]! : this.unk);
  }

  private pair = (a: number, b: number): { rank: number; id: number } | undefined => {
    const key = a * this.vocabSize + b;
    let hit = this.pairCache.get(key);
    if (hit === undefined) {
      const id = this.ids.get(this.pieces[a]! + this.pieces[b]!);
      hit = id === undefined ? null : { rank: -this.scores[id]!, id };
      this.pairCache.set(key, hit);
    }
    return hit ?? undefined;
  };

  encode(text: string, opts: { bos?: boolean; eos?: boolean } = {}): number[] {
    const enc = new TextEncoder();
    const symbols: number[] = [];
    if (text.length > 0) this.pushChar(symbols, enc.encode(' ')); // SentencePiece's dummy prefix
    for (const ch of text) this.pushChar(symbols, enc.encode(ch));
    const merged = mergeGreedy(symbols, this.pair);
    if (opts.bos) merged.unshift(this.bos);
    if (opts.eos) merged.push(this.eos);
    return merged;
  }

  /** Text of the ids. skipSpecial (default true) leaves out <unk>, BOS and EOS. */
  decode(ids: readonly number[], opts: { skipSpecial?: boolean } = {}): string {
    const skip = opts.skipSpecial ?? true;
    const out: number[] = [];
    let prev = -1;
    for (const id of ids) {
      if (id < 0 || id >= this.vocabSize) throw new Error(`llama2.c tokenizer: id ${id} outside the vocabulary of ${this.vocabSize}`);
      const special = id === this.bos || id === this.eos || id === this.unk;
      if (!(skip && special)) {
        const byte = this.byteOf[id]!;
        if (byte >= 0) out.push(byte);
        else {
          let piece = this.pieces[id]!;
          if (prev === this.bos && piece.startsWith(' ')) piece = piece.slice(1);
          for (let i = 0; i < piece.length; i++) out.push(piece.charCodeAt(i));
        }
      }
      prev = id;
    }
    return new TextDecoder().decode(Uint8Array.from(out));
  }
}
