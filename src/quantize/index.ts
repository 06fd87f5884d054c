/** The quantizer's host-free core: conversions, their options and report, and the ONNX Runtime check. */
export { type Conversion, convertModel, forkWorking } from './convert.js';
export {
  type ConvertOptions,
  DEFAULT_QUANTIZE_PRECISIONS,
  type Exclusions,
  QUANTIZE_PRECISIONS,
  type QuantizePrecision,
  isQuantizePrecision,
  parseQuantizePrecisions,
} from './options.js';
export { type ConversionReport, type ConvertedNode, type KeptNode, summarize } from './report.js';
export { FP16_BLOCK_LIST } from './fp16-pass.js';
export {
  type OutputDrift,
  type ReferenceHints,
  type ReferenceRun,
  type Verification,
  referenceFeeds,
  referenceRun,
  verifyVariant,
} from './verify.js';
export { quantize4Bit, quantizeInt8, quantizeRows, dequantize4Bit } from './weights.js';
