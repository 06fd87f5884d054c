/**
 * X-CLIP: video-text retrieval. A CLIP vision tower with cross-frame attention, a multi-frame
 * integration transformer and a video-conditioned prompt generator on the text side; mmrt's
 * layout (vision_model, text_model, prompts_generator) is documented in docs/xclip.md.
 */
import { videoTextFamily } from '../../kinds/video-text/family.js';

export const xclip = videoTextFamily({ name: 'xclip', modelTypes: ['xclip', 'x-clip'] });
