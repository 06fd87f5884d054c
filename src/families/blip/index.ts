/**
 * BLIP (captioning, VQA): vision transformer + BERT-style text decoder with cross-attention; VQA
 * adds the question encoder. Layout: docs/blip-layout.md.
 */
import { imageToTextFamily } from '../../kinds/image-to-text/family.js';
import { LLM_DECODER, TEXT_ENCODER, VISION_ENCODER } from '../../package/family-spec.js';

export const blip = imageToTextFamily({
  name: 'blip',
  engine: 'blip',
  modelTypes: ['blip'],
  architecture: 'BLIP/BLIP-2',
  // VQA first: a VQA package also holds the captioning layout's components.
  layouts: [
    ['vision_model', 'text_encoder', 'text_decoder_model_merged'],
    ['vision_model', 'text_decoder_model_merged'],
  ],
  components: {
    vision_model: VISION_ENCODER,
    text_encoder: TEXT_ENCODER,
    // BLIP's text decoder is its language model; the recommended configurations address it as `text_precision`.
    text_decoder_model_merged: {
      ...LLM_DECODER,
      role: 'text',
      precisionKeys: ['textPrecision', 'llmPrecision'],
      sections: ['language_model'],
    },
  },
  // Eight images per decoder batch (bench/results/blip.json: captions/s at batch 1 and 8).
  defaults: { batchSize: 8 },
});
