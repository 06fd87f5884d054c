/**
 * The ONNX protobuf schema, and decoding/encoding with typed errors.
 *
 * The schema is `onnx-buf` (ONNX 1.20's `onnx.proto`, compiled for `@bufbuild/protobuf`); the
 * runtime is `@bufbuild/protobuf`, which passes the protobuf conformance suite, needs no
 * `eval` (so it runs under a browser's strict CSP), reads int64 as bigint, and decodes `bytes`
 * fields as views into the input (a 500 MB graph is not copied when read). `onnx-proto`, the
 * other ONNX package on npm, is ONNX 1.10 (IR 8) on protobufjs 6, and protobufjs's reflection
 * compiles code with `Function()` at run time.
 */
import { type DescMessage, type MessageShape, create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProtoSchema,
  AttributeProto_AttributeType,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  TensorProtoSchema,
  TensorProto_DataLocation,
  TensorProto_DataType,
  TensorShapeProtoSchema,
  TensorShapeProto_DimensionSchema,
  TypeProtoSchema,
  TypeProto_TensorSchema,
  ValueInfoProtoSchema,
} from 'onnx-buf';
import { ModelPackageError } from '../errors.js';

export type {
  AttributeProto,
  GraphProto,
  ModelProto,
  NodeProto,
  OperatorSetIdProto,
  StringStringEntryProto,
  TensorProto,
  TypeProto,
  ValueInfoProto,
} from 'onnx-buf';
export {
  AttributeProtoSchema,
  AttributeProto_AttributeType as AttributeType,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  TensorProtoSchema,
  TensorProto_DataLocation as DataLocation,
  TensorProto_DataType as DataType,
  TensorShapeProtoSchema,
  TensorShapeProto_DimensionSchema,
  TypeProtoSchema,
  TypeProto_TensorSchema,
  ValueInfoProtoSchema,
};
export { create, toBinary };

import type { ModelProto } from 'onnx-buf';

/** Bytes per element of each fixed-size data type (sub-byte and string types are absent). */
export const ELEMENT_BYTES: Readonly<Partial<Record<TensorProto_DataType, number>>> = {
  [TensorProto_DataType.FLOAT]: 4,
  [TensorProto_DataType.UINT8]: 1,
  [TensorProto_DataType.INT8]: 1,
  [TensorProto_DataType.UINT16]: 2,
  [TensorProto_DataType.INT16]: 2,
  [TensorProto_DataType.INT32]: 4,
  [TensorProto_DataType.INT64]: 8,
  [TensorProto_DataType.BOOL]: 1,
  [TensorProto_DataType.FLOAT16]: 2,
  [TensorProto_DataType.DOUBLE]: 8,
  [TensorProto_DataType.UINT32]: 4,
  [TensorProto_DataType.UINT64]: 8,
  [TensorProto_DataType.BFLOAT16]: 2,
};

/** The data type's name as ONNX spells it (`FLOAT16`), for messages. */
export function dataTypeName(t: number): string {
  return TensorProto_DataType[t] ?? `data type ${t}`;
}

/** The ONNX files ORT rejects are caught here first: a file that is not a ModelProto, or has no graph. */
export function decodeModel(bytes: Uint8Array, where: string): ModelProto {
  let model: ModelProto;
  try {
    model = fromBinary(ModelProtoSchema, bytes);
  } catch (e) {
    throw notOnnx(where, (e as Error).message, e);
  }
  if (!model.graph || model.irVersion === 0n) {
    throw notOnnx(where, model.graph ? 'it has no ir_version' : 'it has no graph');
  }
  return model;
}

function notOnnx(where: string, why: string, cause?: unknown): ModelPackageError {
  return new ModelPackageError(
    'MODEL_CORRUPT',
    `${where} is not an ONNX model: ${why}`,
    {
      value: where,
      hint: 'pass an .onnx file exported by PyTorch, Optimum or onnx; re-download it if it was cut short',
    },
    cause === undefined ? undefined : { cause },
  );
}

/** Encode any ONNX message. */
export function encode<D extends DescMessage>(schema: D, message: MessageShape<D>): Uint8Array {
  return toBinary(schema, message);
}
