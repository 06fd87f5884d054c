/**
 * What each family's ONNX components are, in the brief's vocabulary: which precision key
 * addresses them (`vision_precision`, `text_precision`, `llm_precision`), which per-component
 * section names of the MultimodalLoader config reach them (`vision_encoder`, `language_model`),
 * and how their activations are sized for the memory estimate.
 */
import type { ModelFamily } from '../package/families.js';

export type ComponentRole = 'vision' | 'text' | 'llm' | 'combined';
export type PrecisionKey = 'visionPrecision' | 'textPrecision' | 'llmPrecision';

/**
 * How a component's activations are sized (memory.ts): an image encoder over patches, a text
 * encoder over its context, a decoder over the KV-cache length, a token embedder, a Q-Former
 * over its query tokens, or a combined two-tower graph (image + text).
 */
export type StageKind = 'image' | 'text' | 'decoder' | 'embed' | 'queries' | 'image+text';

export interface ComponentSpec {
  readonly role: ComponentRole;
  /** Most specific first; the general `precision` key always comes after these. */
  readonly precisionKeys: readonly PrecisionKey[];
  /** MultimodalLoader section names that address this component (besides its own name). */
  readonly sections: readonly string[];
  readonly stage: StageKind;
}

/** The brief's MultimodalLoader sections (`vision_encoder: {...}, language_model: {...}`) plus the missing third. */
export const SECTION_ALIASES = ['vision_encoder', 'text_encoder', 'language_model'] as const;

const VISION: ComponentSpec = {
  role: 'vision',
  precisionKeys: ['visionPrecision'],
  sections: ['vision_encoder'],
  stage: 'image',
};
const TEXT_ENCODER: ComponentSpec = {
  role: 'text',
  precisionKeys: ['textPrecision'],
  sections: ['text_encoder'],
  stage: 'text',
};
// A single graph holding both towers can have one precision only; vision wins because it is
// the heavier tower of every CLIP-like model.
const COMBINED: ComponentSpec = {
  role: 'combined',
  precisionKeys: ['visionPrecision', 'textPrecision'],
  sections: ['vision_encoder', 'text_encoder'],
  stage: 'image+text',
};
// In BLIP-2 the "text" model is the language model (OPT/Flan-T5): the brief sets
// `text_precision` there, so both keys reach it, llm first.
const LLM_DECODER: ComponentSpec = {
  role: 'llm',
  precisionKeys: ['llmPrecision', 'textPrecision'],
  sections: ['language_model'],
  stage: 'decoder',
};
const LLM_EMBED: ComponentSpec = { ...LLM_DECODER, stage: 'embed' };

const TWO_TOWER: Readonly<Record<string, ComponentSpec>> = {
  text_model: TEXT_ENCODER,
  vision_model: VISION,
  model: COMBINED,
};
const VLM: Readonly<Record<string, ComponentSpec>> = {
  vision_encoder: VISION,
  embed_tokens: LLM_EMBED,
  decoder_model_merged: LLM_DECODER,
};

export const COMPONENT_SPECS: Readonly<Record<ModelFamily, Readonly<Record<string, ComponentSpec>>>> = {
  clip: TWO_TOWER,
  siglip: TWO_TOWER,
  xclip: TWO_TOWER,
  llava: VLM,
  llava_next: VLM,
  blip: {
    vision_model: VISION,
    // BLIP's captioning decoder is its language model; the brief addresses it as `text_precision`.
    text_decoder_model_merged: {
      role: 'text',
      precisionKeys: ['textPrecision', 'llmPrecision'],
      sections: ['language_model', 'text_encoder'],
      stage: 'decoder',
    },
  },
  blip2: {
    vision_model: VISION,
    // The Q-Former reads image features; it follows the vision precision.
    qformer: { ...VISION, stage: 'queries' },
    embed_tokens: LLM_EMBED,
    decoder_model_merged: LLM_DECODER,
  },
};

/** The spec of a component, or a vision-like default for a component the table does not name. */
export function componentSpec(family: ModelFamily, component: string): ComponentSpec {
  return COMPONENT_SPECS[family][component] ?? { ...VISION, sections: [] };
}

/** Families with two independent encoders that can run side by side (`parallel_encoder_execution`). */
export const DUAL_ENCODER_FAMILIES: readonly ModelFamily[] = ['clip', 'siglip', 'xclip'];
/** Families that generate text with a KV cache (`kv_cache_*`). */
export const DECODER_FAMILIES: readonly ModelFamily[] = ['llava', 'llava_next', 'blip', 'blip2'];
/** Families that read video frames (`temporal_resolution`). */
export const VIDEO_FAMILIES: readonly ModelFamily[] = ['xclip'];

/** Load order under progressive loading: what answers first loads first. */
export const ROLE_LOAD_ORDER: readonly ComponentRole[] = ['vision', 'combined', 'text', 'llm'];
