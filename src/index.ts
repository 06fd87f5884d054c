/**
 * mmrt core: host-free (no `node:*`, no DOM). Hosts (`mmrt` for Node, `mmrt/web` for
 * browsers) re-export this and add file access, image decoding and their ONNX Runtime.
 */
export * from './errors.js';
export type { ModelFiles, OrtModule, RgbImage } from './host/types.js';
export * from './package/precision.js';
export * from './package/families.js';
export * from './package/describe.js';
export * from './runtime/providers.js';
export * from './runtime/session.js';
export { probeProvider } from './runtime/probe.js';
export type { HostCapabilities, ProviderStatus, GpuInfo } from './platform/capabilities.js';
export * from './image/index.js';
export * from './hub/reference.js';
export * from './text/tokenizer.js';
export * from './cache/lru.js';
export * from './runtime/session-source.js';
export * from './families/clip/model.js';
export * from './families/clip/image-index.js';
export { cosine, l2Normalize, softmax } from './families/clip/math.js';
export * from './platform/index.js';
export * from './generation/index.js';
export * from './families/llava/index.js';
export * from './loader/index.js';
