import type { Tokenizer } from '../../engine/backend.js';
import { createPrng, type Prng } from '../../measure/prng.js';
import { drawShareGptLengths, SHAREGPT_LENGTHS, type Lognormal } from './lengths.js';
import type { ServingRequest } from './request.js';

/** The KIVI / MiniCache serving protocol: every request 160 prompt tokens, 338 generated, EOS ignored. */
export const KIVI_FIXED_LENGTHS = { promptLen: 160, outputLen: 338 } as const;

export interface SyntheticRequestOptions {
  numRequests: number;
  seed: number | string;
  tokenizer: Tokenizer;
  /** Held-out text the prompts are cut from (never the model's training text). */
  texts: readonly string[];
  /** 'sharegpt' (default): lengths drawn like ShareGPT's; or fixed lengths for every request. */
  lengths?: 'sharegpt' | { promptLen: number; outputLen: number } | { prompt: Lognormal; output: Lognormal };
  /** Default true: the output length is a budget to fill, as in vLLM's throughput benchmark. */
  ignoreEos?: boolean;
}

/** Cuts token windows out of the held-out texts, encoding each text once, on demand. */
class TextWindows {
  private readonly cache = new Map<number, number[]>();
  constructor(
    private readonly texts: readonly string[],
    private readonly tokenizer: Tokenizer,
  ) {
    if (texts.length === 0 || texts.every((t) => t.length === 0)) throw new Error('synthetic requests need non-empty held-out text');
  }

  private ids(i: number): number[] {
    let ids = this.cache.get(i);
    if (!ids) {
      ids = this.tokenizer.encode(this.texts[i]!, { bos: false });
      this.cache.set(i, ids);
    }
    return ids;
  }

  /** `n` consecutive tokens starting at a random text and offset, continuing into the next texts if needed. */
  take(n: number, rng: Prng): number[] {
    let t = rng.int(this.texts.length);
    const first = this.ids(t);
    const out = first.slice(first.length > n ? rng.int(first.length - n + 1) : 0, undefined);
    let guard = 0;
    while (out.length < n) {
      t = (t + 1) % this.texts.length;
      out.push(...this.ids(t));
      if (++guard > this.texts.length * (n + 1)) throw new Error('held-out text has no tokens');
    }
    return out.slice(0, n);
  }
}

/**
 * ShareGPT-style requests made offline: lengths from a ShareGPT-like distribution (after vLLM's
 * filter) or fixed, prompt tokens cut from held-out text. Deterministic from the seed; `promptIds`
 * is exactly what to feed (BOS + promptLen − 1 text tokens), `prompt` its decoded text.
 */
export function syntheticRequests(opts: SyntheticRequestOptions): ServingRequest[] {
  const rng = createPrng(opts.seed);
  const lengthRng = rng.fork('lengths');
  const textRng = rng.fork('text');
  const windows = new TextWindows(opts.texts, opts.tokenizer);
  const bos = opts.tokenizer.encode('', { bos: true });
  const spec = opts.lengths ?? 'sharegpt';
  const out: ServingRequest[] = [];
  for (let i = 0; i < opts.numRequests; i++) {
    const { promptLen, outputLen } =
      spec === 'sharegpt' ? drawShareGptLengths(lengthRng, SHAREGPT_LENGTHS) : 'promptLen' in spec ? spec : drawShareGptLengths(lengthRng, spec);
    if (promptLen <= bos.length) throw new RangeError(`promptLen ${promptLen} leaves no room after BOS`);
    const body = windows.take(promptLen - bos.length, textRng);
    out.push({
      id: `synthetic-${i}`,
      prompt: opts.tokenizer.decode(body, { skipSpecial: true }),
      promptLen,
      outputLen,
      ignoreEos: opts.ignoreEos ?? true,
      promptIds: [...bos, ...body],
    });
  }
  return out;
}

/** The KIVI/MiniCache protocol: numRequests × (160 in, 338 out), EOS ignored. */
export function fixedLengthRequests(opts: Omit<SyntheticRequestOptions, 'lengths' | 'ignoreEos'>): ServingRequest[] {
  return syntheticRequests({ ...opts, lengths: { ...KIVI_FIXED_LENGTHS }, ignoreEos: true });
}
