/**
 * The loader's vocabulary (host-free): what to load (a minimal spec the platform plan maps
 * onto), the hooks a host provides, and the progress events it reports.
 */
import type { Host } from '../host/host.js';
import type { OrtEnvPlan } from '../platform/plan-types.js';
import type { FirstRunFailure, SessionOptions } from '../runtime/session.js';

/** Where a component is in its load. Every component passes `create` and ends at `ready`. */
export type LoadPhase = 'download' | 'read' | 'create' | 'warmup' | 'ready';

export interface LoadProgress {
  readonly component: string;
  /** The component's graph file in the package (`onnx/vision_model.onnx`). */
  readonly file?: string;
  readonly phase: LoadPhase;
  /** Units done in this phase: bytes for download/read/create (create jumps 0 -> bytes), 0/1 for warmup. */
  readonly loaded: number;
  readonly total: number;
  /** This component's progress across its phases, 0-100, never going back. */
  readonly percent: number;
  readonly message: string;
  /**
   * Progress of the eager load across its components, weighted by bytes, 0-100, never going
   * back; exactly 100 once every eager component is ready. Events of a lazy component loading
   * later carry the eager figure as it stands (they do not move it).
   */
  readonly overallPercent: number;
  /** Wall-clock time (ms since the epoch). */
  readonly timestamp: number;
  /** High-resolution ms since the loader was created: compare event times with this. */
  readonly elapsedMs: number;
  /** True for a component loaded on first use rather than with the model. */
  readonly lazy: boolean;
}

/** `progress_callback(component, progress, message)`: progress is the component's percent. */
export type ComponentProgressCallback = (component: string, progress: number, message: string) => void;

/** One component to load: the fields of a plan's `ComponentPlan` the loader needs. */
export interface LoaderComponent {
  readonly name: string;
  /** Graph file inside the package (`onnx/vision_model.onnx`). */
  readonly file: string;
  /** External weight files that must sit beside the graph (or travel as bytes). */
  readonly externalData?: readonly string[];
  /** Graph + external data bytes: the weight of this component in `overallPercent`. */
  readonly bytes?: number;
  /** Options for `createSession` (providers, threads, optimization level...). */
  readonly session?: SessionOptions;
  /** 'eager' (default) loads with `load()`; 'lazy' loads on first `session()`/`ready()`. */
  readonly loadStrategy?: 'eager' | 'lazy';
  /** The brief's `preload`: true = eager, false = lazy. `loadStrategy` wins when both are set. */
  readonly preload?: boolean;
  /** Lower starts first (and, when loading one at a time, is ready first). Default: plan order. */
  readonly priority?: number;
  /** One run on dummy inputs as part of loading (shader precompilation, first-run allocations). */
  readonly warmup?: boolean;
  /** The platform whose plan this entry comes from (shown by `explain()`). */
  readonly platform?: string;
  /** The precision variant this entry's file is (`q4`), for messages and first-run fallbacks. */
  readonly precision?: string;
}

/** A component whose load or first run failed, and what had loaded by then. */
export interface LoadFailure {
  readonly component: string;
  readonly error: unknown;
  /** Components whose sessions exist: they stay where they are. */
  readonly ready: readonly string[];
  /**
   * 'create' (absent: the same): creating the session failed. 'first-run': the session was
   * created but its first run gave NaN/Inf or threw (`failure` says which); a returned spec's
   * entry for this component replaces its session in place, so callers holding it keep going.
   */
  readonly stage?: 'create' | 'first-run';
  readonly failure?: FirstRunFailure;
}

/** What to load and how: `loaderSpecFromPlan` maps a platform plan onto this. */
export interface LoaderSpec {
  readonly components: readonly LoaderComponent[];
  /** Create the eager components concurrently (default true) or one after another in priority order. */
  readonly parallel?: boolean;
  /** At most this many components loading at once in parallel mode. Default: all. */
  readonly maxConcurrency?: number;
  /** Ask the host to use its optimized-graph cache (Node). */
  readonly graphCache?: boolean;
  /** `ort.env` settings the host applies before its first session (onnxruntime-web: WASM threads). */
  readonly ortEnv?: OrtEnvPlan;
  /**
   * Where a failure can move the load: a new spec for every component not yet loaded (another
   * platform's files and providers, or for a first-run failure another precision of the failed
   * component), or undefined when the failure is final. The failed component is loaded again
   * from the new spec.
   */
  readonly fallback?: (failure: LoadFailure) => LoaderSpec | undefined;
  /**
   * Whether `fallback` would move the load for this failure, without moving it. The loader asks
   * before it turns a failed warm-up run into a fallback; where nothing would move, a failed
   * warm-up stays a warning (the session may still serve real inputs).
   */
  readonly canFallBack?: (failure: LoadFailure) => boolean;
}

/** What ONNX Runtime opens: a path (Node) or bytes (browsers), with external data as bytes. */
export interface OrtModelInput {
  readonly model: string | Uint8Array;
  readonly externalData?: ReadonlyArray<{ path: string; data: string | Uint8Array }>;
}

/** What the loader asks of its host: ONNX Runtime and, optionally, its own session creation. */
export type LoaderHost = Pick<Host, 'ort' | 'createSession'>;

/** Timings and outcome of one component's load, for reports and benchmarks. */
export interface ComponentTiming {
  readonly component: string;
  readonly lazy: boolean;
  /** ms since the loader was created. */
  readonly startedAt: number;
  readonly readyAt?: number;
  readonly downloadMs?: number;
  readonly readMs?: number;
  readonly createMs?: number;
  readonly warmupMs?: number;
  readonly cache?: 'hit' | 'stored' | 'bypass';
  readonly bytes: number;
  /** The platform it was loaded for. */
  readonly platform?: string;
}

export type ComponentStatus = 'idle' | 'queued' | 'loading' | 'ready' | 'failed' | 'released';

export interface LoadSummary {
  /** Eager components, in the order they became ready. */
  readonly ready: readonly string[];
  readonly lazy: readonly string[];
  readonly totalMs: number;
  readonly components: readonly ComponentTiming[];
  readonly warnings: readonly string[];
}
