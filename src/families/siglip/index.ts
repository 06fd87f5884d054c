/** SigLIP: CLIP's two towers trained with a sigmoid loss; texts padded to the full length. */
import { dualEncoderFamily } from '../../kinds/dual-encoder/family.js';

export const siglip = dualEncoderFamily({
  name: 'siglip',
  modelTypes: ['siglip', 'siglip2'],
  scoring: 'sigmoid',
});
