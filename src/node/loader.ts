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
import { type ErrorCode, MmrtError } from '../errors.js';
import type { OrtModule } from '../host/types.js';
import { type MultimodalLoaderOptions, MultimodalLoader } from '../loader/loader.js';
import { type PackageSpecOptions, loaderSpecFromPackage, loaderSpecFromPlan } from '../loader/spec.js';
import type { LoaderHost, LoaderSpec } from '../loader/types.js';
import { describePackage, type ModelPackage } from '../package/describe.js';
import { createSession } from '../runtime/session.js';
import { createSessionWithGraphCache } from './graph-cache.js';
import { type OpenModelFilesOptions, openModelFiles } from './hub/index.js';
import { resolveHubOptions } from './hub/options.js';
import { ort as mainOrt, ortVersion } from './ort.js';
import { type CreatePlatformOptions, type Platform, createPlatform } from './platform.js';
import { createSessionWithWeightCache } from './weight-cache.js';
import { workerOrt } from './worker-ort.js';

export { createSessionWithWeightCache } from './weight-cache.js';
export { workerOrt } from './worker-ort.js';

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
  return loaderFromPlatform(platform, { ...opts, cacheDir: cacheDirOf(opts) });
}

function cacheDirOf(opts: Pick<CreateLoaderOptions, 'cacheDir' | 'hub'>): string {
  return opts.cacheDir ?? resolveHubOptions({ ...opts.hub }).cacheDir;
}

export interface ModelLoad<O> {
  readonly loader: PlatformLoader;
  /** The caller's options without the keys given as `undefined` and without `signal`. */
  readonly options: O;
  /** Pass to `loader.load()`: it bounds that load, not the model's life. */
  readonly signal?: AbortSignal;
  readonly cacheDir: string;
}

/**
 * What the family `load*` functions share: plan the model and make its loader. A key given as
 * `undefined` counts as not given (it must not hide the plan's value or a default), and the
 * signal bounds planning and loading only — given to the loader itself it would release a
 * working model when it fired later.
 */
export async function planModelLoad<O extends Omit<CreateLoaderOptions, 'modelType'>>(
  options: O,
): Promise<ModelLoad<Omit<O, 'signal'>>> {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as O;
  const { signal, ...rest } = given;
  const platform = await createPlatform({ ...rest, ...(signal && { signal }), modelType: 'multimodal' });
  for (const w of platform.warnings) rest.onWarning?.(w);
  const cacheDir = cacheDirOf(rest);
  return {
    loader: loaderFromPlatform(platform, { ...rest, cacheDir }),
    options: rest,
    ...(signal && { signal }),
    cacheDir,
  };
}

/** Open a folder or hub id and make a loader without planning (tests, benchmarks). */
export async function openLoader(
  model: string,
  opts: NodeLoaderOptions & PackageSpecOptions & { hub?: OpenModelFilesOptions } = {},
): Promise<MultimodalLoader> {
  const pkg = await describePackage(await openModelFiles(model, opts.hub ?? {}));
  return loaderFromPackage(pkg, opts);
}
