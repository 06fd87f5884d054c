/**
 * mmrt for Node.js: the host-free core, with the Node host (folders and the hub cache, sharp,
 * onnxruntime-node, the optimized-graph cache, a file store) plugged into its load path.
 */
import { hostEntryPoints } from '../load/entry-points.js';
import { type NodeHostOptions, nodeHost } from './host.js';
import { nodePipeline } from './pipeline.js';

export * from '../index.js';
export { nodeHost, type NodeHostOptions } from './host.js';
export { detectNode } from './detect.js';
export { decodeImage } from './media/decode.js';
export { openModelFiles, HubClient, HubModelFiles, LocalModelFiles } from './hub/index.js';
export { ort, ortVersion } from './ort.js';
export { workerOrt } from './worker-ort.js';
export { MODELS_DIR, SAMPLES_DIR, SHIPPED_MODELS, type ShippedModel, shippedModelPath } from './shipped.js';
export {
  quantizeModel,
  QUANTIZATION_FILE,
  type QuantizeOptions,
  type QuantizeProgress,
  type QuantizeResult,
  type QuantizedVariant,
} from './quantize.js';
export { readOnnxFile, writeOnnxFile, type OpenedOnnx, type WrittenOnnx } from './onnx-files.js';

export { nodeVideoOpener, type NodeVideoOptions } from './media/video.js';

export const { loadClip, loadLlava, loadBlip, loadXclip, loadModel, createPlacement, createLoader } =
  hostEntryPoints<NodeHostOptions>((options) => nodeHost(options));

/** transformers.js's `pipeline(task, model, { device, dtype, progress_callback })`, on mmrt. */
export const pipeline = nodePipeline(loadModel as never);
export { env, type PipelineEnv } from './pipeline.js';
