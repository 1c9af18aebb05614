/**
 * GraphKit's output naming: the Identity that output() adds to rename an intermediate is folded
 * into the producing node on encode (on the WebGPU EP an Identity copies the whole tensor), while
 * renames it cannot fold (a graph input, a value that is already an output, a second name for the
 * same value) keep theirs. The graph must compute the same outputs either way.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { DataType, GraphKit } from '../../src/gpu/graph-kit.js';

describe('GraphKit output identities', () => {
  it('folds renames of intermediates, keeps the others, and computes the same outputs', async () => {
    const g = new GraphKit('float32');
    const x = g.input('x', DataType.FLOAT, [4]);
    const doubled = g.op('Mul', [x, g.f(2)]);
    const [a, b] = g.split(g.op('Add', [doubled, g.f(1)]), [2, 2], 0) as [string, string];
    g.output('first', a, DataType.FLOAT, [2]);
    g.output('second', b, DataType.FLOAT, [2]);
    g.output('again', a, DataType.FLOAT, [2]); // a second name for a folded value: keeps an Identity
    g.output('echo', x, DataType.FLOAT, [4]); // a graph input: keeps an Identity
    // A consumer of a folded value added after output(): it must read the renamed tensor.
    g.output('sum', g.op('Add', [a, b]), DataType.FLOAT, [2]);
    const bytes = g.encode('names');

    const identities = g.b.nodes.filter((n) => n.opType === 'Identity');
    expect(identities.map((n) => [n.inputs[0], n.outputs[0]])).toEqual([
      ['first', 'again'],
      ['x', 'echo'],
    ]);
    expect(g.b.nodes.find((n) => n.opType === 'Split')!.outputs).toEqual(['first', 'second']);

    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4), [4]) });
    expect(Array.from(out.first!.data as Float32Array)).toEqual([3, 5]);
    expect(Array.from(out.second!.data as Float32Array)).toEqual([7, 9]);
    expect(Array.from(out.again!.data as Float32Array)).toEqual([3, 5]);
    expect(Array.from(out.echo!.data as Float32Array)).toEqual([1, 2, 3, 4]);
    expect(Array.from(out.sum!.data as Float32Array)).toEqual([10, 14]);
    await session.release();
  });
});
