import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { attr, DataType, encodeModel, floatTensor, int64Tensor } from '../../src/model/onnx-proto.js';

// An independent decoder: the protobufjs code generated from onnx.proto that onnxruntime-web ships.
const require = createRequire(import.meta.url);
const { onnx } = require('../../node_modules/onnxruntime-web/lib/onnxjs/ort-schema/protobuf/onnx.js');

const num = (x: unknown) => Number(x as number); // protobufjs returns int64 as Long or number

function tinyModel(): Uint8Array {
  return encodeModel({
    irVersion: 8,
    opsets: [{ domain: '', version: 17 }],
    producerName: 'test',
    docString: 'doc',
    metadata: { k: 'v' },
    graph: {
      name: 'g',
      inputs: [{ name: 'x', elemType: DataType.FLOAT, shape: ['batch', 3] }],
      outputs: [{ name: 'y', elemType: DataType.FLOAT, shape: ['batch', 3] }],
      initializers: [floatTensor('w', [3], Float32Array.of(1, 2, 3)), int64Tensor('axes', [1], [-1])],
      nodes: [
        { opType: 'Mul', inputs: ['x', 'w'], outputs: ['xw'] },
        { opType: 'ReduceSum', inputs: ['xw', 'axes'], outputs: ['s'], attributes: [attr.int('keepdims', 1)] },
        { opType: 'Sub', inputs: ['xw', 's'], outputs: ['d'], name: 'sub' },
        { opType: 'LeakyRelu', inputs: ['d'], outputs: ['y'], attributes: [attr.float('alpha', 0.25)] },
      ],
    },
  });
}

describe('ONNX protobuf writer', () => {
  it('decodes field by field with the onnx.proto reference decoder', () => {
    const bytes = encodeModel({
      irVersion: 8,
      opsets: [{ domain: '', version: 17 }, { domain: 'com.example', version: 1 }],
      producerName: 'minicache-bench',
      graph: {
        name: 'graph',
        inputs: [{ name: 'in', elemType: DataType.INT64, shape: ['batch', 'seq', 4] }],
        outputs: [{ name: 'out', elemType: DataType.FLOAT, shape: [] }],
        initializers: [floatTensor('big', [300], new Float32Array(300).fill(0.5))],
        nodes: [
          {
            opType: 'Op',
            domain: 'com.example',
            inputs: ['in', ''],
            outputs: ['out'],
            attributes: [attr.ints('perm', [0, -1, 2 ** 40]), attr.floats('fs', [1.5, -2]), attr.string('s', 'héllo'), attr.strings('ss', ['a', 'b'])],
          },
        ],
      },
    });
    const m = onnx.ModelProto.decode(bytes);
    expect(num(m.irVersion)).toBe(8);
    expect(m.opsetImport.map((o: any) => [o.domain, num(o.version)])).toEqual([['', 17], ['com.example', 1]]);
    const g = m.graph;
    expect(g.input[0].name).toBe('in');
    expect(g.input[0].type.tensorType.elemType).toBe(DataType.INT64);
    expect(g.input[0].type.tensorType.shape.dim.map((d: any) => d.dimParam || num(d.dimValue))).toEqual(['batch', 'seq', 4]);
    const t = g.initializer[0];
    expect([t.name, t.dataType, t.dims.map(num)]).toEqual(['big', DataType.FLOAT, [300]]);
    expect(new Float32Array(t.rawData.slice().buffer)[299]).toBe(0.5);
    const n = g.node[0];
    expect([n.opType, n.domain, n.input, n.output]).toEqual(['Op', 'com.example', ['in', ''], ['out']]);
    const a = Object.fromEntries(n.attribute.map((x: any) => [x.name, x]));
    expect(a.perm.ints.map(num)).toEqual([0, -1, 2 ** 40]);
    expect(a.fs.floats).toEqual([1.5, -2]);
    expect(new TextDecoder().decode(a.s.s)).toBe('héllo');
    expect(a.ss.strings.map((x: Uint8Array) => new TextDecoder().decode(x))).toEqual(['a', 'b']);
  });

  it('writes a model onnxruntime loads and runs', async () => {
    const s = await ort.InferenceSession.create(tinyModel());
    expect(s.inputNames).toEqual(['x']);
    const r = await s.run({ x: new ort.Tensor('float32', Float32Array.of(1, 1, 1, 2, 0, 1), [2, 3]) });
    // xw = [1,2,3],[2,0,3]; minus row sums 6 and 5; LeakyRelu(0.25).
    expect(Array.from(r.y!.data as Float32Array)).toEqual([-1.25, -1, -0.75, -0.75, -1.25, -0.5]);
    await s.release();
  });
});
