/**
 * Layers configs (lowest first) into settings that remember where they came from. A higher
 * layer wins outright, even with a less specific key: a user's `precision: 'fp32'` beats a
 * preset's `llm_precision: 'int8'`, because the user said it. Within one layer the most
 * specific key wins (component section > role key like `llm_precision` > `precision`).
 */
import type { ComponentSpec } from '../package/family-spec.js';
import type { ConfigKey, LoadStrategy, PlatformConfig } from './config-keys.js';
import type { RequestedPrecision } from './precision-map.js';

export interface ConfigLayer {
  /** 'default', 'default:cpu', 'preset:cuda-clip', 'model', 'user'. */
  readonly source: string;
  readonly config: PlatformConfig;
  /** How keys were spelled in this layer (see NormalizedConfig.spelling). */
  readonly spelling?: Readonly<Record<string, string>>;
}

export interface Setting<T = unknown> {
  readonly value: T;
  readonly source: string;
  /** The key that supplied it, as its layer spelled it. */
  readonly key: string;
}

export interface ResolvedConfig {
  readonly layers: readonly ConfigLayer[];
  /** Top-level keys, each from the highest layer that set it. */
  readonly settings: Readonly<Partial<Record<ConfigKey, Setting>>>;
}

export function resolveLayers(layers: readonly ConfigLayer[]): ResolvedConfig {
  const settings: Partial<Record<ConfigKey, Setting>> = {};
  for (const layer of layers) {
    for (const [k, value] of Object.entries(layer.config)) {
      if (k === 'components' || value === undefined) continue;
      settings[k as ConfigKey] = { value, source: layer.source, key: layer.spelling?.[k] ?? k };
    }
  }
  return { layers, settings };
}

export function settingValue<K extends ConfigKey>(r: ResolvedConfig, key: K): PlatformConfig[K] | undefined {
  return r.settings[key]?.value as PlatformConfig[K] | undefined;
}

/** The sections of a layer that address `component`: its own name first, then its aliases. */
function sectionsOf(layer: ConfigLayer, component: string, spec: ComponentSpec) {
  const comps = layer.config.components ?? {};
  return [component, ...spec.sections]
    .filter((s) => comps[s] !== undefined)
    .map((s) => ({ name: s, section: comps[s]! }));
}

function componentKeyLabel(layer: ConfigLayer, section: string, key: string): string {
  return layer.spelling?.[`components.${section}.${key}`] ?? `${section}.${key}`;
}

/** The precision asked for `component`, from the highest layer that says anything about it. */
export function componentPrecision(
  r: ResolvedConfig,
  component: string,
  spec: ComponentSpec,
): Setting<RequestedPrecision> | undefined {
  for (let i = r.layers.length - 1; i >= 0; i--) {
    const layer = r.layers[i]!;
    for (const { name, section } of sectionsOf(layer, component, spec)) {
      if (section.precision) {
        return {
          value: section.precision,
          source: layer.source,
          key: componentKeyLabel(layer, name, 'precision'),
        };
      }
    }
    for (const k of [...spec.precisionKeys, 'precision'] as const) {
      const v = layer.config[k];
      if (v) return { value: v, source: layer.source, key: layer.spelling?.[k] ?? k };
    }
  }
  return undefined;
}

/** eager/lazy for `component`, from the highest layer that sets it. */
export function componentLoadStrategy(
  r: ResolvedConfig,
  component: string,
  spec: ComponentSpec,
): Setting<LoadStrategy> | undefined {
  for (let i = r.layers.length - 1; i >= 0; i--) {
    const layer = r.layers[i]!;
    for (const { name, section } of sectionsOf(layer, component, spec)) {
      if (section.loadStrategy) {
        return {
          value: section.loadStrategy,
          source: layer.source,
          key: componentKeyLabel(layer, name, 'loadStrategy'),
        };
      }
    }
  }
  return undefined;
}
