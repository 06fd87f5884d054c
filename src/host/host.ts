/**
 * The one interface between the host-free core and the environment it runs in. A host
 * supplies ONNX Runtime, files, decoding, a small store and detection; the core owns every
 * decision (planning, loading, families, generation). The Node adapter (`src/node/host.ts`)
 * and the browser adapter (`src/web`) each provide one `Host`; a test can build one from
 * memory. Nothing here may import `node:*` or touch DOM globals.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import type { ImageInput, VideoInput } from '../media/input.js';
import type { AlphaMode } from '../media/pixels.js';
import type { DecodeHint } from '../media/processor.js';
import type { Session, SessionSpec } from '../runtime/session.js';
import type { HostCapabilities } from './capabilities.js';

export interface Host {
  /** Names the host in messages ('node', 'web', 'memory'). */
  readonly name: string;
  readonly ort: OrtModule;
  /**
   * A model reference opened as files: a local folder, a hub id `org/name[@rev]`, or whatever
   * else the host resolves. Fails with a typed error when there is nothing there.
   */
  openModel(reference: string, options?: { readonly signal?: AbortSignal }): Promise<ModelFiles>;
  /** One image decoded to 8-bit RGB, as Python's `load_image` would see it. */
  decodeImage(input: ImageInput, options?: ImageDecodeOptions): Promise<RgbImage>;
  /** Frames of a video at the times asked; absent where the host has no video decoder. */
  decodeVideo?(input: VideoInput, options: VideoDecodeOptions): Promise<DecodedVideo>;
  /** Small persistent values (the learned logit scale per model file, download bookkeeping). */
  readonly store: KeyValueStore;
  /** What this machine or browser offers: providers (probed), CPU, memory, GPUs. */
  detect(): Promise<HostCapabilities>;
  /**
   * Create one session. Hosts add their optimized-graph cache or worker threads here.
   * Default (absent): `createSession(host.ort, spec)`.
   */
  createSession?(spec: SessionSpec, context: SessionContext): Promise<CreatedSession>;
}

export interface SessionContext {
  /** The plan asks for the optimized-graph cache (`graph_cache`). */
  readonly graphCache: boolean;
}

export interface CreatedSession {
  readonly session: Session;
  /** What the optimized-graph cache did, when one was used. */
  readonly cache?: 'hit' | 'stored' | 'bypass';
}

/** Limits and hints for one decode; every one has a host default. */
export interface ImageDecodeOptions {
  readonly signal?: AbortSignal;
  /** Refuse images with more pixels than this. Default 100 megapixels. */
  readonly maxPixels?: number;
  /** Cap on fetched or data: URL bytes. Default 64 MiB. */
  readonly maxBytes?: number;
  /** Network timeout for URLs. Default 30 s. */
  readonly timeoutMs?: number;
  /** Deadline for decoding one image (the decoder is stopped, not waited for). Default 30 s. */
  readonly decodeTimeoutMs?: number;
  /** 'drop' (default, as HF's convert("RGB")) or 'white' (alpha_composite onto white). */
  readonly alpha?: AlphaMode;
  /** resampleMode 'fast': the decoder may shrink while decoding to at least this size. */
  readonly fast?: DecodeHint;
}

export interface VideoDecodeOptions {
  readonly signal?: AbortSignal;
  /** Seconds from the start of each frame wanted, in order. */
  readonly timestamps: readonly number[];
  readonly maxPixels?: number;
}

export interface DecodedVideo {
  readonly frames: readonly RgbImage[];
  /** The time of each frame actually decoded (seconds). */
  readonly timestamps: readonly number[];
  readonly durationSec: number;
}

/** A small key-value store: a folder in Node, the Cache API or OPFS in browsers, a Map in tests. */
export interface KeyValueStore {
  get(key: string): Promise<Uint8Array | undefined>;
  /** Atomic: a reader sees the old value or the new one, never half of it. */
  put(key: string, value: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
}

/** A store in memory: for tests, and hosts without persistent storage. */
export function memoryStore(): KeyValueStore {
  const values = new Map<string, Uint8Array>();
  return {
    async get(key) {
      const v = values.get(key);
      return v?.slice();
    },
    async put(key, value) {
      values.set(key, value.slice());
    },
    async delete(key) {
      values.delete(key);
    },
  };
}

/** The subset of an ONNX Runtime JS package (onnxruntime-node / onnxruntime-web) mmrt uses. */
export interface OrtModule {
  readonly InferenceSession: {
    create(model: string | Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession>;
  };
  readonly Tensor: typeof Tensor;
  readonly env: { versions?: Record<string, string | undefined>; logLevel?: string; [k: string]: unknown };
  /** onnxruntime-node only: the execution providers compiled into this build. */
  listSupportedBackends?: () => ReadonlyArray<{ name: string; bundled: boolean }>;
  /**
   * Session options this binding silently ignores. onnxruntime-node 1.30 does not read
   * `freeDimensionOverrides` (only onnxruntime-web does); the factory turns that into a warning.
   */
  readonly ignoredSessionOptions?: ReadonlyArray<'freeDimensionOverrides'>;
}

/** Read access to one model folder, wherever it lives (disk, cache, URL). Paths are posix, relative. */
export interface ModelFiles {
  /** Human-readable location, for messages. */
  readonly location: string;
  list(): Promise<string[]>;
  exists(path: string): Promise<boolean>;
  readText(path: string, signal?: AbortSignal): Promise<string>;
  readBytes(path: string, signal?: AbortSignal): Promise<Uint8Array>;
  /**
   * `length` bytes of a file from `offset` (fewer at its end), without reading the rest: for
   * scanning a large graph's header. Absent, or failing, where that is not cheap (a hub file
   * not in the cache).
   */
  readRange?(path: string, offset: number, length: number): Promise<Uint8Array>;
  /**
   * Where a file's bytes are, for messages about its content (a hub file: its cached copy, so
   * a damaged cache file is named, not the hub URL). Default: `${location}/${path}`.
   */
  describe?(path: string): Promise<string>;
  size(path: string): Promise<number>;
  /**
   * A string that changes whenever the file does, obtained without downloading it (local:
   * size and modification time; hub: revision and listed size). Keys caches derived from a file.
   */
  fingerprint(path: string): Promise<string>;
  /**
   * When the host can hand ONNX Runtime a file path (Node), the absolute path, fetching the
   * file first if it lives remotely (hub cache); undefined where paths mean nothing (browser).
   */
  localPath?(path: string, signal?: AbortSignal): Promise<string | undefined>;
  /**
   * Bring a remote file close (download it into the cache) with byte progress, without reading
   * it. Absent where files are already local. Loaders call it to report download progress.
   */
  prefetch?(
    path: string,
    opts?: { signal?: AbortSignal; onProgress?: (loaded: number, total: number | undefined) => void },
  ): Promise<void>;
}

/** An image decoded to 8-bit RGB, row-major, 3 channels interleaved. */
export interface RgbImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}
