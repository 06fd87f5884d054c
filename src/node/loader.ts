/**
 * The MultimodalLoader in Node: files from a folder or the hub cache (with download progress),
 * sessions through the optimized-graph cache when the plan turns it on, and a choice of where
 * sessions live:
 *
 * - `'main'` (default): on this thread. onnxruntime-node creates a session synchronously on
 *   the JS thread, so "parallel" creations take turns here: parallel loading overlaps only
 *   downloads with creation, and nothing else runs on this thread while a session is created.
 * - `'worker'`: each session in its own worker thread. Creations really run side by side (up
 *   to the cores there are) and this thread stays free, so a vision encoder can answer while
 *   the decoder is still being created. Inputs are copied to the worker and outputs moved back.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-common';
import { type ErrorCode, MmrtError } from '../errors.js';
import type { OrtModule } from '../host/types.js';
import { type MultimodalLoaderOptions, MultimodalLoader } from '../loader/loader.js';
import { type PackageSpecOptions, loaderSpecFromPackage, loaderSpecFromPlan } from '../loader/spec.js';
import type { CreatedSession, LoaderHost, LoaderSpec } from '../loader/types.js';
import { describePackage, type ModelPackage } from '../package/describe.js';
import { type SessionSpec, createSession } from '../runtime/session.js';
import { createSessionWithGraphCache } from './graph-cache.js';
import { type OpenModelFilesOptions, openModelFiles } from './hub/index.js';
import { resolveHubOptions } from './hub/options.js';
import { ort as mainOrt, ortVersion } from './ort.js';
import { type CreatePlatformOptions, type Platform, createPlatform } from './platform.js';

export type SessionThreads = 'main' | 'worker';

export interface NodeHostOptions {
  /** Where sessions live (see the module note). Default 'main'. */
  readonly sessionThreads?: SessionThreads;
  /** Use the optimized-graph cache. Default: the spec's `graphCache`. */
  readonly graphCache?: boolean;
  /**
   * 'external' (default): the optimized graph with its weights in a memory-mapped side file,
   * pre-packed for this CPU, so a cache hit neither parses nor copies nor re-packs them
   * (`createSessionWithWeightCache`). 'inline': `createSessionWithGraphCache`, the weights
   * inside the optimized graph.
   */
  readonly graphCacheFormat?: 'external' | 'inline';
  /** Cache root (`<cacheDir>/graphs-external`, or `<cacheDir>/graphs` inline). Default MMRT_CACHE_DIR, then ~/.cache/mmrt. */
  readonly cacheDir?: string;
  /** The ONNX Runtime to create sessions with (wins over `sessionThreads`). */
  readonly ort?: OrtModule;
}

/** Loader options a Node caller sets on top of what the plan says. */
export interface NodeLoaderOptions
  extends NodeHostOptions,
    Omit<MultimodalLoaderOptions, 'package' | 'spec' | 'host'> {
  /** Load these components on first use (overrides the plan). */
  readonly lazy?: readonly string[];
  /** Load these with the model (overrides the plan). */
  readonly eager?: readonly string[];
}

/** The Node host: graph cache when asked, sessions on this thread or in workers. */
export function nodeLoaderHost(opts: NodeHostOptions = {}): LoaderHost {
  const ort = opts.ort ?? (opts.sessionThreads === 'worker' ? workerOrt() : mainOrt);
  const cacheDir = opts.cacheDir ?? resolveHubOptions().cacheDir;
  return {
    ort,
    async createSession(spec, _component, ctx) {
      const useCache = opts.graphCache ?? ctx.spec.graphCache ?? false;
      if (useCache && typeof spec.model === 'string') {
        return opts.graphCacheFormat === 'inline'
          ? createSessionWithGraphCache(ort, spec, cacheDir, ortVersion())
          : createSessionWithWeightCache(ort, spec, cacheDir, ortVersion());
      }
      return { session: await createSession(ort, spec), ...(useCache && { cache: 'bypass' as const }) };
    },
  };
}

function withOverrides(spec: LoaderSpec, opts: NodeLoaderOptions): LoaderSpec {
  if (!opts.lazy && !opts.eager) return spec;
  return {
    ...spec,
    components: spec.components.map((c) => {
      if (opts.lazy?.includes(c.name)) return { ...c, loadStrategy: 'lazy' as const };
      if (opts.eager?.includes(c.name)) return { ...c, loadStrategy: 'eager' as const };
      return c;
    }),
  };
}

function loaderOptions(opts: NodeLoaderOptions): Omit<MultimodalLoaderOptions, 'package' | 'spec' | 'host'> {
  const {
    sessionThreads: _t,
    graphCache: _g,
    graphCacheFormat: _f,
    cacheDir: _c,
    lazy: _l,
    eager: _e,
    ort: _o,
    ...rest
  } = opts;
  return rest;
}

/** Failures that say "this platform cannot" (as `Platform.createSession` treats them). */
const FALLBACK_CODES: readonly ErrorCode[] = [
  'PROVIDER_UNAVAILABLE',
  'PROVIDER_UNKNOWN',
  'SESSION_CREATE_FAILED',
];

/**
 * A loader for a planned platform: the plan's files, session options, strategies, order and
 * warm-up. Sessions are created directly from the plan (graph cache, workers); under
 * `platform: 'auto'` a provider failure hands the component to `Platform.createSession`, which
 * moves to the next candidate platform and records the fallback in `platform.fallbacks`.
 */
export function loaderFromPlatform(platform: Platform, opts: NodeLoaderOptions = {}): PlatformLoader {
  const spec = withOverrides(loaderSpecFromPlan(platform.plan), opts);
  const direct = nodeLoaderHost(opts);
  const host: LoaderHost = {
    ...direct,
    async createSession(sessionSpec, component, ctx) {
      try {
        return await direct.createSession!(sessionSpec, component, ctx);
      } catch (e) {
        const canFallBack =
          platform.plan.requested === 'auto' && e instanceof MmrtError && FALLBACK_CODES.includes(e.code);
        if (!canFallBack || ctx.signal.aborted) throw e;
        return platform.createSession(component.name);
      }
    },
  };
  return new PlatformLoader(platform, { ...loaderOptions(opts), package: platform.package, spec, host });
}

/** A loader that keeps its platform: the plan, `explain()`, and the fallbacks taken while loading. */
export class PlatformLoader extends MultimodalLoader {
  constructor(
    readonly platform: Platform,
    options: MultimodalLoaderOptions,
  ) {
    super(options);
  }
}

/** A loader without planning: every component at one precision with the same session options. */
export function loaderFromPackage(
  pkg: ModelPackage,
  opts: NodeLoaderOptions & PackageSpecOptions = {},
): MultimodalLoader {
  const spec = withOverrides(loaderSpecFromPackage(pkg, opts), opts);
  return new MultimodalLoader({ ...loaderOptions(opts), package: pkg, spec, host: nodeLoaderHost(opts) });
}

export interface CreateLoaderOptions extends CreatePlatformOptions, NodeLoaderOptions {}

/**
 * The brief's `MultimodalLoader(model_name, platform, config)`: open the model (folder or hub
 * id), plan it for the platform, and return a loader (call `load()` to start). The plan's
 * `parallel_loading`, per-component `preload` / `load_strategy`, `progressive_loading` order,
 * `shader_precompile` warm-up and `graph_cache` are honoured; options here override them.
 * The cache directory is shared with the hub cache.
 */
export async function createLoader(opts: CreateLoaderOptions): Promise<PlatformLoader> {
  const platform = await createPlatform(opts);
  const cacheDir = opts.cacheDir ?? resolveHubOptions({ ...opts.hub }).cacheDir;
  return loaderFromPlatform(platform, { ...opts, cacheDir });
}

/** Open a folder or hub id and make a loader without planning (tests, benchmarks). */
export async function openLoader(
  model: string,
  opts: NodeLoaderOptions & PackageSpecOptions & { hub?: OpenModelFilesOptions } = {},
): Promise<MultimodalLoader> {
  const pkg = await describePackage(await openModelFiles(model, opts.hub ?? {}));
  return loaderFromPackage(pkg, opts);
}

// ---------------------------------------------------------------------------------------------
// Optimized graphs with memory-mapped, pre-packed weights

const WEIGHT_CACHE_DIR = 'graphs-external';
const ENTRY_MODEL = 'model.onnx';
const ENTRY_DATA = 'model.onnx.data';

/** What changes the optimized graph or its pre-packed weights: the files, ORT, the CPU, the options. */
async function weightCacheKey(ortVersion: string, spec: SessionSpec & { model: string }): Promise<string> {
  const dir = dirname(spec.model);
  const base = basename(spec.model);
  // The graph and any external data beside it (`x.onnx_data`, `x.onnx.data`, `x.onnx_data_1`).
  const files = (await readdir(dir)).filter(
    (f) => f === base || f.startsWith(`${base}_data`) || f === `${base}.data`,
  );
  const stats = await Promise.all(
    files.sort().map(async (f) => {
      const st = await stat(join(dir, f));
      return [f, st.size, st.mtimeMs];
    }),
  );
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  return createHash('sha256')
    .update(
      JSON.stringify({
        format: 'external-prepacked-1',
        ortVersion,
        model: spec.model,
        stats,
        cpu,
        arch: os.arch(),
        providers: spec.providers ?? ['cpu'],
        level: spec.graphOptimizationLevel ?? 'all',
        dims: spec.freeDimensionOverrides ?? {},
        extra: spec.extra ?? {},
      }),
    )
    .digest('hex')
    .slice(0, 32);
}

/**
 * The optimized-graph cache, with the weights kept out of the graph: ORT writes the optimized
 * graph and its initializers to a side file (plus the CPU's pre-packed copies of the MatMul
 * weights), and a hit memory-maps them instead of parsing, copying and re-packing hundreds of
 * megabytes. Measured on a 135M decoder here: creation 1.3-1.5 s -> 0.5 s, resident memory
 * ~0.9 GB -> ~0.13 GB (bench/results/load.json). An entry is a folder written under a
 * temporary name and renamed into place, so no reader ever sees half of one; the key includes
 * the CPU model because pre-packed layouts and NCHWc graphs are CPU-specific.
 */
export async function createSessionWithWeightCache(
  ort: OrtModule,
  spec: SessionSpec,
  cacheDir: string,
  ortVersion: string,
): Promise<CreatedSession> {
  if (typeof spec.model !== 'string') {
    return { session: await createSession(ort, spec), cache: 'bypass' };
  }
  const root = join(cacheDir, WEIGHT_CACHE_DIR);
  const key = await weightCacheKey(ortVersion, spec as SessionSpec & { model: string });
  const entry = join(root, `${spec.name.replace(/[^A-Za-z0-9_.-]/g, '_')}-${key}`);
  const cached = join(entry, ENTRY_MODEL);
  // The folder is renamed into place whole: its graph present means the entry is complete.
  const present = await stat(cached).then(
    (st) => st.isFile(),
    () => false,
  );
  if (present) {
    try {
      const session = await createSession(ort, {
        ...spec,
        model: cached,
        graphOptimizationLevel: 'disabled',
      });
      return { session, cache: 'hit' };
    } catch (e) {
      if (spec.signal?.aborted) throw e;
      // A damaged entry must never stop a load: drop it and rebuild.
      await rm(entry, { recursive: true, force: true });
    }
  }
  await mkdir(root, { recursive: true });
  const tmp = `${entry}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await mkdir(tmp);
  try {
    const extra = (spec.extra ?? {}) as Record<string, unknown>;
    const session = await createSession(ort, {
      ...spec,
      optimizedModelFilePath: join(tmp, ENTRY_MODEL),
      extra: {
        ...extra,
        session: {
          ...((extra.session as Record<string, unknown> | undefined) ?? {}),
          optimized_model_external_initializers_file_name: ENTRY_DATA,
          optimized_model_external_initializers_min_size_in_bytes: '1024',
          save_external_prepacked_constant_initializers: '1',
        },
      },
    });
    // Another process may have stored the same entry meanwhile: theirs is as good as ours.
    await rename(tmp, entry).catch(() => rm(tmp, { recursive: true, force: true }));
    return { session, cache: 'stored' };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Sessions in worker threads

const ORT_PATH = createRequire(import.meta.url).resolve('onnxruntime-node');

/** The worker's program (CommonJS, evaluated): one ORT session per worker. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
let session;
function meta(s) {
  return { inputNames: s.inputNames, outputNames: s.outputNames, inputMetadata: s.inputMetadata, outputMetadata: s.outputMetadata };
}
function send(msg, transfer) {
  try { parentPort.postMessage(msg, transfer); } catch { parentPort.postMessage(msg); }
}
parentPort.on('message', async (m) => {
  try {
    if (m.op === 'create') {
      session = await ort.InferenceSession.create(m.model, m.options);
      send({ id: m.id, ok: true, value: meta(session) });
    } else if (m.op === 'run') {
      const feeds = {};
      for (const [k, t] of Object.entries(m.feeds)) feeds[k] = new ort.Tensor(t.type, t.data, t.dims);
      const out = m.fetches ? await session.run(feeds, m.fetches) : await session.run(feeds);
      const value = {};
      const transfer = new Set();
      for (const [k, t] of Object.entries(out)) {
        value[k] = { type: t.type, data: t.data, dims: t.dims };
        if (t.data && t.data.buffer instanceof ArrayBuffer) transfer.add(t.data.buffer);
      }
      send({ id: m.id, ok: true, value }, [...transfer]);
    } else if (m.op === 'release') {
      if (session) await session.release();
      session = undefined;
      send({ id: m.id, ok: true });
    }
  } catch (e) {
    send({ id: m.id, ok: false, error: { name: e && e.name, message: e && e.message ? e.message : String(e) } });
  }
});
`;

interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: { name?: string; message: string };
}

class WorkerChannel {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private next = 0;
  private dead?: Error;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath: ORT_PATH } });
    this.worker.unref();
    this.worker.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if (m.ok) p.resolve(m.value);
      else
        p.reject(
          Object.assign(new Error(m.error?.message ?? 'worker error'), { name: m.error?.name ?? 'Error' }),
        );
    });
    const fail = (e: Error) => {
      this.dead = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`session worker exited (code ${code})`)));
  }

  call(msg: Record<string, unknown>): Promise<unknown> {
    if (this.dead) return Promise.reject(this.dead);
    const id = ++this.next;
    // Keep the process alive while a reply is owed; let it exit when the worker is idle.
    this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id });
    });
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}

interface SessionMeta {
  inputNames: string[];
  outputNames: string[];
  inputMetadata: unknown;
  outputMetadata: unknown;
}

type WireTensor = { type: string; data: unknown; dims: readonly number[] };

/** The subset of `InferenceSession` that mmrt's `Session` uses, served by a worker. */
class WorkerInferenceSession {
  readonly inputNames: string[];
  readonly outputNames: string[];
  readonly inputMetadata: unknown;
  readonly outputMetadata: unknown;
  private released = false;

  constructor(
    private readonly channel: WorkerChannel,
    meta: SessionMeta,
    private readonly Tensor: OrtModule['Tensor'],
  ) {
    this.inputNames = meta.inputNames;
    this.outputNames = meta.outputNames;
    this.inputMetadata = meta.inputMetadata;
    this.outputMetadata = meta.outputMetadata;
  }

  async run(
    feeds: Record<string, { type: string; data: unknown; dims: readonly number[] }>,
    fetches?: string[],
  ) {
    const wire: Record<string, WireTensor> = {};
    for (const [k, t] of Object.entries(feeds)) wire[k] = { type: t.type, data: t.data, dims: t.dims };
    const out = (await this.channel.call({ op: 'run', feeds: wire, ...(fetches && { fetches }) })) as Record<
      string,
      WireTensor
    >;
    const result: Record<string, unknown> = {};
    for (const [k, t] of Object.entries(out))
      result[k] = new this.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
    return result;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      await this.channel.call({ op: 'release' });
    } finally {
      await this.channel.terminate();
    }
  }
}

/**
 * An `OrtModule` whose `InferenceSession.create` builds each session in a fresh worker thread
 * running onnxruntime-node; `createSession` and the graph cache use it unchanged.
 */
export function workerOrt(base: OrtModule = mainOrt): OrtModule {
  return {
    ...base,
    InferenceSession: {
      async create(
        model: string | Uint8Array,
        options?: InferenceSession.SessionOptions,
      ): Promise<InferenceSession> {
        const channel = new WorkerChannel();
        try {
          const meta = (await channel.call({ op: 'create', model, options: options ?? {} })) as SessionMeta;
          return new WorkerInferenceSession(channel, meta, base.Tensor) as unknown as InferenceSession;
        } catch (e) {
          await channel.terminate();
          throw e;
        }
      },
    },
  };
}
