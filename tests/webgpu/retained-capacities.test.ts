import { describe, expect, it } from 'vitest';
import { CHECK_EVERY, GROW_AHEAD, grownCapacities } from '../../src/webgpu/minicache-store.js';

const u32 = (...x: number[]) => Uint32Array.from(x);
const lists = (k: number[], v: number[]) => ({ k: u32(...k), v: u32(...v) });

describe("MiniCache's retained lists at a check (grownCapacities)", () => {
  it('the constants the numbers below assume', () => {
    expect([CHECK_EVERY, GROW_AHEAD]).toEqual([8, 64]);
  });

  it('no list could fill before the next check: the pair stays, even where a rate would fill one soon', () => {
    // K list 0 retains 20 in 64 steps: it would fill its 40 within 64 steps, but 20 + 17 ≤ 40
    expect(grownCapacities(lists([20, 5], [0, 0]), lists([0, 5], [0, 0]), lists([40, 40], [24, 24]), 64)).toBeNull();
  });

  it('one list short: it doubles; lists its rate would fill within GROW_AHEAD steps grow too, in K and V; idle and slow lists stay', () => {
    // counts now, after the prefill, capacities; 64 decode steps since the prefill
    const g = grownCapacities(lists([30, 5, 20, 12], [20, 0, 0, 0]), lists([0, 5, 0, 10], [0, 0, 0, 0]), lists([40, 40, 40, 40], [40, 24, 24, 24]), 64);
    // K 0: 30 + 17 > 40, short; rate 30/64 → 30 ahead: max(2·40, 30 + 32 + 30 → 96)
    // K 1: idle since the prefill: stays. K 3: 2 in 64 steps → 2 ahead, 12 + 17 + 2 ≤ 40: stays
    // K 2 and V 0: 20 + 17 ≤ 40, but 20/64 a step fills them within 64 steps: max(80, 72)
    expect(g && [...g.k]).toEqual([96, 40, 80, 40]);
    expect(g && [...g.v]).toEqual([80, 24, 24, 24]);
  });

  it('at the first check after the prefill (no decode steps yet) nothing grows ahead', () => {
    const g = grownCapacities(lists([24, 20], [0, 0]), lists([0, 0], [0, 0]), lists([40, 40], [24, 24]), 0);
    // 24 + 17 > 40: doubles; 20 + 17 ≤ 40 and no rate yet: stays
    expect(g && [...g.k]).toEqual([80, 40]);
    expect(g && [...g.v]).toEqual([24, 24]);
  });
});
