/** The video-text kind (X-CLIP): the model, its family factory and the video index. */
export * from './model.js';
export { videoTextFamily, type VideoTextFamily, PROMPT_GENERATOR } from './family.js';
export { VideoIndex, type IndexRow } from './video-index.js';
