/**
 * A device stream: one growing [B, KV, n, D] sequence (the keys of one layer, the merged value
 * directions of one MiniCache pair, …) whose state is a few named device tensors ("slots").
 *
 * A cache method runs one graph per operation for all its streams. Each stream contributes a
 * fragment: it declares its slots as graph inputs (named `${id}.${slot}`), emits its read or
 * append computation, and names the slots that change as outputs (`${id}.${slot}.next`). Slots
 * that an operation does not change are not routed through the graph (no copy). What a fragment
 * looks like depends only on the stream's length (which slots exist, whether this append
 * flushes), so `variant()` strings make the graph key and each graph is built once.
 */
import type { ByteBreakdown } from '../methods/types.js';
import type { DeviceTensor } from './device-types.js';
import { DataType, type GraphKit } from './graph-kit.js';

export interface SlotSpec {
  type: DataType;
  /** Symbolic shape for the graph input declaration. */
  shape: readonly (number | string)[];
}

/** Slot name → graph value name; `null` removes the slot (e.g. a residual emptied by a flush). */
export type SlotUpdate = Record<string, string | null>;

export interface StreamShape {
  B: number;
  KV: number;
  D: number;
}

export function elementBytes(type: DataType): number {
  return type === DataType.FLOAT16 ? 2 : type === DataType.INT32 || type === DataType.FLOAT ? 4 : 8;
}

function count(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Named device tensors with graph-input/output naming, commit and byte counting. */
export abstract class SlotHolder {
  /** Tokens held. */
  n = 0;
  protected readonly slots = new Map<string, DeviceTensor>();

  constructor(readonly id: string, readonly shape: StreamShape) {}

  abstract slotSpec(slot: string): SlotSpec;
  /** Byte component of a slot; null for control state that is not cache payload (reported apart). */
  protected abstract component(slot: string): keyof ByteBreakdown | null;

  has(slot: string): boolean {
    return this.slots.has(slot);
  }

  slotNames(): string[] {
    return [...this.slots.keys()];
  }

  inputName(slot: string): string {
    return `${this.id}.${slot}`;
  }

  outputName(slot: string): string {
    return `${this.id}.${slot}.next`;
  }

  /** Declares a slot as a graph input (once per graph) and returns its name. */
  protected input(g: GraphKit, slot: string): string {
    const name = this.inputName(slot);
    if (!g.b.inputs.some((i) => i.name === name)) {
      const s = this.slotSpec(slot);
      // Symbolic dims get names unique to the slot: onnxruntime treats equal dim_params as equal sizes.
      g.input(name, s.type, this.symbolic(slot, s.shape));
    }
    return name;
  }

  private symbolic(slot: string, shape: readonly (number | string)[]): (number | string)[] {
    return shape.map((d, i) => (typeof d === 'number' ? d : `${this.id}_${slot}_${i}`));
  }

  /** Current tensors of the slots an emitted fragment read (all slots: fragments read what exists). */
  feeds(into: Record<string, DeviceTensor>, used: ReadonlySet<string>): void {
    for (const [slot, t] of this.slots) if (used.has(this.inputName(slot))) into[this.inputName(slot)] = t;
  }

  /** Declares the changed slots as graph outputs. */
  declareOutputs(g: GraphKit, update: SlotUpdate): void {
    for (const [slot, value] of Object.entries(update)) {
      if (value === null) continue;
      const s = this.slotSpec(slot);
      g.output(this.outputName(slot), value, s.type, this.symbolic(`${slot}_next`, s.shape));
    }
  }

  /** Takes the new slot tensors from a run's outputs; disposes the replaced ones. */
  commit(update: SlotUpdate, outputs: Record<string, DeviceTensor>, tokens: number): void {
    for (const [slot, value] of Object.entries(update)) {
      const old = this.slots.get(slot);
      if (value === null) {
        this.slots.delete(slot);
      } else {
        const t = outputs[this.outputName(slot)];
        if (!t) throw new Error(`${this.id}: the graph did not return ${this.outputName(slot)}`);
        this.slots.set(slot, t);
      }
      old?.dispose();
    }
    this.n += tokens;
  }

  /** Bytes of the tensors held, by component, with an element size override for kv payloads (packed-equivalent accounting). */
  bytes(kvBytesOverride?: number): ByteBreakdown {
    const out: ByteBreakdown = {};
    for (const [slot, t] of this.slots) {
      const c = this.component(slot);
      if (c === null) continue;
      const spec = this.slotSpec(slot);
      const el = kvBytesOverride !== undefined && spec.type !== DataType.INT32 ? kvBytesOverride : elementBytes(spec.type);
      out[c] = (out[c] ?? 0) + count(t.dims) * el;
    }
    return out;
  }

  /** Bytes of the slots `component` leaves out (control state). */
  controlBytes(): number {
    let n = 0;
    for (const [slot, t] of this.slots) if (this.component(slot) === null) n += count(t.dims) * elementBytes(this.slotSpec(slot).type);
    return n;
  }

  /** The held tensor of a slot (tests, adoption). */
  tensor(slot: string): DeviceTensor | undefined {
    return this.slots.get(slot);
  }

  dispose(): void {
    for (const t of this.slots.values()) t.dispose();
    this.slots.clear();
  }
}

/** A stream of [B,KV,n,D] vectors: read all, append some. */
export abstract class DeviceStream extends SlotHolder {
  abstract readVariant(): string;
  /** Emits the read of all n tokens; returns a float32 [B,KV,n,D] value, or the kv dtype when `asKv`. */
  abstract emitRead(g: GraphKit, asKv: boolean): string;
  abstract appendVariant(tokens: number): string;
  /** Emits the append of x (kv dtype, [B,KV,tokens,D]); returns the changed slots. */
  abstract emitAppend(g: GraphKit, x: string, tokens: number): SlotUpdate;
}

/**
 * Plain storage in the kv dtype: one slot 'data' [B,KV,n,D]; append concatenates. When the
 * stream is a whole layer of the model, `adopt` takes the model's present output as the new
 * state without any graph: present = Concat(past, new) is exactly the appended store.
 */
export class PlainStream extends DeviceStream {
  constructor(id: string, shape: StreamShape, private readonly kvType: DataType, private readonly role: 'data' | 'residual' = 'data') {
    super(id, shape);
  }

  slotSpec(): SlotSpec {
    return { type: this.kvType, shape: [this.shape.B, this.shape.KV, 'n', this.shape.D] };
  }

  protected component(): keyof ByteBreakdown {
    return this.role;
  }

  readVariant(): string {
    return this.has('data') ? 'p' : 'p0';
  }

  emitRead(g: GraphKit, asKv: boolean): string {
    if (!this.has('data')) throw new Error(`${this.id}: read of an empty stream`);
    const x = this.input(g, 'data');
    return asKv ? x : g.toF32(x);
  }

  appendVariant(): string {
    return this.has('data') ? 'p' : 'p0';
  }

  emitAppend(g: GraphKit, x: string): SlotUpdate {
    return { data: this.has('data') ? g.concat([this.input(g, 'data'), x], 2) : x };
  }

  adopt(t: DeviceTensor, tokens: number): void {
    const old = this.slots.get('data');
    this.slots.set('data', t);
    if (old && old !== t) old.dispose();
    this.n += tokens;
  }
}
