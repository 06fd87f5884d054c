/** X-CLIP: video-text retrieval; frames through a CLIP vision tower with cross-frame attention. */
import { COMBINED_TOWERS, TEXT_ENCODER, VISION_ENCODER } from '../../package/family-spec.js';
import type { FamilyDescriptor } from '../family.js';

export const xclip: FamilyDescriptor = {
  name: 'xclip',
  kind: 'video-text',
  modelTypes: ['xclip', 'x-clip'],
  architecture: 'X-CLIP',
  layouts: [['text_model', 'vision_model'], ['model']],
  components: { text_model: TEXT_ENCODER, vision_model: VISION_ENCODER, model: COMBINED_TOWERS },
  needsTokenizer: true,
  needsPreprocessor: true,
  traits: ['dual-encoder', 'video', 'text'],
  defaults: { threadSpinning: false },
};
