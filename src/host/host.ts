/**
 * The one interface between the host-free core and the environment it runs in. A host
 * supplies ONNX Runtime, files, decoding, a small store and detection; the core owns every
 * decision (planning, loading, families, generation). The Node adapter (`src/node/host.ts`)
 * and the browser adapter (`src/web`) each provide one `Host`; a test can build one from
 * memory. Nothing here may import `node:*` or touch DOM globals.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import type { EncodedVideo, ImageInput } from '../media/input.js';
import type { AlphaMode } from '../media/pixels.js';
import type { DecodeHint } from '../media/processor.js';
import type { Session, SessionSpec } from '../runtime/session.js';
import type { OrtEnvPlan } from '../platform/plan-types.js';
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
  /**
   * An encoded video opened for frame-accurate decoding: probed once (duration, the time of every
   * frame, keyframes), then the frames at the times the core's sampler chose, decoded as often as
   * needed and in parallel. Absent where the host has no video decoder (already decoded frames
   * need none: the core reads them itself).
   */
  openVideo?(input: EncodedVideo, options?: VideoOpenOptions): Promise<VideoSource>;
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
  /** `ort.env` settings of the plan (WASM threads, SIMD, WebGPU power preference), for hosts that have an `env`. */
  readonly ortEnv?: OrtEnvPlan;
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

/** Limits for one opened video; every one has a host default. Each bounds every probe and decode. */
export interface VideoOpenOptions {
  readonly signal?: AbortSignal;
  /** Refuse videos whose frames have more pixels than this. Default 100 megapixels. */
  readonly maxPixels?: number;
  /** Cap on fetched, data: URL or in-memory bytes. Default 64 MiB, as for images. */
  readonly maxBytes?: number;
  /** Network timeout for URLs, and the time limit of each probe or decode. Default 30 s / 120 s. */
  readonly timeoutMs?: number;
  /** Cap on the decoded bytes one `decode` call may return (frames x width x height x 3). Default 1 GiB. */
  readonly maxDecodedBytes?: number;
}

/** What a host learns about a video before decoding any frame. */
export interface VideoInfo {
  /** Seconds, from the first frame's presentation time to the end of the last frame. */
  readonly durationSec: number;
  readonly width: number;
  readonly height: number;
  /** Average frame rate, when the container says. */
  readonly fps?: number;
  /**
   * The presentation time (seconds, ascending) of every frame, when the host can list them
   * without decoding (ffprobe's packets, a demuxer's samples). Samplers pick from these.
   */
  readonly frameTimes?: readonly number[];
  /** Presentation times of the keyframes (ascending), when known. */
  readonly keyframeTimes?: readonly number[];
  /** e.g. 'h264', 'vp9'; and the container, e.g. 'mov,mp4,m4a,3gp,3g2,mj2', 'matroska,webm'. */
  readonly codec?: string;
  readonly container?: string;
}

/** A probed video, ready to decode frames from. `close()` releases what it holds (temp files). */
export interface VideoSource {
  /** Names the video in messages. */
  readonly label: string;
  readonly info: VideoInfo;
  /**
   * The frames shown at these times (seconds; any order, repeats allowed), full size, 8-bit RGB,
   * one per time asked and in the order asked. A time past the end gives the last frame.
   */
  decode(timestamps: readonly number[], options?: { readonly signal?: AbortSignal }): Promise<DecodedFrames>;
  close(): Promise<void>;
}

export interface DecodedFrames {
  readonly frames: readonly RgbImage[];
  /** The presentation time of each frame decoded (seconds), one per time asked. */
  readonly timestamps: readonly number[];
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
