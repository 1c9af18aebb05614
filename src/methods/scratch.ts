import type { MergeRows } from '../kernels/slerp.js';

/**
 * Reusable work buffers, grown on demand and never shrunk, so a decode step allocates nothing
 * but array views. One per method instance; callers must not hold a buffer across calls that
 * may reuse the same name.
 */
export class Scratch {
  private readonly floats = new Map<string, Float32Array>();
  private readonly bytes = new Map<string, Uint8Array>();
  private readonly ints = new Map<string, Int32Array>();

  f32(name: string, n: number): Float32Array {
    return grow(this.floats, name, n, (k) => new Float32Array(k));
  }

  u8(name: string, n: number): Uint8Array {
    return grow(this.bytes, name, n, (k) => new Uint8Array(k));
  }

  i32(name: string, n: number): Int32Array {
    return grow(this.ints, name, n, (k) => new Int32Array(k));
  }

  mergeRows(rows: number, width: number): MergeRows {
    return {
      dir: this.f32('merge.dir', rows * width),
      magPrev: this.f32('merge.magPrev', rows),
      magCur: this.f32('merge.magCur', rows),
      d: this.f32('merge.d', rows),
      cos: this.f32('merge.cos', rows),
      forced: this.u8('merge.forced', rows),
    };
  }
}

function grow<T extends Float32Array | Uint8Array | Int32Array>(map: Map<string, T>, name: string, n: number, make: (k: number) => T): T {
  let a = map.get(name);
  if (!a || a.length < n) {
    a = make(Math.max(n, a ? a.length * 2 : 0));
    map.set(name, a);
  }
  return a.subarray(0, n) as T;
}
