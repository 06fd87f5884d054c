/**
 * What the core needs to know about a model family before any of its code runs: which
 * `config.json` model types it answers to, which ONNX components make a package of it (and
 * which it uses when present), what each component is in the configuration's vocabulary, the
 * row of the compatibility table it falls under, and its defaults. Each family folder
 * (`src/families/<name>`) declares one; describing a package and planning read only this.
 */
import type { PlatformConfig } from '../platform/config-keys.js';

/** The compatibility table's rows: the architectures whose platform support is rated. */
export const ARCHITECTURES = ['CLIP', 'BLIP/BLIP-2', 'LLaVA', 'LLaVA-Next', 'X-CLIP'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/**
 * What a family does, where configuration keys care: two encoders that can run side by side
 * (`parallel_encoder_execution`), text generation with a KV cache (`kv_cache_*`,
 * `llm_precision`), video frames (`temporal_resolution`), a text side addressed by
 * `text_precision`.
 */
export const FAMILY_TRAITS = ['dual-encoder', 'generates', 'video', 'text'] as const;
export type FamilyTrait = (typeof FAMILY_TRAITS)[number];

export type ComponentRole = 'vision' | 'text' | 'llm' | 'combined';
export type PrecisionKey = 'visionPrecision' | 'textPrecision' | 'llmPrecision';

/**
 * How a component's activations are sized for the memory estimate: an image encoder over
 * patches, a text encoder over its context, a decoder over the KV-cache length, a token
 * embedder, a Q-Former over its query tokens, or a combined two-tower graph (image + text).
 */
export type StageKind = 'image' | 'text' | 'decoder' | 'embed' | 'queries' | 'image+text';

export interface ComponentSpec {
  readonly role: ComponentRole;
  /** Most specific first; the general `precision` key always comes after these. */
  readonly precisionKeys: readonly PrecisionKey[];
  /** Config section names that address this component besides its own name (`vision_encoder`, `language_model`). */
  readonly sections: readonly string[];
  readonly stage: StageKind;
}

export interface FamilySpec {
  /** The family's name in messages and plans (`clip`, `llava_next`). */
  readonly name: string;
  /** `config.json` `model_type` values that mean this family. */
  readonly modelTypes: readonly string[];
  /** Its row in the compatibility table (and of the recommended configurations). */
  readonly architecture: Architecture;
  /** Alternative component sets; the first one the package satisfies is used. */
  readonly layouts: ReadonlyArray<readonly string[]>;
  /**
   * Components used when the package has them, beside the layout: planned lazy and outside
   * the memory total (CLIP's combined graph, opened once to read the learned logit scale).
   */
  readonly optionalComponents?: readonly string[];
  /** What each component is; a component not named here is treated like a vision encoder. */
  readonly components: Readonly<Record<string, ComponentSpec>>;
  readonly needsTokenizer: boolean;
  readonly needsPreprocessor: boolean;
  readonly traits: readonly FamilyTrait[];
  /** mmrt's defaults for the family: above the base defaults, under everything else. */
  readonly defaults?: PlatformConfig;
}

export const VISION_ENCODER: ComponentSpec = {
  role: 'vision',
  precisionKeys: ['visionPrecision'],
  sections: ['vision_encoder'],
  stage: 'image',
};
export const TEXT_ENCODER: ComponentSpec = {
  role: 'text',
  precisionKeys: ['textPrecision'],
  sections: ['text_encoder'],
  stage: 'text',
};
// A single graph holding both towers can have one precision only; vision wins because it is
// the heavier tower of every CLIP-like model.
export const COMBINED_TOWERS: ComponentSpec = {
  role: 'combined',
  precisionKeys: ['visionPrecision', 'textPrecision'],
  sections: ['vision_encoder', 'text_encoder'],
  stage: 'image+text',
};
// In BLIP-2 the "text" model is the language model (OPT/Flan-T5): the recommended
// configurations set `text_precision` there, so both keys reach it, llm first.
export const LLM_DECODER: ComponentSpec = {
  role: 'llm',
  precisionKeys: ['llmPrecision', 'textPrecision'],
  sections: ['language_model'],
  stage: 'decoder',
};
export const LLM_EMBED: ComponentSpec = { ...LLM_DECODER, stage: 'embed' };

/** The spec of a component, or a vision-like default for a component the family does not name. */
export function componentSpec(family: FamilySpec, component: string): ComponentSpec {
  return family.components[component] ?? { ...VISION_ENCODER, sections: [] };
}

export function hasTrait(family: FamilySpec, trait: FamilyTrait): boolean {
  return family.traits.includes(trait);
}
