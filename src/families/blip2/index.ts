/** BLIP-2: vision transformer + Q-Former (learned queries) + a decoder-only language model. */
import { LLM_DECODER, LLM_EMBED, VISION_ENCODER } from '../../package/family-spec.js';
import type { FamilyDescriptor } from '../family.js';

export const blip2: FamilyDescriptor = {
  name: 'blip2',
  kind: 'image-to-text',
  modelTypes: ['blip-2', 'blip_2'],
  architecture: 'BLIP/BLIP-2',
  layouts: [['vision_model', 'qformer', 'embed_tokens', 'decoder_model_merged']],
  components: {
    vision_model: VISION_ENCODER,
    // The Q-Former reads image features; it follows the vision precision.
    qformer: { ...VISION_ENCODER, stage: 'queries' },
    embed_tokens: LLM_EMBED,
    decoder_model_merged: LLM_DECODER,
  },
  needsTokenizer: true,
  needsPreprocessor: true,
  traits: ['generates', 'text'],
};
