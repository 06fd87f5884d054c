/**
 * Where a model's components run, and the one place that changes it: a model plan (the
 * platform chosen, the candidates behind it) plus the fallbacks taken since. Under
 * `platform: 'auto'`, a component whose provider cannot run here moves the placement to the
 * next candidate platform; the loader then loads every component not yet loaded from the new
 * platform's plan (files, providers, bytes), so none retries a provider that already failed.
 * Components loaded before stay where they are, and `explain()` says so.
 */
import { type ErrorCode, MmrtError } from '../errors.js';
import type { HostCapabilities } from '../host/capabilities.js';
import type { ModelPackage } from '../package/describe.js';
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

function causeOf(e: unknown): MmrtError | undefined {
  // The loader wraps hook errors in a LoadError that keeps the cause's code.
  return e instanceof MmrtError ? e : undefined;
}

export class Placement {
  readonly fallbacks: PlatformFallback[] = [];
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

  /** The plan of the platform in use (it changes after a fallback). */
  get plan(): ModelPlan {
    const c = this.modelPlan.candidates[this.active];
    if (!c?.plan) return this.modelPlan;
    return { ...c.plan, requested: this.modelPlan.requested, candidates: this.modelPlan.candidates };
  }

  get platform(): PlatformName {
    return this.plan.platform;
  }

  get warnings(): readonly string[] {
    return [
      ...this.plan.warnings,
      ...this.fallbacks.map((f) => `${f.from} -> ${f.to} after "${f.component}" failed: ${f.reason}`),
    ];
  }

  /** The platform a component runs on: the one it was loaded on, or the plan's. */
  platformOf(component: string): PlatformName {
    return this.stayed.get(component) ?? this.platform;
  }

  explain(): string {
    const text = explainPlan(this.plan);
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
    return { ...explainPlanJson(this.plan), fallbacks: this.fallbacks, runsOn };
  }

  /** The loader spec of the active plan; its `fallback` moves this placement. */
  loaderSpec(): LoaderSpec {
    return {
      ...loaderSpecFromPlan(this.plan),
      fallback: (f) => this.fallBack(f),
      canFallBack: (f) => this.canFallBack(f),
    };
  }

  /**
   * After a component failed: under 'auto', a failure that says the platform cannot run it
   * moves to the next candidate and returns its spec; anything else returns undefined (the
   * failure is the answer). An optional component (outside the plan proper) never moves the
   * platform the planned parts run on.
   */
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

  fallBack(failure: LoadFailure): LoaderSpec | undefined {
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
