/**
 * packWords / unpackWords (the device's b-bit code packing) against the reference bit layout
 * (spec §3.2: element j at bit offset b·j of a 32-bit word), on words that exercise every sign
 * case of the int32 arithmetic: the top bit set, a zero or all-ones half, the extremes of int32.
 * Runs on the CPU EP, and on the WebGPU EP where VK_DRIVER_FILES names a Vulkan driver
 * (vitest.config.ts names Chromium's SwiftShader where no other is named).
 */
import * as ort from 'onnxruntime-node';
import { describe, expect } from 'vitest';
import { DataType, GraphKit, packWords, unpackWords } from '../../src/gpu/graph-kit.js';
import { rng } from './helpers.js';
import { itWith, PARTS } from '../support/parts.js';


function referenceWord(codes: readonly number[], bits: number): number {
  let w = 0;
  codes.forEach((c, j) => (w += c * 2 ** (bits * j)));
  return w | 0; // the reference's Uint32 word, read as int32
}

function wordsFor(bits: number): number[][] {
  const per = 32 / bits;
  const max = 2 ** bits - 1;
  const rows: number[][] = [
    Array(per).fill(0),
    Array(per).fill(max), // −1
    Array.from({ length: per }, (_, j) => (j === per - 1 ? 2 ** (bits - 1) : 0)), // int32 minimum
    Array.from({ length: per }, (_, j) => (j === per - 1 ? 2 ** (bits - 1) - 1 : max)), // int32 maximum
    Array.from({ length: per }, (_, j) => (j < per / 2 ? max : 0)), // low half all ones
    Array.from({ length: per }, (_, j) => (j < per / 2 ? 0 : max)), // high half all ones, low zero
    Array.from({ length: per }, (_, j) => (j < per / 2 ? 0 : j === per - 1 ? max : 0)), // negative word, low half zero
  ];
  const rnd = rng(bits);
  for (let i = 0; i < 57; i++) rows.push(Array.from({ length: per }, () => Math.floor(rnd() * (max + 1))));
  return rows;
}

async function roundTrip(ep: 'cpu' | 'webgpu', bits: number, rows: number[][]): Promise<{ words: Int32Array; codes: Float32Array }> {
  const per = 32 / bits;
  const g = new GraphKit('float32');
  const codes = g.input('codes', DataType.FLOAT, [rows.length, per]);
  const words = packWords(g, codes, bits, [rows.length]);
  g.output('words', words, DataType.INT32, [rows.length]);
  g.output('back', unpackWords(g, g.input('packed', DataType.INT32, [rows.length]), bits, [rows.length]), DataType.FLOAT, [rows.length, per]);
  const session = await ort.InferenceSession.create(g.encode('pack'), {
    executionProviders: [ep],
    ...(ep === 'webgpu' ? { extra: { session: { disable_cpu_ep_fallback: '1' } } } : {}),
  });
  const packed = Int32Array.from(rows.map((r) => referenceWord(r, bits)));
  const out = await session.run({
    codes: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, per]),
    packed: new ort.Tensor('int32', packed, [rows.length]),
  });
  const result = { words: out.words!.data as Int32Array, codes: out.back!.data as Float32Array };
  await session.release();
  return result;
}

describe('device code packing', () => {
  for (const ep of ['cpu', 'webgpu'] as const) {
    for (const bits of [2, 4, 8]) {
      itWith(ep === 'webgpu' ? [PARTS.vulkan] : [], `${ep}: ${bits}-bit words match the reference layout both ways`, async () => {
        const rows = wordsFor(bits);
        const { words, codes } = await roundTrip(ep, bits, rows);
        expect(Array.from(words)).toEqual(rows.map((r) => referenceWord(r, bits)));
        expect(Array.from(codes)).toEqual(rows.flat());
      });
    }
  }
});
