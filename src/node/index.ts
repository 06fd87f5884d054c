/**
 * mmrt for Node.js: the host-free core, with the Node host (folders and the hub cache, sharp,
 * onnxruntime-node, the optimized-graph cache, a file store) plugged into its load path.
 */
import { hostEntryPoints } from '../load/entry-points.js';
import { type NodeHostOptions, nodeHost } from './host.js';

export * from '../index.js';
export { nodeHost, type NodeHostOptions } from './host.js';
export { detectNode } from './detect.js';
export { decodeImage } from './media/decode.js';
export { openModelFiles, HubClient, HubModelFiles, LocalModelFiles } from './hub/index.js';
export { ort, ortVersion } from './ort.js';
export { workerOrt } from './worker-ort.js';

export const { loadClip, loadLlava, loadBlip, loadModel, createPlacement, createLoader } =
  hostEntryPoints<NodeHostOptions>((options) => nodeHost(options));
