/** The Node host's ONNX Runtime: onnxruntime-node, loaded once. */
import * as ortNode from 'onnxruntime-node';
import type { OrtModule } from '../host/types.js';

export const ort: OrtModule = ortNode as unknown as OrtModule;

export function ortVersion(): string {
  return ortNode.env.versions?.node ?? ortNode.env.versions?.common ?? 'unknown';
}
