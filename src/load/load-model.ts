/**
 * The one load path, for every family and every host: plan the model (`createPlacement`), make
 * its loader, build the family's model on the loader's sessions (`registry[family].create`),
 * then load what the plan loads with the model. Hosts wrap it as `loadClip`, `loadLlava`, ...
 * with only their `Host` added.
 */
import { InputError, MmrtError } from '../errors.js';
import type { AnyFamily, LoadedModel } from '../families/family.js';
import { FAMILIES, familyByName } from '../families/registry.js';
import type { Host } from '../host/host.js';
import { MultimodalLoader } from '../loader/loader.js';
import type { Placement } from '../loader/placement.js';
import type { ComponentProgressCallback, LoadProgress } from '../loader/types.js';
import type { ImageOptions } from '../media/input.js';
import type { ModelPackage } from '../package/describe.js';
import type { ComponentConfigInput, ConfigInput } from '../platform/config-keys.js';
import { type PlanOptions, openPackage, placePackage } from './placement.js';

export interface LoadingOptions {
  readonly onProgress?: (event: LoadProgress) => void;
  /** `progress_callback(component, progress, message)`. */
  readonly progressCallback?: ComponentProgressCallback;
  /**
   * Load every component of the model now, the ones the plan loads on first use too (CLIP's
   * towers, a chat model's language model). Default false: the plan decides.
   */
  readonly preload?: boolean;
}

export interface LoadModelOptions extends PlanOptions {
  readonly loading?: LoadingOptions;
  /** How images are read: resize mode and decoder limits. */
  readonly images?: ImageOptions;
  /** Non-fatal problems: plan warnings, fallbacks, a failed warm-up. */
  readonly onWarning?: (message: string) => void;
}

/** Which kind of model the caller expects (`loadClip` expects a dual encoder). */
export interface ExpectedKind {
  readonly kind: string;
  /** For the error: "CLIP or SigLIP". */
  readonly what: string;
}

/** Drop keys given as `undefined`: they must not hide a default or the plan's value. */
export function definedOnly<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** `preload`: every layout component eager, as a user setting (so `explain()` shows it). */
function withPreload(config: ConfigInput | undefined, components: readonly string[]): ConfigInput {
  const base =
    config && typeof config === 'object' && !Array.isArray(config) ? (config as Record<string, unknown>) : {};
  const sections = (base.components ?? {}) as Record<string, ComponentConfigInput>;
  const merged: Record<string, ComponentConfigInput> = { ...sections };
  for (const c of components) merged[c] = { ...sections[c], loadStrategy: 'eager' };
  return { ...base, components: merged } as ConfigInput;
}

/** A loader for a placement, with the caller's progress listeners. */
export function createLoader(
  host: Host,
  placement: Placement,
  options: Pick<LoadModelOptions, 'loading' | 'onWarning'> = {},
): MultimodalLoader {
  const loading = options.loading ?? {};
  return new MultimodalLoader({
    package: placement.package,
    plan: placement,
    host,
    ...(loading.onProgress && { onProgress: loading.onProgress }),
    ...(loading.progressCallback && { progressCallback: loading.progressCallback }),
    ...(options.onWarning && { onWarning: options.onWarning }),
  });
}

/**
 * Load a model of any registered family. Resolves when the components the plan loads with the
 * model are ready; the others load on first use. The signal bounds planning and this load only:
 * aborting later leaves the model working.
 */
export async function loadModel<M extends LoadedModel = LoadedModel, O = unknown>(
  host: Host,
  options: LoadModelOptions,
  familyOptions?: O,
  expected?: ExpectedKind,
): Promise<M> {
  const given = definedOnly(options);
  const families = given.families ?? FAMILIES;
  const pkg = await openPackage(host, given);
  const family = familyByName(pkg.family, families);
  checkKind(family, pkg, families, expected);
  const config = given.loading?.preload ? withPreload(given.config, pkg.layout) : given.config;
  const placement = await placePackage(host, pkg, { ...given, config });
  for (const w of placement.warnings) given.onWarning?.(w);
  const loader = createLoader(host, placement, given);
  try {
    const model = (await family.create!(
      {
        host,
        loader,
        ...(given.images && { images: definedOnly(given.images) }),
        ...(given.onWarning && { onWarning: given.onWarning }),
      },
      definedOnly((familyOptions ?? {}) as object) as never,
    )) as M;
    await loader.load(given.signal ? { signal: given.signal } : {});
    return model;
  } catch (e) {
    await loader.dispose();
    throw e;
  }
}

function checkKind(
  family: AnyFamily,
  pkg: ModelPackage,
  families: readonly AnyFamily[],
  expected: ExpectedKind | undefined,
): void {
  if (expected && family.kind !== expected.kind) {
    const valid = families.filter((f) => f.kind === expected.kind).map((f) => f.name);
    throw new InputError('INPUT_INVALID', `${pkg.location} is a ${pkg.family} model, not ${expected.what}`, {
      value: pkg.family,
      valid,
    });
  }
  if (!family.create) {
    throw new MmrtError(
      'MODEL_UNSUPPORTED',
      `${pkg.location} is a ${pkg.family} model: mmrt can describe and plan it (mmrt explain) but cannot run ${pkg.family} models yet`,
      { value: pkg.family, valid: families.filter((f) => f.create).map((f) => f.name) },
    );
  }
}
