/**
 * The models mmrt ships (`models/` in the package): found from this module's own location, so
 * an installed package resolves `mmrt:shapes-clip` to its own copy whatever the working folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SHIPPED_MODELS, type ShippedModel, parseShippedModel } from '../hub/reference.js';

function findRoot(start: string): string {
  let dir = start;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if (JSON.parse(readFileSync(pkg, 'utf8')).name === 'mmrt') return dir;
      } catch {
        // keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) return start;
    dir = up;
  }
}

/** The installed mmrt package's folder (the repository root in a source checkout). */
export const PACKAGE_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
/** The shipped models and sample images. */
export const MODELS_DIR = join(PACKAGE_ROOT, 'models');
/** Sample images of the shapes world (`labels.json` says what each shows). */
export const SAMPLES_DIR = join(MODELS_DIR, 'samples');

/** The folder of a shipped model: `shippedModelPath('shapes-clip')` or `shippedModelPath('mmrt:shapes-clip')`. */
export function shippedModelPath(name: ShippedModel | `mmrt:${ShippedModel}`): string {
  const model = name.startsWith('mmrt:') ? parseShippedModel(name) : parseShippedModel(`mmrt:${name}`);
  return join(MODELS_DIR, model);
}

export { SHIPPED_MODELS, type ShippedModel };
