/**
 * Runtime-independent halves of a decoder forward pass: checking a ForwardRequest against the
 * model, and cutting graph outputs down to what ForwardResult promises (last-position logits;
 * present K/V of the new tokens only). Shared by the Node (onnxruntime-node) and browser backends.
 */
import type { ForwardRequest, ModelInfo } from '../engine/backend.js';

/** Past length P of a request, after checking every array length against B, T and the model. */
export function checkForwardRequest(req: ForwardRequest, m: ModelInfo): number {
  const { batch: B, tokens: T } = req;
  const fail = (msg: string): never => {
    throw new Error(`forward: ${msg}`);
  };
  if (!(B > 0 && T > 0)) fail(`batch ${B} and tokens ${T} must be positive`);
  if (req.inputIds.length !== B * T) fail(`inputIds has ${req.inputIds.length} ids, expected batch*tokens = ${B * T}`);
  if (req.positionIds.length !== B * T) fail(`positionIds has ${req.positionIds.length} entries, expected ${B * T}`);
  if (req.past.length !== m.layers) fail(`past has ${req.past.length} blocks, the model has ${m.layers} layers`);
  const P = req.past[0]!.tokens;
  const per = B * m.kvHeads * m.headDim;
  req.past.forEach((blk, i) => {
    if (blk.tokens !== P) fail(`past[${i}] holds ${blk.tokens} tokens, past[0] holds ${P}`);
    if (blk.k.length !== per * P || blk.v.length !== per * P) fail(`past[${i}] k/v have ${blk.k.length}/${blk.v.length} floats, expected ${per * P}`);
  });
  if (req.attentionMask.length !== B * (P + T)) fail(`attentionMask has ${req.attentionMask.length} entries, expected batch*(past+tokens) = ${B * (P + T)}`);
  return P;
}

/**
 * The last `take` token slots of a [rows, total, D] tensor (rows = batch*kvHeads), as a new
 * [rows, take, D] array. Returns the input itself when nothing needs cutting.
 */
export function lastTokens(data: Float32Array, rows: number, total: number, take: number, D: number): Float32Array {
  if (data.length !== rows * total * D) throw new Error(`lastTokens: ${data.length} floats is not ${rows}x${total}x${D}`);
  if (take === total) return data;
  const out = new Float32Array(rows * take * D);
  const skip = (total - take) * D;
  for (let r = 0; r < rows; r++) {
    const src = r * total * D + skip;
    out.set(data.subarray(src, src + take * D), r * take * D);
  }
  return out;
}

/**
 * Logits [B, V] of the last position from [B, S, V'] (or [B, V']) model output; columns past
 * `V` (a vocabulary padded by the exporter) are dropped.
 */
export function lastPositionLogits(data: Float32Array, dims: readonly number[], V: number): Float32Array {
  const B = dims[0]!;
  const Vo = dims[dims.length - 1]!;
  const S = dims.length === 3 ? dims[1]! : 1;
  if (dims.length !== 2 && dims.length !== 3) throw new Error(`logits: expected rank 2 or 3, got dims [${dims.join(', ')}]`);
  if (Vo < V) throw new Error(`logits: last dimension ${Vo} is smaller than the model's vocabulary ${V}`);
  if (S === 1 && Vo === V) return data;
  const out = new Float32Array(B * V);
  for (let b = 0; b < B; b++) {
    const src = (b * S + S - 1) * Vo;
    out.set(data.subarray(src, src + V), b * V);
  }
  return out;
}

/** All-position logits [B, S, V] from [B, S, V'] output (drops padded vocabulary columns). */
export function allPositionLogits(data: Float32Array, dims: readonly number[], V: number): Float32Array {
  if (dims.length !== 3) throw new Error(`logits: all positions were asked for, but the model returns dims [${dims.join(', ')}]`);
  const [B, S, Vo] = dims as [number, number, number];
  if (Vo < V) throw new Error(`logits: last dimension ${Vo} is smaller than the model's vocabulary ${V}`);
  if (Vo === V) return data;
  const out = new Float32Array(B * S * V);
  for (let r = 0; r < B * S; r++) out.set(data.subarray(r * Vo, r * Vo + V), r * V);
  return out;
}
