/**
 * A minimal ONNX writer for tests: enough of the protobuf schema (ModelProto, GraphProto,
 * NodeProto, TensorProto, ValueInfoProto) to write real graphs that ONNX Runtime loads, so the
 * loader tests run on real sessions without Python or shipped model files.
 */

enum Wire {
  Varint = 0,
  Bytes = 2,
  Fixed32 = 5,
}

class Writer {
  private chunks: Uint8Array[] = [];
  private size = 0;

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.size += b.length;
  }

  private varint(v: number | bigint): void {
    let n = BigInt.asUintN(64, BigInt(v));
    const out: number[] = [];
    do {
      let byte = Number(n & 0x7fn);
      n >>= 7n;
      if (n > 0n) byte |= 0x80;
      out.push(byte);
    } while (n > 0n);
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wire: Wire): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, v: number | bigint): this {
    this.tag(field, Wire.Varint);
    this.varint(v);
    return this;
  }

  float(field: number, v: number): this {
    this.tag(field, Wire.Fixed32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, Wire.Bytes);
    this.varint(b.length);
    this.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, w: Writer): this {
    return this.bytes(field, w.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

export const DT = { float: 1, int32: 6, int64: 7 } as const;
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

function valueInfo(v: ValueInfo): Writer {
  const shape = new Writer();
  for (const d of v.shape) {
    const dim = new Writer();
    if (typeof d === 'number') dim.int(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  const tensor = new Writer().int(1, DT[v.type]).message(2, shape);
  return new Writer().string(1, v.name).message(2, new Writer().message(1, tensor));
}

function attribute(name: string, v: AttrValue): Writer {
  const a = new Writer().string(1, name);
  if (typeof v === 'number') return a.int(3, v).int(20, 2);
  if (typeof v === 'string') return a.string(4, v).int(20, 3);
  if (Array.isArray(v)) {
    for (const x of v as number[]) a.int(8, x);
    return a.int(20, 7);
  }
  return a.float(2, (v as { float: number }).float).int(20, 1);
}

function tensor(t: Initializer): Writer {
  const w = new Writer();
  for (const d of t.dims) w.int(1, d);
  w.int(2, DT[t.type]).string(8, t.name);
  return w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

/** Serialize a graph to ONNX model bytes (IR 8, default opset 17). */
export function buildModel(g: GraphSpec): Uint8Array {
  const graph = new Writer();
  g.nodes.forEach((n, i) => {
    const node = new Writer();
    for (const x of n.inputs) node.string(1, x);
    for (const x of n.outputs) node.string(2, x);
    node.string(3, `${n.op}_${i}`).string(4, n.op);
    for (const [k, v] of Object.entries(n.attrs ?? {})) node.message(5, attribute(k, v));
    graph.message(1, node);
  });
  graph.string(2, g.name ?? 'g');
  for (const t of g.initializers ?? []) graph.message(5, tensor(t));
  for (const v of g.inputs) graph.message(11, valueInfo(v));
  for (const v of g.outputs) graph.message(12, valueInfo(v));
  return new Writer()
    .int(1, 8)
    .string(2, 'mmrt-test')
    .message(7, graph)
    .message(8, new Writer().string(1, '').int(2, g.opset ?? 17))
    .finish();
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
