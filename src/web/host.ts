/**
 * The web host: onnxruntime-web (files served by the app, binaries cached), model folders over
 * HTTP or from the hub kept in the Cache API or OPFS, browser image decoding, a persistent
 * store, and detection of WebGPU / WebNN / WASM. Runs in a page or a worker; everything else
 * is the core's.
 */
import {
  memoryStore,
  type CreatedSession,
  type Host,
  type KeyValueStore,
  type OrtModule,
} from '../host/host.js';
import type { HostCapabilities } from '../host/capabilities.js';
import { type NavigatorLike, detectWeb } from '../platform/detect-web.js';
import { createSession } from '../runtime/session.js';
import { decodeWebImage } from './decode.js';
import { openWebModel } from './files.js';
import { OrtWeb } from './ort.js';
import { cacheStore, opfsStore } from './store.js';
import { openWebVideo } from './video.js';

export type WebStorage = 'cache' | 'opfs' | 'memory';

export interface WebHostOptions {
  /** URL or site path of onnxruntime-web's `.mjs`/`.wasm` files. Default: beside the script. */
  readonly ortPath?: string;
  /** Where model files, runtime binaries and small values live between visits. Default 'cache' (the Cache API). */
  readonly storage?: WebStorage;
  /** Names the caches / OPFS folders (several apps on one origin). Default 'mmrt'. */
  readonly storageName?: string;
  /** Hub for `org/name` references. Default https://huggingface.co. */
  readonly hubEndpoint?: string;
  /** Base URL for relative model folders. Default: the page's location. */
  readonly baseUrl?: string;
  /** Progress of the runtime's binaries (a first visit downloads tens of MB). */
  readonly onRuntimeProgress?: (loaded: number, total: number | undefined, file: string) => void;
  /** Non-fatal problems (a plan asking for ORT settings after it started). */
  readonly onWarning?: (message: string) => void;
  /** The ONNX Runtime module (tests wrap onnxruntime-web to make a provider fail). */
  readonly ort?: OrtModule;
  /** What to detect from. Default: the global `navigator`, `WebAssembly`, `crossOriginIsolated`. */
  readonly navigator?: NavigatorLike;
}

function storeFor(kind: WebStorage, name: string): KeyValueStore {
  if (kind === 'memory') return memoryStore();
  return kind === 'opfs' ? opfsStore(name) : cacheStore(name);
}

/** A web host with its own stores and runtime; make one per page or worker and reuse it. */
export function webHost(options: WebHostOptions = {}): Host & { readonly runtime: OrtWeb } {
  const storage = options.storage ?? 'cache';
  const name = options.storageName ?? 'mmrt';
  const files = storeFor(storage, `${name}-files`);
  const runtime = new OrtWeb(
    {
      ...(options.ortPath && { ortPath: options.ortPath }),
      ...(storage !== 'memory' && { store: storeFor(storage, `${name}-runtime`) }),
      ...(options.onRuntimeProgress && { onProgress: options.onRuntimeProgress }),
    },
    ...(options.ort ? [options.ort] : []),
  );
  let detected: Promise<HostCapabilities> | undefined;
  return {
    name: 'web',
    runtime,
    ort: runtime.module,
    openModel: (reference, o) =>
      openWebModel(reference, {
        store: files,
        ...(options.hubEndpoint && { hubEndpoint: options.hubEndpoint }),
        ...(options.baseUrl && { baseUrl: options.baseUrl }),
        ...(o?.signal && { signal: o.signal }),
      }),
    decodeImage: decodeWebImage,
    openVideo: (input, o) => openWebVideo(input, o),
    store: storeFor(storage, `${name}-store`),
    detect() {
      detected ??= detectWeb({
        navigator: options.navigator ?? (globalThis.navigator as unknown as NavigatorLike),
        webAssembly: globalThis.WebAssembly,
        crossOriginIsolated: globalThis.crossOriginIsolated === true,
        ...(runtime.version && { ortVersion: runtime.version }),
      });
      detected.catch(() => {
        detected = undefined;
      });
      return detected;
    },
    async createSession(spec, { ortEnv }): Promise<CreatedSession> {
      await runtime.prepare(ortEnv, options.onWarning);
      return { session: await createSession(runtime.module, spec) };
    },
  };
}
