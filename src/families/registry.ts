/**
 * Every family mmrt knows, one line each. Describing a package, planning and loading take
 * their families from here unless a caller passes its own list (a test, a plugin).
 */
import { ModelPackageError } from '../errors.js';
import type { ModelFiles } from '../host/host.js';
import { type ModelPackage, readPackage } from '../package/describe.js';
import { blip } from './blip/index.js';
import { blip2 } from './blip2/index.js';
import { clip } from './clip/index.js';
import type { AnyFamily } from './family.js';
import { llava } from './llava/index.js';
import { llavaNext } from './llava_next/index.js';
import { siglip } from './siglip/index.js';
import { xclip } from './xclip/index.js';

export const FAMILIES: readonly AnyFamily[] = [clip, siglip, llava, llavaNext, blip, blip2, xclip];

export const FAMILY_NAMES: readonly string[] = FAMILIES.map((f) => f.name);

export function familyByName(name: string, families: readonly AnyFamily[] = FAMILIES): AnyFamily {
  const f = families.find((x) => x.name === name);
  if (!f) {
    throw new ModelPackageError('MODEL_CONFIG_INVALID', `no family "${name}" is registered`, {
      value: name,
      valid: families.map((x) => x.name),
    });
  }
  return f;
}

export function familyOfModelType(modelType: string, families: readonly AnyFamily[] = FAMILIES) {
  return families.find((f) => f.modelTypes.includes(modelType));
}

export const KNOWN_MODEL_TYPES: readonly string[] = FAMILIES.flatMap((f) => f.modelTypes);

/** Describe a model package against the registered families (see `readPackage`). */
export function describePackage(
  files: ModelFiles,
  families: readonly AnyFamily[] = FAMILIES,
): Promise<ModelPackage> {
  return readPackage(files, families);
}
