/**
 * The brief's `UnifiedWebPlatform(model_name, model_type, platform, config)` for Node: open the
 * model (folder or hub id), detect this machine, plan, and create each component's real ONNX
 * Runtime session from the plan. With `platform: 'auto'` a session that fails to create moves
 * the whole platform to the next candidate, and the failure is kept in `fallbacks`.
 */
import { ConfigError, type ErrorCode, MmrtError, ModelPackageError, closest } from '../errors.js';
import type { HostCapabilities } from '../platform/capabilities.js';
import { explainPlan, explainPlanJson } from '../platform/explain.js';
import type { ComponentPlan, ModelPlan, PlanCandidate } from '../platform/plan-types.js';
import { planModel } from '../platform/plan.js';
import { type ComponentVariant, describePackage, type ModelPackage } from '../package/describe.js';
import { FAMILIES, type ModelFamily } from '../package/families.js';
import type { PlatformName } from '../runtime/providers.js';
import { type Session, type SessionSpec, createSession } from '../runtime/session.js';
import { detectNode } from './detect.js';
import { createSessionWithWeightCache } from './weight-cache.js';
import { type OpenModelFilesOptions, openModelFiles } from './hub/index.js';
import { resolveHubOptions } from './hub/options.js';
import { ort, ortVersion } from './ort.js';

export const MODEL_TYPES = ['multimodal', ...FAMILIES] as const;
export type ModelTypeOption = (typeof MODEL_TYPES)[number];

export interface CreatePlatformOptions {
  /** A local folder or a hub id (`org/name[@rev]`). */
  readonly model: string;
  /** The brief's 'multimodal' (read the family from config.json, the default) or a family to insist on. */
  readonly modelType?: ModelTypeOption;
  /** Default 'auto'. */
  readonly platform?: PlatformName | 'auto';
  /** camelCase or the brief's snake_case keys. */
  readonly config?: unknown;
  /** Hub cache and graph cache root. Default MMRT_CACHE_DIR, then ~/.cache/mmrt. */
  readonly cacheDir?: string;
  readonly signal?: AbortSignal;
  /** 'auto' only: try exactly these platforms in this order, available or not. */
  readonly candidates?: readonly PlatformName[];
  /** Skip detection (tests, or a caller that already detected). */
  readonly capabilities?: HostCapabilities;
  /** Hub settings (endpoint, token, offline, ...). */
  readonly hub?: OpenModelFilesOptions;
}

export interface PlatformFallback {
  readonly from: PlatformName;
  readonly to: PlatformName;
  /** The component whose session failed. */
  readonly component: string;
  readonly code: ErrorCode;
  readonly reason: string;
}

/** Failures that say "this platform cannot", not "this model or request is broken". */
const FALLBACK_CODES: readonly ErrorCode[] = [
  'PROVIDER_UNAVAILABLE',
  'PROVIDER_UNKNOWN',
  'SESSION_CREATE_FAILED',
];

export class Platform {
  readonly fallbacks: PlatformFallback[] = [];
  readonly package: ModelPackage;
  private active: number;

  constructor(
    private readonly modelPlan: ModelPlan,
    pkg: ModelPackage,
    readonly capabilities: HostCapabilities,
    private readonly cacheDir: string,
    private readonly signal?: AbortSignal,
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

  explain(): string {
    const text = explainPlan(this.plan);
    if (this.fallbacks.length === 0) return text;
    return `${text}\n\nFallbacks:\n${this.fallbacks.map((f) => `  - ${f.from} -> ${f.to}: "${f.component}" ${f.code}: ${f.reason}`).join('\n')}`;
  }

  explainJson(): Record<string, unknown> {
    return { ...explainPlanJson(this.plan), fallbacks: this.fallbacks };
  }

  private nextCandidate(): number {
    const cs = this.modelPlan.candidates;
    for (let i = this.active + 1; i < cs.length; i++) if (cs[i]!.plan) return i;
    return -1;
  }

  /**
   * A component the package has but the plan left out (CLIP's combined graph beside the split
   * pair, opened once for its logit scale): the precision of the plan's first component when the
   * package has it, else fp32 or the first variant, with the same session options.
   */
  private unplanned(component: string): Pick<ComponentPlan, 'name' | 'file' | 'externalData' | 'session'> {
    const variant = this.unplannedVariant(component);
    return {
      name: component,
      file: variant.file,
      externalData: variant.externalData.map((x) => x.file),
      session: this.plan.components[0]!.session,
    };
  }

  /** The file variant `createSession` opens for a component the plan left out (see above). */
  unplannedVariant(component: string): ComponentVariant {
    const plan = this.plan;
    const info = this.package.components[component];
    const like = plan.components[0];
    if (!info || !like) {
      throw new ModelPackageError('MODEL_COMPONENT_MISSING', `the plan has no component "${component}"`, {
        value: component,
        valid: [...plan.components.map((x) => x.name), ...Object.keys(this.package.components)],
      });
    }
    return info.variants[like.precision] ?? info.variants.fp32 ?? Object.values(info.variants)[0]!;
  }

  private async specFor(
    c: Pick<ComponentPlan, 'name' | 'file' | 'externalData' | 'session'>,
  ): Promise<SessionSpec> {
    const files = this.package.files;
    const path = files.localPath ? await files.localPath(c.file, this.signal) : undefined;
    if (path) {
      // ORT finds external data next to the graph: make sure it is there (hub files download on demand).
      for (const f of c.externalData) await files.localPath!(f, this.signal);
      return { ...c.session, name: c.name, model: path, ...(this.signal && { signal: this.signal }) };
    }
    const externalData = await Promise.all(
      c.externalData.map(async (f) => ({
        path: f.split('/').pop()!,
        data: await files.readBytes(f, this.signal),
      })),
    );
    return {
      ...c.session,
      name: c.name,
      model: await files.readBytes(c.file, this.signal),
      ...(externalData.length > 0 && { externalData }),
      ...(this.signal && { signal: this.signal }),
    };
  }

  /**
   * Create the real ORT session for one component as the plan says. Under 'auto', a provider
   * that fails moves the platform to the next candidate (sessions created earlier stay where
   * they are) and the failure is recorded in `fallbacks`.
   */
  async createSession(component: string): Promise<Session> {
    for (;;) {
      const plan = this.plan;
      const planned = plan.components.find((x) => x.name === component);
      const c = planned ?? this.unplanned(component);
      try {
        const spec = await this.specFor(c);
        if (plan.graphCache && typeof spec.model === 'string') {
          return (await createSessionWithWeightCache(ort, spec, this.cacheDir, ortVersion())).session;
        }
        return await createSession(ort, spec);
      } catch (e) {
        // An optional extra (outside the plan) never moves the platform the planned parts run on.
        const next = this.modelPlan.requested === 'auto' && planned ? this.nextCandidate() : -1;
        if (!(e instanceof MmrtError) || !FALLBACK_CODES.includes(e.code) || next < 0) throw e;
        const to = this.modelPlan.candidates[next] as PlanCandidate;
        this.fallbacks.push({
          from: plan.platform,
          to: to.platform,
          component,
          code: e.code,
          reason: e.message.split('. To get it:')[0]!,
        });
        this.active = next;
      }
    }
  }
}

function checkModelTypeValue(modelType: string | undefined): void {
  if (modelType === undefined || (MODEL_TYPES as readonly string[]).includes(modelType)) return;
  const guess = closest(modelType, MODEL_TYPES);
  throw new ConfigError(
    'CONFIG_INVALID_VALUE',
    `modelType "${modelType}" is not one mmrt knows${guess ? ` (did you mean "${guess}"?)` : ''}; valid: ${MODEL_TYPES.join(', ')}`,
    { value: modelType, valid: MODEL_TYPES },
  );
}

function checkModelType(modelType: string | undefined, pkg: ModelPackage): void {
  if (modelType === undefined || modelType === 'multimodal') return;
  if (pkg.family !== (modelType as ModelFamily)) {
    throw new ConfigError(
      'CONFIG_INVALID_VALUE',
      `modelType "${modelType}" does not match ${pkg.location}, whose config.json says model_type "${pkg.modelType}" (${pkg.family}); use "multimodal" to take it from the model`,
      { value: modelType, valid: ['multimodal', pkg.family] },
    );
  }
}

export async function createPlatform(opts: CreatePlatformOptions): Promise<Platform> {
  checkModelTypeValue(opts.modelType);
  const hub: OpenModelFilesOptions = { ...opts.hub, ...(opts.cacheDir && { cacheDir: opts.cacheDir }) };
  const files = await openModelFiles(opts.model, hub);
  const pkg = await describePackage(files);
  checkModelType(opts.modelType, pkg);
  const capabilities = opts.capabilities ?? (await detectNode());
  const plan = planModel({
    pkg,
    capabilities,
    platform: opts.platform ?? 'auto',
    config: opts.config,
    ...(opts.candidates && { candidates: opts.candidates }),
  });
  return new Platform(plan, pkg, capabilities, resolveHubOptions(hub).cacheDir, opts.signal);
}
