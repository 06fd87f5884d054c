/**
 * mmrt core: host-free (no `node:*`, no DOM). Hosts (`mmrt` for Node, a web entry for
 * browsers) re-export this and plug their `Host` into its load path (`hostEntryPoints`).
 */
export * from './errors.js';
export * from './host/host.js';
export type { GpuInfo, HostCapabilities, ProviderStatus } from './host/capabilities.js';
export * from './package/precision.js';
export * from './package/family-spec.js';
export * from './package/model-config.js';
export { readPackage, componentVariant, listComponents } from './package/describe.js';
export type {
  ComponentInfo,
  ComponentVariant,
  Json,
  ModelPackage,
  TokenizerFiles,
} from './package/describe.js';
export * from './families/family.js';
export * from './families/registry.js';
export * from './runtime/providers.js';
export * from './runtime/session.js';
export * from './runtime/component-sessions.js';
export * from './runtime/remote-ort.js';
export { probeProvider } from './runtime/probe.js';
export * from './media/index.js';
export * from './media/input.js';
export * from './hub/reference.js';
export * from './text/tokenizer.js';
export * from './cache/lru.js';
export * from './kinds/dual-encoder/model.js';
export * from './kinds/dual-encoder/image-index.js';
export { dualEncoderFamily, type DualEncoderFamily } from './kinds/dual-encoder/family.js';
export { cosine, l2Normalize, softmax } from './kinds/dual-encoder/math.js';
export * from './kinds/vision-language/index.js';
export * from './kinds/video-text/index.js';
export * from './media/frame-sampling.js';
export { decodedFramesSource } from './media/decoded-frames.js';
export * from './kinds/image-to-text/index.js';
export { EncoderCache, type ContentKeyed, type EncoderCacheResult } from './cache/encoder-cache.js';
export { prepareImages } from './media/prepare.js';
export * from './platform/index.js';
export * from './generation/index.js';
export * from './loader/index.js';
export * from './load/index.js';
export * from './remote/index.js';
export * from './pipeline/index.js';
export * from './onnx/index.js';
export * from './quantize/index.js';
