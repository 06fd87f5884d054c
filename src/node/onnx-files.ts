/**
 * ONNX files on disk for the Node host: a model read with its external data opened for
 * ranged reads (one tensor at a time, each read bounded by the file's size), and a model
 * written piece by piece to temporary files that replace the targets only once complete.
 */
import { type FileHandle, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ModelPackageError } from '../errors.js';
import { type WorkingModel, subgraphs, workingModel } from '../onnx/graph.js';
import { DataLocation, type GraphProto, decodeModel } from '../onnx/proto.js';
import {
  type ExternalDataReader,
  type ExternalDataRef,
  externalRef,
  tensorBytes,
} from '../onnx/tensor-data.js';
import { PROTOBUF_LIMIT, type WriteOptions, planWrite } from '../onnx/write.js';

export interface OpenedOnnx {
  readonly working: WorkingModel;
  /** External data files the model reads, relative to its folder. */
  readonly externalFiles: readonly string[];
  close(): Promise<void>;
}

/** Reads `location` files beside the model; a location that leaves the folder is refused. */
class FolderDataReader implements ExternalDataReader {
  private readonly handles = new Map<string, Promise<{ fh: FileHandle; size: number }>>();

  constructor(
    private readonly dir: string,
    private readonly where: string,
  ) {}

  private handle(location: string) {
    if (!/^[^/\\]+$/.test(location) || location === '.' || location === '..') {
      throw new ModelPackageError(
        'MODEL_CORRUPT',
        `${this.where} names external data "${location}" outside its folder`,
        { value: location, valid: 'a file name beside the model' },
      );
    }
    let h = this.handles.get(location);
    if (!h) {
      const path = join(this.dir, location);
      h = (async () => {
        const fh = await open(path, 'r').catch((e: NodeJS.ErrnoException) => {
          throw new ModelPackageError(
            'MODEL_FILE_MISSING',
            `${this.where} keeps its weights in ${location}, which is missing from ${this.dir}`,
            { value: location, hint: 'copy the .onnx_data file(s) beside the .onnx file' },
            { cause: e },
          );
        });
        return { fh, size: (await fh.stat()).size };
      })();
      h.catch(() => this.handles.delete(location));
      this.handles.set(location, h);
    }
    return h;
  }

  async read(ref: ExternalDataRef): Promise<Uint8Array> {
    const { fh, size } = await this.handle(ref.location);
    if (ref.offset + ref.length > size) {
      throw new ModelPackageError(
        'MODEL_CORRUPT',
        `${this.where}: external data ${ref.location} is ${size} bytes, but a tensor needs bytes ${ref.offset}..${ref.offset + ref.length} (the file was cut short)`,
        { value: ref.location },
      );
    }
    const out = new Uint8Array(ref.length);
    let done = 0;
    while (done < ref.length) {
      const { bytesRead } = await fh.read(out, done, ref.length - done, ref.offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return out;
  }

  locations(): string[] {
    return [...this.handles.keys()];
  }

  async close(): Promise<void> {
    const all = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(all.map(async (h) => (await h.catch(() => undefined))?.fh.close()));
  }
}

/** External tensors inside subgraphs are read now: they are few and small, and the writer keeps subgraphs whole. */
async function inlineSubgraphData(g: GraphProto, reader: ExternalDataReader, where: string): Promise<void> {
  for (const node of g.node) {
    for (const sub of subgraphs(node)) {
      for (const t of sub.initializer) {
        if (!externalRef(t, where)) continue;
        t.rawData = (await tensorBytes(t, reader, where)) as Uint8Array<ArrayBuffer>;
        t.dataLocation = DataLocation.DEFAULT;
        t.externalData = [];
      }
      await inlineSubgraphData(sub, reader, where);
    }
  }
}

/** Open an ONNX file: the graph decoded (weights inline stay views of the file's bytes), external data read on demand. */
export async function readOnnxFile(path: string): Promise<OpenedOnnx> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) {
    throw new ModelPackageError('MODEL_FILE_MISSING', `${path} does not exist or is not a file`, {
      value: path,
    });
  }
  if (st.size > PROTOBUF_LIMIT) {
    throw new ModelPackageError(
      'MODEL_CORRUPT',
      `${path} is ${st.size} bytes, over protobuf's 2 GiB limit: it is not a readable ONNX model`,
      { value: path },
    );
  }
  const bytes = await readFile(path);
  const model = decodeModel(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
  const reader = new FolderDataReader(dirname(path), path);
  const external = new Set<string>();
  for (const t of model.graph!.initializer) {
    const ref = externalRef(t, path);
    if (ref) external.add(ref.location);
  }
  await inlineSubgraphData(model.graph!, reader, path);
  return {
    working: workingModel(model, reader, path),
    externalFiles: [...external].sort(),
    close: () => reader.close(),
  };
}

export interface WriteOnnxOptions {
  /**
   * 'auto' (default): external data when the model would not fit one protobuf (2 GiB) or
   * `preferExternal` says the source used it; true / false: always / never.
   */
  readonly externalData?: boolean | 'auto';
  readonly preferExternal?: boolean;
  /** Chunk size for external data (default 2 GiB - 1). */
  readonly maxChunkBytes?: number;
  readonly signal?: AbortSignal;
  /** Bytes written so far, of `total`. */
  readonly onProgress?: (written: number, total: number) => void;
}

export interface WrittenOnnx {
  readonly file: string;
  readonly bytes: number;
  /** External data files written beside it (names), with sizes. */
  readonly externalData: ReadonlyArray<{ readonly file: string; readonly bytes: number }>;
}

/**
 * Write a working model to `path` (+ `path`_data chunks), through temporary files renamed
 * into place at the end: a failure or an abort leaves the targets as they were.
 */
export async function writeOnnxFile(
  path: string,
  w: WorkingModel,
  options: WriteOnnxOptions = {},
): Promise<WrittenOnnx> {
  const tensors = [...w.initializers.values()];
  const total = tensors.reduce((s, t) => s + t.byteLength, 0);
  const mode = options.externalData ?? 'auto';
  const external =
    mode === true ||
    (mode === 'auto' && (options.preferExternal === true || total > PROTOBUF_LIMIT - (64 << 20)));
  const opts: WriteOptions = external
    ? {
        externalData: {
          baseName: `${basename(path)}_data`,
          ...(options.maxChunkBytes !== undefined && { maxChunkBytes: options.maxChunkBytes }),
        },
      }
    : {};
  const plan = planWrite(w.model, tensors, opts);
  const dir = dirname(path);
  const suffix = `.tmp-${process.pid}-${Date.now().toString(36)}`;
  const targets = new Map<string | null, { final: string; temp: string; fh?: FileHandle; bytes: number }>();
  targets.set(null, { final: path, temp: `${path}${suffix}`, bytes: 0 });
  for (const c of plan.chunks)
    targets.set(c.name, { final: join(dir, c.name), temp: join(dir, `${c.name}${suffix}`), bytes: 0 });
  let written = 0;
  const grand = plan.modelBytes + plan.chunks.reduce((s, c) => s + c.bytes, 0);
  try {
    for (const t of targets.values()) t.fh = await open(t.temp, 'w');
    for await (const piece of plan.pieces()) {
      options.signal?.throwIfAborted();
      const t = targets.get(piece.file)!;
      let off = 0;
      while (off < piece.bytes.byteLength) {
        const { bytesWritten } = await t.fh!.write(piece.bytes, off, piece.bytes.byteLength - off);
        off += bytesWritten;
      }
      t.bytes += piece.bytes.byteLength;
      written += piece.bytes.byteLength;
      options.onProgress?.(written, grand);
    }
    for (const t of targets.values()) {
      await t.fh!.close();
      t.fh = undefined;
    }
    // Stale chunks of an earlier, larger write of the same file would be read by nobody but confuse listings.
    for (let i = plan.chunks.length; i < 100; i++) {
      const stale = join(dir, i === 0 ? `${basename(path)}_data` : `${basename(path)}_data_${i}`);
      if (!(await stat(stale).catch(() => undefined))) break;
      await rm(stale, { force: true });
    }
    for (const t of targets.values()) await rename(t.temp, t.final);
  } catch (e) {
    for (const t of targets.values()) {
      await t.fh?.close().catch(() => undefined);
      await rm(t.temp, { force: true });
    }
    throw e;
  }
  return {
    file: path,
    bytes: plan.modelBytes,
    externalData: plan.chunks.map((c) => ({ file: c.name, bytes: c.bytes })),
  };
}
