/**
 * What each precision is worth in speed on CPU, per component role, as measured — not assumed:
 * `npm run bench -- quantize` (bench/results/quantize.json; onnxruntime-node 1.30, 2 cores of an
 * AVX-512 VNNI x86, every component at the precision named, runs interleaved with fp32 in one
 * process). vision: CLIP ViT-B/32's vision tower, images/s in batches of 8; llm: a SmolLM-135M
 * shaped decoder, decode tokens/s. The figures are ratios to fp32 from the same run.
 *
 * The measurement said what the issue warned of: lower bits are not always faster. For the ViT,
 * 8-bit (MatMulInteger, fused by ORT into DynamicQuantizeMatMul) was 3.1x fp32 and 4-bit
 * (MatMulNBits) no faster than fp32; fp16 runs through casts on CPU and lost a little. For the
 * decoder, whose decode step streams every weight, 4-bit was fastest.
 *
 * The planner uses these to order the substitutes it picks on CPU and to skip, under a memory
 * budget, a variant that is both larger and slower than another that fits, and says so when a
 * plan runs a variant measured no faster than fp32. CPU's default stays fp32: exact against the
 * references, which is mmrt's first promise; the user opts into drift.
 */
import type { ComponentRole } from '../package/family-spec.js';
import type { Precision } from '../package/precision.js';
import type { PlatformName } from '../runtime/providers.js';

export interface MeasuredSpeed {
  /** Throughput relative to fp32, per precision. */
  readonly vsFp32: Readonly<Partial<Record<Precision, number>>>;
  /** What was measured, for messages. */
  readonly what: string;
}

/** `int8` and `uint8` files run the same MatMulInteger kernels as `q8` (mmrt's quantizer writes all three). */
const eightBit = (x: number) => ({ int8: x, uint8: x });

/**
 * The mean of two runs of bench/results/quantize.json on 2026-12-01, on a shared machine (load
 * averages 11-28 and 7-11; vision 3.17/3.02x for q8, 1.02/0.95x for q4; decoder 3.17/2.39x for
 * q4, 2.49/1.49x for q8, 2.02/2.50x for q4f16): re-measure on a quiet machine and update.
 */
export const CPU_MEASURED: Readonly<Partial<Record<ComponentRole, MeasuredSpeed>>> = {
  vision: {
    what: 'images/s of a ViT-B/32 vision tower',
    vsFp32: { fp32: 1, fp16: 0.94, q8: 3.1, ...eightBit(3.1), q4: 0.98, q4f16: 1.02 },
  },
  llm: {
    what: 'decode tokens/s of a 135M decoder',
    vsFp32: { fp32: 1, fp16: 0.94, q8: 2.0, ...eightBit(2.0), q4: 2.8, q4f16: 2.26 },
  },
};

/** The measured speed table of a role on a platform (CLIP's combined graph counts as vision). */
export function measuredSpeed(platform: PlatformName, role: ComponentRole): MeasuredSpeed | undefined {
  if (platform !== 'cpu') return undefined;
  return CPU_MEASURED[role === 'combined' ? 'vision' : role];
}

/** `order` with the measured precisions sorted fastest first (fp32 keeps its place: it is the exact one). */
export function orderByMeasuredSpeed(
  order: readonly Precision[],
  platform: PlatformName,
  role: ComponentRole,
): Precision[] {
  const m = measuredSpeed(platform, role);
  if (!m) return [...order];
  const speed = (p: Precision) => m.vsFp32[p];
  const measured = order
    .filter((p) => p !== 'fp32' && speed(p) !== undefined)
    .sort((a, b) => speed(b)! - speed(a)!);
  let i = 0;
  return order.map((p) => (p !== 'fp32' && speed(p) !== undefined ? measured[i++]! : p));
}

/** A warning when `p` was measured no faster than fp32 for this role here, naming the faster ones. */
export function measuredNote(
  platform: PlatformName,
  role: ComponentRole,
  p: Precision,
  name: string,
): string | undefined {
  const m = measuredSpeed(platform, role);
  const s = m?.vsFp32[p];
  if (!m || s === undefined || p === 'fp32' || s >= 1.1) return undefined;
  const faster = Object.entries(m.vsFp32)
    .filter(([q, v]) => q !== p && v! >= 1.1)
    .sort((a, b) => b[1]! - a[1]!)
    .map(([q, v]) => `${q} ${v!.toFixed(1)}x`);
  return `"${name}" runs ${p} on ${platform}, measured at ${s.toFixed(2)}x fp32's ${m.what} (npm run bench -- quantize)${faster.length ? `; faster there: ${faster.join(', ')}` : ''}`;
}
