/**
 * Builds each cache-op graph once per variant key and remembers what a later run needs without
 * rebuilding it: the input names to feed and the slot updates to commit. Per decode step the
 * host then only assembles feeds from the current slot tensors and calls the runtime.
 */
import type { DeviceTensor, GraphExec, GraphSpec } from './device-types.js';
import { DataType, GraphKit, type KvDtype } from './graph-kit.js';
import type { SlotUpdate } from './stream.js';

export interface BuiltOp {
  spec: GraphSpec;
  inputs: ReadonlySet<string>;
  /** Per participant (stream / pair record, in the order the builder listed them), the slots it changes. */
  updates: SlotUpdate[];
  /** The graph's kind for timings: the variant key's leading word and phase (restore, mergeD, retainD…). */
  kind: string;
}

/** Host-side time spent in each kind of graph (with a fence it includes the graph's device work). */
export type OpTimings = Record<string, { runs: number; ms: number }>;

export interface OpBuild {
  g: GraphKit;
  updates: SlotUpdate[];
  hostOutputs?: string[];
}

/** Name of the one-element output a fenced graph returns to the host (see OpCache). */
export const FENCE = 'fence';

export class OpCache {
  private readonly built = new Map<string, BuiltOp>();
  readonly timings: OpTimings = {};

  /**
   * @param fence when true every graph also returns a one-element host output computed from its
   * last output: reading it waits for the graph's device work, so the host-side timing of a cache
   * op covers its GPU execution (without it, GPU EPs return before the work is done and the time
   * would show up in the next model run instead).
   */
  /**
   * @param scope identifies the method instance's graph family (method, parameters, geometry):
   * the runtime caches sessions by key across methods, so keys must not collide between them.
   */
  constructor(readonly kv: KvDtype, readonly fence: boolean, private readonly scope: string) {}

  get(variant: string, build: (g: GraphKit) => Omit<OpBuild, 'g'>): BuiltOp {
    const key = `${this.scope}|${this.kv}|${this.fence ? 'F' : ''}|${variant}`;
    const hit = this.built.get(key);
    if (hit) return hit;
    const g = new GraphKit(this.kv);
    const { updates, hostOutputs = [] } = build(g);
    // A graph that already returns something to the host is fenced by reading it.
    if (this.fence && g.b.outputs.length > 0 && hostOutputs.length === 0) {
      const last = g.b.outputs[g.b.outputs.length - 1]!;
      const flat = g.reshape(g.toF32(last.name), [-1]);
      g.output(FENCE, g.slice(flat, 0, 0, 1), DataType.FLOAT, [1]);
      hostOutputs.push(FENCE);
    }
    const bytes = g.encode(variant.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 60));
    const op: BuiltOp = {
      spec: { key, build: () => bytes, hostOutputs },
      inputs: new Set(g.b.inputs.map((i) => i.name)),
      updates,
      kind: /^[a-z]+[PD]?/.exec(variant)?.[0] ?? variant,
    };
    this.built.set(key, op);
    return op;
  }

  /** Runs a built op; feeds are filtered to the graph's inputs (fragments read only some slots). */
  async run(exec: GraphExec, op: BuiltOp, available: Readonly<Record<string, DeviceTensor>>): Promise<Record<string, DeviceTensor>> {
    const feeds: Record<string, DeviceTensor> = {};
    for (const name of op.inputs) {
      const t = available[name];
      if (!t) throw new Error(`cache op ${op.spec.key}: no tensor for input ${name}`);
      feeds[name] = t;
    }
    const t0 = performance.now();
    const out = await exec.run(op.spec, feeds);
    const fence = out[FENCE];
    if (fence) {
      await exec.read(fence);
      fence.dispose();
      delete out[FENCE];
    }
    const t = (this.timings[op.kind] ??= { runs: 0, ms: 0 });
    t.runs++;
    t.ms += performance.now() - t0;
    return out;
  }

  get size(): number {
    return this.built.size;
  }
}
