import type { KVBlock } from './kv-block.js';

/** What the engine needs to know about a model. */
export interface ModelInfo {
  name: string;
  layers: number;
  /** Query heads and KV heads (grouped-query attention when they differ). */
  heads: number;
  kvHeads: number;
  headDim: number;
  vocabSize: number;
  /** Longest context (prompt + generated) the model was trained for. */
  maxContext: number;
  bos: number;
  /** Token ids that end a sequence. */
  eos: number[];
  /** Bytes of the model weights as loaded (reported beside cache bytes). */
  weightBytes: number;
  /** 'dummy': seeded values in the model's shapes (throughput and memory only); absent for real weights. */
  weights?: 'dummy';
}

/**
 * One forward pass over `tokens` new tokens per sequence on top of a past of P tokens.
 * Sequences are left-padded: padded slots have attention_mask 0.
 */
export interface ForwardRequest {
  batch: number;
  tokens: number;
  /** [B, T] */
  inputIds: BigInt64Array;
  /** [B, P + T] */
  attentionMask: BigInt64Array;
  /** [B, T] */
  positionIds: BigInt64Array;
  /** One block per layer with tokens = P (P may be 0). */
  past: readonly KVBlock[];
  /** Return logits of every position ([B, T, V]) instead of the last one only ([B, V]). */
  allLogits?: boolean;
}

export interface ForwardResult {
  /** [B, V] (last position), or [B, T, V] when allLogits was asked for. */
  logits: Float32Array;
  /** One block per layer holding only the T new tokens' exact K/V. */
  present: KVBlock[];
}

/** A runtime that runs a decoder model. One implementation per runtime, injected into the engine. */
export interface InferenceBackend {
  readonly model: ModelInfo;
  /** e.g. 'cpu', 'webgpu', 'cuda', 'wasm' */
  readonly executionProvider: string;
  forward(req: ForwardRequest): Promise<ForwardResult>;
  dispose(): Promise<void>;
}

/** One message of a chat, as chat templates take them. */
export interface ChatMessage {
  role: string;
  content: string;
}

/** Turns text into token ids and back. Implementations: llama2.c tokenizer.bin, HF tokenizer.json (through @huggingface/tokenizers). */
export interface Tokenizer {
  readonly vocabSize: number;
  /** Encode text; `bos` prepends the BOS id. */
  encode(text: string, opts?: { bos?: boolean }): number[];
  decode(ids: readonly number[], opts?: { skipSpecial?: boolean }): string;
  /** The model's own chat template (tokenizer_config.json), where the model folder has one. */
  applyChatTemplate?(messages: readonly ChatMessage[]): string;
}
