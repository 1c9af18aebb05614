/**
 * Any Hugging Face `tokenizer.json` through the maintained library, @huggingface/tokenizers
 * (Tokenizers.js, the tokenizer of transformers.js): SentencePiece-style BPE with byte fallback
 * (Llama-2, Mistral, the embedded model), byte-level BPE (Llama-3, Qwen, GPT-2), Unigram and
 * WordPiece. This wrapper gives it the harness's Tokenizer contract: encode adds no special tokens
 * (the caller asks for BOS), decode skips special tokens by default, and the model's chat template
 * (tokenizer_config.json `chat_template`, Jinja) is rendered on request.
 *
 * No I/O: the runner reads the files and hands their parsed JSON here.
 */
import { Tokenizer as LibTokenizer } from '@huggingface/tokenizers';
import type { ChatMessage, Tokenizer } from '../engine/backend.js';
import { ChatTemplateRenderer } from './chat-template.js';

type Json = Record<string, unknown>;

export interface JsonTokenizerOptions {
  /** BOS / EOS ids (default: the ids of the config's bos_token / eos_token, else <s> and </s>). */
  bos?: number;
  eos?: number;
  /**
   * tokenizer_config.json, when the model folder has one: its `clean_up_tokenization_spaces`
   * (transformers' decode default) and `chat_template` apply. Without it decode returns the text
   * exactly as the tokenizers library decodes it (no clean-up), which round-trips.
   */
  config?: Json;
}

function fail(msg: string): never {
  throw new Error(`tokenizer.json: ${msg}`);
}

/** A special token as tokenizer_config.json writes it: a string, or an AddedToken object with content. */
export function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return undefined;
}

/**
 * The Rust tokenizers crate (what transformers' fast tokenizers and LongBench's decode run) turns a
 * run of byte tokens that is not valid UTF-8 into one U+FFFD per byte; Tokenizers.js decodes it with
 * a lenient TextDecoder (one U+FFFD per maximal invalid subsequence). LongBench's middle truncation
 * can cut a character's bytes, so the Rust behaviour is restored on the library's ByteFallback decoders.
 */
const perByteReplacement = {
  decode(bytes: Uint8Array): string {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return '\uFFFD'.repeat(bytes.length);
    }
  },
};

function patchByteFallback(decoder: unknown): void {
  if (!decoder || (typeof decoder !== 'object' && typeof decoder !== 'function')) return; // the library's decoders are callable objects
  const d = decoder as { config?: { type?: unknown }; text_decoder?: unknown; decoders?: unknown[] };
  if (d.config?.type === 'ByteFallback' && 'text_decoder' in d) d.text_decoder = perByteReplacement;
  for (const inner of d.decoders ?? []) patchByteFallback(inner);
}

export class JsonTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bos: number | undefined;
  readonly eos: number | undefined;
  private readonly lib: LibTokenizer;
  private readonly chat: ChatTemplateRenderer | undefined;

  constructor(json: string | Json, opts: JsonTokenizerOptions = {}) {
    const t: Json = typeof json === 'string' ? (JSON.parse(json) as Json) : json;
    if (!t || typeof t !== 'object' || typeof t.model !== 'object' || t.model === null) fail('no "model" section: is this a Hugging Face tokenizer.json?');
    const config = { clean_up_tokenization_spaces: false, ...(opts.config ?? {}) };
    try {
      this.lib = new LibTokenizer(t, config);
    } catch (e) {
      fail((e as Error).message);
    }
    patchByteFallback(this.lib.decoder);
    let max = -1;
    for (const id of this.lib.get_vocab(true).values()) max = Math.max(max, id);
    this.vocabSize = max + 1;
    const named = (k: string, fallback: string) => {
      const s = tokenContent(opts.config?.[k]) ?? fallback;
      return this.lib.token_to_id(s);
    };
    this.bos = opts.bos ?? named('bos_token', '<s>');
    this.eos = opts.eos ?? named('eos_token', '</s>');
    const template = opts.config?.chat_template;
    if (template !== undefined && template !== null) this.chat = new ChatTemplateRenderer(template, opts.config ?? {});
  }

  tokenToId(token: string): number | undefined {
    return this.lib.token_to_id(token);
  }

  idToTokenString(id: number): string | undefined {
    return this.lib.id_to_token(id);
  }

  encode(text: string, opts: { bos?: boolean; eos?: boolean } = {}): number[] {
    const ids = text.length > 0 ? this.lib.encode(text, { add_special_tokens: false }).ids : [];
    if (opts.bos) {
      if (this.bos === undefined) fail('encode: BOS was asked for, but the tokenizer has no BOS token (give bos in the model card)');
      ids.unshift(this.bos);
    }
    if (opts.eos) {
      if (this.eos === undefined) fail('encode: EOS was asked for, but the tokenizer has no EOS token (give eos in the model card)');
      ids.push(this.eos);
    }
    return ids;
  }

  /** skipSpecial (default true) drops special added tokens, as transformers' decode(skip_special_tokens=True). */
  decode(ids: readonly number[], opts: { skipSpecial?: boolean } = {}): string {
    if (ids.length === 0) return '';
    for (const id of ids) if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) fail(`decode: id ${id} is not in the vocabulary of ${this.vocabSize}`);
    return this.lib.decode([...ids], { skip_special_tokens: opts.skipSpecial ?? true });
  }

  /** Whether tokenizer_config.json gave a chat template. */
  get hasChatTemplate(): boolean {
    return this.chat !== undefined;
  }

  /** The model's chat template over `messages`, with the generation prompt (transformers' apply_chat_template(tokenize=False, add_generation_prompt=True)). */
  applyChatTemplate(messages: readonly ChatMessage[]): string {
    if (!this.chat) fail('applyChatTemplate: tokenizer_config.json has no chat_template');
    return this.chat.render(messages);
  }
}
