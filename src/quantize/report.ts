/**
 * What a conversion did, node by node: which nodes changed and into what, which were kept and
 * why, and the weight bytes before and after. Plain data, so it can be printed, saved beside
 * the variants (`onnx/quantization.json`) and shown by `mmrt explain`.
 */
import type { QuantizePrecision } from './options.js';

export interface ConvertedNode {
  readonly node: string;
  readonly op: string;
  /** What it became: `MatMulNBits 4-bit, block 32`, `int8 per-row gather`, `fp16`. */
  readonly as: string;
  readonly weight?: string;
}

export interface KeptNode {
  readonly node: string;
  readonly op: string;
  readonly reason: string;
}

export interface ConversionReport {
  readonly precision: QuantizePrecision;
  readonly converted: ConvertedNode[];
  readonly kept: KeptNode[];
  /** Weight bytes of the main graph's initializers. */
  weightBytesBefore: number;
  weightBytesAfter: number;
  /** fp16: weights clamped to ±65504 (they would have become infinite). */
  clampedValues: number;
  /** Cast nodes added at fp16/fp32 boundaries. */
  castsAdded: number;
  readonly notes: string[];
}

export function emptyReport(precision: QuantizePrecision): ConversionReport {
  return {
    precision,
    converted: [],
    kept: [],
    weightBytesBefore: 0,
    weightBytesAfter: 0,
    clampedValues: 0,
    castsAdded: 0,
    notes: [],
  };
}

/** Counts by op and outcome, for one line of output. */
export function summarize(r: ConversionReport): string {
  const by = (xs: ReadonlyArray<{ op: string }>) => {
    const m = new Map<string, number>();
    for (const x of xs) m.set(x.op, (m.get(x.op) ?? 0) + 1);
    return [...m].map(([op, n]) => `${n} ${op}`).join(', ');
  };
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(2)} MiB`;
  const parts = [`weights ${mb(r.weightBytesBefore)} -> ${mb(r.weightBytesAfter)}`];
  if (r.converted.length) parts.push(`converted ${by(r.converted)}`);
  if (r.kept.length) parts.push(`kept ${by(r.kept)}`);
  if (r.castsAdded) parts.push(`${r.castsAdded} casts at fp16/fp32 boundaries`);
  if (r.clampedValues) parts.push(`${r.clampedValues} weights clamped to ±65504`);
  return parts.join('; ');
}
