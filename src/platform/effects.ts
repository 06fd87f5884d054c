/**
 * Whether a configured key does anything for this platform and family, and whether the
 * per-component sections name components this package has. A key with no effect is a warning
 * that names it as the user spelled it; a section naming no component is an error.
 */
import { ConfigError, closest } from '../errors.js';
import { type FamilySpec, componentSpec, hasTrait } from '../package/family-spec.js';
import type { PlatformName } from '../runtime/providers.js';
import { SECTION_ALIASES } from './component-roles.js';
import { CONFIG_KEYS, type ConfigKey, type ConfigKeySpec } from './config-keys.js';
import type { NormalizedConfig } from './config.js';

function familyApplies(spec: ConfigKeySpec, family: FamilySpec): boolean {
  return spec.families === 'any' || hasTrait(family, spec.families);
}

export function keyApplies(key: ConfigKey, platform: PlatformName, family: FamilySpec): boolean {
  const spec = CONFIG_KEYS[key];
  return spec.platforms.includes(platform) && familyApplies(spec, family);
}

/** The families a key reaches, by name among those known (or by trait when none is). */
function reachedFamilies(spec: ConfigKeySpec, known: readonly FamilySpec[]): string {
  const names = known.filter((f) => familyApplies(spec, f)).map((f) => f.name);
  return names.length > 0 ? names.join(', ') : `families with the "${spec.families}" trait`;
}

/** Warnings for the user's keys that change nothing here. */
export function noEffectWarnings(
  user: NormalizedConfig,
  platform: PlatformName,
  family: FamilySpec,
  known: readonly FamilySpec[] = [family],
): string[] {
  const out: string[] = [];
  for (const key of Object.keys(user.config) as Array<ConfigKey | 'components'>) {
    if (key === 'components') continue;
    const spec = CONFIG_KEYS[key];
    const spelled = user.spelling[key] ?? key;
    if (!spec.platforms.includes(platform)) {
      out.push(
        `config key "${spelled}" has no effect on ${platform} (it applies to: ${spec.platforms.join(', ')})`,
      );
    } else if (!familyApplies(spec, family)) {
      out.push(
        `config key "${spelled}" has no effect on ${family.name} models (it applies to: ${reachedFamilies(spec, known)})`,
      );
    }
  }
  return out;
}

/**
 * Checks the user's component sections against the package: a component name or a section
 * alias. An alias that reaches nothing in this family (`language_model` on CLIP) is a warning.
 */
export function checkSections(
  user: NormalizedConfig,
  family: FamilySpec,
  components: readonly string[],
): string[] {
  const warnings: string[] = [];
  const valid = [...components, ...SECTION_ALIASES];
  for (const section of Object.keys(user.config.components ?? {})) {
    if (components.includes(section)) continue;
    if ((SECTION_ALIASES as readonly string[]).includes(section)) {
      const reached = components.filter((c) => componentSpec(family, c).sections.includes(section));
      if (reached.length === 0)
        warnings.push(
          `config section "${section}" has no effect: no ${family.name} component is a ${section}`,
        );
      continue;
    }
    const guess = closest(section, valid);
    throw new ConfigError(
      'CONFIG_UNKNOWN_KEY',
      `config section "${section}" names no component of this ${family.name} package${guess ? ` (did you mean "${guess}"?)` : ''}; valid: ${valid.join(', ')}`,
      { value: section, valid, ...(guess && { suggestion: guess }) },
    );
  }
  return warnings;
}
