/**
 * Building blocks for editing ONNX graphs: attributes read and made, nodes and tensors made,
 * unique names, opset imports, subgraphs, and a model whose main-graph initializers are
 * `OutputTensor`s (read or computed only when written; see write.ts).
 */
import { ModelPackageError } from '../errors.js';
import {
  type AttributeProto,
  AttributeProtoSchema,
  AttributeType,
  DataType,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  type TensorProto,
  TensorProtoSchema,
  create,
} from './proto.js';
import {
  type ExternalDataReader,
  elementCount,
  inlineBytes,
  tensorByteLength,
  tensorBytes,
} from './tensor-data.js';
import type { OutputTensor } from './write.js';

/**
 * A model being edited: the proto (its main graph's `initializer` list left empty) and the
 * main graph's initializers, in order, as tensors whose bytes come later.
 */
export interface WorkingModel {
  readonly model: ModelProto;
  readonly initializers: Map<string, OutputTensor>;
  /** For messages: the file it came from. */
  readonly where: string;
}

/** The initializers of `model.graph` as lazily read output tensors; the graph keeps the rest. */
export function workingModel(
  model: ModelProto,
  reader: ExternalDataReader | undefined,
  where: string,
): WorkingModel {
  const graph = model.graph!;
  const initializers = new Map<string, OutputTensor>();
  for (const t of graph.initializer) {
    initializers.set(t.name, {
      proto: t,
      byteLength: tensorByteLength(t),
      data: () => tensorBytes(t, reader, where),
    });
  }
  graph.initializer = [];
  return { model, initializers, where };
}

/** A tensor whose bytes are already in memory. */
export function memoryTensor(proto: TensorProto, bytes: Uint8Array): OutputTensor {
  return { proto, byteLength: bytes.byteLength, data: async () => bytes };
}

/**
 * Several tensors computed together from one source (a q4 weight and its scales): the source
 * is read once, when the first of them is written, and the results are dropped as each is taken.
 */
export function derivedTensors(
  specs: ReadonlyArray<{ readonly proto: TensorProto; readonly byteLength: number }>,
  compute: () => Promise<readonly Uint8Array[]>,
): OutputTensor[] {
  let pending: Promise<readonly Uint8Array[]> | undefined;
  let taken = 0;
  return specs.map((s, i) => ({
    proto: s.proto,
    byteLength: s.byteLength,
    async data() {
      pending ??= compute();
      const all = await pending;
      const out = all[i]!;
      if (++taken === specs.length) pending = undefined;
      return out;
    },
  }));
}

export function tensorProto(
  name: string,
  dataType: DataType,
  dims: readonly number[],
  bytes?: Uint8Array,
): TensorProto {
  return create(TensorProtoSchema, {
    name,
    dataType,
    dims: dims.map((d) => BigInt(d)),
    ...(bytes && { rawData: bytes as Uint8Array<ArrayBuffer> }),
  });
}

export function attr(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name);
}

export function attrInt(node: NodeProto, name: string, fallback: number): number {
  const a = attr(node, name);
  return a ? Number(a.i) : fallback;
}

export function attrInts(node: NodeProto, name: string): number[] | undefined {
  const a = attr(node, name);
  return a ? a.ints.map(Number) : undefined;
}

export type AttrValue =
  | number
  | bigint
  | string
  | readonly number[]
  | { readonly float: number }
  | TensorProto;

/** An attribute: integers as INT, `{ float }` as FLOAT, arrays as INTS, strings, tensors. */
export function makeAttr(name: string, v: AttrValue): AttributeProto {
  if (typeof v === 'number' || typeof v === 'bigint') {
    return create(AttributeProtoSchema, { name, type: AttributeType.INT, i: BigInt(v) });
  }
  if (typeof v === 'string') {
    return create(AttributeProtoSchema, {
      name,
      type: AttributeType.STRING,
      s: new TextEncoder().encode(v) as Uint8Array<ArrayBuffer>,
    });
  }
  if (Array.isArray(v)) {
    return create(AttributeProtoSchema, {
      name,
      type: AttributeType.INTS,
      ints: (v as number[]).map((x) => BigInt(x)),
    });
  }
  if ('float' in (v as object)) {
    return create(AttributeProtoSchema, {
      name,
      type: AttributeType.FLOAT,
      f: (v as { float: number }).float,
    });
  }
  return create(AttributeProtoSchema, { name, type: AttributeType.TENSOR, t: v as TensorProto });
}

export interface NodeSpec {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name: string;
  readonly domain?: string;
  readonly attrs?: Readonly<Record<string, AttrValue>>;
}

export function makeNode(s: NodeSpec): NodeProto {
  return create(NodeProtoSchema, {
    opType: s.op,
    input: [...s.inputs],
    output: [...s.outputs],
    name: s.name,
    ...(s.domain && { domain: s.domain }),
    attribute: Object.entries(s.attrs ?? {}).map(([k, v]) => makeAttr(k, v)),
  });
}

/** The graphs a node carries (If branches, Loop/Scan bodies). */
export function subgraphs(node: NodeProto): GraphProto[] {
  const out: GraphProto[] = [];
  for (const a of node.attribute) {
    if (a.g) out.push(a.g);
    out.push(...a.graphs);
  }
  return out;
}

/** Every name used in a graph and its subgraphs (values, nodes, initializers). */
function collectNames(g: GraphProto, into: Set<string>): void {
  for (const v of [...g.input, ...g.output, ...g.valueInfo]) into.add(v.name);
  for (const t of g.initializer) into.add(t.name);
  for (const n of g.node) {
    into.add(n.name);
    for (const x of [...n.input, ...n.output]) into.add(x);
    for (const s of subgraphs(n)) collectNames(s, into);
  }
}

/** Hands out names no part of the model uses yet. */
export class NameSource {
  private readonly used = new Set<string>();

  constructor(w: WorkingModel) {
    collectNames(w.model.graph!, this.used);
    for (const k of w.initializers.keys()) this.used.add(k);
  }

  take(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }
}

/** The version of an opset domain the model imports (default domain is ''). */
export function opsetVersion(model: ModelProto, domain: string): number | undefined {
  const d = model.opsetImport.find(
    (o) => (o.domain || '') === domain || (domain === '' && o.domain === 'ai.onnx'),
  );
  return d ? Number(d.version) : undefined;
}

export function ensureOpset(model: ModelProto, domain: string, version: number): void {
  if (opsetVersion(model, domain) !== undefined) return;
  model.opsetImport.push(create(OperatorSetIdProtoSchema, { domain, version: BigInt(version) }));
}

/** The float32 values of a FLOAT tensor. */
export function floatValues(bytes: Uint8Array): Float32Array {
  return bytes.byteOffset % 4 === 0
    ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
    : new Float32Array(bytes.slice().buffer);
}

/** The value of a Constant node as a tensor (`value` attribute only; the others are scalars or lists). */
export function constantTensor(node: NodeProto): TensorProto | undefined {
  return node.opType === 'Constant' && !node.domain ? attr(node, 'value')?.t : undefined;
}

/** A small inline tensor's numbers (for exponents, axes and the like), or undefined if it is not small and inline. */
export function smallValues(t: TensorProto | undefined): number[] | undefined {
  if (!t || elementCount(t.dims) > 64 || t.dataLocation === 1) return undefined;
  const b = inlineBytes(t);
  switch (t.dataType) {
    case DataType.FLOAT:
      return [...floatValues(b)];
    case DataType.INT64:
      return [...new BigInt64Array(b.slice().buffer)].map(Number);
    case DataType.INT32:
      return [...new Int32Array(b.slice().buffer)];
    case DataType.DOUBLE:
      return [...new Float64Array(b.slice().buffer)];
    default:
      return undefined;
  }
}

export function unsupported(where: string, message: string, value: unknown): ModelPackageError {
  return new ModelPackageError('MODEL_UNSUPPORTED', `${where}: ${message}`, { value });
}
