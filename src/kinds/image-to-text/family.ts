/**
 * The image-to-text kind as a family: a vision side, a text decoder, and `create`, which builds
 * a `BlipModel` on the loader's sessions. BLIP (encoder-decoder: the decoder cross-attends to
 * the image, or to the question) and BLIP-2 (query tokens into a decoder-only language model)
 * share the public API — caption, answer — and differ in their layout and engine.
 */
import type { FamilyDescriptor } from '../../families/family.js';
import type { Architecture, ComponentSpec, FamilySpec } from '../../package/family-spec.js';
import type { PlatformConfig } from '../../platform/config-keys.js';
import { BlipModel, type ImageToTextOptions } from './model.js';

export interface ImageToTextFamily {
  readonly name: string;
  readonly modelTypes: readonly string[];
  readonly architecture: Architecture;
  /** 'blip': vision_model (+ text_encoder) + text_decoder_model_merged; 'blip2': + qformer, embed_tokens, decoder_model_merged. */
  readonly engine: 'blip' | 'blip2';
  readonly layouts: FamilySpec['layouts'];
  readonly components: Readonly<Record<string, ComponentSpec>>;
  readonly defaults?: PlatformConfig;
}

export function imageToTextFamily(def: ImageToTextFamily): FamilyDescriptor<BlipModel, ImageToTextOptions> {
  return {
    name: def.name,
    kind: 'image-to-text',
    modelTypes: def.modelTypes,
    architecture: def.architecture,
    layouts: def.layouts,
    components: def.components,
    needsTokenizer: true,
    needsPreprocessor: true,
    traits: ['generates', 'text'],
    ...(def.defaults && { defaults: def.defaults }),
    create: ({ host, loader, images = {} }, options) => {
      const plan = loader.placement?.plan;
      const generation = plan?.generation;
      return BlipModel.create(
        {
          host,
          loader,
          images,
          architecture: def.engine,
          batchSize: plan?.family.batchSize ?? 1,
          ...(generation?.kvCache !== false &&
            generation?.maxLength !== undefined && { kvCacheMaxLength: generation.maxLength }),
        },
        options,
      );
    },
  };
}
