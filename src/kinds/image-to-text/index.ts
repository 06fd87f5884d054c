/** The image-to-text kind (BLIP captioning and VQA, BLIP-2): host-free. */
export {
  type Blip2Config,
  type BlipConfig,
  DEFAULT_QUESTION_TEMPLATE,
  IMAGE_TO_TEXT_TASKS,
  type ImageToTextConfig,
  type ImageToTextTask,
  readBlip2Config,
  readBlipConfig,
} from './config.js';
export type { EncoderStats } from './encoders.js';
export { imageToTextFamily, type ImageToTextFamily } from './family.js';
export {
  type AnswerResult,
  BlipModel,
  type CaptionOptions,
  type CaptionResult,
  type ImageQuestion,
  type ImageTextTimings,
  type ImageToTextOptions,
  type ImageToTextParts,
  type ImageToTextStats,
} from './model.js';
