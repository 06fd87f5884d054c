/**
 * Where a loader spec comes from: a platform plan (the full path: per-component precision,
 * providers, session options, eager/lazy, order, warm-up, graph cache), or a package and one
 * precision (tests, callers without planning).
 */
import { componentVariant, type ModelPackage } from '../package/describe.js';
import type { Precision } from '../package/precision.js';
import { ROLE_LOAD_ORDER, componentSpec } from '../platform/component-roles.js';
import type { PlatformPlan } from '../platform/plan-types.js';
import type { SessionOptions } from '../runtime/session.js';
import type { LoaderComponent, LoaderSpec } from './types.js';

/** Map a plan onto a loader spec: priorities follow `loading.order`, lazy components come last. */
export function loaderSpecFromPlan(
  plan: Pick<PlatformPlan, 'components' | 'loading' | 'graphCache'>,
): LoaderSpec {
  const order = plan.loading.order;
  const rank = (name: string, i: number) => {
    const at = order.indexOf(name);
    return at >= 0 ? at : order.length + i;
  };
  return {
    parallel: plan.loading.parallel,
    graphCache: plan.graphCache,
    components: plan.components.map((c, i) => ({
      name: c.name,
      file: c.file,
      externalData: c.externalData,
      bytes: c.bytes,
      session: c.session,
      loadStrategy: c.loadStrategy,
      priority: rank(c.name, i),
      warmup: c.warmup,
    })),
  };
}

export interface PackageSpecOptions {
  /** Default fp32. */
  readonly precision?: Precision;
  /** Options for every component's session. */
  readonly session?: SessionOptions;
  /** Components to load on first use. */
  readonly lazy?: readonly string[];
  readonly parallel?: boolean;
  readonly warmup?: boolean;
  readonly graphCache?: boolean;
  /** Components to load (default: the package's layout). */
  readonly components?: readonly string[];
}

/**
 * A spec for every component of the package's layout at one precision; priorities follow the
 * roles' answer order (vision first: the first request of every family needs it).
 */
export function loaderSpecFromPackage(pkg: ModelPackage, opts: PackageSpecOptions = {}): LoaderSpec {
  const names = opts.components ?? pkg.layout;
  const components: LoaderComponent[] = names.map((name) => {
    const v = componentVariant(pkg, name, opts.precision ?? 'fp32');
    return {
      name,
      file: v.file,
      externalData: v.externalData.map((x) => x.file),
      bytes: v.totalBytes,
      ...(opts.session && { session: opts.session }),
      loadStrategy: opts.lazy?.includes(name) ? 'lazy' : 'eager',
      priority: ROLE_LOAD_ORDER.indexOf(componentSpec(pkg.family, name).role),
      ...(opts.warmup !== undefined && { warmup: opts.warmup }),
    };
  });
  return {
    components,
    ...(opts.parallel !== undefined && { parallel: opts.parallel }),
    ...(opts.graphCache !== undefined && { graphCache: opts.graphCache }),
  };
}
