/** mmrt for Node.js: the core plus the Node host (files, hub cache, sharp, onnxruntime-node). */
export * from '../index.js';
export { ort, ortVersion } from './ort.js';
export { detectNode } from './detect.js';
export { createSessionWithGraphCache } from './graph-cache.js';
