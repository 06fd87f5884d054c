/**
 * BLIP-2: vision transformer + Q-Former (learned queries) + a decoder-only language model on
 * `inputs_embeds`. Layout: docs/blip-layout.md.
 */
import { imageToTextFamily } from '../../kinds/image-to-text/family.js';
import { LLM_DECODER, LLM_EMBED, VISION_ENCODER } from '../../package/family-spec.js';

export const blip2 = imageToTextFamily({
  name: 'blip2',
  engine: 'blip2',
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
});
