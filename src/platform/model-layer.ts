/**
 * The model's own say: `config.json`'s `transformers.js_config`, which hub ONNX exports use to
 * name the precision each component should load at (`dtype`, one string or per component), the
 * device they were tuned for (`device`), dimensions to pin (`free_dimension_overrides`), and
 * the same per device (`device_config.<device>`, which wins on that device's platform). It
 * layers between presets and the user's config. (`use_external_data_format`, the number of
 * external data chunks per file, is read where the package's files are listed: describe.ts.)
 * Values mmrt cannot use are reported, never fatal: the model author's file is not the user's fault.
 */
import type { ModelPackage } from '../package/describe.js';
import { isPrecision } from '../package/precision.js';
import type { PlatformName } from '../runtime/providers.js';
import type { ComponentConfig, PlatformConfig } from './config-keys.js';
import type { ConfigLayer } from './resolve.js';

/** transformers.js device names -> the brief's platforms. */
export const DEVICE_PLATFORMS: Readonly<Record<string, PlatformName>> = {
  cpu: 'cpu',
  wasm: 'wasm',
  webgpu: 'webgpu',
  gpu: 'webgpu',
  cuda: 'cuda',
  coreml: 'mps',
  webnn: 'webnn',
  'webnn-gpu': 'webnn',
  'webnn-cpu': 'webnn',
  'webnn-npu': 'webnn',
};

export interface ModelLayer {
  readonly layer: ConfigLayer;
  /** The platform the model prefers, if it names one mmrt knows. */
  readonly device?: PlatformName;
  readonly warnings: readonly string[];
}

/** The dtype of a transformers.js_config section (top level or one device's) as a config layer. */
function dtypeLayer(
  pkg: ModelPackage,
  dtype: unknown,
  where: string,
  warnings: string[],
): { config: PlatformConfig; spelling: Record<string, string> } {
  const config: PlatformConfig = {};
  const spelling: Record<string, string> = {};
  const accept = (v: unknown, where: string): v is ComponentConfig['precision'] => {
    if (v === 'auto' || v === undefined) return false;
    if (isPrecision(v)) return true;
    warnings.push(
      `${pkg.location}: transformers.js_config ${where} ${JSON.stringify(v)} is not a precision mmrt knows; ignored`,
    );
    return false;
  };
  if (typeof dtype === 'string') {
    if (accept(dtype, `${where}dtype`)) {
      config.precision = dtype;
      spelling.precision = `transformers.js_config.${where}dtype`;
    }
  } else if (dtype && typeof dtype === 'object') {
    const components: Record<string, ComponentConfig> = {};
    for (const [name, v] of Object.entries(dtype as Record<string, unknown>)) {
      if (!accept(v, `${where}dtype.${name}`)) continue;
      components[name] = { precision: v };
      spelling[`components.${name}.precision`] = `transformers.js_config.${where}dtype.${name}`;
    }
    if (Object.keys(components).length > 0) config.components = components;
  }
  return { config, spelling };
}

export function modelLayer(pkg: ModelPackage): ModelLayer {
  const tjs = pkg.transformersJsConfig ?? {};
  const warnings: string[] = [];
  const { config, spelling } = dtypeLayer(pkg, tjs.dtype, '', warnings);
  let device: PlatformName | undefined;
  if (typeof tjs.device === 'string' && tjs.device !== 'auto') {
    device = DEVICE_PLATFORMS[tjs.device];
    if (!device)
      warnings.push(
        `${pkg.location}: transformers.js_config device "${tjs.device}" names no platform mmrt has; ignored`,
      );
  }
  return { layer: { source: 'model', config, spelling }, ...(device && { device }), warnings };
}

/** The `device_config` sections whose transformers.js device runs on `platform`. */
function deviceSections(pkg: ModelPackage, platform: PlatformName): Array<[string, Record<string, unknown>]> {
  const dc = pkg.transformersJsConfig?.device_config;
  if (!dc || typeof dc !== 'object') return [];
  return Object.entries(dc as Record<string, unknown>).filter(
    (e): e is [string, Record<string, unknown>] =>
      DEVICE_PLATFORMS[e[0]] === platform && !!e[1] && typeof e[1] === 'object',
  );
}

/** `device_config.<device>.dtype` for the devices that mean `platform`: a layer above the model's own. */
export function modelDeviceLayer(pkg: ModelPackage, platform: PlatformName): ModelLayer {
  const warnings: string[] = [];
  const config: PlatformConfig = {};
  const spelling: Record<string, string> = {};
  for (const [device, section] of deviceSections(pkg, platform)) {
    const l = dtypeLayer(pkg, section.dtype, `device_config.${device}.`, warnings);
    Object.assign(spelling, l.spelling);
    if (l.config.precision) config.precision = l.config.precision;
    if (l.config.components) config.components = { ...config.components, ...l.config.components };
  }
  return { layer: { source: 'model', config, spelling }, warnings };
}

/**
 * Dimensions the model asks to pin (`free_dimension_overrides`, then its device's), as ORT's
 * `freeDimensionOverrides`; non-numbers are reported and dropped.
 */
export function modelFreeDimensions(
  pkg: ModelPackage,
  platform: PlatformName,
  warnings: string[],
): Record<string, number> | undefined {
  const tjs = pkg.transformersJsConfig ?? {};
  const sources: Array<[string, unknown]> = [
    ['free_dimension_overrides', tjs.free_dimension_overrides],
    ...deviceSections(pkg, platform).map(
      ([d, s]) =>
        [`device_config.${d}.free_dimension_overrides`, s.free_dimension_overrides] as [string, unknown],
    ),
  ];
  const out: Record<string, number> = {};
  for (const [where, v] of sources) {
    if (v === undefined) continue;
    if (!v || typeof v !== 'object') {
      warnings.push(
        `${pkg.location}: transformers.js_config ${where} is not an object of dimension sizes; ignored`,
      );
      continue;
    }
    for (const [dim, n] of Object.entries(v as Record<string, unknown>)) {
      if (typeof n === 'number' && Number.isInteger(n) && n > 0) out[dim] = n;
      else
        warnings.push(
          `${pkg.location}: transformers.js_config ${where}.${dim} ${JSON.stringify(n)} is not a positive integer; ignored`,
        );
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
