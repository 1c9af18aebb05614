/**
 * Builds an ONNX decoder graph (opset 17, standard ops only, so it runs on onnxruntime's CPU
 * and WebGPU EPs in Node and the browser) from llama2.c weights, with Hugging Face / optimum
 * I/O naming:
 *   inputs  input_ids [B,S] i64, attention_mask [B,P+S] i64, position_ids [B,S] i64,
 *           past_key_values.{i}.key|value [B,kvH,P,D] f32
 *   outputs logits [B,V] ('last') or [B,S,V] ('all'), present.{i}.key|value [B,kvH,P+S,D] f32
 *
 * RoPE uses llama2.c's interleaved pairs (channels 2i, 2i+1 rotate together), computed in the
 * graph from position_ids, so the stored K keeps the checkpoint's channel order.
 * GQA: instead of repeating KV heads, the g = heads/kvHeads query heads that share a KV head
 * are stacked along the sequence axis ([B,kvH,g*S,D]), so K/V are never copied.
 * Masking: query j (absolute slot P+j) sees slot s iff s <= P+j and attention_mask[b,s] = 1,
 * as an additive bias of -1e9 (finite: a fully padded row yields a uniform softmax, not NaN).
 */
import type { Llama2cConfig, Llama2cModel } from './llama2c.js';
import { DataType, GraphBuilder } from './onnx-graph.js';
import { attr } from './onnx-proto.js';
import { HF_IO_NAMES as N, layerName, NEW_KV_NAMES } from './io-names.js';

export { NEW_KV_NAMES } from './io-names.js';

export type LogitsMode = 'last' | 'all';

export interface BuildOptions {
  /** 'last' (default): logits of the final position only, [B,V]. 'all': [B,S,V]. */
  logits?: LogitsMode;
  ropeTheta?: number;
  rmsEps?: number;
  /** Stored as ModelProto.doc_string. */
  name?: string;
  /**
   * Element type of past/present K/V (default float32). 'float16' is an fp16 KV cache as in an
   * fp16 model: past comes in as float16, present = Concat(past, fp16(new K/V)) goes out as float16
   * (so it can be fed straight back, kept on the device), attention reads it as float32.
   */
  kvDtype?: 'float32' | 'float16';
  /**
   * 'present' (default, Hugging Face I/O): outputs present.{i}.key|value [B,KV,P+S,D], the past
   * with the new tokens appended. 'new': outputs only the new tokens' K/V as new.{i}.key|value
   * [B,KV,S,D], for callers that keep the cache themselves (the harness's host path): the
   * runtime then never copies the whole cache out of the graph every step. 'both': present and
   * new (the device path: fp16 stores adopt present, compressed stores take the new tokens
   * without slicing them out of present).
   */
  kvOutputs?: 'present' | 'new' | 'both';
}


export const ONNX_OPSET = 17;
const MASK_NEG = -1e9;


/**
 * Writes the transpose of `src` ([rows, cols], row-major) into columns
 * [colOffset, colOffset+rows) of `dst` ([cols, dstCols]): MatMul wants [in, out].
 */
function transposeInto(src: Float32Array, rows: number, cols: number, dst: Float32Array, dstCols: number, colOffset: number): void {
  for (let r = 0; r < rows; r++) {
    const s = r * cols;
    let d = colOffset + r;
    for (let c = 0; c < cols; c++, d += dstCols) dst[d] = src[s + c]!;
  }
}

/** [in, sum(out_i)] from several [out_i, in] matrices: one fused MatMul instead of several. */
function fusedTranspose(mats: readonly { data: Float32Array; rows: number }[], cols: number): Float32Array {
  const total = mats.reduce((a, m) => a + m.rows, 0);
  const dst = new Float32Array(cols * total);
  let off = 0;
  for (const m of mats) {
    transposeInto(m.data, m.rows, cols, dst, total, off);
    off += m.rows;
  }
  return dst;
}

export function buildLlamaOnnx(model: Llama2cModel, opts: BuildOptions = {}): Uint8Array {
  const c: Llama2cConfig = model.config;
  const w = model.weights;
  const { dim, hiddenDim: hid, layers: L, heads: H, kvHeads: KV, headDim: D, vocabSize: V } = c;
  const kvDim = KV * D;
  const g = H / KV;
  const theta = opts.ropeTheta ?? 10000;
  const eps = opts.rmsEps ?? 1e-5;
  const mode = opts.logits ?? 'last';
  const kvType = opts.kvDtype === 'float16' ? DataType.FLOAT16 : DataType.FLOAT;
  const newOnly = opts.kvOutputs === 'new';
  const withNew = newOnly || opts.kvOutputs === 'both';
  if (D % 2 !== 0) throw new Error(`buildLlamaOnnx: head dim ${D} must be even for RoPE`);

  const b = new GraphBuilder();
  const ids = b.input(N.inputIds, DataType.INT64, ['batch', 'seq']);
  const mask = b.input(N.attentionMask, DataType.INT64, ['batch', 'total']);
  const pos = b.input(N.positionIds, DataType.INT64, ['batch', 'seq']);
  const past: [string, string][] = [];
  for (let i = 0; i < L; i++) {
    past.push([
      b.input(layerName(N.pastKey, i), kvType, ['batch', KV, 'past', D]),
      b.input(layerName(N.pastValue, i), kvType, ['batch', KV, 'past', D]),
    ]);
  }

  // --- attention bias [B,1,g*S,T], shared by all layers
  const i64 = (v: number) => b.int64([v], []);
  const S = b.op('Gather', [b.op('Shape', [ids]), i64(1)], [attr.int('axis', 0)]);
  const T = b.op('Gather', [b.op('Shape', [mask]), i64(1)], [attr.int('axis', 0)]);
  const P = b.op('Sub', [T, S]);
  const slots = b.op('Range', [i64(0), T, i64(1)]); // [T]
  const querySlots = b.op('Unsqueeze', [b.op('Range', [P, T, i64(1)]), b.int64([1])]); // [S,1]
  const causal = b.op('LessOrEqual', [slots, querySlots]); // [S,T]
  const valid = b.op('Unsqueeze', [b.op('Cast', [mask], [attr.int('to', DataType.BOOL)]), b.int64([1, 2])]); // [B,1,1,T]
  const allowed = b.op('And', [causal, valid]); // [B,1,S,T]
  let bias = b.op('Where', [allowed, b.float([0], []), b.float([MASK_NEG], [])]);
  if (g > 1) bias = b.op('Tile', [bias, b.int64([1, 1, g, 1])]); // rows ordered (group, seq) like the stacked queries

  // --- RoPE angles [B,S,1,D/2,1], shared by all layers
  const invFreq = Array.from({ length: D / 2 }, (_, i) => 1 / Math.pow(theta, (2 * i) / D));
  const posF = b.op('Unsqueeze', [b.op('Cast', [pos], [attr.int('to', DataType.FLOAT)]), b.int64([2])]); // [B,S,1]
  const angles = b.op('Unsqueeze', [b.op('Mul', [posF, b.float(invFreq)]), b.int64([2, 4])]);
  const cos = b.op('Cos', [angles]);
  const sin = b.op('Sin', [angles]);

  const rmsNorm = (x: string, weight: string): string => {
    // Pow→ReduceMean→Add→Sqrt→Div→Mul: the pattern onnxruntime fuses into SimplifiedLayerNormalization.
    const ms = b.op('ReduceMean', [b.op('Pow', [x, b.float([2], [])])], [attr.ints('axes', [-1]), attr.int('keepdims', 1)]);
    const rms = b.op('Sqrt', [b.op('Add', [ms, b.float([eps], [])])]);
    return b.op('Mul', [b.op('Div', [x, rms]), weight]);
  };

  /** [B,S,heads*D] → rotated [B,heads,S,D]. */
  const rope = (x: string, heads: number): string => {
    const pairs = b.op('Reshape', [x, b.int64([0, 0, heads, D / 2, 2])]);
    const [x0, x1] = b.opN('Split', [pairs, b.int64([1, 1])], 2, [attr.int('axis', 4)]) as [string, string];
    const r0 = b.op('Sub', [b.op('Mul', [x0, cos]), b.op('Mul', [x1, sin])]);
    const r1 = b.op('Add', [b.op('Mul', [x0, sin]), b.op('Mul', [x1, cos])]);
    const rotated = b.op('Reshape', [b.op('Concat', [r0, r1], [attr.int('axis', 4)]), b.int64([0, 0, heads, D])]);
    return b.op('Transpose', [rotated], [attr.ints('perm', [0, 2, 1, 3])]);
  };

  const emb = b.weight('tok_embeddings', [V, dim], w.tokenEmbedding);
  let x = b.op('Gather', [emb, ids], [attr.int('axis', 0)]); // [B,S,dim]
  const scale = b.float([1 / Math.sqrt(D)], []);

  for (let l = 0; l < L; l++) {
    const at = (a: Float32Array, n: number) => a.subarray(l * n, (l + 1) * n);
    const wqkv = fusedTranspose(
      [
        { data: at(w.wq, dim * dim), rows: dim },
        { data: at(w.wk, kvDim * dim), rows: kvDim },
        { data: at(w.wv, kvDim * dim), rows: kvDim },
      ],
      dim,
    );
    const wqkvName = b.weight(`layers.${l}.attention.wqkv`, [dim, dim + 2 * kvDim], wqkv);
    const woName = b.weight(`layers.${l}.attention.wo`, [dim, dim], fusedTranspose([{ data: at(w.wo, dim * dim), rows: dim }], dim));
    const w13 = fusedTranspose(
      [
        { data: at(w.w1, hid * dim), rows: hid },
        { data: at(w.w3, hid * dim), rows: hid },
      ],
      dim,
    );
    const w13Name = b.weight(`layers.${l}.feed_forward.w13`, [dim, 2 * hid], w13);
    const w2Name = b.weight(`layers.${l}.feed_forward.w2`, [hid, dim], fusedTranspose([{ data: at(w.w2, dim * hid), rows: dim }], hid));
    const attNorm = b.weight(`layers.${l}.attention_norm`, [dim], at(w.rmsAtt, dim));
    const ffnNorm = b.weight(`layers.${l}.ffn_norm`, [dim], at(w.rmsFfn, dim));

    // attention
    const h = rmsNorm(x, attNorm);
    const [q, k, v] = b.opN('Split', [b.op('MatMul', [h, wqkvName]), b.int64([dim, kvDim, kvDim])], 3, [attr.int('axis', -1)]) as [string, string, string];
    const qh = rope(q, H); // [B,H,S,D]
    const kh = rope(k, KV); // [B,KV,S,D]
    const vh = b.op('Transpose', [b.op('Reshape', [v, b.int64([0, 0, KV, D])])], [attr.ints('perm', [0, 2, 1, 3])]);
    const [pastK, pastV] = past[l]!;
    let keys: string;
    let values: string;
    const presentName = (t: string) => (newOnly ? undefined : layerName(t, l));
    if (kvType === DataType.FLOAT) {
      keys = b.op('Concat', [pastK, kh], [attr.int('axis', 2)], presentName(N.presentKey)); // [B,KV,T,D]
      values = b.op('Concat', [pastV, vh], [attr.int('axis', 2)], presentName(N.presentValue));
      if (withNew) {
        b.op('Identity', [kh], undefined, layerName(NEW_KV_NAMES.key, l));
        b.op('Identity', [vh], undefined, layerName(NEW_KV_NAMES.value, l));
      }
    } else {
      const half = (x: string, name?: string) => b.op('Cast', [x], [attr.int('to', DataType.FLOAT16)], name);
      const toFloat = (x: string) => b.op('Cast', [x], [attr.int('to', DataType.FLOAT)]);
      const kNew = half(kh, withNew ? layerName(NEW_KV_NAMES.key, l) : undefined);
      const vNew = half(vh, withNew ? layerName(NEW_KV_NAMES.value, l) : undefined);
      keys = toFloat(b.op('Concat', [pastK, kNew], [attr.int('axis', 2)], presentName(N.presentKey)));
      values = toFloat(b.op('Concat', [pastV, vNew], [attr.int('axis', 2)], presentName(N.presentValue)));
    }
    const qg = g > 1 ? b.op('Reshape', [qh, b.int64([0, KV, -1, D])]) : qh; // [B,KV,g*S,D]
    const scores = b.op('MatMul', [qg, b.op('Transpose', [keys], [attr.ints('perm', [0, 1, 3, 2])])]); // [B,KV,g*S,T]
    const probs = b.op('Softmax', [b.op('Add', [b.op('Mul', [scores, scale]), bias])], [attr.int('axis', -1)]);
    const ctx = b.op('MatMul', [probs, values]); // [B,KV,g*S,D]
    const ctxH = g > 1 ? b.op('Reshape', [ctx, b.int64([0, H, -1, D])]) : ctx; // [B,H,S,D]
    const merged = b.op('Reshape', [b.op('Transpose', [ctxH], [attr.ints('perm', [0, 2, 1, 3])]), b.int64([0, 0, dim])]);
    x = b.op('Add', [x, b.op('MatMul', [merged, woName])]);

    // SwiGLU feed-forward: w2(silu(w1 x) * w3 x)
    const h2 = rmsNorm(x, ffnNorm);
    const [gate, up] = b.opN('Split', [b.op('MatMul', [h2, w13Name]), b.int64([hid, hid])], 2, [attr.int('axis', -1)]) as [string, string];
    const act = b.op('Mul', [b.op('Mul', [gate, b.op('Sigmoid', [gate])]), up]);
    x = b.op('Add', [x, b.op('MatMul', [act, w2Name])]);
  }

  const xf = rmsNorm(x, b.weight('norm', [dim], w.rmsFinal));
  // Gemm with transB reads the [V, dim] classifier as stored, so a tied classifier shares the embedding.
  const cls = w.wcls ? b.weight('output', [V, dim], w.wcls) : emb;
  if (mode === 'last') {
    const lastX = b.op('Gather', [xf, i64(-1)], [attr.int('axis', 1)]); // [B,dim]
    b.op('Gemm', [lastX, cls], [attr.int('transB', 1)], N.logits);
    b.output(N.logits, DataType.FLOAT, ['batch', V]);
  } else {
    const flat = b.op('Gemm', [b.op('Reshape', [xf, b.int64([-1, dim])]), cls], [attr.int('transB', 1)]);
    const shape = b.op('Concat', [b.op('Shape', [ids]), b.int64([V])], [attr.int('axis', 0)]);
    b.op('Reshape', [flat, shape], undefined, N.logits);
    b.output(N.logits, DataType.FLOAT, ['batch', 'seq', V]);
  }
  for (let i = 0; i < L; i++) {
    if (!newOnly) {
      b.output(layerName(N.presentKey, i), kvType, ['batch', KV, 'total', D]);
      b.output(layerName(N.presentValue, i), kvType, ['batch', KV, 'total', D]);
    }
    if (withNew) {
      b.output(layerName(NEW_KV_NAMES.key, i), kvType, ['batch', KV, 'seq', D]);
      b.output(layerName(NEW_KV_NAMES.value, i), kvType, ['batch', KV, 'seq', D]);
    }
  }

  return b.encode({
    irVersion: 8,
    opsets: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'minicache-bench',
    graphName: 'llama2c_decoder',
    docString: opts.name,
    metadata: {
      layers: String(L),
      heads: String(H),
      kv_heads: String(KV),
      head_dim: String(D),
      vocab_size: String(V),
      logits: mode,
      rope: 'interleaved',
      ...(kvType === DataType.FLOAT16 ? { kv_dtype: 'float16' } : {}),
    },
  });
}
