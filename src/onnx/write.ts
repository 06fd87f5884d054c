/**
 * Writing a ModelProto as a stream of pieces, so that no model is ever assembled whole in
 * memory: the main graph's initializers are written last, one at a time, each read or
 * computed only when the writer reaches it, and either inline (`raw_data`) or into external
 * data files (`X.onnx_data`, then the hub's `X.onnx_data_1`, `X.onnx_data_2`, ... chunks).
 *
 * It rests on a protobuf rule: a message's encoding may be split into parts and concatenated
 * (fields in any order, repeated fields appended). So the model is `encode(model without
 * graph)` + the graph field framed by hand, the graph is `encode(graph without initializers)` +
 * each initializer framed by hand, and an initializer is `encode(tensor without data)` + its
 * `raw_data` field framed by hand around bytes that are never copied. Every length is known
 * before anything is written (from dims and types), so the pieces go out in one pass.
 *
 * Hand-written on top of @bufbuild/protobuf because its encoder, like every protobuf encoder,
 * builds the whole message in one buffer: for a 500 MB graph that is a second 500 MB.
 */
import { ModelPackageError } from '../errors.js';
import {
  DataLocation,
  GraphProtoSchema,
  type ModelProto,
  ModelProtoSchema,
  StringStringEntryProtoSchema,
  type TensorProto,
  TensorProtoSchema,
  create,
  dataTypeName,
  toBinary,
} from './proto.js';

/** One initializer of the main graph, its bytes produced when the writer reaches it. */
export interface OutputTensor {
  /** Name, dims and data type; any data fields are ignored. */
  readonly proto: TensorProto;
  readonly byteLength: number;
  /** The raw little-endian bytes (exactly `byteLength`). Called once. */
  data(): Promise<Uint8Array>;
}

export interface ExternalDataLayout {
  /** File of the first chunk, beside the model file (`model_q4.onnx_data`); later chunks add `_1`, `_2`, ... */
  readonly baseName: string;
  /** Tensors smaller than this stay inline. Default 1024 bytes (onnx's default). */
  readonly threshold?: number;
  /**
   * A chunk never grows past this; a tensor never spans two chunks. Default 2 GiB - 1: a
   * browser fetches each chunk into one ArrayBuffer.
   */
  readonly maxChunkBytes?: number;
  /** Tensors of 1 MiB or more start at a multiple of this (default 64 KiB), so ORT can map them. */
  readonly alignment?: number;
}

export interface WriteOptions {
  /** Write initializers over the threshold to external data files; absent: everything inline. */
  readonly externalData?: ExternalDataLayout;
}

/** Bytes to append to the model file (`file` null) or to an external data chunk (its name). */
export interface OutputPiece {
  readonly file: string | null;
  readonly bytes: Uint8Array;
}

export interface WritePlan {
  /** Size of the model file. */
  readonly modelBytes: number;
  /** External data chunks, in order, with their sizes. */
  readonly chunks: ReadonlyArray<{ readonly name: string; readonly bytes: number }>;
  /** Everything to write, in order; each file's pieces are appended in the order they come. */
  pieces(): AsyncGenerator<OutputPiece, void, undefined>;
}

/** Protobuf's hard limit on one message: a model file over it must use external data. */
export const PROTOBUF_LIMIT = 2 ** 31 - 1;
const ALIGN_FROM = 1 << 20;

/** `X.onnx_data`, `X.onnx_data_1`, ...: transformers.js's names for chunk i. */
export function chunkName(baseName: string, index: number): string {
  return index === 0 ? baseName : `${baseName}_${index}`;
}

function varint(n: number): Uint8Array {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}

/** Tag and length of a length-delimited field. */
function frame(field: number, length: number): Uint8Array {
  const tag = varint((field << 3) | 2);
  const len = varint(length);
  const out = new Uint8Array(tag.length + len.length);
  out.set(tag);
  out.set(len, tag.length);
  return out;
}

interface Placed {
  readonly tensor: OutputTensor;
  readonly header: Uint8Array;
  /** Inline: the raw_data frame; external: where the bytes go. */
  readonly dataFrame?: Uint8Array;
  readonly external?: { readonly chunk: number; readonly offset: number; readonly padding: number };
  readonly encodedLength: number;
}

function checkTensor(t: OutputTensor): void {
  if (!Number.isSafeInteger(t.byteLength) || t.byteLength < 0) {
    throw new ModelPackageError(
      'MODEL_CORRUPT',
      `tensor "${t.proto.name}" has no usable size (${t.byteLength})`,
      {
        value: t.proto.name,
      },
    );
  }
}

/** Lay out a model and its main-graph initializers; nothing is read or computed until `pieces()` runs. */
export function planWrite(
  model: ModelProto,
  initializers: readonly OutputTensor[],
  options: WriteOptions = {},
): WritePlan {
  if (!model.graph) throw new ModelPackageError('MODEL_CORRUPT', 'the model to write has no graph', {});
  const ext = options.externalData;
  const threshold = ext?.threshold ?? 1024;
  const maxChunk = ext?.maxChunkBytes ?? PROTOBUF_LIMIT;
  const alignment = ext?.alignment ?? 65536;

  const graphHead = toBinary(GraphProtoSchema, create(GraphProtoSchema, { ...model.graph, initializer: [] }));
  const modelHead = toBinary(ModelProtoSchema, create(ModelProtoSchema, { ...model, graph: undefined }));

  const chunks: Array<{ name: string; bytes: number }> = [];
  const placed: Placed[] = [];
  for (const tensor of initializers) {
    checkTensor(tensor);
    const base = create(TensorProtoSchema, {
      name: tensor.proto.name,
      dims: tensor.proto.dims,
      dataType: tensor.proto.dataType,
      ...(tensor.proto.docString && { docString: tensor.proto.docString }),
    });
    if (ext && tensor.byteLength >= threshold) {
      if (tensor.byteLength > maxChunk) {
        throw new ModelPackageError(
          'MODEL_UNSUPPORTED',
          `tensor "${tensor.proto.name}" (${tensor.byteLength} bytes) is larger than one external data chunk (${maxChunk} bytes)`,
          { value: tensor.proto.name, hint: 'raise maxChunkBytes' },
        );
      }
      let chunk = Math.max(0, chunks.length - 1);
      if (chunks.length === 0) chunks.push({ name: chunkName(ext.baseName, 0), bytes: 0 });
      const alignTo = tensor.byteLength >= ALIGN_FROM ? alignment : 1;
      let padding = (alignTo - (chunks[chunk]!.bytes % alignTo)) % alignTo;
      if (chunks[chunk]!.bytes + padding + tensor.byteLength > maxChunk) {
        chunks.push({ name: chunkName(ext.baseName, chunks.length), bytes: 0 });
        chunk = chunks.length - 1;
        padding = 0;
      }
      const offset = chunks[chunk]!.bytes + padding;
      chunks[chunk]!.bytes = offset + tensor.byteLength;
      base.dataLocation = DataLocation.EXTERNAL;
      base.externalData = [
        create(StringStringEntryProtoSchema, { key: 'location', value: chunks[chunk]!.name }),
        create(StringStringEntryProtoSchema, { key: 'offset', value: String(offset) }),
        create(StringStringEntryProtoSchema, { key: 'length', value: String(tensor.byteLength) }),
      ];
      const header = toBinary(TensorProtoSchema, base);
      placed.push({ tensor, header, external: { chunk, offset, padding }, encodedLength: header.length });
    } else {
      const header = toBinary(TensorProtoSchema, base);
      const dataFrame = frame(9, tensor.byteLength);
      placed.push({
        tensor,
        header,
        dataFrame,
        encodedLength: header.length + dataFrame.length + tensor.byteLength,
      });
    }
  }

  const frames = placed.map((p) => frame(5, p.encodedLength));
  let graphLength = graphHead.length;
  for (const [i, p] of placed.entries()) graphLength += frames[i]!.length + p.encodedLength;
  const graphFrame = frame(7, graphLength);
  const modelBytes = modelHead.length + graphFrame.length + graphLength;
  if (modelBytes > PROTOBUF_LIMIT) {
    throw new ModelPackageError(
      'MODEL_UNSUPPORTED',
      `the model would be ${modelBytes} bytes, over protobuf's 2 GiB limit: it must be written with external data`,
      { value: modelBytes, hint: 'write it with external data (quantize --external-data)' },
    );
  }

  async function* pieces(): AsyncGenerator<OutputPiece, void, undefined> {
    yield { file: null, bytes: modelHead };
    yield { file: null, bytes: graphFrame };
    yield { file: null, bytes: graphHead };
    for (const [i, p] of placed.entries()) {
      const data = await p.tensor.data();
      if (data.byteLength !== p.tensor.byteLength) {
        throw new ModelPackageError(
          'MODEL_CORRUPT',
          `tensor "${p.tensor.proto.name}" (${dataTypeName(p.tensor.proto.dataType)}) produced ${data.byteLength} bytes, expected ${p.tensor.byteLength}`,
          { value: p.tensor.proto.name },
        );
      }
      yield { file: null, bytes: frames[i]! };
      yield { file: null, bytes: p.header };
      if (p.external) {
        const name = chunks[p.external.chunk]!.name;
        if (p.external.padding > 0) yield { file: name, bytes: new Uint8Array(p.external.padding) };
        yield { file: name, bytes: data };
      } else {
        yield { file: null, bytes: p.dataFrame! };
        yield { file: null, bytes: data };
      }
    }
  }

  return { modelBytes, chunks, pieces };
}

/** The whole model file in memory (everything inline): for small models, tests, and hosts without files. */
export async function modelBytes(
  model: ModelProto,
  initializers: readonly OutputTensor[],
): Promise<Uint8Array> {
  const plan = planWrite(model, initializers);
  const out = new Uint8Array(plan.modelBytes);
  let at = 0;
  for await (const piece of plan.pieces()) {
    out.set(piece.bytes, at);
    at += piece.bytes.byteLength;
  }
  return out;
}
