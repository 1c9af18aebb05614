/**
 * Memory for throughput workloads: what the host runner can measure (injected as a probe: src/
 * does no I/O), and the KV memory budget of the paper's Fig. 5 question ("given this much KV
 * memory, how large a batch does each method fit, and how fast does it decode?").
 */

/** One reading of the process and device memory, from the runner. */
export interface MemorySample {
  /** Peak resident set of the process since the previous sample (Node: sampled process.memoryUsage.rss()). */
  peakRssBytes?: number;
  /** Device memory in use where the runtime or driver exposes it (e.g. nvidia-smi), and where it came from. */
  deviceBytes?: number;
  deviceSource?: string;
  /**
   * Device memory at the start of the interval (the first reading after the previous sample).
   * onnxruntime keeps buffers cached between cells of one process, so the peak alone carries
   * what earlier cells left; the peak minus this is what the interval added.
   */
  deviceStartBytes?: number;
}

export type MemoryProbe = () => MemorySample | Promise<MemorySample>;

/** Largest of each field over several samples. */
export function peakOf(samples: readonly MemorySample[]): MemorySample {
  const out: MemorySample = {};
  for (const s of samples) {
    if (s.peakRssBytes !== undefined) out.peakRssBytes = Math.max(out.peakRssBytes ?? 0, s.peakRssBytes);
    if (s.deviceBytes !== undefined) {
      out.deviceBytes = Math.max(out.deviceBytes ?? 0, s.deviceBytes);
      out.deviceSource = s.deviceSource;
    }
    // The earliest start: the samples of one cell cover consecutive intervals.
    if (s.deviceStartBytes !== undefined && out.deviceStartBytes === undefined) out.deviceStartBytes = s.deviceStartBytes;
  }
  return out;
}

/** FP16 KV bytes of `batch` sequences of `seqLen` token slots (2 B per element, K and V, every layer). */
export function fp16KvBytes(g: { layers: number; kvHeads: number; headDim: number }, batch: number, seqLen: number): number {
  return 2 * g.layers * batch * g.kvHeads * seqLen * g.headDim * 2;
}

export interface KvBudget {
  bytes: number;
  /** How the budget was set, for the record. */
  source: string;
}

/**
 * The KV budget of a memory-budget cell: kvBudgetBytes, else kvBudgetMiB, else the FP16 cache of
 * `fp16Batch` sequences at the workload's lengths (the cell's batch: "what FP16 needs at batch 128").
 * Token slots held at the end of a fixed-length run: prompt + output − 1 (the last token is never appended).
 */
export function resolveKvBudget(
  params: { kvBudgetBytes?: unknown; kvBudgetMiB?: unknown },
  g: { layers: number; kvHeads: number; headDim: number },
  fp16Batch: number,
  seqLen: number,
): KvBudget {
  const positive = (v: unknown, field: string): number => {
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw new Error(`sharegpt: ${field} must be a positive number, got ${JSON.stringify(v)}`);
    return v;
  };
  if (params.kvBudgetBytes != null) return { bytes: Math.floor(positive(params.kvBudgetBytes, 'kvBudgetBytes')), source: 'kvBudgetBytes' };
  if (params.kvBudgetMiB != null) return { bytes: Math.floor(positive(params.kvBudgetMiB, 'kvBudgetMiB') * 2 ** 20), source: 'kvBudgetMiB' };
  return { bytes: fp16KvBytes(g, fp16Batch, seqLen), source: `fp16 KV of batch ${fp16Batch} at ${seqLen} tokens` };
}

/** Largest batch whose predicted peak fits: floor(budget / bytes per sequence), within [1, maxBatch]; 0 if not even one fits. */
export function batchForBudget(budgetBytes: number, bytesPerSequence: number, maxBatch: number): number {
  if (!(bytesPerSequence > 0)) throw new Error(`bytes per sequence must be positive, got ${bytesPerSequence}`);
  return Math.max(0, Math.min(maxBatch, Math.floor(budgetBytes / bytesPerSequence)));
}
