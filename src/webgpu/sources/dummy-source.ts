/**
 * Dummy weights (vLLM's `--load-format dummy`): a model card with a known model's config.json and
 * `weights: dummy` runs in that model's shapes with seeded values, since throughput and memory
 * depend on shapes, not on weight values. The values are made on the device by the fill kernel
 * (fill-weights.ts): every matrix N(0, 0.02²) — the initializer range LLaMA and Mistral train from —
 * and every norm weight 1. With unit-RMS inputs each projection's output has std 0.02·√fan-in
 * (≈1.3 at width 4096), so activations grow only by √layers through the residual stream and stay
 * far inside fp16's range through 32 layers (tests check logits stay finite on a 32-layer shape).
 */
import type { WeightSource } from '../model.js';

export const DUMMY_STD = 0.02;

export function dummyWeightSource(seed: number): WeightSource {
  const never = () => Promise.reject(new Error('dummy weights are made on the device (fill-weights.ts), never read'));
  return { global: never, layer: never, dummy: { seed, std: DUMMY_STD, norm: 1 } };
}
