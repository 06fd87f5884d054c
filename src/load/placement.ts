/**
 * The first step of every load: open the model (folder or hub id, through the host), describe
 * the package against the registered families, detect the host, and plan it for the platform
 * asked (or 'auto'). The result is a `Placement`: the plan plus the fallbacks the loader takes.
 */
import { ConfigError, MmrtError, closest } from '../errors.js';
import { FAMILIES, describePackage } from '../families/registry.js';
import type { AnyFamily } from '../families/family.js';
import type { HostCapabilities } from '../host/capabilities.js';
import type { Host } from '../host/host.js';
import { Placement } from '../loader/placement.js';
import type { ModelPackage } from '../package/describe.js';
import { planModel } from '../platform/plan.js';
import { PLATFORMS, type PlatformName } from '../runtime/providers.js';
import type { ConfigInput } from '../platform/config-keys.js';

export interface PlanOptions {
  /** A local folder or a hub id (`org/name[@rev]`), as the host resolves it. */
  readonly model: string;
  /** 'multimodal' (default: the family comes from config.json) or a family name to insist on. */
  readonly modelType?: string;
  /** Default 'auto'. */
  readonly platform?: PlatformName | 'auto';
  /** 'auto' only: try exactly these platforms in this order, available or not. */
  readonly candidates?: readonly PlatformName[];
  /**
   * Planning settings: camelCase or snake_case keys (`mmrt explain --keys` lists them), typed
   * from the key registry; checked again at planning, where a value the model cannot take is
   * refused.
   */
  readonly config?: ConfigInput;
  /** Skip detection (tests, or a caller that already detected). */
  readonly capabilities?: HostCapabilities;
  /** Bounds opening and planning (and, for `loadModel`, loading). */
  readonly signal?: AbortSignal;
  /** The families to know. Default: the registry. */
  readonly families?: readonly AnyFamily[];
}

function checkModelType(modelType: string | undefined, families: readonly AnyFamily[]): void {
  const valid = ['multimodal', ...families.map((f) => f.name)];
  if (modelType === undefined || valid.includes(modelType)) return;
  const guess = closest(modelType, valid);
  throw new ConfigError(
    'CONFIG_INVALID_VALUE',
    `modelType "${modelType}" is not one mmrt knows${guess ? ` (did you mean "${guess}"?)` : ''}; valid: ${valid.join(', ')}`,
    { value: modelType, valid },
  );
}

function checkPackageType(modelType: string | undefined, pkg: ModelPackage): void {
  if (modelType === undefined || modelType === 'multimodal' || pkg.family === modelType) return;
  throw new ConfigError(
    'CONFIG_INVALID_VALUE',
    `modelType "${modelType}" does not match ${pkg.location}, whose config.json says model_type "${pkg.modelType}" (${pkg.family}); use "multimodal" to take it from the model`,
    { value: modelType, valid: ['multimodal', pkg.family] },
  );
}

function checkPlatform(platform: unknown, candidates: readonly unknown[] | undefined): void {
  const valid = ['auto', ...PLATFORMS];
  for (const p of [platform, ...(candidates ?? [])]) {
    if (p === undefined || (typeof p === 'string' && valid.includes(p))) continue;
    const guess = typeof p === 'string' ? closest(p, valid) : undefined;
    throw new ConfigError(
      'CONFIG_INVALID_VALUE',
      `platform ${JSON.stringify(p)} is not one mmrt knows${guess ? ` (did you mean "${guess}"?)` : ''}; valid: ${valid.join(', ')}`,
      { value: p, valid },
    );
  }
}

/** Open the model through the host and describe it against the families. */
export async function openPackage(host: Host, options: PlanOptions): Promise<ModelPackage> {
  const families = options.families ?? FAMILIES;
  checkModelType(options.modelType, families);
  checkPlatform(options.platform, options.candidates);
  const signal = options.signal;
  const files = await host.openModel(options.model, signal ? { signal } : {});
  const pkg = await describePackage(files, families);
  checkPackageType(options.modelType, pkg);
  return pkg;
}

/** Plan a described package on this host (detecting it unless `capabilities` are given). */
export async function placePackage(host: Host, pkg: ModelPackage, options: PlanOptions): Promise<Placement> {
  const capabilities = options.capabilities ?? (await host.detect());
  if (options.signal?.aborted) {
    throw new MmrtError('ABORTED', `planning ${options.model} was aborted`, { value: options.model });
  }
  const plan = planModel({
    pkg,
    capabilities,
    platform: options.platform ?? 'auto',
    config: options.config,
    families: options.families ?? FAMILIES,
    ...(options.candidates && { candidates: options.candidates }),
  });
  return new Placement(plan, pkg, capabilities);
}

/** Open, describe and plan a model on this host: the brief's `UnifiedWebPlatform`. */
export async function createPlacement(host: Host, options: PlanOptions): Promise<Placement> {
  return placePackage(host, await openPackage(host, options), options);
}
