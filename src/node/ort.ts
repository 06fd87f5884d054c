/** The Node host's ONNX Runtime: onnxruntime-node, loaded once. */
import * as ortNode from 'onnxruntime-node';
import type { OrtModule } from '../host/host.js';

export const ort: OrtModule = {
  InferenceSession: ortNode.InferenceSession as unknown as OrtModule['InferenceSession'],
  Tensor: ortNode.Tensor as unknown as OrtModule['Tensor'],
  env: ortNode.env as unknown as OrtModule['env'],
  listSupportedBackends: () => ortNode.listSupportedBackends(),
  // Checked against onnxruntime-node 1.30's binding: it never reads this option.
  ignoredSessionOptions: ['freeDimensionOverrides'],
};

export function ortVersion(): string {
  return ortNode.env.versions?.node ?? ortNode.env.versions?.common ?? 'unknown';
}
