/**
 * The Node host: model files from a folder or the hub cache, sharp decoding, ffmpeg video, onnxruntime-node
 * (on this thread or in worker threads), the optimized-graph cache, a file store, and
 * detection. Everything else is the core's.
 */
import type { CreatedSession, Host } from '../host/host.js';
import type { HostCapabilities } from '../host/capabilities.js';
import type { OrtModule } from '../host/host.js';
import { createSession } from '../runtime/session.js';
import { detectNode } from './detect.js';
import { type OpenModelFilesOptions, openModelFiles } from './hub/index.js';
import { expandHome, mmrtCacheDir } from './hub/options.js';
import { decodeImage } from './media/decode.js';
import { type NodeVideoOptions, nodeVideoOpener } from './media/video.js';
import { ort as mainOrt, ortVersion } from './ort.js';
import { fileStore } from './store.js';
import { createSessionWithWeightCache } from './weight-cache.js';
import { workerOrt } from './worker-ort.js';

export interface NodeHostOptions {
  /**
   * mmrt's own cache: optimized graphs and the store (the learned logit scale per model file).
   * Default `MMRT_CACHE_DIR`, then `~/.cache/mmrt`. Hub downloads go to the Hugging Face cache
   * (`hub.cacheDir`, `HF_HUB_CACHE`).
   */
  readonly cacheDir?: string;
  /** Hub settings (endpoint, token, offline, cache folder, retries, progress, ...). */
  readonly hub?: OpenModelFilesOptions;
  /**
   * Where sessions live: 'main' (default) on this thread, or 'worker', each in its own worker
   * thread, so that creations overlap and this thread stays free (inputs are copied there).
   */
  readonly sessionThreads?: 'main' | 'worker';
  /** The ONNX Runtime to create sessions with (wins over `sessionThreads`). */
  readonly ort?: OrtModule;
  /** Video decoding: the ffmpeg/ffprobe binaries and how many decode at once. */
  readonly video?: NodeVideoOptions;
}

// The machine does not change while the process runs: probe its providers once.
let detected: Promise<HostCapabilities> | undefined;

export function nodeHost(options: NodeHostOptions = {}): Host {
  const cacheDir =
    options.cacheDir !== undefined ? expandHome(options.cacheDir) : mmrtCacheDir(options.hub?.env);
  const ort = options.ort ?? (options.sessionThreads === 'worker' ? workerOrt() : mainOrt);
  const hub: OpenModelFilesOptions = { ...options.hub };
  return {
    name: 'node',
    ort,
    openModel: (reference) => openModelFiles(reference, hub),
    decodeImage,
    openVideo: nodeVideoOpener(options.video),
    store: fileStore(cacheDir),
    detect() {
      detected ??= detectNode();
      detected.catch(() => {
        detected = undefined;
      });
      return detected;
    },
    async createSession(spec, { graphCache }): Promise<CreatedSession> {
      if (graphCache && typeof spec.model === 'string') {
        return createSessionWithWeightCache(ort, spec, cacheDir, ortVersion());
      }
      return { session: await createSession(ort, spec), ...(graphCache && { cache: 'bypass' as const }) };
    },
  };
}
