/**
 * A loader spec without planning: every component at one precision with the same session
 * options (tests, benchmarks). The planned path is `Placement.loaderSpec()`.
 */
import { componentVariant, type ModelPackage } from '../package/describe.js';
import { componentSpec } from '../package/family-spec.js';
import type { Precision } from '../package/precision.js';
import { ROLE_LOAD_ORDER } from '../platform/component-roles.js';
import type { SessionOptions } from '../runtime/session.js';
import type { LoaderComponent, LoaderSpec } from './types.js';

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
  /** Components to load (default: the package's layout, then its optional components, lazy). */
  readonly components?: readonly string[];
}

/**
 * A spec for every component of the package's layout at one precision; priorities follow the
 * roles' answer order (vision first: the first request of every family needs it).
 */
export function loaderSpecFromPackage(pkg: ModelPackage, opts: PackageSpecOptions = {}): LoaderSpec {
  const optional = (pkg.familySpec.optionalComponents ?? []).filter(
    (n) => !pkg.layout.includes(n) && pkg.components[n],
  );
  const names = opts.components ?? [...pkg.layout, ...optional];
  const components: LoaderComponent[] = names.map((name) => {
    const v = componentVariant(pkg, name, opts.precision ?? 'fp32');
    return {
      name,
      file: v.file,
      externalData: v.externalData.map((x) => x.file),
      bytes: v.totalBytes,
      ...(opts.session && { session: opts.session }),
      loadStrategy: opts.lazy?.includes(name) || optional.includes(name) ? 'lazy' : 'eager',
      priority: ROLE_LOAD_ORDER.indexOf(componentSpec(pkg.familySpec, name).role),
      ...(opts.warmup !== undefined && { warmup: opts.warmup }),
    };
  });
  return {
    components,
    ...(opts.parallel !== undefined && { parallel: opts.parallel }),
    ...(opts.graphCache !== undefined && { graphCache: opts.graphCache }),
  };
}
