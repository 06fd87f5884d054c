/** CLIP: image and text towers trained with a softmax contrastive loss. */
import { dualEncoderFamily } from '../../kinds/dual-encoder/family.js';

export const clip = dualEncoderFamily({ name: 'clip', modelTypes: ['clip'], scoring: 'softmax' });
