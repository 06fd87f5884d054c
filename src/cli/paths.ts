/** Where the CLI finds its shipped models (the Node host knows; see src/node/shipped.ts). */
import { join } from 'node:path';
import { MODELS_DIR } from '../node/shipped.js';

export { MODELS_DIR, PACKAGE_ROOT, SAMPLES_DIR } from '../node/shipped.js';
export const DEFAULT_CLIP_MODEL = join(MODELS_DIR, 'shapes-clip');
export const DEFAULT_VLM_MODEL = join(MODELS_DIR, 'shapes-vlm');
export const DEFAULT_XCLIP_MODEL = join(MODELS_DIR, 'shapes-xclip');
export const DEFAULT_BLIP_MODEL = join(MODELS_DIR, 'shapes-blip');
