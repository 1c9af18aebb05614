import type { Tokenizer } from '../../../src/engine/backend.js';

/**
 * One token per code point (id = code point + 3); ids 0..2 are special (0 pad, 1 BOS, 2 EOS) and
 * dropped by decode with skipSpecial. Token counts are then character counts, easy to check by hand.
 */
export const BOS = 1;
export const charTokenizer: Tokenizer = {
  vocabSize: 0x110000 + 3,
  encode(text, opts) {
    const ids = Array.from(text, (ch) => ch.codePointAt(0)! + 3);
    return opts?.bos ? [BOS, ...ids] : ids;
  },
  decode(ids, opts) {
    let s = '';
    for (const id of ids) {
      if (id < 3) {
        if (!opts?.skipSpecial) s += ['<pad>', '<s>', '</s>'][id];
      } else s += String.fromCodePoint(id - 3);
    }
    return s;
  },
};
