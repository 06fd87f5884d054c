/**
 * fp32 -> fp16: weights and compute in half precision, inputs and outputs kept fp32
 * (onnxconverter-common's `keep_io_types`), with Cast nodes wherever a value crosses between
 * the two.
 *
 * How: element types are inferred for every value (types.ts); each node is then either an fp16
 * node or kept in fp32, and every float value gets a home type (fp16 if an fp16 node made it).
 * A consumer that needs the other type reads it through one shared Cast. Kept in fp32:
 * - the block list: ops without fp16 kernels or that lose accuracy in fp16 (onnxconverter-common's
 *   list — Resize, TopK, Range, CumSum, Min/Max, NonMaxSuppression, RoiAlign, Upsample, the
 *   ai.onnx.ml ops — plus random and quantization ops and the reductions of squares);
 * - range-sensitive chains: a square (Pow with exponent >= 2) and what consumes it up to its
 *   square root — a LayerNorm's or RMSNorm's variance, where one activation over 256 already
 *   overflows fp16's 65504 when squared;
 * - nodes excluded by name or op type, ops of other domains, and If/Loop/Scan boundaries
 *   (their subgraphs are converted inside, with fp32 at the boundary).
 * Float constants (initializers, Constant and ConstantOfShape values) are converted with finite
 * values beyond ±65504 clamped to it (torch's finfo(float32).min mask fills become -65504, not
 * -inf, so masked softmax rows stay finite).
 */
import {
  type NameSource,
  type WorkingModel,
  attr,
  constantTensor,
  floatValues,
  makeNode,
  smallValues,
  subgraphs,
  unsupported,
} from '../onnx/graph.js';
import { toFloat16 } from '../onnx/float16.js';
import {
  AttributeProtoSchema,
  AttributeType,
  DataType,
  type GraphProto,
  type NodeProto,
  type TensorProto,
  TensorProtoSchema,
  create,
} from '../onnx/proto.js';
import { bytesOf, inlineBytes } from '../onnx/tensor-data.js';
import { inferTypes } from '../onnx/types.js';
import type { OutputTensor } from '../onnx/write.js';
import type { ResolvedConvertOptions } from './options.js';
import type { ConversionReport } from './report.js';

/** Kept in fp32 (see the module comment). */
export const FP16_BLOCK_LIST: ReadonlySet<string> = new Set([
  // onnxconverter-common's DEFAULT_OP_BLOCK_LIST
  'ArrayFeatureExtractor',
  'Binarizer',
  'CastMap',
  'CategoryMapper',
  'DictVectorizer',
  'FeatureVectorizer',
  'Imputer',
  'LabelEncoder',
  'LinearClassifier',
  'LinearRegressor',
  'Normalizer',
  'OneHotEncoder',
  'RandomUniformLike',
  'SVMClassifier',
  'SVMRegressor',
  'Scaler',
  'TreeEnsembleClassifier',
  'TreeEnsembleRegressor',
  'ZipMap',
  'NonMaxSuppression',
  'TopK',
  'RoiAlign',
  'Resize',
  'Range',
  'CumSum',
  'Min',
  'Max',
  'Upsample',
  // random and quantization ops: fp32 only, or meaningless in fp16
  'RandomNormal',
  'RandomUniform',
  'RandomNormalLike',
  'Multinomial',
  'Bernoulli',
  'DynamicQuantizeLinear',
  'QuantizeLinear',
  'DequantizeLinear',
  // reductions of squares and exponentials overflow fp16
  'ReduceSumSquare',
  'ReduceL2',
  'ReduceLogSumExp',
  'ReduceProd',
]);

/** Ops a variance chain passes through between the square and its square root. */
const CHAIN_OPS = new Set([
  'ReduceMean',
  'ReduceSum',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Sqrt',
  'Reciprocal',
  'Cast',
]);

/** com.microsoft ops that have fp16 kernels wherever they have fp32 ones. */
const MS_FP16 = new Set([
  'MatMulNBits',
  'Attention',
  'MultiHeadAttention',
  'GroupQueryAttention',
  'RotaryEmbedding',
  'SkipLayerNormalization',
  'SkipSimplifiedLayerNormalization',
  'SimplifiedLayerNormalization',
  'FastGelu',
  'BiasGelu',
  'QuickGelu',
  'FusedMatMul',
]);

/** Inputs whose type does not have to match the node's precision. */
const ANY_TYPE_INPUTS: Readonly<Record<string, readonly number[]>> = {
  Cast: [0],
  CastLike: [0],
  Shape: [0],
  Size: [0],
  EyeLike: [0],
  Dropout: [1],
  Pow: [1],
};

const F32 = DataType.FLOAT;
const F16 = DataType.FLOAT16;

interface GraphPlan {
  readonly g: GraphProto;
  readonly types: Map<string, number>;
  /** Node -> 'fp16' or why it stays fp32. */
  readonly mode: Map<NodeProto, true | string>;
}

export class Fp16Converter {
  /** Main-graph initializers that fp16 nodes read (they become fp16). */
  private readonly halfInitializers = new Set<string>();
  /** Main-graph initializers that fp32 nodes read. */
  private readonly fullInitializers = new Set<string>();

  constructor(
    private readonly w: WorkingModel,
    private readonly opts: ResolvedConvertOptions,
    private readonly names: NameSource,
    private readonly report: ConversionReport,
  ) {}

  run(): void {
    const g = this.w.model.graph!;
    this.convertGraph(g, new Map(), new Map(), true);
    for (const [name, t] of [...this.w.initializers]) {
      if (t.proto.dataType !== F32 || !this.halfInitializers.has(name)) continue;
      const half = this.halfTensor(t);
      if (this.fullInitializers.has(name)) {
        // Read by both kinds of node: the fp16 copy gets a new name, the fp32 one stays.
        const renamed = this.names.take(`${name}_fp16`);
        this.w.initializers.set(renamed, { ...half, proto: { ...half.proto, name: renamed } as TensorProto });
        this.renameInputs(g, name, renamed, (n) => this.isHalfReader(n));
      } else {
        this.w.initializers.set(name, half);
      }
    }
  }

  private readonly halfReaders = new Set<NodeProto>();
  private isHalfReader(n: NodeProto): boolean {
    return this.halfReaders.has(n);
  }

  private renameInputs(g: GraphProto, from: string, to: string, only: (n: NodeProto) => boolean): void {
    for (const n of g.node) {
      if (only(n)) n.input = n.input.map((i) => (i === from ? to : i));
      for (const s of subgraphs(n)) this.renameInputs(s, from, to, only);
    }
  }

  private halfTensor(t: OutputTensor): OutputTensor {
    const report = this.report;
    return {
      proto: create(TensorProtoSchema, { name: t.proto.name, dims: t.proto.dims, dataType: F16 }),
      byteLength: t.byteLength / 2,
      async data() {
        const h = toFloat16(floatValues(await t.data()));
        report.clampedValues += h.clamped;
        return bytesOf(h.data);
      },
    };
  }

  /** Why a node stays fp32, or true for fp16. */
  private decide(node: NodeProto): true | string {
    if (this.opts.excludeNodes.has(node.name)) return 'excluded by name';
    if (this.opts.excludeOps.has(node.opType) || this.opts.fp16KeepOps.has(node.opType))
      return `excluded op type ${node.opType}`;
    const domain = node.domain === 'ai.onnx' ? '' : node.domain;
    if (domain === 'com.microsoft')
      return MS_FP16.has(node.opType) ? true : `com.microsoft ${node.opType} has no fp16 form here`;
    if (domain) return `op of domain ${domain}`;
    if (FP16_BLOCK_LIST.has(node.opType)) return 'on the fp16 block list';
    if (subgraphs(node).length > 0) return 'a subgraph boundary (its body is converted inside)';
    return true;
  }

  private plan(g: GraphProto, outerTypes: Map<string, number>, isMain: boolean): GraphPlan {
    const inits = isMain ? new Map([...this.w.initializers].map(([k, v]) => [k, v.proto])) : new Map();
    const types = inferTypes(g, outerTypes, inits);
    const mode = new Map<NodeProto, true | string>();
    for (const n of g.node) mode.set(n, this.decide(n));
    // Variance chains: from a square to its square root.
    const consumers = new Map<string, NodeProto[]>();
    for (const n of g.node)
      for (const i of n.input) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
    const constants = new Map<string, TensorProto>();
    for (const n of g.node) {
      const t = constantTensor(n);
      if (t) constants.set(n.output[0]!, t);
    }
    const exponent = (n: NodeProto) => {
      const name = n.input[1] ?? '';
      const t = constants.get(name) ?? (isMain ? undefined : g.initializer.find((x) => x.name === name));
      const v = smallValues(t) ?? (isMain ? this.smallInitializer(name) : undefined);
      return v?.length === 1 ? v[0]! : undefined;
    };
    for (const n of g.node) {
      if (n.opType !== 'Pow' || n.domain || (exponent(n) ?? 0) < 2) continue;
      const stack = [n];
      while (stack.length) {
        const x = stack.pop()!;
        if (mode.get(x) !== true) continue;
        mode.set(x, 'range-sensitive (a square before its square root)');
        if (x.opType === 'Sqrt') continue;
        for (const o of x.output)
          for (const c of consumers.get(o) ?? []) if (CHAIN_OPS.has(c.opType) && !c.domain) stack.push(c);
      }
    }
    return { g, types, mode };
  }

  private smallInitializer(name: string): number[] | undefined {
    const t = this.w.initializers.get(name);
    if (!t || t.byteLength > 64) return undefined;
    // Passthrough initializers of the source carry their proto with inline data.
    return t.proto.rawData.byteLength > 0 || t.proto.floatData.length > 0 ? smallValues(t.proto) : undefined;
  }

  /**
   * Convert one graph. `outerHome` is the home type of every float value of enclosing scopes,
   * `outerTypes` their element types. Graph inputs and outputs stay fp32.
   */
  private convertGraph(
    g: GraphProto,
    outerTypes: Map<string, number>,
    outerHome: Map<string, number>,
    isMain: boolean,
  ): void {
    const p = this.plan(g, outerTypes, isMain);
    const home = new Map(outerHome);
    const isFloat = (name: string) => p.types.get(name) === F32;
    for (const v of g.input) if (isFloat(v.name)) home.set(v.name, F32);
    for (const t of g.initializer) {
      if (t.dataType === F32) home.set(t.name, this.localInitializerHome(t, p));
    }

    const outputNames = new Set(g.output.map((o) => o.name));
    const out: NodeProto[] = [];
    const casts = new Map<string, string>();
    const castTo = (name: string, to: number): string => {
      const key = `${name}->${to}`;
      let c = casts.get(key);
      if (!c) {
        c = this.names.take(`${name}_${to === F16 ? 'fp16' : 'fp32'}`);
        casts.set(key, c);
        out.push(
          makeNode({
            op: 'Cast',
            name: this.names.take(`${c}/Cast`),
            inputs: [name],
            outputs: [c],
            attrs: { to },
          }),
        );
        home.set(c, to);
        this.report.castsAdded++;
      }
      return c;
    };

    for (const node of g.node) {
      const m = p.mode.get(node)!;
      const half = m === true;
      if (!half && m !== 'a subgraph boundary (its body is converted inside)') {
        const hasFloat = [...node.input, ...node.output].some((x) => x && isFloat(x));
        if (hasFloat) this.report.kept.push({ node: node.name, op: node.opType, reason: m });
      }
      // Inputs: read each float value in the type this node computes in.
      const any = ANY_TYPE_INPUTS[node.opType] ?? [];
      node.input = node.input.map((name, i) => {
        if (!name || any.includes(i)) return name;
        const t = p.types.get(name);
        if (t === undefined && half && this.producedUnknown(name, p)) {
          throw unsupported(
            this.w.where,
            `fp16: the type of "${name}" (read by ${node.opType} "${node.name}") cannot be inferred; exclude its producer's op type or add value_info`,
            name,
          );
        }
        if (t !== F32) return name;
        const want = half ? F16 : F32;
        const have = home.get(name) ?? F32;
        if (this.w.initializers.has(name)) {
          (half ? this.halfInitializers : this.fullInitializers).add(name);
          if (half) this.halfReaders.add(node);
          return name;
        }
        return have === want ? name : castTo(name, want);
      });
      // Subgraphs: converted inside, seeing this scope's home types.
      for (const s of subgraphs(node)) this.convertGraph(s, p.types, home, false);
      if (half) this.halfNode(node, p);
      for (const o of node.output)
        if (o && isFloat(o)) home.set(o, half && this.outputsHalf(node) ? F16 : F32);
      out.push(node);
      // Graph outputs stay fp32: an fp16 producer writes a renamed value, cast back under the old name.
      for (const [i, o] of node.output.entries()) {
        if (!outputNames.has(o) || home.get(o) !== F16) continue;
        const renamed = this.names.take(`${o}_fp16`);
        node.output[i] = renamed;
        home.set(renamed, F16);
        // Later fp16 readers read the fp16 value itself, not a round trip through fp32.
        casts.set(`${o}->${F16}`, renamed);
        out.push(
          makeNode({
            op: 'Cast',
            name: this.names.take(`${o}/Cast`),
            inputs: [renamed],
            outputs: [o],
            attrs: { to: F32 },
          }),
        );
        home.set(o, F32);
        this.report.castsAdded++;
      }
    }
    g.node = out;
    for (const v of g.valueInfo) {
      const tt = v.type?.value.case === 'tensorType' ? v.type.value.value : undefined;
      if (tt && tt.elemType === F32 && home.get(v.name) === F16) tt.elemType = F16;
    }
  }

  private producedUnknown(name: string, p: GraphPlan): boolean {
    return p.g.node.some((n) => n.output.includes(name));
  }

  private localInitializerHome(t: TensorProto, p: GraphPlan): number {
    const readers = p.g.node.filter((n) => n.input.includes(t.name));
    if (readers.some((n) => p.mode.get(n) === true)) {
      const h = toFloat16(floatValues(inlineBytes(t)));
      this.report.clampedValues += h.clamped;
      t.rawData = bytesOf(h.data) as Uint8Array<ArrayBuffer>;
      t.floatData = [];
      t.dataType = F16;
      return F16;
    }
    return F32;
  }

  /** Whether an fp16 node's float outputs are fp16 (a Cast to a non-float type has none). */
  private outputsHalf(node: NodeProto): boolean {
    if (node.opType === 'Cast') return Number(attr(node, 'to')?.i ?? 0) === F16;
    return true;
  }

  /** Rewrite what an fp16 node itself says about types: Cast targets, constant values, dtypes. */
  private halfNode(node: NodeProto, p: GraphPlan): void {
    this.report.converted.push({ node: node.name, op: node.opType, as: 'fp16' });
    for (const a of node.attribute) {
      if (node.opType === 'Cast' && a.name === 'to' && Number(a.i) === F32) a.i = BigInt(F16);
      if (a.name === 'dtype' && Number(a.i) === F32) a.i = BigInt(F16);
      if (a.t && a.t.dataType === F32 && (node.opType === 'Constant' || node.opType === 'ConstantOfShape')) {
        const h = toFloat16(floatValues(inlineBytes(a.t)));
        this.report.clampedValues += h.clamped;
        a.t = create(TensorProtoSchema, {
          name: a.t.name,
          dims: a.t.dims,
          dataType: F16,
          rawData: bytesOf(h.data) as Uint8Array<ArrayBuffer>,
        });
      }
      if (node.opType === 'Constant' && (a.name === 'value_float' || a.name === 'value_floats')) {
        const scalar = a.name === 'value_float';
        const values = scalar ? [a.f] : a.floats;
        const h = toFloat16(Float32Array.from(values));
        this.report.clampedValues += h.clamped;
        a.name = 'value';
        a.type = AttributeType.TENSOR;
        a.t = create(TensorProtoSchema, {
          dims: scalar ? [] : [BigInt(values.length)],
          dataType: F16,
          rawData: bytesOf(h.data) as Uint8Array<ArrayBuffer>,
        });
        a.f = 0;
        a.floats = [];
      }
    }
    if (node.opType === 'ConstantOfShape' && !attr(node, 'value') && p.types.get(node.output[0]!) === F32) {
      // The default value is a float 0: say it in fp16.
      node.attribute.push(
        create(AttributeProtoSchema, {
          name: 'value',
          type: AttributeType.TENSOR,
          t: create(TensorProtoSchema, {
            dims: [1n],
            dataType: F16,
            rawData: new Uint8Array(2) as Uint8Array<ArrayBuffer>,
          }),
        }),
      );
    }
  }
}

export function convertToFp16(
  w: WorkingModel,
  opts: ResolvedConvertOptions,
  names: NameSource,
  report: ConversionReport,
): void {
  new Fp16Converter(w, opts, names, report).run();
}
