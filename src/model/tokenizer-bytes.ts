/**
 * The tokenizer of a model with no tokenizer file (dummy weights in a known model's shapes): text
 * becomes its UTF-8 bytes as ids 3 + byte (ids 0–2 are left to unk, BOS and EOS, as llama2.c and
 * Llama-2 number them), and ids decode back (others as <id>). Enough to feed throughput and memory
 * workloads, which need token ids, not meaning.
 */
import type { Tokenizer } from '../engine/backend.js';

export class ByteTokenizer implements Tokenizer {
  constructor(
    readonly vocabSize: number,
    private readonly bos: number,
  ) {
    if (vocabSize < 259) throw new Error(`a byte tokenizer needs a vocabulary of at least 259 ids, the model has ${vocabSize}`);
  }

  encode(text: string, opts: { bos?: boolean } = {}): number[] {
    const ids = Array.from(new TextEncoder().encode(text), (b) => 3 + b);
    return opts.bos ? [this.bos, ...ids] : ids;
  }

  decode(ids: readonly number[], opts: { skipSpecial?: boolean } = {}): string {
    const skip = opts.skipSpecial ?? true;
    const out: string[] = [];
    let bytes: number[] = [];
    const flush = () => {
      if (bytes.length) out.push(new TextDecoder().decode(Uint8Array.from(bytes)));
      bytes = [];
    };
    for (const id of ids) {
      if (id >= 3 && id < 259) bytes.push(id - 3);
      else {
        flush();
        if (!(skip && id < 3)) out.push(`<${id}>`);
      }
    }
    flush();
    return out.join('');
  }
}
