/**
 * The one place an ONNX Runtime session is born. Turns (component file, execution providers,
 * options) into a `Session`, and turns ORT's string errors into typed ones.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { MmrtError, RuntimeError, closest } from '../errors.js';
import type { OrtModule } from '../host/host.js';
import { fromFloat16, toFloat16 } from '../onnx/float16.js';
import { PLATFORM_TABLE, platformOfProvider, type ExecutionProviderName } from './providers.js';

export const GRAPH_OPTIMIZATION_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
export type GraphOptimizationLevel = (typeof GRAPH_OPTIMIZATION_LEVELS)[number];

/** An execution provider with its ORT provider options (cuDNN search, QNN backend, ...). */
export interface ProviderSpec {
  readonly name: ExecutionProviderName;
  readonly options?: Readonly<Record<string, unknown>>;
}

export interface SessionOptions {
  /** Providers in preference order; ORT falls back along the list per node. Default: cpu. */
  providers?: ReadonlyArray<ExecutionProviderName | ProviderSpec>;
  graphOptimizationLevel?: GraphOptimizationLevel;
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  executionMode?: 'sequential' | 'parallel';
  /** Pin symbolic dimensions (e.g. `{ batch_size: 1 }`) so ORT can plan memory and fuse more. */
  freeDimensionOverrides?: Readonly<Record<string, number>>;
  /**
   * onnxruntime-web: outputs to leave on the device (`gpu-buffer`), by name; a decoder's
   * `present.*` there never round-trip through JavaScript between steps.
   */
  preferredOutputLocation?: Readonly<Record<string, 'cpu' | 'gpu-buffer'>>;
  /** Ask ORT to write the optimized graph here (the host decides where the cache lives). */
  optimizedModelFilePath?: string;
  /** External weight files for models passed as bytes (browser); paths for Node are found by ORT. */
  externalData?: ReadonlyArray<{ path: string; data: string | Uint8Array }>;
  enableCpuMemArena?: boolean;
  enableMemPattern?: boolean;
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
  /** Extra ORT session config entries (`session.*` keys). */
  extra?: Readonly<Record<string, unknown>>;
}

export interface SessionSpec extends SessionOptions {
  /** Component name, used in messages ("vision_model"). */
  readonly name: string;
  /** A path the host's ORT can open, or the model bytes. */
  readonly model: string | Uint8Array;
  readonly signal?: AbortSignal;
}

export type Feeds = Record<string, Tensor>;
export type Outputs = Record<string, Tensor>;

export interface TensorInfo {
  readonly name: string;
  readonly type: string;
  /** Numbers for fixed dims, strings for symbolic ones. */
  readonly shape: ReadonlyArray<number | string>;
}

/** Why a session's first run is not to be trusted. */
export interface FirstRunFailure {
  /** 'non-finite': a NaN or Inf in a float output; 'run-error': the run threw. */
  readonly kind: 'non-finite' | 'run-error';
  readonly detail: string;
}

/** What a session's first run gave, when it failed the check. */
export interface FirstRunOutcome {
  readonly session: Session;
  readonly feeds: Feeds;
  readonly failure: FirstRunFailure;
  readonly outputs?: Outputs;
  readonly error?: unknown;
}

/**
 * Called once, when a session's first run gives a non-finite output or throws: returns the
 * session to run on instead (the run is repeated there, and its first run checked in turn), or
 * undefined to accept the outcome (the error is thrown, the outputs returned).
 */
export type FirstRunCheck = (outcome: FirstRunOutcome) => Promise<Session | undefined>;

interface SessionState {
  raw: InferenceSession;
  providers: readonly ExecutionProviderName[];
  inputs: readonly TensorInfo[];
  outputs: readonly TensorInfo[];
  createMs: number;
  warnings: readonly string[];
}

/**
 * A created ORT session plus what mmrt needs to know about it. Its first run can be checked
 * (`checkFirstRun`): a failed check may swap in another session (`adopt`) under the same
 * object, so whoever holds it keeps working, now on the replacement.
 */
export class Session {
  readonly name: string;
  private state: SessionState;
  private released = false;
  private firstRunCheck?: FirstRunCheck;
  private firstRunPending?: Promise<unknown>;

  constructor(
    raw: InferenceSession,
    name: string,
    providers: readonly ExecutionProviderName[],
    createMs: number,
    warnings: readonly string[] = [],
  ) {
    this.name = name;
    this.state = {
      raw,
      providers,
      createMs,
      warnings,
      inputs: describeIo(raw.inputNames, (raw as { inputMetadata?: unknown }).inputMetadata),
      outputs: describeIo(raw.outputNames, (raw as { outputMetadata?: unknown }).outputMetadata),
    };
  }

  get raw(): InferenceSession {
    return this.state.raw;
  }
  get providers(): readonly ExecutionProviderName[] {
    return this.state.providers;
  }
  get inputs(): readonly TensorInfo[] {
    return this.state.inputs;
  }
  get outputs(): readonly TensorInfo[] {
    return this.state.outputs;
  }
  get createMs(): number {
    return this.state.createMs;
  }
  /** Options the host's ORT could not apply, and the like. */
  get warnings(): readonly string[] {
    return this.state.warnings;
  }
  get inputNames(): readonly string[] {
    return this.raw.inputNames;
  }
  get outputNames(): readonly string[] {
    return this.raw.outputNames;
  }
  hasInput(name: string): boolean {
    return this.raw.inputNames.includes(name);
  }

  /** Check the next run (the first): only that one, so checking costs one scan of one run's outputs. */
  checkFirstRun(check: FirstRunCheck): void {
    this.firstRunCheck = check;
  }

  /**
   * Take over `other`'s ORT session (and release this one's): the replacement of a failed
   * first run. `other` must not be used afterwards.
   */
  async adopt(other: Session): Promise<void> {
    const old = this.state.raw;
    this.state = { ...other.state };
    other.released = true;
    await old.release().catch(() => undefined);
  }

  async run(feeds: Feeds, fetches?: readonly string[]): Promise<Outputs> {
    if (this.firstRunPending) {
      // Runs that arrive while the first is being checked wait for its verdict (and session).
      await this.firstRunPending.catch(() => undefined);
    }
    if (!this.firstRunCheck) return this.runOnce(feeds, fetches);
    // A caller's mistake (a missing input) says nothing about the variant: the check waits.
    this.checkFeeds(feeds);
    const check = this.firstRunCheck;
    this.firstRunCheck = undefined;
    const pending = this.checkedRun(check, feeds, fetches);
    this.firstRunPending = pending;
    try {
      return await pending;
    } finally {
      this.firstRunPending = undefined;
    }
  }

  private async checkedRun(
    check: FirstRunCheck,
    feeds: Feeds,
    fetches?: readonly string[],
  ): Promise<Outputs> {
    let input = feeds;
    for (;;) {
      let outputs: Outputs | undefined;
      let error: unknown;
      try {
        outputs = await this.runOnce(input, fetches);
      } catch (e) {
        error = e;
      }
      const detail = outputs ? await firstNonFinite(outputs) : undefined;
      if (outputs && detail === undefined) return outputs;
      const failure: FirstRunFailure = outputs
        ? { kind: 'non-finite', detail: detail! }
        : { kind: 'run-error', detail: errorText(error) };
      const replacement = await check({
        session: this,
        feeds: input,
        failure,
        ...(outputs && { outputs }),
        ...(error !== undefined && { error }),
      });
      if (!replacement) {
        if (outputs) return outputs;
        throw error;
      }
      await this.adopt(replacement);
      input = feedsFor(this.inputs, input);
    }
  }

  private checkFeeds(feeds: Feeds): void {
    if (this.released) throw new RuntimeError('SESSION_RUN_FAILED', `session "${this.name}" was released`);
    const missing = this.raw.inputNames.filter((n) => !(n in feeds));
    if (missing.length > 0) {
      throw new RuntimeError(
        'SESSION_RUN_FAILED',
        `"${this.name}" needs inputs it was not given: ${missing.join(', ')}`,
        {
          value: Object.keys(feeds),
          valid: this.raw.inputNames,
        },
      );
    }
  }

  private async runOnce(feeds: Feeds, fetches?: readonly string[]): Promise<Outputs> {
    this.checkFeeds(feeds);
    // ORT rejects unknown feed names; drop extras so callers can pass a superset.
    const used: Feeds = {};
    for (const n of this.raw.inputNames) used[n] = feeds[n]!;
    try {
      return (fetches ? await this.raw.run(used, fetches as string[]) : await this.raw.run(used)) as Outputs;
    } catch (e) {
      throw new RuntimeError(
        'SESSION_RUN_FAILED',
        `running "${this.name}" failed: ${errorText(e)}`,
        {},
        { cause: e },
      );
    }
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.raw.release();
  }

  get isReleased(): boolean {
    return this.released;
  }
}

/**
 * Where one float tensor holds NaN or Inf ("NaN at index 3"), or undefined. A tensor kept on a
 * device (WebGPU `gpu-buffer`) is read back for the check, not disposed: its owner keeps it.
 */
export async function nonFiniteIn(t: Tensor): Promise<string | undefined> {
  if (t.type !== 'float32' && t.type !== 'float64' && t.type !== 'float16') return undefined;
  const d = t.location && t.location !== 'cpu' ? await t.getData() : t.data;
  if (t.type === 'float16') {
    const h = d as Uint16Array;
    for (let i = 0; i < h.length; i++) {
      // All exponent bits set: Inf (mantissa 0) or NaN.
      if ((h[i]! & 0x7c00) === 0x7c00) return `${h[i]! & 0x3ff ? 'NaN' : 'Infinity'} (fp16) at index ${i}`;
    }
    return undefined;
  }
  const f = d as Float32Array | Float64Array;
  for (let i = 0; i < f.length; i++) if (!Number.isFinite(f[i]!)) return `${f[i]} at index ${i}`;
  return undefined;
}

/** Where a run's float outputs hold NaN or Inf ("output \"logits\" has NaN at index 3"), or undefined. */
export async function firstNonFinite(outputs: Outputs): Promise<string | undefined> {
  for (const [name, t] of Object.entries(outputs)) {
    const where = await nonFiniteIn(t);
    if (where) return `output "${name}" has ${where}`;
  }
  return undefined;
}

/** Feeds re-typed for a replacement session whose float inputs are fp16 where these are fp32, or back. */
function feedsFor(inputs: readonly TensorInfo[], feeds: Feeds): Feeds {
  const out: Feeds = { ...feeds };
  for (const info of inputs) {
    const t = feeds[info.name];
    if (!t || t.type === info.type) continue;
    const Ctor = t.constructor as new (type: string, data: unknown, dims: readonly number[]) => Tensor;
    if (t.type === 'float32' && info.type === 'float16') {
      out[info.name] = new Ctor('float16', toFloat16(t.data as Float32Array).data, t.dims);
    } else if (t.type === 'float16' && info.type === 'float32') {
      out[info.name] = new Ctor('float32', fromFloat16(t.data as Uint16Array), t.dims);
    }
  }
  return out;
}

function describeIo(names: readonly string[], metadata: unknown): TensorInfo[] {
  const list = Array.isArray(metadata) ? (metadata as Array<Record<string, unknown>>) : [];
  return names.map((name, i) => {
    const m = list[i] ?? {};
    return {
      name,
      type: typeof m.type === 'string' ? m.type : 'unknown',
      shape: Array.isArray(m.shape) ? (m.shape as Array<number | string>) : [],
    };
  });
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function providerName(p: ExecutionProviderName | ProviderSpec): ExecutionProviderName {
  return typeof p === 'string' ? p : p.name;
}

/**
 * Execution providers this ORT build carries. onnxruntime-node lists its backends; where the
 * list says `bundled: false` (CUDA/TensorRT) the binaries must have been installed separately,
 * so we only learn the truth at session creation.
 */
export function bundledProviders(ort: OrtModule): ReadonlySet<string> | undefined {
  if (!ort.listSupportedBackends) return undefined;
  return new Set(ort.listSupportedBackends().map((b) => b.name));
}

function unavailable(ep: ExecutionProviderName, detail: string, cause?: unknown): RuntimeError {
  const platform = platformOfProvider(ep);
  const how = platform ? PLATFORM_TABLE[platform].howToGet : undefined;
  return new RuntimeError(
    'PROVIDER_UNAVAILABLE',
    `execution provider "${ep}" cannot be used here: ${detail}` + (how ? `. To get it: ${how}` : ''),
    { value: ep, platform, hint: how },
    { cause },
  );
}

const ALL_PROVIDERS: readonly ExecutionProviderName[] = [
  'cpu',
  'cuda',
  'tensorrt',
  'rocm',
  'migraphx',
  'coreml',
  'openvino',
  'qnn',
  'webnn',
  'webgpu',
  'wasm',
];

/** ORT's option names are lowercase strings; keep ours typed and translate in one place. */
function toOrtOptions(spec: SessionSpec): InferenceSession.SessionOptions {
  const providers = spec.providers ?? ['cpu'];
  const o: InferenceSession.SessionOptions = {
    executionProviders: providers.map((p) =>
      typeof p === 'string' || !p.options ? providerName(p) : ({ name: p.name, ...p.options } as never),
    ),
  };
  if (spec.graphOptimizationLevel) o.graphOptimizationLevel = spec.graphOptimizationLevel;
  if (spec.intraOpNumThreads !== undefined) o.intraOpNumThreads = spec.intraOpNumThreads;
  if (spec.interOpNumThreads !== undefined) o.interOpNumThreads = spec.interOpNumThreads;
  if (spec.executionMode) o.executionMode = spec.executionMode;
  if (spec.freeDimensionOverrides) o.freeDimensionOverrides = { ...spec.freeDimensionOverrides };
  if (spec.optimizedModelFilePath) o.optimizedModelFilePath = spec.optimizedModelFilePath;
  if (spec.preferredOutputLocation) o.preferredOutputLocation = { ...spec.preferredOutputLocation };
  if (spec.externalData) o.externalData = spec.externalData as never;
  if (spec.enableCpuMemArena !== undefined) o.enableCpuMemArena = spec.enableCpuMemArena;
  if (spec.enableMemPattern !== undefined) o.enableMemPattern = spec.enableMemPattern;
  o.logSeverityLevel = spec.logSeverityLevel ?? 3;
  if (spec.extra) o.extra = { ...spec.extra };
  return o;
}

/** Create a session, or throw a typed error that says which provider or file was at fault. */
export async function createSession(ort: OrtModule, spec: SessionSpec): Promise<Session> {
  if (spec.signal?.aborted) throw abortError(spec.name);
  const providers = (spec.providers ?? ['cpu']).map(providerName);
  for (const ep of providers) {
    if (!ALL_PROVIDERS.includes(ep)) {
      const guess = closest(ep, ALL_PROVIDERS);
      throw new RuntimeError(
        'PROVIDER_UNKNOWN',
        `unknown execution provider "${ep}"` + (guess ? ` (did you mean "${guess}"?)` : ''),
        { value: ep, valid: ALL_PROVIDERS },
      );
    }
  }
  const bundled = bundledProviders(ort);
  if (bundled) {
    for (const ep of providers) {
      if (!bundled.has(ep))
        throw unavailable(
          ep,
          `this ONNX Runtime build does not include it (it has: ${[...bundled].join(', ')})`,
        );
    }
  }
  const t0 = performance.now();
  let raw: InferenceSession;
  try {
    raw = await ort.InferenceSession.create(spec.model, toOrtOptions(spec));
  } catch (e) {
    throw classifyCreateError(e, spec, providers);
  }
  const createMs = performance.now() - t0;
  // Creation cannot be interrupted inside ORT; honour an abort that came meanwhile by releasing.
  if (spec.signal?.aborted) {
    await raw.release();
    throw abortError(spec.name);
  }
  const warnings: string[] = [];
  if (spec.freeDimensionOverrides && ort.ignoredSessionOptions?.includes('freeDimensionOverrides')) {
    warnings.push(
      `"${spec.name}": freeDimensionOverrides (${Object.keys(spec.freeDimensionOverrides).join(', ')}) are not applied by this ONNX Runtime binding (onnxruntime-web applies them; onnxruntime-node does not)`,
    );
  }
  return new Session(raw, spec.name, providers, createMs, warnings);
}

function abortError(name: string): MmrtError {
  return new MmrtError('ABORTED', `creating session "${name}" was aborted`, { value: name });
}

function classifyCreateError(
  e: unknown,
  spec: SessionSpec,
  providers: readonly ExecutionProviderName[],
): MmrtError {
  const msg = errorText(e);
  const where = typeof spec.model === 'string' ? spec.model : `${spec.name} (${spec.model.byteLength} bytes)`;
  const failedEp = providers.find(
    (ep) =>
      msg.includes(`[${ep}] backend not found`) ||
      (msg.toLowerCase().includes(ep) &&
        /failed to load shared library|failed to get .* adapter|backend not found/i.test(msg)),
  );
  if (failedEp) return unavailable(failedEp, msg, e);
  if (/protobuf parsing failed|invalid model|ModelProto|Failed to load model/i.test(msg)) {
    return new RuntimeError(
      'MODEL_CORRUPT',
      `"${spec.name}" is not a readable ONNX model (${where}): ${msg}`,
      { value: where, hint: 'delete the file so it is downloaded again, or re-export it' },
      { cause: e },
    );
  }
  if (/doesn't exist|no such file|ENOENT/i.test(msg)) {
    return new RuntimeError(
      'MODEL_FILE_MISSING',
      `"${spec.name}" model file is missing: ${where}`,
      { value: where },
      { cause: e },
    );
  }
  return new RuntimeError(
    'SESSION_CREATE_FAILED',
    `creating session "${spec.name}" failed: ${msg}`,
    { value: where },
    { cause: e },
  );
}
