/** The Node image host: sharp decoding plus the host-free preprocessing. */
export { DEFAULT_MAX_PIXELS, type DecodeOptions, decodeImage, type ImageInput } from './decode.js';
export { DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT_MS, type FetchOptions } from './source.js';
