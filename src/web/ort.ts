/**
 * onnxruntime-web for the web host: its `.mjs`/`.wasm` files served by the app itself (no
 * CDN; `ortPath` says where), the wasm binary kept in the store so a second visit needs no
 * network for it, `ort.env` set from the plan before the first session (threads only when
 * the page is cross-origin isolated), and runs taken one at a time (see `oneRunAtATime`).
 */
import * as ortWeb from 'onnxruntime-web';
import { MmrtError } from '../errors.js';
import type { KeyValueStore, OrtModule } from '../host/host.js';
import type { OrtEnvPlan } from '../platform/plan-types.js';
import { fetchBytes } from './fetch.js';
import { ORT_WEB_FILES } from './ort-files.js';

export { ORT_WEB_FILES };

export interface OrtWebOptions {
  /** URL (or path on this site) of the folder holding ORT_WEB_FILES. Default: beside this script. */
  readonly ortPath?: string;
  /** Keep the binaries in `store` (default true when a store is given). */
  readonly cacheBinaries?: boolean;
  readonly store?: KeyValueStore;
  /** Download progress of the runtime's binaries (tens of MB on a first visit). */
  readonly onProgress?: (loaded: number, total: number | undefined, file: string) => void;
}

/**
 * onnxruntime-web's WebAssembly module runs one session at a time: a second `run` while one is
 * in flight fails with "Session already started". Queueing runs makes concurrent callers
 * (a warm-up during parallel loading, two requests in a worker) wait instead of fail.
 */
export function oneRunAtATime(base: OrtModule): OrtModule {
  let tail: Promise<unknown> = Promise.resolve();
  const queued = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = tail.then(fn, fn);
    tail = p.catch(() => undefined);
    return p;
  };
  return {
    ...base,
    InferenceSession: {
      async create(model, options) {
        const s = await base.InferenceSession.create(model, options);
        const wrapped = {
          get inputNames() {
            return s.inputNames;
          },
          get outputNames() {
            return s.outputNames;
          },
          get inputMetadata() {
            return (s as { inputMetadata?: unknown }).inputMetadata;
          },
          get outputMetadata() {
            return (s as { outputMetadata?: unknown }).outputMetadata;
          },
          run: (...args: Parameters<typeof s.run>) => queued(() => s.run(...args)),
          release: () => s.release(),
        };
        return wrapped as unknown as typeof s;
      },
    },
  };
}

export class OrtWeb {
  readonly module: OrtModule;
  private configured?: Promise<void>;
  private applied?: OrtEnvPlan;

  constructor(
    private readonly options: OrtWebOptions = {},
    ort: OrtModule = ortWeb as unknown as OrtModule,
  ) {
    this.module = oneRunAtATime(ort);
  }

  get version(): string | undefined {
    return (ortWeb.env.versions as Record<string, string | undefined> | undefined)?.web;
  }

  /** Where the runtime's files are fetched from. */
  fileUrl(file: string): string {
    const base = this.options.ortPath
      ? new URL(
          this.options.ortPath.endsWith('/') ? this.options.ortPath : `${this.options.ortPath}/`,
          globalThis.location?.href,
        )
      : new URL('./', import.meta.url);
    return new URL(file, base).href;
  }

  /**
   * Set `ort.env` for the plan and bring the binaries in, once, before the first session. A
   * later plan asking for other settings gets a warning: the module is initialised by then.
   */
  prepare(env: OrtEnvPlan | undefined, warn?: (m: string) => void): Promise<void> {
    if (this.configured) {
      const before = this.applied?.wasm?.numThreads;
      const now = env?.wasm?.numThreads;
      if (now !== undefined && before !== undefined && now !== before) {
        warn?.(
          `onnxruntime-web was started with ${before} WASM thread(s); it cannot change to ${now} without a reload`,
        );
      }
      return this.configured;
    }
    this.applied = env ?? {};
    this.configured = this.configure(this.applied);
    this.configured.catch(() => {
      this.configured = undefined;
    });
    return this.configured;
  }

  private async configure(env: OrtEnvPlan): Promise<void> {
    const e = ortWeb.env;
    e.wasm.proxy = false;
    if (env.wasm) {
      e.wasm.numThreads = env.wasm.numThreads;
      e.wasm.simd = env.wasm.simd;
    }
    if (env.webgpu) e.webgpu.powerPreference = env.webgpu.powerPreference;
    const store = this.options.store;
    const mjsUrl = this.fileUrl(ORT_WEB_FILES.mjs);
    const wasmUrl = this.fileUrl(ORT_WEB_FILES.wasm);
    if (!store || this.options.cacheBinaries === false) {
      e.wasm.wasmPaths = { mjs: mjsUrl, wasm: wasmUrl };
      return;
    }
    const [mjs, wasm] = await Promise.all([
      this.stored(store, mjsUrl, ORT_WEB_FILES.mjs),
      this.stored(store, wasmUrl, ORT_WEB_FILES.wasm),
    ]);
    // The glue module is imported from a blob URL (it spawns the pthread workers from its own
    // URL too); the binary is handed over as bytes, so neither is fetched again.
    const mjsBlob = URL.createObjectURL(
      new Blob([mjs as Uint8Array<ArrayBuffer>], { type: 'text/javascript' }),
    );
    e.wasm.wasmPaths = { mjs: mjsBlob };
    e.wasm.wasmBinary = wasm as Uint8Array<ArrayBuffer>;
  }

  private async stored(store: KeyValueStore, url: string, file: string): Promise<Uint8Array> {
    const key = `ort:${this.version ?? 'unknown'}:${url}`;
    const kept = await store.get(key).catch(() => undefined);
    if (kept) {
      this.options.onProgress?.(kept.byteLength, kept.byteLength, file);
      return kept;
    }
    let bytes: Uint8Array;
    try {
      bytes = await fetchBytes(url, {
        onProgress: (loaded, total) => this.options.onProgress?.(loaded, total, file),
      });
    } catch (e) {
      throw new MmrtError(
        'PROVIDER_UNAVAILABLE',
        `onnxruntime-web's ${file} could not be fetched from ${url}: ${e instanceof Error ? e.message : String(e)}`,
        {
          value: url,
          hint: `serve node_modules/onnxruntime-web/dist/${file} at that URL, or set ortPath to where it is served`,
        },
        { cause: e },
      );
    }
    await store.put(key, bytes).catch(() => undefined);
    return bytes;
  }
}
