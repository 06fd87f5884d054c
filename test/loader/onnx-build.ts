/**
 * Small ONNX graphs for tests, written with mmrt's own ONNX writer (src/onnx: the protobuf
 * schema and encoder the quantizer uses), so the loader tests run on real sessions without
 * Python or shipped model files.
 */
import { makeNode, tensorProto } from '../../src/onnx/graph.js';
import {
  DataType as OnnxType,
  GraphProtoSchema,
  ModelProtoSchema,
  OperatorSetIdProtoSchema,
  TensorShapeProtoSchema,
  TensorShapeProto_DimensionSchema,
  TypeProtoSchema,
  TypeProto_TensorSchema,
  ValueInfoProtoSchema,
  create,
  toBinary,
} from '../../src/onnx/proto.js';

export const DT = { float: OnnxType.FLOAT, int32: OnnxType.INT32, int64: OnnxType.INT64 } as const;
export type DataType = keyof typeof DT;

export type Dim = number | string;

export interface ValueInfo {
  readonly name: string;
  readonly type: DataType;
  readonly shape: readonly Dim[];
}

export type AttrValue = number | string | readonly number[] | { readonly float: number };

export interface NodeSpec {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs?: Readonly<Record<string, AttrValue>>;
}

export interface Initializer {
  readonly name: string;
  readonly type: DataType;
  readonly dims: readonly number[];
  readonly data: Float32Array | BigInt64Array | Int32Array;
}

export interface GraphSpec {
  readonly name?: string;
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly nodes: readonly NodeSpec[];
  readonly initializers?: readonly Initializer[];
  readonly opset?: number;
}

function valueInfo(v: ValueInfo) {
  const dim = v.shape.map((d) =>
    create(TensorShapeProto_DimensionSchema, {
      value: typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : { case: 'dimParam', value: d },
    }),
  );
  const tensorType = create(TypeProto_TensorSchema, {
    elemType: DT[v.type],
    shape: create(TensorShapeProtoSchema, { dim }),
  });
  return create(ValueInfoProtoSchema, {
    name: v.name,
    type: create(TypeProtoSchema, { value: { case: 'tensorType', value: tensorType } }),
  });
}

/** Serialize a graph to ONNX model bytes (IR 8, default opset 17). */
export function buildModel(g: GraphSpec): Uint8Array {
  const graph = create(GraphProtoSchema, {
    name: g.name ?? 'g',
    node: g.nodes.map((n, i) =>
      makeNode({
        op: n.op,
        inputs: n.inputs,
        outputs: n.outputs,
        name: `${n.op}_${i}`,
        ...(n.attrs && { attrs: n.attrs }),
      }),
    ),
    initializer: (g.initializers ?? []).map((t) =>
      tensorProto(
        t.name,
        DT[t.type],
        t.dims,
        new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      ),
    ),
    input: g.inputs.map(valueInfo),
    output: g.outputs.map(valueInfo),
  });
  return toBinary(
    ModelProtoSchema,
    create(ModelProtoSchema, {
      irVersion: 8n,
      producerName: 'mmrt-test',
      graph,
      opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(g.opset ?? 17) })],
    }),
  );
}

/** Deterministic pseudo-random weights in [-0.05, 0.05). */
export function weights(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296 - 0.5) * 0.1;
  }
  return out;
}

/**
 * An image encoder: pixel_values [batch, 3, size, size] -> Flatten -> `layers` x (MatMul +
 * Add + Relu) of width `hidden` -> image_embeds [batch, hidden]. Creation time grows with
 * `layers` (nodes to optimize) and `hidden` (weights to load and pre-pack).
 */
export function visionModel(
  opts: { size?: number; hidden?: number; layers?: number; seed?: number } = {},
): Uint8Array {
  const size = opts.size ?? 8;
  const hidden = opts.hidden ?? 16;
  const layers = opts.layers ?? 1;
  const inFeatures = 3 * size * size;
  const nodes: NodeSpec[] = [
    { op: 'Flatten', inputs: ['pixel_values'], outputs: ['h0'], attrs: { axis: 1 } },
  ];
  const inits: Initializer[] = [];
  for (let l = 0; l < layers; l++) {
    const fin = l === 0 ? inFeatures : hidden;
    inits.push({
      name: `w${l}`,
      type: 'float',
      dims: [fin, hidden],
      data: weights(fin * hidden, (opts.seed ?? 7) + l),
    });
    inits.push({ name: `b${l}`, type: 'float', dims: [hidden], data: weights(hidden, 99 + l) });
    const last = l === layers - 1;
    nodes.push({ op: 'MatMul', inputs: [`h${l}`, `w${l}`], outputs: [`m${l}`] });
    nodes.push({ op: 'Add', inputs: [`m${l}`, `b${l}`], outputs: [last ? 'image_embeds' : `a${l}`] });
    if (!last) nodes.push({ op: 'Relu', inputs: [`a${l}`], outputs: [`h${l + 1}`] });
  }
  return buildModel({
    name: 'vision',
    inputs: [{ name: 'pixel_values', type: 'float', shape: ['batch_size', 3, size, size] }],
    outputs: [{ name: 'image_embeds', type: 'float', shape: ['batch_size', hidden] }],
    nodes,
    initializers: inits,
  });
}

/** A text encoder: input_ids [batch, seq] int64 -> Gather -> ReduceMean -> text_embeds [batch, hidden]. */
export function textModel(opts: { vocab?: number; hidden?: number; seed?: number } = {}): Uint8Array {
  const vocab = opts.vocab ?? 32;
  const hidden = opts.hidden ?? 16;
  return buildModel({
    name: 'text',
    inputs: [
      { name: 'input_ids', type: 'int64', shape: ['batch_size', 'sequence_length'] },
      { name: 'attention_mask', type: 'int64', shape: ['batch_size', 'sequence_length'] },
    ],
    outputs: [{ name: 'text_embeds', type: 'float', shape: ['batch_size', hidden] }],
    nodes: [
      { op: 'Gather', inputs: ['table', 'input_ids'], outputs: ['e'] },
      { op: 'Cast', inputs: ['attention_mask'], outputs: ['mf'], attrs: { to: DT.float } },
      { op: 'Unsqueeze', inputs: ['mf', 'axis2'], outputs: ['mf3'] },
      { op: 'Mul', inputs: ['e', 'mf3'], outputs: ['em'] },
      { op: 'ReduceMean', inputs: ['em'], outputs: ['text_embeds'], attrs: { axes: [1], keepdims: 0 } },
    ],
    initializers: [
      { name: 'table', type: 'float', dims: [vocab, hidden], data: weights(vocab * hidden, opts.seed ?? 3) },
      { name: 'axis2', type: 'int64', dims: [1], data: BigInt64Array.from([2n]) },
    ],
  });
}

/**
 * A decoder step with a KV cache, shaped like `decoder_model_merged`: input_ids [batch, seq]
 * (int64, Gather: out-of-range ids fail), attention_mask [batch, total], position_ids,
 * past_key_values.0.key/value [batch, heads, past, dim] -> logits [batch, seq, vocab] and
 * present.0.key/value [batch, heads, past + seq, dim].
 */
export function decoderModel(opts: { vocab?: number; heads?: number; dim?: number } = {}): Uint8Array {
  const vocab = opts.vocab ?? 32;
  const heads = opts.heads ?? 2;
  const dim = opts.dim ?? 4;
  const hidden = heads * dim;
  const past = (kind: string): ValueInfo => ({
    name: `past_key_values.0.${kind}`,
    type: 'float',
    shape: ['batch_size', heads, 'past_sequence_length', dim],
  });
  const present = (kind: string): ValueInfo => ({
    name: `present.0.${kind}`,
    type: 'float',
    shape: ['batch_size', heads, 'total_sequence_length', dim],
  });
  return buildModel({
    name: 'decoder',
    inputs: [
      { name: 'input_ids', type: 'int64', shape: ['batch_size', 'sequence_length'] },
      { name: 'attention_mask', type: 'int64', shape: ['batch_size', 'total_sequence_length'] },
      { name: 'position_ids', type: 'int64', shape: ['batch_size', 'sequence_length'] },
      past('key'),
      past('value'),
    ],
    outputs: [
      { name: 'logits', type: 'float', shape: ['batch_size', 'sequence_length', vocab] },
      present('key'),
      present('value'),
    ],
    nodes: [
      { op: 'Gather', inputs: ['embed', 'input_ids'], outputs: ['h'] },
      { op: 'Gather', inputs: ['pos', 'position_ids'], outputs: ['p'] },
      { op: 'Add', inputs: ['h', 'p'], outputs: ['hp'] },
      { op: 'MatMul', inputs: ['hp', 'lm_head'], outputs: ['l0'] },
      { op: 'Cast', inputs: ['attention_mask'], outputs: ['mf'], attrs: { to: DT.float } },
      { op: 'ReduceSum', inputs: ['mf'], outputs: ['ms'], attrs: { keepdims: 0 } },
      { op: 'Mul', inputs: ['ms', 'zero'], outputs: ['ms0'] },
      { op: 'Add', inputs: ['l0', 'ms0'], outputs: ['logits'] },
      { op: 'Gather', inputs: ['kv', 'input_ids'], outputs: ['k4'] },
      { op: 'Transpose', inputs: ['k4'], outputs: ['kt'], attrs: { perm: [0, 2, 1, 3] } },
      {
        op: 'Concat',
        inputs: ['past_key_values.0.key', 'kt'],
        outputs: ['present.0.key'],
        attrs: { axis: 2 },
      },
      {
        op: 'Concat',
        inputs: ['past_key_values.0.value', 'kt'],
        outputs: ['present.0.value'],
        attrs: { axis: 2 },
      },
    ],
    initializers: [
      { name: 'embed', type: 'float', dims: [vocab, hidden], data: weights(vocab * hidden, 11) },
      { name: 'pos', type: 'float', dims: [64, hidden], data: weights(64 * hidden, 12) },
      { name: 'lm_head', type: 'float', dims: [hidden, vocab], data: weights(hidden * vocab, 13) },
      { name: 'kv', type: 'float', dims: [vocab, heads, dim], data: weights(vocab * hidden, 14) },
      { name: 'zero', type: 'float', dims: [], data: Float32Array.from([0]) },
    ],
  });
}

/** A token embedder shaped like `embed_tokens`: input_ids [batch, seq] -> inputs_embeds [batch, seq, hidden]. */
export function embedModel(opts: { vocab?: number; hidden?: number } = {}): Uint8Array {
  const vocab = opts.vocab ?? 32;
  const hidden = opts.hidden ?? 16;
  return buildModel({
    name: 'embed',
    inputs: [{ name: 'input_ids', type: 'int64', shape: ['batch_size', 'sequence_length'] }],
    outputs: [{ name: 'inputs_embeds', type: 'float', shape: ['batch_size', 'sequence_length', hidden] }],
    nodes: [{ op: 'Gather', inputs: ['table', 'input_ids'], outputs: ['inputs_embeds'] }],
    initializers: [
      { name: 'table', type: 'float', dims: [vocab, hidden], data: weights(vocab * hidden, 21) },
    ],
  });
}
