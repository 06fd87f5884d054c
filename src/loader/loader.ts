/**
 * The brief's MultimodalLoader, made real and host-free: loads a model's components
 * concurrently (or one after another, in priority order), lazy ones on first use, with
 * byte-weighted progress; each component is usable the moment it is ready, so a family can run
 * its vision encoder while the decoder is still loading. A failure or an abort releases every
 * session that was created, and reports which component failed and why.
 *
 * A failure the spec's `fallback` can answer (under `platform: 'auto'`, a provider that cannot
 * run here) moves the load to the next platform: every component not yet loaded takes the new
 * plan's files and providers, so none retries the provider that failed, and the failed one
 * loads again from the new files.
 *
 * Every session's first run is checked (once, so it costs one scan of one run's outputs): a
 * NaN or Inf in a float output, or a run that throws, is a `first-run` failure for the same
 * `fallback` hook. The placement answers with the component's next precision (a q4f16 that
 * overflows on a WebGPU adapter becomes q4, fp16 becomes fp32) or, under 'auto', the next
 * platform; a browser host can answer WebGPU -> WebNN -> WASM the same way. The new session
 * replaces the failed one inside the same `Session` object (callers holding it keep working),
 * the run is repeated on it, and a warning says what moved.
 *
 * What "concurrently" buys depends on the host's ONNX Runtime: onnxruntime-node creates a
 * session synchronously on the calling thread, so in one thread creations take turns (only
 * downloads overlap them); the Node host can create each session in a worker thread instead
 * (`sessionThreads: 'worker'`), where creations really run side by side. Read the benchmark
 * (`npm run bench -- load`) before expecting a gain.
 */
import { MmrtError, ModelPackageError, RuntimeError } from '../errors.js';
import type { ModelFiles } from '../host/host.js';
import type { ModelPackage } from '../package/describe.js';
import type { ComponentSessions } from '../runtime/component-sessions.js';
import { type FirstRunOutcome, type Session, type SessionSpec, createSession } from '../runtime/session.js';
import { LoadError, componentError } from './errors.js';
import type { Placement } from './placement.js';
import { ProgressHub } from './progress.js';
import type {
  ComponentProgressCallback,
  ComponentStatus,
  ComponentTiming,
  LoadPhase,
  LoadProgress,
  LoadSummary,
  LoaderComponent,
  LoaderHost,
  LoaderSpec,
  OrtModelInput,
} from './types.js';
import {
  dummyFeeds,
  hasPastInputs,
  invalidOutput,
  isInvalidOutput,
  nonFiniteOutputs,
  warmupHints,
} from './warmup.js';

export interface MultimodalLoaderOptions {
  readonly package: ModelPackage;
  /** What to load: a placement's plan (with its platform fallbacks), or a fixed spec. */
  readonly plan: Placement | LoaderSpec;
  readonly host: LoaderHost;
  /** Overrides `spec.parallel` (default true). */
  readonly parallel?: boolean;
  /** true / false: warm up every component / none. Default: each component's `warmup`. */
  readonly warmup?: boolean;
  /** Aborting stops downloads and session creation and releases what was created. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (e: LoadProgress) => void;
  /** `progress_callback(component, progress, message)`. */
  readonly progressCallback?: ComponentProgressCallback;
  /** Non-fatal problems (a warm-up run that failed, a listener that threw, a platform fallback). */
  readonly onWarning?: (message: string) => void;
}

export interface LoadOptions {
  /** Aborts this load (and with it the loader: what was created is released). */
  readonly signal?: AbortSignal;
  readonly onProgress?: (e: LoadProgress) => void;
  readonly progressCallback?: ComponentProgressCallback;
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
  settled: boolean;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody may be waiting on a given component: its rejection must not count as unhandled.
  promise.catch(() => undefined);
  const d: Deferred<T> = {
    promise,
    settled: false,
    resolve: (v) => {
      d.settled = true;
      resolve(v);
    },
    reject: (e) => {
      d.settled = true;
      reject(e);
    },
  };
  return d;
}

interface Timing {
  startedAt: number;
  readyAt?: number;
  downloadMs?: number;
  readMs?: number;
  createMs?: number;
  warmupMs?: number;
  cache?: 'hit' | 'stored' | 'bypass';
}

interface Entry {
  /** Replaced when a fallback moves the load to another platform. */
  c: LoaderComponent;
  readonly lazy: boolean;
  readonly priority: number;
  readonly seq: number;
  bytes: number;
  readonly warmup: boolean;
  status: ComponentStatus;
  /** Asked for by a caller: jumps the queue. */
  demand?: number;
  ready: Deferred<Session>;
  session?: Session;
  timing?: Timing;
}

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

function abortedBy(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

export class MultimodalLoader implements ComponentSessions {
  readonly package: ModelPackage;
  /** The plan this loader follows, with its fallbacks; absent for a loader given a fixed spec. */
  readonly placement?: Placement;
  private currentSpec: LoaderSpec;
  readonly parallel: boolean;
  readonly warnings: string[] = [];
  private readonly host: LoaderHost;
  private readonly files: ModelFiles;
  private readonly entries = new Map<string, Entry>();
  private readonly queue: Entry[] = [];
  private readonly controller = new AbortController();
  private readonly tasks = new Set<Promise<void>>();
  private readonly progressHub: ProgressHub;
  private readonly t0 = performance.now();
  private running = 0;
  private demands = 0;
  private readyOrder: string[] = [];
  private loadPromise?: Promise<LoadSummary>;
  private fatal?: unknown;
  private shutdownPromise?: Promise<void>;
  private loadStartedAt?: number;
  private readonly onWarning?: (m: string) => void;

  constructor(opts: MultimodalLoaderOptions) {
    this.package = opts.package;
    const spec = 'loaderSpec' in opts.plan ? opts.plan.loaderSpec() : opts.plan;
    if ('loaderSpec' in opts.plan) this.placement = opts.plan;
    this.currentSpec = spec;
    this.host = opts.host;
    this.files = opts.package.files;
    this.parallel = opts.parallel ?? spec.parallel ?? true;
    if (opts.onWarning) this.onWarning = opts.onWarning;
    this.progressHub = new ProgressHub(
      () => this.now(),
      (e) => this.warn(`a progress listener threw: ${e instanceof Error ? e.message : String(e)}`),
    );
    const prefetch = this.files.prefetch !== undefined;
    const reads = this.files.localPath === undefined;
    spec.components.forEach((c, seq) => {
      if (this.entries.has(c.name)) {
        throw new ModelPackageError('MODEL_COMPONENT_MISSING', `the loader spec names "${c.name}" twice`, {
          value: c.name,
        });
      }
      const lazy = c.loadStrategy ? c.loadStrategy === 'lazy' : c.preload === false;
      const bytes = c.bytes ?? this.knownBytes(c.file) ?? 0;
      const warmup = opts.warmup ?? c.warmup ?? false;
      this.entries.set(c.name, {
        c,
        lazy,
        priority: c.priority ?? seq,
        seq,
        bytes,
        warmup,
        status: 'idle',
        ready: deferred<Session>(),
      });
      this.progressHub.register(c.name, bytes, lazy, { download: prefetch, read: reads, warmup });
    });
    if (opts.onProgress) this.progressHub.subscribe(opts.onProgress);
    if (opts.progressCallback) this.progressHub.subscribe(callbackAdapter(opts.progressCallback));
    if (opts.signal) this.linkSignal(opts.signal);
  }

  private knownBytes(file: string): number | undefined {
    for (const info of Object.values(this.package.components)) {
      for (const v of Object.values(info.variants)) if (v?.file === file) return v.totalBytes;
    }
    return undefined;
  }

  private now(): number {
    return performance.now() - this.t0;
  }

  private warn(message: string): void {
    this.warnings.push(message);
    this.onWarning?.(message);
  }

  /** Abort the loader when `signal` fires; returns a function that stops listening. */
  private linkSignal(signal: AbortSignal): () => void {
    const onAbort = () =>
      void this.shutdown(
        new LoadError(
          'ABORTED',
          `loading ${this.package.location} was aborted`,
          this.loadingName(),
          'create',
          {
            value: this.package.location,
          },
        ),
      );
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    return () => signal.removeEventListener('abort', onAbort);
  }

  /** The component being loaded right now (for abort messages). */
  private loadingName(): string {
    for (const e of this.entries.values()) if (e.status === 'loading') return e.c.name;
    return '*';
  }

  /** What is being loaded: the spec of the platform in use (it changes after a fallback). */
  get spec(): LoaderSpec {
    return this.currentSpec;
  }

  /** Names of the components, eager first, in start order. */
  get components(): readonly string[] {
    return [...this.entries.values()].sort(compare).map((e) => e.c.name);
  }

  status(component: string): ComponentStatus {
    return this.entry(component).status;
  }

  /** The session of a component that is ready now (which providers run it), without loading it. */
  readySession(component: string): Session | undefined {
    const e = this.entries.get(component);
    return e?.status === 'ready' ? e.session : undefined;
  }

  /**
   * Start loading every eager component (parallel or by priority); resolves when all of them
   * are ready. Calling it again returns the same promise. On failure or abort it rejects —
   * only after every session created so far has been released — with a `LoadError` naming the
   * component that failed.
   */
  load(opts: LoadOptions = {}): Promise<LoadSummary> {
    if (opts.onProgress) this.progressHub.subscribe(opts.onProgress);
    if (opts.progressCallback) this.progressHub.subscribe(callbackAdapter(opts.progressCallback));
    // This signal bounds this load: once the load has settled, aborting it changes nothing.
    if (opts.signal) {
      const unlink = this.linkSignal(opts.signal);
      const p = this.loadPromise ?? this.startLoad();
      p.then(unlink, unlink);
      return p;
    }
    return this.loadPromise ?? this.startLoad();
  }

  private startLoad(): Promise<LoadSummary> {
    this.loadStartedAt = this.now();
    const eager = [...this.entries.values()].filter((e) => !e.lazy);
    for (const e of eager) if (e.status === 'idle') this.enqueue(e);
    this.pump();
    this.loadPromise = (async () => {
      const settled = await Promise.allSettled(eager.map((e) => e.ready.promise));
      const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (this.fatal !== undefined || rejected) {
        await this.shutdown(this.fatal ?? rejected!.reason);
        throw this.fatal;
      }
      this.progressHub.finish();
      return this.summary();
    })();
    this.loadPromise.catch(() => undefined);
    return this.loadPromise;
  }

  /**
   * The session of one component: waits for an eager one, starts a lazy one (once, however
   * many callers ask at the same time), and moves a queued one to the front. `signal` stops
   * this caller's wait only; the load goes on for the others.
   */
  session(component: string, signal?: AbortSignal): Promise<Session> {
    let e: Entry;
    try {
      e = this.entry(component);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.fatal !== undefined && !e.ready.settled) return this.afterShutdown(e);
    if (e.status === 'idle' || e.status === 'queued') {
      e.demand ??= ++this.demands;
      if (e.status === 'idle') this.enqueue(e);
      this.pump();
    }
    if (!signal) return e.ready.promise;
    if (signal.aborted) return Promise.reject(callerAbort(component));
    return new Promise<Session>((resolve, reject) => {
      const onAbort = () => reject(callerAbort(component));
      signal.addEventListener('abort', onAbort, { once: true });
      e.ready.promise.then(
        (s) => {
          signal.removeEventListener('abort', onAbort);
          resolve(s);
        },
        (err) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
  }

  /**
   * Release one component's session, for a component needed once (CLIP's combined graph, read
   * for its logit scale). It loads again if asked for later; one still loading is left alone.
   */
  async release(component: string): Promise<void> {
    const e = this.entry(component);
    if (e.status !== 'ready' || !e.session) return;
    const session = e.session;
    e.session = undefined;
    e.status = 'idle';
    e.demand = undefined;
    e.ready = deferred<Session>();
    this.progressHub.reset(component);
    await session.release().catch(() => undefined);
  }

  /** Subscribe to progress events; returns the unsubscribe function. */
  onProgress(listener: (e: LoadProgress) => void): () => void {
    return this.progressHub.subscribe(listener);
  }

  /** Every progress event from the first, then live ones, until the eager load settles (throws if it fails). */
  progress(): AsyncGenerator<LoadProgress, void, undefined> {
    return this.progressHub.iterate();
  }

  /** Events so far. */
  get events(): readonly LoadProgress[] {
    return this.progressHub.events;
  }

  /** Per-component timings of every component that started loading. */
  timings(): ComponentTiming[] {
    const out: ComponentTiming[] = [];
    for (const e of [...this.entries.values()].sort(compare)) {
      if (!e.timing) continue;
      out.push({
        component: e.c.name,
        lazy: e.lazy,
        bytes: e.bytes,
        ...(e.c.platform && { platform: e.c.platform }),
        ...e.timing,
      });
    }
    return out;
  }

  /** Release every session and stop whatever is loading; resolves when nothing is left. */
  async dispose(): Promise<void> {
    await this.shutdown(new MmrtError('ABORTED', `the loader of ${this.package.location} was disposed`));
  }

  private entry(component: string): Entry {
    const e = this.entries.get(component);
    if (!e) {
      throw new ModelPackageError(
        'MODEL_COMPONENT_MISSING',
        `the loader of ${this.package.location} has no component "${component}"`,
        { value: component, valid: [...this.entries.keys()] },
      );
    }
    return e;
  }

  private async afterShutdown(e: Entry): Promise<Session> {
    await this.shutdownPromise;
    return e.ready.promise;
  }

  private summary(): LoadSummary {
    return {
      ready: this.readyOrder.filter((n) => !this.entries.get(n)!.lazy),
      lazy: [...this.entries.values()].filter((e) => e.lazy).map((e) => e.c.name),
      totalMs: this.now() - (this.loadStartedAt ?? 0),
      components: this.timings(),
      warnings: [...this.warnings],
    };
  }

  private enqueue(e: Entry): void {
    e.status = 'queued';
    this.queue.push(e);
  }

  private pump(): void {
    if (this.fatal !== undefined) return;
    const limit = this.parallel
      ? Math.max(1, this.currentSpec.maxConcurrency ?? Number.POSITIVE_INFINITY)
      : 1;
    while (this.running < limit && this.queue.length > 0) {
      this.queue.sort(compare);
      const e = this.queue.shift()!;
      this.running++;
      const task = this.run(e).finally(() => {
        this.running--;
        this.tasks.delete(task);
        this.pump();
      });
      this.tasks.add(task);
    }
  }

  private emit(e: Entry, phase: LoadPhase, loaded: number, total: number, message: string): void {
    this.progressHub.emit(e.c.name, phase, loaded, total, message, e.c.file);
  }

  private async run(e: Entry): Promise<void> {
    const { c } = e;
    const signal = this.controller.signal;
    const spec = this.currentSpec;
    const timing: Timing = { startedAt: this.now() };
    e.timing = timing;
    e.status = 'loading';
    let phase: LoadPhase = 'download';
    let session: Session | undefined;
    try {
      if (signal.aborted) throw signal.reason;
      await this.download(e, timing);
      phase = 'read';
      const source = await this.source(e, timing);
      phase = 'create';
      session = await this.create(e, source, timing);
      if (e.warmup) {
        phase = 'warmup';
        await this.warmup(e, session, timing);
      }
      if (signal.aborted) throw signal.reason;
      timing.readyAt = this.now();
      e.session = session;
      e.status = 'ready';
      this.readyOrder.push(c.name);
      this.emit(e, 'ready', e.bytes, e.bytes, readyMessage(e, timing));
      e.ready.resolve(session);
    } catch (err) {
      if (session) await session.release().catch(() => undefined);
      e.session = undefined;
      if (!signal.aborted && this.fatal === undefined && this.fallBack(e, spec, err)) return this.run(e);
      this.failed(
        e,
        signal.aborted && this.fatal !== undefined ? this.fatal : componentError(err, c.name, phase),
      );
    }
  }

  /**
   * Ask the spec where a failure can move the load. When it moves, every component not yet
   * loaded takes its entry of the new spec (`spec` is the one the failed attempt started from:
   * a second failure from the same platform, seen after the first moved it, just retries).
   */
  private fallBack(e: Entry, spec: LoaderSpec, error: unknown): boolean {
    if (spec !== this.currentSpec) {
      // Another component moved the load meanwhile: retry this one from the current spec.
      const c = this.currentSpec.components.find((x) => x.name === e.c.name);
      if (c) this.retarget(e, c);
      return true;
    }
    const ready = [...this.entries.values()].filter((x) => x.status === 'ready').map((x) => x.c.name);
    const next = spec.fallback?.({ component: e.c.name, error, ready });
    if (!next) return false;
    this.currentSpec = next;
    for (const c of next.components) {
      const x = this.entries.get(c.name);
      if (!x || x.status === 'ready' || (x.status === 'loading' && x !== e)) continue;
      this.retarget(x, c);
    }
    const reason = error instanceof Error ? error.message : String(error);
    this.warn(
      `"${e.c.name}" failed on ${e.c.platform ?? 'its platform'} (${reason}); loading on ${next.components.find((c) => c.name === e.c.name)?.platform ?? 'the next platform'}`,
    );
    return true;
  }

  private retarget(e: Entry, c: LoaderComponent): void {
    e.c = c;
    e.bytes = c.bytes ?? this.knownBytes(c.file) ?? e.bytes;
    this.progressHub.resize(c.name, e.bytes);
  }

  private async download(e: Entry, timing: Timing): Promise<void> {
    const { c } = e;
    const files = this.files;
    if (!files.prefetch) return;
    const prefetch = (
      file: string,
      opts: { onProgress: (loaded: number, total: number | undefined) => void },
    ) => files.prefetch!(file, { signal: this.controller.signal, onProgress: opts.onProgress });
    const t = performance.now();
    const wanted = [c.file, ...(c.externalData ?? [])];
    let before = 0;
    this.emit(e, 'download', 0, e.bytes, `fetching ${wanted.length} file(s), ${mb(e.bytes)}`);
    for (const file of wanted) {
      let last = 0;
      let lastTotal = 0;
      await prefetch(file, {
        onProgress: (loaded, total) => {
          if (loaded < last) return;
          last = loaded;
          lastTotal = total ?? lastTotal;
          const all = Math.max(e.bytes, before + (total ?? loaded));
          this.emit(
            e,
            'download',
            before + loaded,
            all,
            `${file}: ${mb(loaded)}${total ? ` of ${mb(total)}` : ''}`,
          );
        },
      });
      before += Math.max(last, lastTotal);
    }
    timing.downloadMs = performance.now() - t;
  }

  private async source(e: Entry, timing: Timing): Promise<OrtModelInput> {
    const { c } = e;
    const t = performance.now();
    const onProgress = (loaded: number, total: number) =>
      this.emit(e, 'read', loaded, total, `reading ${c.file}: ${mb(loaded)} of ${mb(total)}`);
    const src = await defaultSource(this.files, c, e.bytes, this.controller.signal, onProgress);
    if (typeof src.model !== 'string') timing.readMs = performance.now() - t;
    return src;
  }

  private async create(e: Entry, src: OrtModelInput, timing: Timing): Promise<Session> {
    const { c } = e;
    const signal = this.controller.signal;
    const spec: SessionSpec = {
      ...c.session,
      name: c.name,
      model: src.model,
      ...(src.externalData && src.externalData.length > 0 && { externalData: src.externalData }),
      signal,
    };
    const eps = (c.session?.providers ?? ['cpu']).map((p) => (typeof p === 'string' ? p : p.name)).join(', ');
    this.emit(e, 'create', 0, e.bytes, `creating the ${c.name} session (${eps})`);
    const t = performance.now();
    const graphCache = this.currentSpec.graphCache ?? false;
    const ortEnv = this.currentSpec.ortEnv;
    const made = this.host.createSession
      ? await this.host.createSession(spec, { graphCache, ...(ortEnv && { ortEnv }) })
      : { session: await createSession(this.host.ort, spec) };
    const session = made.session;
    timing.createMs = performance.now() - t;
    if (made.cache) timing.cache = made.cache;
    // ORT cannot stop a creation half-way; one that finished after an abort is released now.
    if (abortedBy(signal)) {
      await session.release().catch(() => undefined);
      throw signal.reason;
    }
    const cache = timing.cache ? `, graph cache ${timing.cache}` : '';
    this.emit(e, 'create', e.bytes, e.bytes, `session created in ${Math.round(timing.createMs)} ms${cache}`);
    session.checkFirstRun((o) => this.firstRunFailed(e, o));
    return session;
  }

  /**
   * A session's first run gave NaN/Inf or threw: the spec's fallback names another entry for
   * the component (the placement's next precision, or the next platform), whose session is
   * created here and replaces the failed one in place (see `Session.adopt`).
   */
  private async firstRunFailed(e: Entry, o: FirstRunOutcome): Promise<Session | undefined> {
    if (this.fatal !== undefined || this.controller.signal.aborted) return undefined;
    const from = entryText(e.c);
    const what =
      o.failure.kind === 'non-finite'
        ? `gave a non-finite value (${o.failure.detail})`
        : `failed (${o.failure.detail})`;
    const ready = [...this.entries.values()]
      .filter((x) => x.status === 'ready' && x !== e)
      .map((x) => x.c.name);
    const error =
      o.error ?? new RuntimeError('SESSION_OUTPUT_INVALID', `the first run of "${e.c.name}" ${what}`);
    // The load moved to another platform after this session was made (another component's
    // first run failed first): follow it rather than asking for a fallback from the new one.
    const current = this.currentSpec.components.find((x) => x.name === e.c.name);
    const moved = current !== undefined && current.platform !== e.c.platform;
    const next = moved
      ? this.currentSpec
      : this.currentSpec.fallback?.({
          component: e.c.name,
          error,
          ready,
          stage: 'first-run',
          failure: o.failure,
        });
    const c = next?.components.find((x) => x.name === e.c.name);
    if (!next || !c) {
      this.warn(
        `the first run of "${e.c.name}" (${from}) ${what}; there is no other variant or platform to fall back to`,
      );
      return undefined;
    }
    this.currentSpec = next;
    for (const x of next.components) {
      const other = this.entries.get(x.name);
      if (!other || other === e || other.status === 'ready' || other.status === 'loading') continue;
      this.retarget(other, x);
    }
    this.retarget(e, c);
    const timing: Timing = e.timing ?? { startedAt: this.now() };
    await this.download(e, timing);
    const session = await this.create(e, await this.source(e, timing), timing);
    this.warn(`the first run of "${e.c.name}" (${from}) ${what}; it now runs ${entryText(c)}`);
    return session;
  }

  private async warmup(e: Entry, session: Session, timing: Timing): Promise<void> {
    const { c } = e;
    this.emit(e, 'warmup', 0, 1, `warm-up run of ${c.name} on dummy inputs`);
    const t = performance.now();
    try {
      const hints = warmupHints(this.package);
      // A decoder runs twice: the prefill's shapes, then a decode step's (one token after a
      // past), so both sets of WebGPU shaders exist before the first real answer.
      const passes = hasPastInputs(session.inputs) ? [hints, { ...hints, pastLength: 1 }] : [hints];
      for (const pass of passes) {
        const outputs = await session.run(dummyFeeds(this.host.ort, session.inputs, pass));
        // The warm-up is also the component's first run: NaN or Inf there means this provider
        // computes the model wrongly, which under 'auto' moves it to the next platform.
        const bad = await nonFiniteOutputs(outputs).finally(() => {
          // Outputs left on the GPU (a decoder's present.*) are nobody's: free them now.
          for (const t of Object.values(outputs)) if (t.location && t.location !== 'cpu') t.dispose();
        });
        if (bad.length > 0) throw invalidOutput(c.name, session, bad);
      }
    } catch (err) {
      if (this.controller.signal.aborted || isInvalidOutput(err)) throw err;
      // A first run that fails outright: under 'auto', the next platform; else only a warning.
      const ready = [...this.entries.values()].filter((x) => x.status === 'ready').map((x) => x.c.name);
      if (this.currentSpec.canFallBack?.({ component: c.name, error: err, ready })) throw err;
      // A warm-up only saves time later; a failed one must not fail the load.
      this.warn(
        `warm-up of "${c.name}" failed (the session is usable; the first real run pays the set-up): ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    timing.warmupMs = performance.now() - t;
    this.emit(e, 'warmup', 1, 1, `warm-up done in ${Math.round(timing.warmupMs)} ms`);
  }

  private failed(e: Entry, error: unknown): void {
    const loadRunning = this.loadStartedAt !== undefined;
    if (this.fatal !== undefined) {
      // Shutting down: the shutdown settles this entry.
      e.status = 'released';
      return;
    }
    if (e.lazy || !loadRunning) {
      // A component loaded on demand failed: its callers hear why; it can be asked for again.
      e.status = 'idle';
      e.demand = undefined;
      const old = e.ready;
      e.ready = deferred<Session>();
      this.progressHub.reset(e.c.name);
      old.reject(error);
      return;
    }
    e.status = 'failed';
    void this.shutdown(error);
  }

  /**
   * Stop everything (first error wins): abort hooks, wait for running tasks (a creation in
   * flight finishes, then is released), release every ready session, settle every waiter.
   */
  private shutdown(error: unknown): Promise<void> {
    if (this.shutdownPromise) return this.shutdownPromise;
    this.fatal = error;
    this.controller.abort(error);
    this.queue.length = 0;
    this.shutdownPromise = (async () => {
      while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
      const release: Promise<void>[] = [];
      for (const e of this.entries.values()) {
        if (e.session) release.push(e.session.release().catch(() => undefined));
        e.session = undefined;
        if (e.status !== 'failed') e.status = 'released';
      }
      await Promise.all(release);
      for (const e of this.entries.values()) {
        if (!e.ready.settled) e.ready.reject(error);
        else if (e.status === 'released') {
          // A ready promise resolved earlier now points at a released session: later callers get the error.
          e.ready = deferred<Session>();
          e.ready.reject(error);
        }
      }
      this.progressHub.fail(error);
    })();
    return this.shutdownPromise;
  }
}

function entryText(c: LoaderComponent): string {
  return `${c.precision ? `${c.precision}, ` : ''}${c.file}${c.platform ? ` on ${c.platform}` : ''}`;
}

function compare(a: Entry, b: Entry): number {
  if (a.demand !== undefined || b.demand !== undefined) {
    if (a.demand === undefined) return 1;
    if (b.demand === undefined) return -1;
    return a.demand - b.demand;
  }
  if (a.lazy !== b.lazy) return a.lazy ? 1 : -1;
  return a.priority - b.priority || a.seq - b.seq;
}

function callerAbort(component: string): MmrtError {
  return new MmrtError('ABORTED', `waiting for "${component}" was aborted`, { value: component });
}

function readyMessage(e: Entry, t: Timing): string {
  const parts = [`create ${Math.round(t.createMs ?? 0)} ms`];
  if (t.downloadMs !== undefined) parts.unshift(`download ${Math.round(t.downloadMs)} ms`);
  if (t.warmupMs !== undefined) parts.push(`warm-up ${Math.round(t.warmupMs)} ms`);
  if (t.cache) parts.push(`graph cache ${t.cache}`);
  return `${e.c.name} ready (${parts.join(', ')})`;
}

function callbackAdapter(cb: ComponentProgressCallback): (e: LoadProgress) => void {
  return (e) => cb(e.component, e.percent, e.message);
}

/** Node: the file's path (ORT reads it and finds external data beside it). Browsers: the bytes. */
async function defaultSource(
  files: ModelFiles,
  c: LoaderComponent,
  bytes: number,
  signal: AbortSignal,
  onProgress: (loaded: number, total: number) => void,
): Promise<OrtModelInput> {
  if (files.localPath) {
    const path = await files.localPath(c.file, signal);
    if (path) {
      for (const f of c.externalData ?? []) await files.localPath(f, signal);
      return { model: path };
    }
  }
  let loaded = 0;
  const total = Math.max(1, bytes);
  onProgress(0, total);
  const model = await files.readBytes(c.file, signal);
  loaded += model.byteLength;
  onProgress(Math.min(loaded, total), total);
  const externalData: Array<{ path: string; data: Uint8Array }> = [];
  for (const f of c.externalData ?? []) {
    const data = await files.readBytes(f, signal);
    loaded += data.byteLength;
    onProgress(Math.min(loaded, total), total);
    externalData.push({ path: f.split('/').pop()!, data });
  }
  return externalData.length > 0 ? { model, externalData } : { model };
}
