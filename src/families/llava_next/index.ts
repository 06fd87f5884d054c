/** LLaVA-Next: LLaVA with any-resolution tiling (a base view plus grid tiles per image). */
import { visionLanguageFamily } from '../../kinds/vision-language/family.js';

export const llavaNext = visionLanguageFamily({
  name: 'llava_next',
  modelTypes: ['llava_next'],
  architecture: 'LLaVA-Next',
  anyResolution: true,
});
