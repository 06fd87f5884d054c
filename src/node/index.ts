/** mmrt for Node.js: the core plus the Node host (files, hub cache, sharp, onnxruntime-node). */
export * from '../index.js';
export { ort, ortVersion } from './ort.js';
export { detectNode } from './detect.js';
export { createSessionWithGraphCache } from './graph-cache.js';
export { decodeImage, type DecodeOptions } from './image/decode.js';
export { openModelFiles, HubClient, HubModelFiles, LocalModelFiles } from './hub/index.js';
export { openSessionSource, type SimpleSourceOptions } from './session-source.js';
export { clipFromSource, loadClip, type LoadClipOptions, type NodeClipOptions } from './clip.js';
export {
  createPlatform,
  Platform,
  MODEL_TYPES,
  type CreatePlatformOptions,
  type PlatformFallback,
  type ModelTypeOption,
} from './platform.js';
export {
  llavaFromSource,
  loadLlava,
  openLlava,
  type LoadLlavaOptions,
  type LoadedLlava,
  type NodeLlavaOptions,
} from './llava.js';
export {
  createLoader,
  loaderFromPlatform,
  loaderFromPackage,
  openLoader,
  nodeLoaderHost,
  workerOrt,
  createSessionWithWeightCache,
  PlatformLoader,
  type CreateLoaderOptions,
  type NodeLoaderOptions,
  type NodeHostOptions,
  type SessionThreads,
} from './loader.js';
