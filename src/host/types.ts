/**
 * What the host-free core asks of the environment it runs in. The Node adapter
 * (`src/node`) and the browser adapter (`src/web`) each provide one `Host`.
 * Nothing here may import `node:*` or touch DOM globals.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';

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
  size(path: string): Promise<number>;
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
