/**
 * The bytes of a TensorProto, wherever they are: `raw_data`, the typed repeated fields
 * (`float_data`, `int32_data`, ...), or external data (`data_location: EXTERNAL`, a location
 * with an offset and a length). External data is read through an `ExternalDataReader` the
 * host supplies (Node: ranged reads of the `.onnx_data` files), one tensor at a time, so a
 * multi-GB model is never held whole in memory.
 */
import { ModelPackageError } from '../errors.js';
import { DataLocation, DataType, ELEMENT_BYTES, type TensorProto, dataTypeName } from './proto.js';

export interface ExternalDataRef {
  /** File name relative to the model file (`model.onnx_data`, `model.onnx_data_1`). */
  readonly location: string;
  readonly offset: number;
  readonly length: number;
}

/** Reads external tensor data; the host bounds every read by the file's size. */
export interface ExternalDataReader {
  read(ref: ExternalDataRef): Promise<Uint8Array>;
}

export function isExternal(t: TensorProto): boolean {
  return t.dataLocation === DataLocation.EXTERNAL;
}

/** Where an external tensor's bytes are, or undefined for an inline tensor. */
export function externalRef(t: TensorProto, where: string): ExternalDataRef | undefined {
  if (!isExternal(t)) return undefined;
  const kv = new Map(t.externalData.map((e) => [e.key, e.value]));
  const location = kv.get('location');
  const offset = Number(kv.get('offset') ?? 0);
  const length = kv.has('length') ? Number(kv.get('length')) : tensorByteLength(t);
  if (
    !location ||
    !Number.isSafeInteger(offset) ||
    offset < 0 ||
    !Number.isSafeInteger(length) ||
    length < 0
  ) {
    throw new ModelPackageError(
      'MODEL_CORRUPT',
      `${where}: tensor "${t.name}" has unusable external data (location ${JSON.stringify(location)}, offset ${kv.get('offset')}, length ${kv.get('length')})`,
      { value: t.name },
    );
  }
  return { location, offset, length };
}

export function elementCount(dims: ReadonlyArray<bigint | number>): number {
  let n = 1;
  for (const d of dims) n *= Number(d);
  return n;
}

export function elementBytes(t: number): number {
  const b = ELEMENT_BYTES[t as DataType];
  if (b === undefined) {
    throw new ModelPackageError(
      'MODEL_UNSUPPORTED',
      `tensors of type ${dataTypeName(t)} are not supported here`,
      {
        value: dataTypeName(t),
      },
    );
  }
  return b;
}

/** Bytes the tensor's data takes in raw (little-endian) form. */
export function tensorByteLength(t: TensorProto): number {
  return elementCount(t.dims) * elementBytes(t.dataType);
}

/** The raw little-endian bytes of an inline tensor (a view when it has `raw_data`). */
export function inlineBytes(t: TensorProto): Uint8Array {
  if (t.rawData.byteLength > 0) return t.rawData;
  const n = elementCount(t.dims);
  if (n === 0) return new Uint8Array(0);
  switch (t.dataType) {
    case DataType.FLOAT:
      return bytesOf(Float32Array.from(t.floatData));
    case DataType.DOUBLE:
      return bytesOf(Float64Array.from(t.doubleData));
    case DataType.INT64:
      return bytesOf(BigInt64Array.from(t.int64Data));
    case DataType.UINT64:
      return bytesOf(BigUint64Array.from(t.uint64Data));
    case DataType.UINT32:
      return bytesOf(Uint32Array.from(t.uint64Data, Number));
    case DataType.INT32:
      return bytesOf(Int32Array.from(t.int32Data));
    case DataType.INT16:
      return bytesOf(Int16Array.from(t.int32Data));
    case DataType.UINT16:
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
      return bytesOf(Uint16Array.from(t.int32Data));
    case DataType.INT8:
      return bytesOf(Int8Array.from(t.int32Data));
    case DataType.UINT8:
    case DataType.BOOL:
      return Uint8Array.from(t.int32Data);
    default:
      throw new ModelPackageError(
        'MODEL_UNSUPPORTED',
        `tensor "${t.name}" has data type ${dataTypeName(t.dataType)}, which mmrt does not read`,
        { value: dataTypeName(t.dataType) },
      );
  }
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** The raw bytes of any tensor, checked against its dims and type. */
export async function tensorBytes(
  t: TensorProto,
  reader: ExternalDataReader | undefined,
  where: string,
): Promise<Uint8Array> {
  const ref = externalRef(t, where);
  let bytes: Uint8Array;
  if (ref) {
    if (!reader) {
      throw new ModelPackageError(
        'MODEL_FILE_MISSING',
        `${where}: tensor "${t.name}" lives in external data (${ref.location}) but no external data was given`,
        { value: ref.location },
      );
    }
    bytes = await reader.read(ref);
  } else {
    bytes = inlineBytes(t);
  }
  const want = tensorByteLength(t);
  if (bytes.byteLength !== want) {
    throw new ModelPackageError(
      'MODEL_CORRUPT',
      `${where}: tensor "${t.name}" (${dataTypeName(t.dataType)} [${t.dims.join(', ')}]) should hold ${want} bytes but has ${bytes.byteLength}`,
      { value: t.name },
    );
  }
  return bytes;
}

/** A typed view when the bytes are aligned, else an aligned copy. */
function view<T>(bytes: Uint8Array, size: number, make: (b: ArrayBufferLike, o: number, n: number) => T): T {
  if (bytes.byteOffset % size === 0) return make(bytes.buffer, bytes.byteOffset, bytes.byteLength / size);
  const copy = bytes.slice();
  return make(copy.buffer, 0, copy.byteLength / size);
}

export function asFloat32(bytes: Uint8Array): Float32Array {
  return view(bytes, 4, (b, o, n) => new Float32Array(b, o, n));
}

export function asUint16(bytes: Uint8Array): Uint16Array {
  return view(bytes, 2, (b, o, n) => new Uint16Array(b, o, n));
}

export function asInt64(bytes: Uint8Array): BigInt64Array {
  return view(bytes, 8, (b, o, n) => new BigInt64Array(b, o, n));
}

export { bytesOf };
