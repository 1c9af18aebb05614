/**
 * A tiny graph-building helper over onnx-proto: adds nodes with fresh output names and
 * de-duplicates small constants, so a model builder reads like the computation it encodes.
 */
import {
  DataType,
  encodeModel,
  floatTensor,
  int64Tensor,
  type AttributeInit,
  type ModelInit,
  type NodeInit,
  type TensorInit,
  type ValueInfoInit,
} from './onnx-proto.js';

export class GraphBuilder {
  readonly nodes: NodeInit[] = [];
  readonly initializers: TensorInit[] = [];
  readonly inputs: ValueInfoInit[] = [];
  readonly outputs: ValueInfoInit[] = [];
  private readonly constCache = new Map<string, string>();
  private counter = 0;

  /** Adds a node with one output and returns that output's name. */
  op(opType: string, inputs: readonly string[], attributes?: readonly AttributeInit[], outName?: string): string {
    const out = outName ?? `${opType.toLowerCase()}_${this.counter++}`;
    this.nodes.push({ opType, inputs, outputs: [out], name: `n${this.nodes.length}_${opType}`, attributes });
    return out;
  }

  /** Adds a node with several outputs. */
  opN(opType: string, inputs: readonly string[], nOut: number, attributes?: readonly AttributeInit[]): string[] {
    const outs = Array.from({ length: nOut }, (_, i) => `${opType.toLowerCase()}_${this.counter}_${i}`);
    this.counter++;
    this.nodes.push({ opType, inputs, outputs: outs, name: `n${this.nodes.length}_${opType}`, attributes });
    return outs;
  }

  weight(name: string, dims: readonly number[], data: Float32Array): string {
    this.initializers.push(floatTensor(name, dims, data));
    return name;
  }

  /** An int64 constant (dims [] for a scalar), shared when the same value is asked for twice. */
  int64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i64:${dims.join('x')}:${values.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = `const_i64_${this.constCache.size}`;
    this.initializers.push(int64Tensor(name, dims, values));
    this.constCache.set(key, name);
    return name;
  }

  float(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `f32:${dims.join('x')}:${values.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = `const_f32_${this.constCache.size}`;
    this.initializers.push(floatTensor(name, dims, Float32Array.from(values)));
    this.constCache.set(key, name);
    return name;
  }

  input(name: string, elemType: DataType, shape: readonly (number | string)[]): string {
    this.inputs.push({ name, elemType, shape });
    return name;
  }

  output(name: string, elemType: DataType, shape: readonly (number | string)[]): void {
    this.outputs.push({ name, elemType, shape });
  }

  encode(opts: Omit<ModelInit, 'graph'> & { graphName: string }): Uint8Array {
    const { graphName, ...model } = opts;
    return encodeModel({
      ...model,
      graph: { name: graphName, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs },
    });
  }
}

export { DataType };
