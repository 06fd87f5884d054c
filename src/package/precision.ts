/**
 * Precision variants of an ONNX component, named by the hub's file-suffix convention:
 * `onnx/vision_model_fp16.onnx` is the fp16 variant of `vision_model`.
 */
export const PRECISIONS = ['fp32', 'fp16', 'int8', 'uint8', 'q8', 'q4', 'q4f16', 'bnb4'] as const;
export type Precision = (typeof PRECISIONS)[number];

export const PRECISION_SUFFIX: Readonly<Record<Precision, string>> = {
  fp32: '',
  fp16: '_fp16',
  int8: '_int8',
  uint8: '_uint8',
  q8: '_quantized',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
};

/** Bytes per weight, roughly, for memory estimates before a file is read. */
export const PRECISION_BYTES_PER_PARAM: Readonly<Record<Precision, number>> = {
  fp32: 4,
  fp16: 2,
  int8: 1,
  uint8: 1,
  q8: 1,
  q4: 0.5,
  q4f16: 0.5,
  bnb4: 0.5,
};

export function isPrecision(v: unknown): v is Precision {
  return typeof v === 'string' && (PRECISIONS as readonly string[]).includes(v);
}

/** Split `vision_model_q4f16` into component `vision_model` and precision `q4f16`. Longest suffix wins. */
export function parseComponentFileStem(stem: string): { component: string; precision: Precision } {
  let best: { component: string; precision: Precision } = { component: stem, precision: 'fp32' };
  let bestLen = 0;
  for (const p of PRECISIONS) {
    const suffix = PRECISION_SUFFIX[p];
    if (suffix && stem.endsWith(suffix) && suffix.length > bestLen && stem.length > suffix.length) {
      best = { component: stem.slice(0, -suffix.length), precision: p };
      bestLen = suffix.length;
    }
  }
  return best;
}

export function componentFileName(component: string, precision: Precision): string {
  return `onnx/${component}${PRECISION_SUFFIX[precision]}.onnx`;
}
