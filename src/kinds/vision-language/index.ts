/** The vision-language kind (LLaVA, LLaVA-Next): host-free. */
export {
  anyresFeatureCount,
  anyresTiles,
  gridShape,
  packAnyresFeatures,
  patchOutputSize,
  type Resolution,
  selectBestResolution,
  unpadRegion,
} from './anyres.js';
export { ChatTemplate, loadChatTemplate } from './chat-template.js';
export {
  type FeatureSelectStrategy,
  type LlavaConfig,
  llavaFeatureCount,
  readLlavaConfig,
} from './config.js';
export { hashTensor } from '../../cache/content-hash.js';
export { Conversation, type ConversationOptions } from './conversation.js';
export type { ChatResult, ChatTimings } from './engine.js';
export type { ImageFeatures, VisionStats } from './features.js';
export type { PreparedImage } from './images.js';
export type { ChatMessage, ContentPart } from './messages.js';
export { userTurn } from './messages.js';
export { LlavaModel, type LlavaOptions, type LlavaParts, type LlavaStats } from './model.js';
export { visionLanguageFamily, type VisionLanguageFamily } from './family.js';
export type { ImageSpan, PromptPlan } from './prompt.js';
