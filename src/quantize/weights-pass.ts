/**
 * Weight quantization of a graph: every MatMul whose B is a constant weight, and every
 * embedding lookup (Gather on a weight table), rewritten to read quantized weights.
 *
 * - 8-bit (`q8`, `int8`, `uint8`), ONNX Runtime's dynamic quantization in standard ops, which
 *   onnxruntime-web runs too: A -> DynamicQuantizeLinear -> MatMulInteger(A_q, B_q, A_zp, B_zp)
 *   -> Cast -> Mul(A_scale * B_scale). ORT's CPU optimizer fuses it into DynamicQuantizeMatMul.
 *   B is int8 (uint8 + 128 for `uint8`), symmetric, one scale per output channel by default.
 *   Convolutions stay float (a ViT has one, its patch embedding): the hub makes q8 weights
 *   uint8 when it quantizes Conv because onnxruntime-web has ConvInteger only for uint8; with
 *   no ConvInteger in the graph, int8 weights run on every ORT backend.
 * - 4-bit (`q4`): com.microsoft MatMulNBits, B in blocks of 32 along K, symmetric, laid out
 *   [N, blocks, block/2] with scales [N, blocks]; `accuracy_level` settable.
 * - Embedding lookups, in both: int8 with one scale per row, Gather(q) -> Cast -> Mul(Gather(scales)).
 *   A tied embedding that is also a MatMul weight (the lm_head of some exports) gets both
 *   forms; the fp32 table is dropped once nothing reads it.
 *
 * Weights are read and quantized only when the variant is written (see write.ts), one at a time.
 */
import {
  type NameSource,
  type WorkingModel,
  attrInt,
  constantTensor,
  derivedTensors,
  ensureOpset,
  floatValues,
  makeNode,
  memoryTensor,
  subgraphs,
  tensorProto,
} from '../onnx/graph.js';
import { DataType, type GraphProto, type NodeProto, TensorProtoSchema, create } from '../onnx/proto.js';
import { elementCount, inlineBytes, bytesOf } from '../onnx/tensor-data.js';
import type { OutputTensor } from '../onnx/write.js';
import type { ResolvedConvertOptions } from './options.js';
import type { ConversionReport } from './report.js';
import { quantize4Bit, quantizeInt8, quantizeRows } from './weights.js';

export type WeightMode = 'int8' | 'uint8' | 'q4';

interface Weight {
  readonly name: string;
  readonly k: number;
  readonly n: number;
}

function shapeOf(t: OutputTensor): number[] {
  return t.proto.dims.map(Number);
}

/** Constant nodes that hold a float matrix become initializers, so the passes below see one kind of weight. */
function hoistConstants(g: GraphProto, w: WorkingModel): void {
  g.node = g.node.filter((node) => {
    for (const s of subgraphs(node)) hoistConstants(s, w);
    const t = constantTensor(node);
    if (!t || t.dataType !== DataType.FLOAT || t.dims.length !== 2 || t.dataLocation === 1) return true;
    const name = node.output[0]!;
    const proto = create(TensorProtoSchema, { name, dims: t.dims, dataType: t.dataType });
    w.initializers.set(name, memoryTensor(proto, inlineBytes(t)));
    return false;
  });
}

function countUses(g: GraphProto, uses: Map<string, number>): void {
  for (const node of g.node) {
    for (const i of node.input) if (i) uses.set(i, (uses.get(i) ?? 0) + 1);
    for (const s of subgraphs(node)) countUses(s, uses);
  }
  for (const o of g.output) uses.set(o.name, (uses.get(o.name) ?? 0) + 1);
}

export class WeightQuantizer {
  private readonly made = new Map<string, string[]>();
  /** Source weights that now have a quantized form. */
  private readonly quantized = new Set<string>();
  private readonly uses = new Map<string, number>();

  constructor(
    private readonly w: WorkingModel,
    private readonly mode: WeightMode,
    private readonly opts: ResolvedConvertOptions,
    private readonly names: NameSource,
    private readonly report: ConversionReport,
  ) {}

  run(): void {
    const g = this.w.model.graph!;
    hoistConstants(g, this.w);
    countUses(g, this.uses);
    this.rewrite(g);
    for (const [name] of this.w.initializers) {
      if ((this.uses.get(name) ?? 0) === 0 && this.quantized.has(name)) this.w.initializers.delete(name);
    }
    if (this.mode === 'q4') ensureOpset(this.w.model, 'com.microsoft', 1);
  }

  private excluded(node: NodeProto): string | undefined {
    if (this.opts.excludeNodes.has(node.name)) return 'excluded by name';
    if (this.opts.excludeOps.has(node.opType)) return `excluded op type ${node.opType}`;
    return undefined;
  }

  /** The float matrix behind a value, if it is a weight this pass quantizes. */
  private weight(name: string | undefined): Weight | string {
    const t = name ? this.w.initializers.get(name) : undefined;
    if (!t) return 'the weight is computed, not a constant';
    if (t.proto.dataType !== DataType.FLOAT) return `the weight is ${DataType[t.proto.dataType]}, not FLOAT`;
    const dims = shapeOf(t);
    if (dims.length !== 2) return `the weight has rank ${dims.length}, not 2`;
    if (elementCount(dims) < this.opts.minElements)
      return `the weight has fewer than ${this.opts.minElements} elements`;
    return { name: name!, k: dims[0]!, n: dims[1]! };
  }

  private rewrite(g: GraphProto): void {
    const out: NodeProto[] = [];
    const dql = new Map<string, [string, string, string]>();
    for (const node of g.node) {
      for (const s of subgraphs(node)) this.rewrite(s);
      const isMatMul = node.opType === 'MatMul' && !node.domain;
      const isGather = node.opType === 'Gather' && !node.domain && this.opts.gather;
      if (!isMatMul && !isGather) {
        out.push(node);
        continue;
      }
      const skip = this.excluded(node);
      const wt = isMatMul ? this.weight(node.input[1]) : this.weight(node.input[0]);
      const axisOk = isMatMul || attrInt(node, 'axis', 0) === 0;
      if (skip || typeof wt === 'string' || !axisOk) {
        // Gathers of shapes and index lists are everywhere: only those on float tables are news.
        const table = this.w.initializers.get(node.input[0] ?? '')?.proto.dataType === DataType.FLOAT;
        if (isMatMul || skip || table) {
          const reason = skip ?? (typeof wt === 'string' ? wt : 'it gathers along an axis other than 0');
          this.report.kept.push({ node: node.name, op: node.opType, reason });
        }
        out.push(node);
        continue;
      }
      const weightName = isMatMul ? node.input[1]! : node.input[0]!;
      this.quantized.add(weightName);
      this.uses.set(weightName, (this.uses.get(weightName) ?? 1) - 1);
      if (isGather) out.push(...this.gather(node, wt));
      else if (this.mode === 'q4') out.push(this.matMulNBits(node, wt));
      else out.push(...this.matMulInteger(node, wt, dql, out));
    }
    g.node = out;
  }

  private matMulNBits(node: NodeProto, wt: Weight): NodeProto {
    const block = this.opts.blockSize;
    const blocks = Math.ceil(wt.k / block);
    const [bq, sc] = this.tensors(`${wt.name}:q4:${block}`, () => {
      const qName = this.names.take(`${wt.name}_Q4`);
      const sName = this.names.take(`${wt.name}_scales`);
      const source = this.w.initializers.get(wt.name)!;
      return {
        names: [qName, sName],
        tensors: derivedTensors(
          [
            {
              proto: tensorProto(qName, DataType.UINT8, [wt.n, blocks, block / 2]),
              byteLength: wt.n * blocks * (block / 2),
            },
            { proto: tensorProto(sName, DataType.FLOAT, [wt.n, blocks]), byteLength: wt.n * blocks * 4 },
          ],
          async () => {
            const q = quantize4Bit(floatValues(await source.data()), wt.k, wt.n, block);
            return [q.packed, bytesOf(q.scales)];
          },
        ),
      };
    });
    this.report.converted.push({
      node: node.name,
      op: 'MatMul',
      as: `MatMulNBits 4-bit, block ${block}${this.opts.accuracyLevel ? `, accuracy_level ${this.opts.accuracyLevel}` : ''}`,
      weight: wt.name,
    });
    return makeNode({
      op: 'MatMulNBits',
      domain: 'com.microsoft',
      name: node.name || this.names.take('MatMulNBits'),
      inputs: [node.input[0]!, bq!, sc!],
      outputs: [node.output[0]!],
      attrs: {
        K: wt.k,
        N: wt.n,
        bits: 4,
        block_size: block,
        ...(this.opts.accuracyLevel ? { accuracy_level: this.opts.accuracyLevel } : {}),
      },
    });
  }

  private matMulInteger(
    node: NodeProto,
    wt: Weight,
    dql: Map<string, [string, string, string]>,
    out: NodeProto[],
  ): NodeProto[] {
    const unsigned = this.mode === 'uint8';
    const per = this.opts.perChannel;
    const [bq, bs, bz] = this.tensors(`${wt.name}:${this.mode}:${per}`, () => {
      const qName = this.names.take(`${wt.name}_quantized`);
      const sName = this.names.take(`${wt.name}_scale`);
      const zName = this.names.take(`${wt.name}_zero_point`);
      const source = this.w.initializers.get(wt.name)!;
      const type = unsigned ? DataType.UINT8 : DataType.INT8;
      const sdims = per ? [wt.n] : [];
      const count = per ? wt.n : 1;
      return {
        names: [qName, sName, zName],
        tensors: derivedTensors(
          [
            { proto: tensorProto(qName, type, [wt.k, wt.n]), byteLength: wt.k * wt.n },
            { proto: tensorProto(sName, DataType.FLOAT, sdims), byteLength: count * 4 },
            { proto: tensorProto(zName, type, sdims), byteLength: count },
          ],
          async () => {
            const q = quantizeInt8(floatValues(await source.data()), wt.k, wt.n, per, unsigned);
            return [bytesOf(q.q), bytesOf(q.scales), bytesOf(q.zeroPoints)];
          },
        ),
      };
    });
    const a = node.input[0]!;
    const base = node.name || this.names.take('MatMul');
    let aq = dql.get(a);
    if (!aq) {
      aq = [
        this.names.take(`${a}_quantized`),
        this.names.take(`${a}_scale`),
        this.names.take(`${a}_zero_point`),
      ];
      dql.set(a, aq);
      out.push(
        makeNode({
          op: 'DynamicQuantizeLinear',
          name: this.names.take(`${base}/DynamicQuantizeLinear`),
          inputs: [a],
          outputs: aq,
        }),
      );
    }
    const yi = this.names.take(`${node.output[0]}_int32`);
    const yf = this.names.take(`${node.output[0]}_float`);
    const scale = this.names.take(`${node.output[0]}_scale`);
    this.report.converted.push({
      node: node.name,
      op: 'MatMul',
      as: `MatMulInteger ${unsigned ? 'uint8' : 'int8'} weights, ${per ? 'per-channel' : 'per-tensor'} scales`,
      weight: wt.name,
    });
    return [
      makeNode({
        op: 'MatMulInteger',
        name: this.names.take(`${base}/MatMulInteger`),
        inputs: [aq[0], bq!, aq[2], bz!],
        outputs: [yi],
      }),
      makeNode({
        op: 'Cast',
        name: this.names.take(`${base}/Cast`),
        inputs: [yi],
        outputs: [yf],
        attrs: { to: DataType.FLOAT },
      }),
      makeNode({
        op: 'Mul',
        name: this.names.take(`${base}/ScaleMul`),
        inputs: [aq[1], bs!],
        outputs: [scale],
      }),
      makeNode({ op: 'Mul', name: base, inputs: [yf, scale], outputs: [node.output[0]!] }),
    ];
  }

  private gather(node: NodeProto, wt: Weight): NodeProto[] {
    const [tq, ts] = this.tensors(`${wt.name}:rows8`, () => {
      const qName = this.names.take(`${wt.name}_rows_int8`);
      const sName = this.names.take(`${wt.name}_row_scales`);
      const source = this.w.initializers.get(wt.name)!;
      return {
        names: [qName, sName],
        tensors: derivedTensors(
          [
            { proto: tensorProto(qName, DataType.INT8, [wt.k, wt.n]), byteLength: wt.k * wt.n },
            { proto: tensorProto(sName, DataType.FLOAT, [wt.k, 1]), byteLength: wt.k * 4 },
          ],
          async () => {
            const q = quantizeRows(floatValues(await source.data()), wt.k, wt.n);
            return [bytesOf(q.q), bytesOf(q.scales)];
          },
        ),
      };
    });
    const ids = node.input[1]!;
    const y = node.output[0]!;
    const base = node.name || this.names.take('Gather');
    const gq = this.names.take(`${y}_int8`);
    const gs = this.names.take(`${y}_row_scale`);
    const gf = this.names.take(`${y}_float`);
    this.report.converted.push({
      node: node.name,
      op: 'Gather',
      as: 'int8 rows, one scale per row',
      weight: wt.name,
    });
    return [
      makeNode({
        op: 'Gather',
        name: this.names.take(`${base}/GatherRows`),
        inputs: [tq!, ids],
        outputs: [gq],
        attrs: { axis: 0 },
      }),
      makeNode({
        op: 'Gather',
        name: this.names.take(`${base}/GatherScales`),
        inputs: [ts!, ids],
        outputs: [gs],
        attrs: { axis: 0 },
      }),
      makeNode({
        op: 'Cast',
        name: this.names.take(`${base}/Cast`),
        inputs: [gq],
        outputs: [gf],
        attrs: { to: DataType.FLOAT },
      }),
      makeNode({ op: 'Mul', name: base, inputs: [gf, gs], outputs: [y] }),
    ];
  }

  /** The quantized tensors of one weight in one form, made once however many nodes read it. */
  private tensors(key: string, make: () => { names: string[]; tensors: OutputTensor[] }): string[] {
    const have = this.made.get(key);
    if (have) return have;
    const { names, tensors } = make();
    for (const t of tensors) this.w.initializers.set(t.proto.name, t);
    this.made.set(key, names);
    return names;
  }
}

export function quantizeWeights(
  w: WorkingModel,
  mode: WeightMode,
  opts: ResolvedConvertOptions,
  names: NameSource,
  report: ConversionReport,
): void {
  new WeightQuantizer(w, mode, opts, names, report).run();
}
