/**
 * Element types of every value in a graph, inferred op by op in topological order (the order
 * ONNX requires): what the fp16 conversion needs to know to tell float edges from integer ones.
 * Rules are data: most ops give their first input's type; the rest are listed. An op with no
 * rule falls back to the graph's declared `value_info`; otherwise its outputs stay unknown and
 * the caller decides whether that matters.
 */
import { DataType, type GraphProto, type NodeProto, type TensorProto } from './proto.js';
import { attr, attrInt, subgraphs } from './graph.js';

type Types = Map<string, number>;
type Rule = (
  node: NodeProto,
  input: (i: number) => number | undefined,
  types: Types,
) => Array<number | undefined>;

const FIXED =
  (t: number): Rule =>
  (n) =>
    n.output.map(() => t);
const INPUT =
  (i: number): Rule =>
  (n, input) =>
    n.output.map(() => input(i));
const BOOL = FIXED(DataType.BOOL);
const INT64 = FIXED(DataType.INT64);

function fromAttrTensor(node: NodeProto, name: string, fallback: number): number {
  const a = attr(node, name);
  return a?.t ? a.t.dataType : fallback;
}

function constantType(node: NodeProto): number | undefined {
  for (const a of node.attribute) {
    if (a.name === 'value' && a.t) return a.t.dataType;
    if (a.name === 'value_float' || a.name === 'value_floats') return DataType.FLOAT;
    if (a.name === 'value_int' || a.name === 'value_ints') return DataType.INT64;
    if (a.name === 'value_string' || a.name === 'value_strings') return DataType.STRING;
  }
  return undefined;
}

const RULES: Readonly<Record<string, Rule>> = {
  Shape: INT64,
  Size: INT64,
  NonZero: INT64,
  ArgMax: INT64,
  ArgMin: INT64,
  Equal: BOOL,
  Less: BOOL,
  LessOrEqual: BOOL,
  Greater: BOOL,
  GreaterOrEqual: BOOL,
  And: BOOL,
  Or: BOOL,
  Xor: BOOL,
  Not: BOOL,
  IsNaN: BOOL,
  IsInf: BOOL,
  Cast: (n) => [attrInt(n, 'to', DataType.UNDEFINED)],
  CastLike: INPUT(1),
  Constant: (n) => [constantType(n)],
  ConstantOfShape: (n) => [fromAttrTensor(n, 'value', DataType.FLOAT)],
  EyeLike: (n, input) => [attr(n, 'dtype') ? attrInt(n, 'dtype', DataType.FLOAT) : input(0)],
  RandomNormal: (n) => [attrInt(n, 'dtype', DataType.FLOAT)],
  RandomUniform: (n) => [attrInt(n, 'dtype', DataType.FLOAT)],
  RandomNormalLike: (n, input) => [attr(n, 'dtype') ? attrInt(n, 'dtype', DataType.FLOAT) : input(0)],
  RandomUniformLike: (n, input) => [attr(n, 'dtype') ? attrInt(n, 'dtype', DataType.FLOAT) : input(0)],
  Multinomial: (n) => [attrInt(n, 'dtype', DataType.INT32)],
  Where: INPUT(1),
  TopK: (_n, input) => [input(0), DataType.INT64],
  Unique: (_n, input) => [input(0), DataType.INT64, DataType.INT64, DataType.INT64],
  Dropout: (_n, input) => [input(0), DataType.BOOL],
  MaxPool: (_n, input) => [input(0), DataType.INT64],
  OneHot: INPUT(2),
  DynamicQuantizeLinear: () => [DataType.UINT8, DataType.FLOAT, DataType.UINT8],
  QuantizeLinear: (_n, input) => [input(2) ?? DataType.UINT8],
  DequantizeLinear: INPUT(1),
  MatMulInteger: FIXED(DataType.INT32),
  ConvInteger: FIXED(DataType.INT32),
  Range: INPUT(0),
  // com.microsoft
  DynamicQuantizeMatMul: FIXED(DataType.FLOAT),
  MatMulIntegerToFloat: FIXED(DataType.FLOAT),
  GatherBlockQuantized: INPUT(2),
};

/** Ops whose outputs (all of them) take the first input's type. */
const SAME_AS_FIRST = new Set(
  (
    'Abs Acos Acosh Add Asin Asinh Atan Atanh AveragePool BatchNormalization BitShift Ceil Celu Clip Compress Concat ' +
    'Conv ConvTranspose Cos Cosh CumSum DepthToSpace Div Einsum Elu Erf Exp Expand Flatten Floor Gather GatherElements ' +
    'GatherND Gelu Gemm GlobalAveragePool GlobalMaxPool GroupNormalization HardSigmoid HardSwish Hardmax Identity ' +
    'InstanceNormalization LayerNormalization LeakyRelu Log LogSoftmax LpNormalization LRN MatMul Max Mean Min Mish ' +
    'Mod Mul Neg Pad Pow PRelu Reciprocal ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ' +
    'ReduceMin ReduceProd ReduceSum ReduceSumSquare Relu Reshape Resize ReverseSequence RoiAlign Round ScatterElements ' +
    'ScatterND Selu Shrink Sigmoid Sign Sin Sinh Slice Softmax Softplus Softsign SpaceToDepth Split Sqrt Squeeze Sub ' +
    'Sum Tan Tanh ThresholdedRelu Tile Transpose Trilu Unsqueeze Upsample ' +
    // com.microsoft ops the hub's graphs and mmrt's own conversions use
    'Attention BiasGelu FastGelu FusedMatMul GroupQueryAttention MatMulNBits MultiHeadAttention QuickGelu ' +
    'RotaryEmbedding SimplifiedLayerNormalization SkipLayerNormalization SkipSimplifiedLayerNormalization'
  ).split(' '),
);

/** What types a node's outputs have, or undefined for those it cannot tell. */
export function outputTypes(node: NodeProto, types: Types, declared: Types): Array<number | undefined> {
  const input = (i: number) => (node.input[i] ? types.get(node.input[i]!) : undefined);
  const rule = RULES[node.opType];
  let out: Array<number | undefined>;
  if (rule) out = rule(node, input, types);
  else if (SAME_AS_FIRST.has(node.opType)) out = node.output.map(() => input(0));
  else if (node.opType === 'If' || node.opType === 'Loop' || node.opType === 'Scan')
    out = bodyOutputs(node, types);
  else out = node.output.map(() => undefined);
  return node.output.map((o, i) => out[i] ?? declared.get(o));
}

/** If: the then-branch's outputs; Loop: the body's outputs after the condition; Scan: the body's. */
function bodyOutputs(node: NodeProto, outer: Types): Array<number | undefined> {
  const [g] = subgraphs(node);
  if (!g) return [];
  const inner = inferTypes(g, outer, new Map());
  const outs = g.output.map((o) => inner.get(o.name));
  return node.opType === 'Loop' ? outs.slice(1) : outs;
}

function declaredTypes(g: GraphProto): Types {
  const out: Types = new Map();
  for (const v of [...g.input, ...g.output, ...g.valueInfo]) {
    const t = v.type?.value.case === 'tensorType' ? v.type.value.value.elemType : undefined;
    if (t) out.set(v.name, t);
  }
  return out;
}

/**
 * Types of every value in `g`: graph inputs and initializers first (`initializers` adds those
 * the caller holds apart from the graph), then each node's outputs. `outer` is the enclosing
 * scope's types (for subgraphs).
 */
export function inferTypes(
  g: GraphProto,
  outer: Types,
  initializers: ReadonlyMap<string, Pick<TensorProto, 'dataType'>>,
): Types {
  const declared = declaredTypes(g);
  const types: Types = new Map(outer);
  for (const v of g.input) {
    const t = declared.get(v.name);
    if (t) types.set(v.name, t);
  }
  for (const t of g.initializer) types.set(t.name, t.dataType);
  for (const [name, t] of initializers) types.set(name, t.dataType);
  for (const node of g.node) {
    const out = outputTypes(node, types, declared);
    node.output.forEach((o, i) => {
      if (o && out[i] !== undefined && out[i] !== DataType.UNDEFINED) types.set(o, out[i]!);
    });
  }
  return types;
}
