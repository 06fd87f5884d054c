/**
 * The model's own say: `config.json`'s `transformers.js_config`, which hub ONNX exports use to
 * name the precision each component should load at (`dtype`, one string or per component) and
 * the device they were tuned for (`device`). It layers between presets and the user's config.
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

export function modelLayer(pkg: ModelPackage): ModelLayer {
  const tjs = pkg.transformersJsConfig ?? {};
  const config: PlatformConfig = {};
  const spelling: Record<string, string> = {};
  const warnings: string[] = [];
  const dtype = tjs.dtype;
  const accept = (v: unknown, where: string): v is ComponentConfig['precision'] => {
    if (v === 'auto' || v === undefined) return false;
    if (isPrecision(v)) return true;
    warnings.push(
      `${pkg.location}: transformers.js_config ${where} ${JSON.stringify(v)} is not a precision mmrt knows; ignored`,
    );
    return false;
  };
  if (typeof dtype === 'string') {
    if (accept(dtype, 'dtype')) {
      config.precision = dtype;
      spelling.precision = 'transformers.js_config.dtype';
    }
  } else if (dtype && typeof dtype === 'object') {
    const components: Record<string, ComponentConfig> = {};
    for (const [name, v] of Object.entries(dtype as Record<string, unknown>)) {
      if (!accept(v, `dtype.${name}`)) continue;
      components[name] = { precision: v };
      spelling[`components.${name}.precision`] = `transformers.js_config.dtype.${name}`;
    }
    if (Object.keys(components).length > 0) config.components = components;
  }
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
