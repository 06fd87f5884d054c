/** LLaVA (and the LLaVA-style SmolVLM / Idefics3 / OneVision exports): one image, fixed size. */
import { visionLanguageFamily } from '../../kinds/vision-language/family.js';

export const llava = visionLanguageFamily({
  name: 'llava',
  modelTypes: ['llava', 'llava_onevision', 'idefics3', 'smolvlm'],
  architecture: 'LLaVA',
  anyResolution: false,
});
