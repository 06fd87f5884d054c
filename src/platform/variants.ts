/**
 * Picks the file variant of one component: what was asked (mapped through PRECISION_CHOICES),
 * adjusted for what the platform can run, falling back along the declared order with a
 * warning, or a typed MODEL_VARIANT_MISSING when a person or the model asked for something the
 * package cannot give.
 */
import { ModelPackageError } from '../errors.js';
import type { ComponentInfo, ComponentVariant } from '../package/describe.js';
import { type Precision, componentFileName } from '../package/precision.js';
import type { PlatformName } from '../runtime/providers.js';
import type { ComponentRole } from '../package/family-spec.js';
import type { HostCapabilities } from './capabilities.js';
import { measuredNote, orderByMeasuredSpeed } from './measured.js';
import {
  PLATFORM_PRECISION_ORDER,
  PRECISION_CHOICES,
  PRECISION_NOTES,
  PRECISION_REQUIREMENTS,
  type RequestedPrecision,
} from './precision-map.js';
import type { Setting } from './resolve.js';

export interface VariantChoice {
  readonly variant: ComponentVariant;
  readonly warnings: readonly string[];
  /** 'asked': what was asked; 'fallback': a declared substitute; 'platform': changed for the platform; 'default': platform order. */
  readonly how: 'asked' | 'fallback' | 'platform' | 'default';
}

/** false only when the host told us its GPU lacks the feature; unknown counts as present. */
function hasShaderF16(caps: HostCapabilities): boolean {
  const known = caps.gpus.filter((g) => g.shaderF16 !== undefined);
  return known.length === 0 || known.some((g) => g.shaderF16);
}

/** What runs instead of `p` on this platform, or `p` itself. */
export function runnablePrecision(p: Precision, platform: PlatformName, caps: HostCapabilities): Precision {
  const req = PRECISION_REQUIREMENTS.find((r) => r.platform === platform && r.precision === p);
  if (req && req.needs === 'shader-f16' && !hasShaderF16(caps)) return req.instead;
  return p;
}

export function canRun(p: Precision, platform: PlatformName, caps: HostCapabilities): boolean {
  return runnablePrecision(p, platform, caps) === p;
}

function dedupe<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

export function chooseVariant(
  info: ComponentInfo,
  asked: Setting<RequestedPrecision>,
  platform: PlatformName,
  caps: HostCapabilities,
  role: ComponentRole = 'vision',
): VariantChoice {
  const name = info.name;
  const have = (p: Precision) => info.variants[p];
  const choice = PRECISION_CHOICES[asked.value];
  const warnings: string[] = [];
  const slow = (p: Precision) => {
    // What was measured here speaks first; the general notes cover what was not.
    const measured = measuredNote(platform, role, p, name);
    const note = PRECISION_NOTES.find((n) => n.platform === platform && n.precision === p);
    if (measured) warnings.push(measured);
    else if (note) warnings.push(`"${name}" runs ${p} on ${platform}: ${note.note}`);
  };
  const done = (p: Precision, how: VariantChoice['how']): VariantChoice => {
    slow(p);
    return { variant: have(p)!, warnings, how };
  };

  const substituted = choice.candidates.filter((p) => !canRun(p, platform, caps) && have(p));
  for (const p of substituted) {
    warnings.push(
      `"${name}": ${p} needs the WebGPU adapter feature shader-f16, which this adapter lacks; using ${runnablePrecision(p, platform, caps)} instead`,
    );
  }
  const wanted = dedupe(choice.candidates.map((p) => runnablePrecision(p, platform, caps)));
  const exact = wanted.find(have);
  if (exact) return done(exact, substituted.length > 0 ? 'platform' : 'asked');

  const fallback = dedupe(choice.fallback.map((p) => runnablePrecision(p, platform, caps))).filter(
    (p) => !wanted.includes(p),
  );
  const sub = fallback.find(have);
  const haveList = Object.keys(info.variants).join(', ');
  if (sub) {
    warnings.push(
      `"${name}" has no ${asked.value} variant (${componentFileName(name, wanted[0]!)}); using ${sub} (${have(sub)!.file}), the declared fallback for ${asked.value} [${asked.key} from ${asked.source}]`,
    );
    return done(sub, 'fallback');
  }
  // Presets and defaults are recommendations: any variant the platform runs is better than none.
  if (
    asked.source === 'default' ||
    asked.source.startsWith('default:') ||
    asked.source.startsWith('preset:')
  ) {
    const order = orderByMeasuredSpeed(PLATFORM_PRECISION_ORDER[platform], platform, role);
    const any = order.find((p) => have(p) && canRun(p, platform, caps));
    if (any) {
      warnings.push(
        `"${name}" has no ${asked.value} variant (${asked.source} recommends it); using ${any} (${have(any)!.file}), the first the package has in ${platform}'s order`,
      );
      return done(any, 'default');
    }
  }
  throw new ModelPackageError(
    'MODEL_VARIANT_MISSING',
    `"${name}" has no variant acceptable for ${asked.value} (${asked.key} from ${asked.source}): wanted ${wanted.join('/')}` +
      `${fallback.length ? `, then ${fallback.join(', ')}` : ''}; the package has ${haveList || 'none'}`,
    {
      value: asked.value,
      component: name,
      valid: Object.keys(info.variants),
      hint: `ask for one of: ${haveList}, or add ${componentFileName(name, wanted[0]!)} to the package`,
    },
  );
}
