/** ONNX in TypeScript: the ModelProto schema, tensor data (inline or external), graph editing, streamed writing. */
export {
  DataType,
  DataLocation,
  ELEMENT_BYTES,
  dataTypeName,
  decodeModel,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './proto.js';
export {
  type ExternalDataReader,
  type ExternalDataRef,
  elementCount,
  externalRef,
  tensorByteLength,
  tensorBytes,
} from './tensor-data.js';
export { type WorkingModel, derivedTensors, memoryTensor, workingModel } from './graph.js';
export {
  type ExternalDataLayout,
  type OutputPiece,
  type OutputTensor,
  type WriteOptions,
  type WritePlan,
  PROTOBUF_LIMIT,
  chunkName,
  modelBytes,
  planWrite,
} from './write.js';
export { FLOAT16_MAX, fromFloat16, toFloat16 } from './float16.js';
export { inferTypes } from './types.js';
