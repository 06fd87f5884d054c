/**
 * Turns a config object as a person (or the brief) wrote it into a checked `PlatformConfig`:
 * snake_case and camelCase both accepted, unknown keys refused with a did-you-mean, wrong
 * values refused naming the key, the value and what is valid.
 */
import { ConfigError, closest } from '../errors.js';
import { parseByteSize } from './bytes.js';
import { SECTION_ALIASES } from './component-roles.js';
import {
  COMPONENT_KEYS,
  CONFIG_KEYS,
  CONFIG_KEY_NAMES,
  type ComponentConfig,
  type ComponentKey,
  type ConfigKey,
  type PlatformConfig,
  type ValueType,
  snakeToCamel,
  valueTypeText,
} from './config-keys.js';
import { isRequestedPrecision } from './precision-map.js';

export interface NormalizedConfig {
  readonly config: PlatformConfig;
  /**
   * How each key was spelled, so warnings name it as the user wrote it: `batchSize` ->
   * `batch_size`; component keys as `components.<section>.<key>`.
   */
  readonly spelling: Readonly<Record<string, string>>;
}

const BY_SPELLING: ReadonlyMap<string, ConfigKey> = new Map(
  CONFIG_KEY_NAMES.flatMap((k) => [
    [k, k],
    [CONFIG_KEYS[k].snake, k],
  ]),
);
const COMPONENT_BY_SPELLING: ReadonlyMap<string, ComponentKey> = new Map(
  (Object.keys(COMPONENT_KEYS) as ComponentKey[]).flatMap((k) => [
    [k, k],
    [COMPONENT_KEYS[k].snake, k],
  ]),
);
const SECTION_SPELLINGS: ReadonlyMap<string, string> = new Map(
  SECTION_ALIASES.flatMap((s) => [
    [s, s],
    [snakeToCamel(s), s],
  ]),
);

/** Every spelling a user may write at the top level (for did-you-mean). */
export const VALID_TOP_LEVEL_KEYS: readonly string[] = [
  ...new Set([...BY_SPELLING.keys(), ...SECTION_SPELLINGS.keys(), 'components']),
];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unknownKey(
  key: string,
  where: string,
  valid: readonly string[],
  shown: readonly string[],
): ConfigError {
  const guess = closest(key, valid);
  return new ConfigError(
    'CONFIG_UNKNOWN_KEY',
    `unknown ${where} key "${key}"${guess ? ` (did you mean "${guess}"?)` : ''}; valid keys: ${shown.join(', ')}`,
    { value: key, valid: shown, ...(guess && { suggestion: guess }) },
  );
}

function invalid(label: string, value: unknown, valid: string): ConfigError {
  return new ConfigError(
    'CONFIG_INVALID_VALUE',
    `config key "${label}" must be ${valid}; got ${JSON.stringify(value) ?? String(value)}`,
    { value, key: label, valid },
  );
}

/** A value checked against its type; sizes become byte counts. */
export function checkValue(label: string, type: ValueType, value: unknown): unknown {
  const bad = () => invalid(label, value, valueTypeText(type));
  switch (type.kind) {
    case 'boolean':
      if (typeof value !== 'boolean') throw bad();
      return value;
    case 'enum':
      if (!type.values.includes(value as string | boolean)) throw bad();
      return value;
    case 'precision':
      if (!isRequestedPrecision(value)) throw bad();
      return value;
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < type.min) throw bad();
      if (type.max !== undefined && value > type.max) throw bad();
      return value;
    case 'bytes': {
      const n = parseByteSize(value);
      if (n === undefined) throw bad();
      return n;
    }
    case 'level-or-int':
      if (typeof value === 'string' && type.values.includes(value)) return value;
      if (typeof value === 'number' && Number.isInteger(value) && value >= type.min) return value;
      throw bad();
  }
}

function normalizeSection(
  section: string,
  raw: unknown,
  spelling: Record<string, string>,
  writtenAs: string,
): ComponentConfig {
  if (!isPlainObject(raw))
    throw invalid(writtenAs, raw, 'an object like { "precision": "int8", "preload": true }');
  const out: ComponentConfig = {};
  const shown = Object.keys(COMPONENT_KEYS);
  let preload: boolean | undefined;
  for (const [key, value] of Object.entries(raw)) {
    const name = COMPONENT_BY_SPELLING.get(key);
    if (!name) throw unknownKey(key, `component "${writtenAs}"`, [...COMPONENT_BY_SPELLING.keys()], shown);
    if (value === undefined) continue;
    const label = `${writtenAs}.${key}`;
    const checked = checkValue(label, COMPONENT_KEYS[name].type, value);
    if (name === 'preload') preload = checked as boolean;
    else (out as Record<string, unknown>)[name] = checked;
    spelling[`components.${section}.${name === 'preload' ? 'loadStrategy' : name}`] = label;
  }
  if (preload !== undefined) {
    const fromPreload = preload ? 'eager' : 'lazy';
    if (out.loadStrategy && out.loadStrategy !== fromPreload) {
      throw invalid(
        `${writtenAs}.preload`,
        preload,
        `consistent with load_strategy "${out.loadStrategy}" (preload true = eager, false = lazy)`,
      );
    }
    out.loadStrategy = fromPreload;
  }
  return out;
}

/**
 * Check and normalise a config. `where` names its origin in messages ("config", "preset
 * cuda-clip"). Throws `ConfigError` CONFIG_UNKNOWN_KEY / CONFIG_INVALID_VALUE.
 */
export function normalizeConfig(raw: unknown, where = 'config'): NormalizedConfig {
  const spelling: Record<string, string> = {};
  if (raw === undefined || raw === null) return { config: {}, spelling };
  if (!isPlainObject(raw)) throw invalid(where, raw, 'an object of configuration keys');
  const config: PlatformConfig = {};
  const target = config as Record<string, unknown>;
  const components: Record<string, ComponentConfig> = {};
  const addSection = (section: string, value: unknown, writtenAs: string) => {
    if (components[section])
      throw invalid(writtenAs, value, `given once (section "${section}" appears twice)`);
    components[section] = normalizeSection(section, value, spelling, writtenAs);
  };
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    if (key === 'components') {
      if (!isPlainObject(value)) throw invalid(key, value, 'an object keyed by component name');
      for (const [section, sec] of Object.entries(value)) {
        addSection(SECTION_SPELLINGS.get(section) ?? section, sec, `components.${section}`);
      }
      continue;
    }
    const section = SECTION_SPELLINGS.get(key);
    if (section) {
      addSection(section, value, key);
      continue;
    }
    const name = BY_SPELLING.get(key);
    if (!name)
      throw unknownKey(key, where, VALID_TOP_LEVEL_KEYS, [
        ...CONFIG_KEY_NAMES,
        ...SECTION_ALIASES,
        'components',
      ]);
    const checked = checkValue(key, CONFIG_KEYS[name].type, value);
    if (name in target && target[name] !== checked) {
      throw invalid(
        key,
        value,
        `the same as ${JSON.stringify(spelling[name])} (${JSON.stringify(target[name])}): the key is given twice`,
      );
    }
    target[name] = checked;
    spelling[name] = key;
  }
  if (Object.keys(components).length > 0) config.components = components;
  return { config, spelling };
}
