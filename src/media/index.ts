/** Host-free image preprocessing: Pillow-exact resize, HF-exact crop/rescale/normalize. */
export { type DataUrl, isDataUrl, parseDataUrl } from './data-url.js';
export { centerCrop, type ResizeSpec, resizeOutputSize } from './geometry.js';
export { ALPHA_MODES, type AlphaMode, assertRawPixels, cmykToRgb, type RawPixels, toRgb } from './pixels.js';
export {
  type DecodeHint,
  ImageProcessor,
  type ImageProcessorOptions,
  type PixelTensor,
  type ResampleMode,
  stackBatch,
} from './processor.js';
export {
  type ImageProcessorConfig,
  KNOWN_IMAGE_PROCESSORS,
  parseImageProcessorConfig,
  type Triple,
} from './processor-config.js';
export {
  assertRgbImage,
  PIL_RESAMPLE_CODES,
  RESAMPLE_FILTERS,
  type ResampleFilter,
  resampleFilter,
  resizeRgb,
} from './resample.js';
