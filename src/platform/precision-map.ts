/**
 * How the brief's precision words (fp32, fp16, int8, int4) become the package's file variants
 * (DESIGN.md suffixes: fp32, fp16, int8, uint8, q8, q4, q4f16, bnb4).
 *
 * - `int8` means "8-bit weights": `q8` (`_quantized`) first because it is what the hub's ONNX
 *   exports ship for 8-bit, then `int8`, then `uint8` (same weights, other signedness).
 * - `int4` means "4-bit weights": `q4` first (fp32 activations: runs everywhere), then `q4f16`
 *   (fp16 activations: smaller and faster where fp16 runs), then `bnb4`.
 * - A package precision name (`q8`, `q4f16`, ...) asks for exactly that file.
 *
 * When none of the wanted files exists, `fallback` is the declared order of acceptable
 * substitutes (each with a warning). It goes up in quality first, never silently down:
 * someone who asked for fp32 does not get a quantized model. Anything outside the list is
 * `MODEL_VARIANT_MISSING` when a person or the model asked for it (presets and defaults fall
 * back to the platform's own order instead, see `PLATFORM_PRECISION_ORDER`).
 */
import type { Precision } from '../package/precision.js';
import type { PlatformName } from '../runtime/providers.js';

/** Precision words that name a kind of number, not a file: each maps to the files that mean it. */
export const GENERAL_PRECISIONS = ['fp32', 'fp16', 'int8', 'int4'] as const;
/** What a config may ask for: the general words plus every package precision. */
export const REQUESTABLE_PRECISIONS = [...GENERAL_PRECISIONS, 'uint8', 'q8', 'q4', 'q4f16', 'bnb4'] as const;
export type RequestedPrecision = (typeof REQUESTABLE_PRECISIONS)[number];

export interface PrecisionChoice {
  /** Variants that mean what was asked, best first. */
  readonly candidates: readonly Precision[];
  /** Acceptable substitutes when no candidate exists, in order. */
  readonly fallback: readonly Precision[];
}

const EIGHT_BIT: readonly Precision[] = ['q8', 'int8', 'uint8'];
const FOUR_BIT: readonly Precision[] = ['q4', 'q4f16', 'bnb4'];

export const PRECISION_CHOICES: Readonly<Record<RequestedPrecision, PrecisionChoice>> = {
  fp32: { candidates: ['fp32'], fallback: ['fp16'] },
  fp16: { candidates: ['fp16'], fallback: ['fp32'] },
  int8: { candidates: EIGHT_BIT, fallback: ['fp16', 'fp32'] },
  int4: { candidates: FOUR_BIT, fallback: [...EIGHT_BIT, 'fp16', 'fp32'] },
  uint8: { candidates: ['uint8'], fallback: ['int8', 'q8', 'fp16', 'fp32'] },
  q8: { candidates: ['q8'], fallback: ['int8', 'uint8', 'fp16', 'fp32'] },
  q4: { candidates: ['q4'], fallback: ['q4f16', 'bnb4', ...EIGHT_BIT, 'fp16', 'fp32'] },
  q4f16: { candidates: ['q4f16'], fallback: ['q4', 'bnb4', ...EIGHT_BIT, 'fp16', 'fp32'] },
  bnb4: { candidates: ['bnb4'], fallback: ['q4', 'q4f16', ...EIGHT_BIT, 'fp16', 'fp32'] },
};

/**
 * The order a platform picks in when nobody asked (or a preset's ask cannot be met): its
 * fastest well-supported precision first. CPU/WASM prefer fp32 (exact, and ORT's CPU kernels
 * compute fp16 through casts) then 8-bit; GPUs prefer fp16; Qualcomm's HTP is an integer engine.
 */
const GPU_ORDER: readonly Precision[] = ['fp16', 'fp32', 'q4f16', 'q8', 'int8', 'uint8', 'q4', 'bnb4'];
export const PLATFORM_PRECISION_ORDER: Readonly<Record<PlatformName, readonly Precision[]>> = {
  cpu: ['fp32', 'q8', 'int8', 'uint8', 'q4', 'bnb4', 'fp16', 'q4f16'],
  wasm: ['fp32', 'q8', 'int8', 'uint8', 'q4', 'bnb4', 'fp16', 'q4f16'],
  cuda: GPU_ORDER,
  rocm: GPU_ORDER,
  mps: GPU_ORDER,
  openvino: ['fp16', 'fp32', 'q8', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4'],
  qualcomm: ['int8', 'uint8', 'q8', 'fp16', 'fp32', 'q4', 'q4f16', 'bnb4'],
  webnn: GPU_ORDER,
  webgpu: ['fp16', 'fp32', 'q4f16', 'q4', 'q8', 'int8', 'uint8', 'bnb4'],
};

/** Precisions whose activations are fp16 (KV cache and activation estimates use 2 bytes). */
export const HALF_ACTIVATION: ReadonlySet<Precision> = new Set<Precision>(['fp16', 'q4f16']);

/**
 * What a precision needs from the platform, and what to run instead without it. Only WebGPU
 * has a hard requirement: fp16 arithmetic in shaders needs the adapter's `shader-f16` feature.
 */
export interface PrecisionRequirement {
  readonly platform: PlatformName;
  readonly precision: Precision;
  readonly needs: 'shader-f16';
  readonly instead: Precision;
}
export const PRECISION_REQUIREMENTS: readonly PrecisionRequirement[] = [
  { platform: 'webgpu', precision: 'fp16', needs: 'shader-f16', instead: 'fp32' },
  { platform: 'webgpu', precision: 'q4f16', needs: 'shader-f16', instead: 'q4' },
];

/** Runs, but slowly: said once as a warning, not refused (the user may want the small file). */
export const PRECISION_NOTES: ReadonlyArray<{ platform: PlatformName; precision: Precision; note: string }> =
  [
    {
      platform: 'cpu',
      precision: 'fp16',
      note: "ONNX Runtime's CPU kernels run most fp16 ops through casts to fp32: fp16 on cpu is usually slower than fp32 (q8 is the small fast choice there)",
    },
    {
      platform: 'cpu',
      precision: 'q4f16',
      note: "ONNX Runtime's CPU kernels run fp16 activations through casts: q4 is faster on cpu",
    },
    {
      platform: 'wasm',
      precision: 'fp16',
      note: 'onnxruntime-web has few fp16 WASM kernels: fp16 on wasm is usually slower than fp32 or q8',
    },
  ];

export function isRequestedPrecision(v: unknown): v is RequestedPrecision {
  return typeof v === 'string' && (REQUESTABLE_PRECISIONS as readonly string[]).includes(v);
}

/**
 * When a variant's first run gives NaN/Inf or fails, what to run instead, best first. A
 * non-finite output from a variant computing in fp16 is almost always fp16 overflow (onnxruntime
 * #26367: q4f16 on some WebGPU adapters), which every fp16 variant repeats: its fp32-activation
 * twin comes first and the other half-activation variants are skipped. Otherwise the rest of the
 * declared order for what was asked, then fp32, the exact one.
 */
const FP32_TWIN: Readonly<Partial<Record<Precision, Precision>>> = { q4f16: 'q4', fp16: 'fp32' };

export function firstRunFallbacks(
  asked: RequestedPrecision,
  current: Precision,
  kind: 'non-finite' | 'run-error',
): Precision[] {
  const choice = PRECISION_CHOICES[asked];
  const declared = [...new Set<Precision>([...choice.candidates, ...choice.fallback, 'fp32'])];
  const at = declared.indexOf(current);
  let rest = declared.slice(at + 1).concat(at < 0 ? [] : declared.slice(0, at));
  if (kind === 'non-finite' && HALF_ACTIVATION.has(current)) {
    rest = rest.filter((p) => !HALF_ACTIVATION.has(p));
    const twin = FP32_TWIN[current];
    if (twin) rest = [twin, ...rest.filter((p) => p !== twin)];
  }
  rest = rest.filter((p) => p !== current);
  // fp32, the exact one, is the last resort whatever the declared order says.
  return rest.includes('fp32') ? [...rest.filter((p) => p !== 'fp32'), 'fp32'] : rest;
}
