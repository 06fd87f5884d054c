/** Where the mmrt package lives, so the CLI finds its shipped models from src/ or dist/. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

export const PACKAGE_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
export const MODELS_DIR = join(PACKAGE_ROOT, 'models');
export const DEFAULT_CLIP_MODEL = join(MODELS_DIR, 'shapes-clip');
export const DEFAULT_VLM_MODEL = join(MODELS_DIR, 'shapes-vlm');
export const DEFAULT_BLIP_MODEL = join(MODELS_DIR, 'shapes-blip');
