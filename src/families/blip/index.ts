/** BLIP (captioning, VQA): vision transformer + BERT-style text decoder with cross-attention. */
import { LLM_DECODER, VISION_ENCODER } from '../../package/family-spec.js';
import type { FamilyDescriptor } from '../family.js';

export const blip: FamilyDescriptor = {
  name: 'blip',
  kind: 'image-to-text',
  modelTypes: ['blip'],
  architecture: 'BLIP/BLIP-2',
  layouts: [['vision_model', 'text_decoder_model_merged']],
  components: {
    vision_model: VISION_ENCODER,
    // BLIP's captioning decoder is its language model; the recommended configurations address it as `text_precision`.
    text_decoder_model_merged: {
      ...LLM_DECODER,
      role: 'text',
      precisionKeys: ['textPrecision', 'llmPrecision'],
      sections: ['language_model', 'text_encoder'],
    },
  },
  needsTokenizer: true,
  needsPreprocessor: true,
  traits: ['generates', 'text'],
};
