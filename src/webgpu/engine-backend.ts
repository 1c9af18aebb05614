/**
 * The engine as an InferenceBackend: one forward pass with the past given by the host. This is
 * the path for cache methods that have no store on the device (the host method restores the
 * past, it is uploaded as float32, the new tokens' K/V come back): every suite runs on the
 * engine, slowly, and records say so (metrics.cachePath 'engine-host'). It also serves
 * workloads that call forward() directly (similarity).
 *
 * Supported passes: a prefill (no past, any number of tokens) and a decode step (one token on a
 * past). The attention mask must be left padding (zeros, then ones) and the positions the ones
 * the harness makes from it (max(0, slot − first real slot)).
 */
import type { ForwardRequest, ForwardResult, InferenceBackend, ModelInfo } from '../engine/backend.js';
import type { KVBlock } from '../engine/kv-block.js';
import type { EngineBuffer } from './gpu-context.js';
import type { WebGpuEngine } from './engine.js';
import { decodePartialBytes, f32PastReader } from './kernels/attention.js';
import { MatmulOp, sharedPartialBytes } from './kernels/matmul.js';
import { encodeRows, rmsnormWgsl } from './kernels/norm-embed.js';
import { ropeTable } from './kernels/rope.js';
import { buildLayerStack, stackShapes } from './layer-stack.js';
import { paddedHidden } from './model.js';

/** Per-sequence first real slot, from a left-padded mask [B, n]; throws on any other mask. */
export function startsFromMask(mask: BigInt64Array, B: number, n: number): Uint32Array {
  const starts = new Uint32Array(B);
  for (let b = 0; b < B; b++) {
    let s = 0;
    while (s < n && mask[b * n + s] === 0n) s++;
    for (let j = s; j < n; j++) {
      if (mask[b * n + j] !== 1n) throw new Error(`webgpu engine: attention mask row ${b} is not left padding (zeros then ones)`);
    }
    starts[b] = s;
  }
  return starts;
}

export class EngineBackend implements InferenceBackend {
  readonly executionProvider = 'webgpu';

  constructor(private readonly engine: WebGpuEngine) {}

  get model(): ModelInfo {
    return this.engine.model;
  }

  async forward(req: ForwardRequest): Promise<ForwardResult> {
    const eng = this.engine;
    const ctx = eng.ctx;
    const cfg = eng.config;
    const { batch: B, tokens: T } = req;
    const P = req.past[0]?.tokens ?? 0;
    if (P > 0 && T !== 1) throw new Error(`webgpu engine: a forward on a past of ${P} tokens takes one new token, got ${T}`);
    if (req.past.length !== cfg.layers) throw new Error(`webgpu engine: ${req.past.length} past blocks for ${cfg.layers} layers`);
    const { dim, heads: H, kvHeads: KV, headDim: D, vocabSize: V, layers: L } = cfg;
    const hid = paddedHidden(cfg);
    const R = (H + 2 * KV) * D;
    const M = B * T;
    const n = P + T;
    const starts = startsFromMask(req.attentionMask, B, n);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const want = Math.max(0, P + t - starts[b]!);
        if (Number(req.positionIds[b * T + t]) !== want) throw new Error(`webgpu engine: position ${req.positionIds[b * T + t]} of sequence ${b}, token ${t}, is not the left-padded position ${want}`);
      }
    }
    const bufs: EngineBuffer[] = [];
    const alloc = (size: number, label: string) => {
      const x = ctx.alloc('scratch', size, label);
      bufs.push(x);
      return x;
    };
    try {
      const x = alloc(M * dim * 4, 'x');
      const h = alloc(M * dim * 4, 'h');
      const qkv = alloc(M * R * 4, 'qkv');
      const att = alloc(M * dim * 4, 'att');
      const act = alloc(M * hid * 4, 'act');
      const cosSin = alloc(n * D * 4, 'rope');
      ctx.write(cosSin, ropeTable(n, D, cfg.invFreq));
      const st = alloc(B * 4, 'starts');
      ctx.write(st, starts);
      const prm = alloc(16, 'prm');
      ctx.write(prm, Uint32Array.of(P, 0, 0, 0));
      const ids = alloc(M * 4, 'ids');
      ctx.write(ids, Uint32Array.from(req.inputIds, (v) => Number(v)));
      const kvOut = Array.from({ length: L }, (_, l) => alloc(M * 2 * KV * D * 4, `new kv ${l}`));
      let pastK: EngineBuffer[] = [];
      let pastV: EngineBuffer[] = [];
      if (P > 0) {
        pastK = req.past.map((blk, l) => {
          const k = alloc(blk.k.byteLength, `past k ${l}`);
          ctx.write(k, blk.k);
          return k;
        });
        pastV = req.past.map((blk, l) => {
          const v = alloc(blk.v.byteLength, `past v ${l}`);
          ctx.write(v, blk.v);
          return v;
        });
      }
      const partial = P > 0 ? alloc(decodePartialBytes({ heads: H, kvHeads: KV, headDim: D, batch: B, cap: n }), 'attention partials') : undefined;
      const rows = req.allLogits ? M : B;
      const clsShape = { M: rows, N: V, K: dim, epilogue: 'store' } as const;
      const splitBytes = sharedPartialBytes(ctx, [...stackShapes(cfg, M), clsShape]);
      const splitK = splitBytes > 0 ? alloc(splitBytes, 'split-K partials') : undefined;
      const body = buildLayerStack(ctx, cfg, eng.weights, { x, h, qkv, att, act, cosSin, starts: st, ...(partial ? { partial } : {}), ...(splitK ? { splitK } : {}) }, {
        M,
        T,
        batch: B,
        prm,
        ids,
        // the cache capacity only matters to fp16 writes: 0 keeps one pipeline for every step
        cap: 0,
        attentionCap: n,
        ropeWrite: 'f32',
        ropeOut: (l) => [kvOut[l]!.buffer],
        ...(P > 0 ? { reader: (l: number) => ({ reader: f32PastReader({ kvHeads: KV, headDim: D }), buffers: [pastK[l]!.buffer, pastV[l]!.buffer] }) } : {}),
      });
      const last = alloc(rows * dim * 4, 'last');
      const normP = ctx.pipeline(rmsnormWgsl(req.allLogits ? { rows, dim, eps: cfg.rmsEps } : { rows, dim, eps: cfg.rmsEps, inStride: T, inOffset: T - 1 }), 'rmsnorm final');
      const normG = ctx.bindGroup(normP, [x, eng.weights.norm, last]);
      const logits = alloc(rows * V * 4, 'logits');
      const cls = new MatmulOp(ctx, clsShape, last.buffer, eng.weights.cls.buffer, logits.buffer, 'classifier', undefined, splitK?.buffer);
      const enc = ctx.device.createCommandEncoder();
      const pass = enc.beginComputePass();
      body(pass);
      encodeRows(pass, normP, normG, rows);
      cls.encode(pass);
      pass.end();
      ctx.device.queue.submit([enc.finish()]);
      const out = await ctx.readF32(logits, rows * V);
      ctx.throwIfDeviceError(); // a refused buffer or dispatch leaves these logits unwritten
      const present: KVBlock[] = [];
      for (let l = 0; l < L; l++) {
        const rowsKv = await ctx.readF32(kvOut[l]!, M * 2 * KV * D);
        const k = new Float32Array(B * KV * T * D);
        const v = new Float32Array(B * KV * T * D);
        for (let b = 0; b < B; b++) {
          for (let t = 0; t < T; t++) {
            const src = (b * T + t) * 2 * KV * D;
            for (let kh = 0; kh < KV; kh++) {
              const dst = ((b * KV + kh) * T + t) * D;
              k.set(rowsKv.subarray(src + kh * D, src + (kh + 1) * D), dst);
              v.set(rowsKv.subarray(src + (KV + kh) * D, src + (KV + kh + 1) * D), dst);
            }
          }
        }
        present.push({ k, v, tokens: T });
      }
      return { logits: out, present };
    } finally {
      for (const b of bufs) b.destroy();
    }
  }

  async dispose(): Promise<void> {
    this.engine.dispose();
  }
}
