/**
 * Where a model's components run, and the one place that changes it: a model plan (the
 * platform chosen, the candidates behind it) plus the fallbacks taken since. Under
 * `platform: 'auto'`, a component whose provider cannot run here moves the placement to the
 * next candidate platform; the loader then loads every component not yet loaded from the new
 * platform's plan (files, providers, bytes), so none retries a provider that already failed.
 * Components loaded before stay where they are, and `explain()` says so.
 *
 * The same `fallBack` answers first-run failures (the loader checks each session's first run:
 * NaN/Inf in a float output, or a run that throws). The placement moves that one component to
 * the next precision of `firstRunFallbacks` that the package has (q4f16 -> q4, fp16 -> fp32,
 * then down the declared order, fp32 last), on any platform since the file is at fault; with
 * none left, under 'auto', the whole load moves to the next platform as for a failed creation.
 * A host can put platform moves first for its adapters (WebGPU -> WebNN -> WASM on a NaN) by
 * wrapping `loaderSpec().fallback`: the loader only asks for a spec whose entry for the
 * component it then creates and swaps in.
 */
import { type ErrorCode, MmrtError } from '../errors.js';
import type { HostCapabilities } from '../host/capabilities.js';
import type { ComponentVariant, ModelPackage } from '../package/describe.js';
import type { Precision } from '../package/precision.js';
import { variantDrift } from '../package/quantization.js';
import { firstRunFallbacks } from '../platform/precision-map.js';
import { canRun } from '../platform/variants.js';
import { ROLE_LOAD_ORDER } from '../platform/component-roles.js';
import { explainPlan, explainPlanJson } from '../platform/explain.js';
import type { ComponentPlan, ModelPlan, PlanCandidate, PlatformPlan } from '../platform/plan-types.js';
import type { PlatformName } from '../runtime/providers.js';
import type { LoadFailure, LoaderComponent, LoaderSpec } from './types.js';

export interface PlatformFallback {
  readonly from: PlatformName;
  readonly to: PlatformName;
  /** The component whose session failed. */
  readonly component: string;
  readonly code: ErrorCode;
  readonly reason: string;
  /** Components already loaded on `from`: they stay there. */
  readonly stayed: readonly string[];
}

/** A component whose first run failed moved to another precision of itself, on the same platform. */
export interface PrecisionFallback {
  readonly component: string;
  readonly platform: PlatformName;
  readonly from: Precision;
  readonly to: Precision;
  readonly reason: string;
}

/** Failures that say "this platform cannot", not "this model or request is broken". */
const FALLBACK_CODES: readonly ErrorCode[] = [
  'PROVIDER_UNAVAILABLE',
  'PROVIDER_UNKNOWN',
  'SESSION_CREATE_FAILED',
  // The warm-up run at load (a component's first run) failed: the provider cannot run it.
  'SESSION_RUN_FAILED',
  // The warm-up run at load returned NaN/Inf: the provider runs, but not this model correctly.
  'SESSION_OUTPUT_INVALID',
];
/** A first run that failed says so of the platform too, when no precision is left to try. */
function causeOf(e: unknown): MmrtError | undefined {
  // The loader wraps hook errors in a LoadError that keeps the cause's code.
  return e instanceof MmrtError ? e : undefined;
}

export class Placement {
  readonly fallbacks: PlatformFallback[] = [];
  /** First-run fallbacks: components now running another precision than planned. */
  readonly precisionFallbacks: PrecisionFallback[] = [];
  /** `platform/component` -> the variant that replaced the planned one. */
  private readonly overrides = new Map<string, ComponentVariant>();
  /** `platform/component` -> precisions whose first run failed there. */
  private readonly failed = new Map<string, Set<Precision>>();
  private active: number;
  /** Components that stayed on an earlier platform when a fallback moved the rest. */
  private readonly stayed = new Map<string, PlatformName>();

  readonly package: ModelPackage;

  constructor(
    private readonly modelPlan: ModelPlan,
    pkg: ModelPackage,
    readonly capabilities: HostCapabilities,
  ) {
    this.package = pkg;
    this.active = Math.max(
      0,
      modelPlan.candidates.findIndex((c) => c.plan),
    );
  }

  /** The plan of the platform in use (it changes after a fallback), with first-run replacements. */
  get plan(): ModelPlan {
    const c = this.modelPlan.candidates[this.active];
    const base = c?.plan
      ? { ...c.plan, requested: this.modelPlan.requested, candidates: this.modelPlan.candidates }
      : this.modelPlan;
    if (this.overrides.size === 0) return base;
    const swap = (cp: ComponentPlan): ComponentPlan => {
      const v = this.overrides.get(`${base.platform}/${cp.name}`);
      if (!v) return cp;
      return {
        ...cp,
        file: v.file,
        externalData: v.externalData.map((x) => x.file),
        precision: v.precision,
        bytes: v.totalBytes,
        precisionChoice: { ...cp.precisionChoice, how: 'first-run' },
        memory: { ...cp.memory, weightsBytes: v.totalBytes },
      };
    };
    return { ...base, components: base.components.map(swap), optional: base.optional.map(swap) };
  }

  get platform(): PlatformName {
    return this.plan.platform;
  }

  get warnings(): readonly string[] {
    return [
      ...this.plan.warnings,
      ...this.precisionFallbacks.map(
        (f) => `"${f.component}" ${f.from} -> ${f.to} on ${f.platform} after its first run ${f.reason}`,
      ),
      ...this.fallbacks.map((f) => `${f.from} -> ${f.to} after "${f.component}" failed: ${f.reason}`),
    ];
  }

  /** The platform a component runs on: the one it was loaded on, or the plan's. */
  platformOf(component: string): PlatformName {
    return this.stayed.get(component) ?? this.platform;
  }

  /** "q4 decoder_model_merged: ..." for each planned variant that onnx/quantization.json measured. */
  driftLines(): string[] {
    const out: string[] = [];
    for (const c of [...this.plan.components, ...this.plan.optional]) {
      if (c.precision === 'fp32') continue;
      const line = variantDrift(this.package, c.file);
      if (line) out.push(`${c.precision} ${c.name}: ${line}`);
    }
    return out;
  }

  explain(): string {
    let text = explainPlan(this.plan);
    const drift = this.driftLines();
    if (drift.length > 0) {
      text += `\n\nPrecision drift (onnx/quantization.json; each measured with every component at that precision):\n${drift.map((l) => `  ${l}`).join('\n')}`;
    }
    if (this.precisionFallbacks.length > 0) {
      const lines = this.precisionFallbacks.map(
        (f) => `  - "${f.component}" on ${f.platform}: ${f.from} -> ${f.to}, after its first run ${f.reason}`,
      );
      text += `\n\nFirst-run fallbacks:\n${lines.join('\n')}`;
    }
    if (this.fallbacks.length === 0) return text;
    const lines = this.fallbacks.map(
      (f) =>
        `  - ${f.from} -> ${f.to}: "${f.component}" ${f.code}: ${f.reason}` +
        (f.stayed.length ? ` (${f.stayed.join(', ')} stayed on ${f.from})` : ''),
    );
    const where = [...this.plan.components, ...this.plan.optional].map(
      (c) => `  ${c.name}: ${this.platformOf(c.name)}`,
    );
    return `${text}\n\nFallbacks:\n${lines.join('\n')}\n\nComponents run on:\n${where.join('\n')}`;
  }

  explainJson(): Record<string, unknown> {
    const runsOn = Object.fromEntries(
      [...this.plan.components, ...this.plan.optional].map((c) => [c.name, this.platformOf(c.name)]),
    );
    return {
      ...explainPlanJson(this.plan),
      fallbacks: this.fallbacks,
      precisionFallbacks: this.precisionFallbacks,
      drift: this.driftLines(),
      runsOn,
    };
  }

  /** The loader spec of the active plan; its `fallback` moves this placement. */
  loaderSpec(): LoaderSpec {
    return {
      ...loaderSpecFromPlan(this.plan),
      fallback: (f) => this.fallBack(f),
      canFallBack: (f) => this.canFallBack(f),
    };
  }

  /** Whether `fallBack` would move to another platform for this failure. */
  canFallBack(failure: LoadFailure): boolean {
    const e = causeOf(failure.error);
    const planned = this.plan.components.some((c) => c.name === failure.component);
    return (
      this.modelPlan.requested === 'auto' &&
      planned &&
      !!e &&
      FALLBACK_CODES.includes(e.code) &&
      this.nextCandidate() >= 0
    );
  }

  /**
   * After a component failed: under 'auto', a failure that says the platform cannot run it
   * moves to the next candidate and returns its spec; anything else returns undefined (the
   * failure is the answer). An optional component (outside the plan proper) never moves the
   * platform the planned parts run on. A first run that failed (NaN/Inf, or a throw) tries the
   * component's next precision first: the file, more likely than the platform, is at fault.
   */
  fallBack(failure: LoadFailure): LoaderSpec | undefined {
    if (failure.stage === 'first-run') {
      const moved = this.nextPrecision(failure);
      if (moved) return moved;
    }
    const e = causeOf(failure.error);
    const plan = this.plan;
    if (!this.canFallBack(failure) || !e) return undefined;
    const next = this.nextCandidate();
    const to = this.modelPlan.candidates[next] as PlanCandidate;
    for (const name of failure.ready) if (!this.stayed.has(name)) this.stayed.set(name, plan.platform);
    this.fallbacks.push({
      from: plan.platform,
      to: to.platform,
      component: failure.component,
      code: e.code,
      reason: e.message.replace(/^loading component "[^"]+" failed \(\w+\): /, '').split('. To get it:')[0]!,
      stayed: [...failure.ready],
    });
    this.active = next;
    return this.loaderSpec();
  }

  /**
   * A first run that failed moves the component to the next precision of `firstRunFallbacks`
   * that the package has and the platform runs (whatever platform was asked for: the file,
   * not the platform, is at fault), or returns undefined when none is left.
   */
  private nextPrecision(failure: LoadFailure): LoaderSpec | undefined {
    const plan = this.plan;
    const cp = [...plan.components, ...plan.optional].find((c) => c.name === failure.component);
    const info = this.package.components[failure.component];
    if (!cp || !info) return undefined;
    const key = `${plan.platform}/${cp.name}`;
    const tried = this.failed.get(key) ?? new Set<Precision>();
    tried.add(cp.precision);
    this.failed.set(key, tried);
    const kind = failure.failure?.kind ?? 'run-error';
    const next = firstRunFallbacks(cp.precisionChoice.asked, cp.precision, kind).find(
      (p) => !tried.has(p) && info.variants[p] && canRun(p, plan.platform, this.capabilities),
    );
    if (!next) return undefined;
    this.overrides.set(key, info.variants[next]!);
    this.precisionFallbacks.push({
      component: cp.name,
      platform: plan.platform,
      from: cp.precision,
      to: next,
      reason:
        kind === 'non-finite'
          ? `gave a non-finite value (${failure.failure?.detail})`
          : `failed (${failure.failure?.detail})`,
    });
    return this.loaderSpec();
  }

  private nextCandidate(): number {
    const cs = this.modelPlan.candidates;
    for (let i = this.active + 1; i < cs.length; i++) if (cs[i]!.plan) return i;
    return -1;
  }
}

function loaderComponent(plan: PlatformPlan, c: ComponentPlan, priority: number): LoaderComponent {
  return {
    name: c.name,
    file: c.file,
    externalData: c.externalData,
    bytes: c.bytes,
    session: c.session,
    loadStrategy: c.loadStrategy,
    priority,
    warmup: c.warmup,
    platform: plan.platform,
    precision: c.precision,
  };
}

/**
 * A plan as the loader takes it: priorities follow `loading.order` (then the role order for
 * what is not in it), lazy components come last, optional components are lazy.
 */
export function loaderSpecFromPlan(
  plan: Pick<PlatformPlan, 'components' | 'optional' | 'loading' | 'graphCache' | 'platform'> &
    Partial<Pick<PlatformPlan, 'ortEnv'>>,
): LoaderSpec {
  const order = plan.loading.order;
  const rank = (c: ComponentPlan, i: number) => {
    const at = order.indexOf(c.name);
    return at >= 0 ? at : order.length + i;
  };
  const all = [...plan.components, ...plan.optional];
  return {
    parallel: plan.loading.parallel,
    graphCache: plan.graphCache,
    ...(plan.ortEnv && Object.keys(plan.ortEnv).length > 0 && { ortEnv: plan.ortEnv }),
    components: all.map((c, i) =>
      loaderComponent(
        plan as PlatformPlan,
        c,
        rank(c, i) + (plan.optional.includes(c) ? ROLE_LOAD_ORDER.length : 0),
      ),
    ),
  };
}
