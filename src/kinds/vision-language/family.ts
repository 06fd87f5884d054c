/**
 * The vision-language kind as a family: vision encoder + token embeddings + a decoder with a
 * KV cache (`decoder_model_merged`), the language model created on first use by default, and
 * `create`, which builds a `LlavaModel` on the loader's sessions.
 */
import type { FamilyDescriptor } from '../../families/family.js';
import { type Architecture, LLM_DECODER, LLM_EMBED, VISION_ENCODER } from '../../package/family-spec.js';
import { LlavaModel, type LlavaOptions } from './model.js';

export interface VisionLanguageFamily {
  readonly name: string;
  readonly modelTypes: readonly string[];
  readonly architecture: Architecture;
  /** LLaVA-Next's any-resolution tiling. */
  readonly anyResolution: boolean;
}

export function visionLanguageFamily(def: VisionLanguageFamily): FamilyDescriptor<LlavaModel, LlavaOptions> {
  return {
    name: def.name,
    kind: 'vision-language',
    modelTypes: def.modelTypes,
    architecture: def.architecture,
    layouts: [['vision_encoder', 'embed_tokens', 'decoder_model_merged']],
    components: {
      vision_encoder: VISION_ENCODER,
      embed_tokens: LLM_EMBED,
      decoder_model_merged: LLM_DECODER,
    },
    needsTokenizer: true,
    needsPreprocessor: true,
    traits: ['generates'],
    // Image features (and a cached second question) need only the vision encoder, and the
    // decoder is most of the load time: the language model is created on first use.
    defaults: { components: { language_model: { loadStrategy: 'lazy' } } },
    create: ({ host, loader, images = {} }, options) => {
      const generation = loader.placement?.plan.generation;
      return LlavaModel.create(
        {
          host,
          loader,
          images,
          anyResolution: def.anyResolution,
          ...(generation?.kvCache !== false &&
            generation?.maxLength !== undefined && { kvCacheMaxLength: generation.maxLength }),
        },
        options,
      );
    },
  };
}
