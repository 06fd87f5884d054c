/**
 * The video-text kind as a family (X-CLIP): `vision_model` (frames -> video embedding and prompt
 * features), `text_model` (texts before conditioning) and `prompts_generator` (texts conditioned
 * on a video), and `create`, which builds an `XclipModel` on the loader's sessions with the
 * package's tokenizer and image processor (X-CLIP's VideoMAE-style one: ImageNet mean/std).
 */
import { InputError } from '../../errors.js';
import type { FamilyDescriptor } from '../../families/family.js';
import {
  type Architecture,
  type ComponentSpec,
  TEXT_ENCODER,
  VISION_ENCODER,
} from '../../package/family-spec.js';
import { XclipModel, type XclipOptions } from './model.js';
import { packageImageProcessor, packageTokenizer } from '../../package/preprocessing.js';

/** The prompt generator: a small text-side stage (cross-attention from texts to patches). */
export const PROMPT_GENERATOR: ComponentSpec = { ...TEXT_ENCODER, sections: ['prompts_generator'] };

export interface VideoTextFamily {
  readonly name: string;
  readonly modelTypes: readonly string[];
  readonly architecture?: Architecture;
}

export function videoTextFamily(def: VideoTextFamily): FamilyDescriptor<XclipModel, XclipOptions> {
  return {
    name: def.name,
    kind: 'video-text',
    modelTypes: def.modelTypes,
    architecture: def.architecture ?? 'X-CLIP',
    layouts: [['vision_model', 'text_model', 'prompts_generator']],
    components: {
      vision_model: VISION_ENCODER,
      text_model: TEXT_ENCODER,
      prompts_generator: PROMPT_GENERATOR,
    },
    needsTokenizer: true,
    needsPreprocessor: true,
    traits: ['dual-encoder', 'video', 'text'],
    defaults: {
      // As for CLIP: the towers alternate, and spinning threads of the idle one steal the cores.
      threadSpinning: false,
      // Segments (clips of `frames` frames) per vision_model call.
      batchSize: 4,
    },
    create: async ({ host, loader, images = {}, onWarning }, options) => {
      const pkg = loader.package;
      const tokenizer = packageTokenizer(pkg, { padSide: 'right', maxPositions: pkg.dims.text.maxPositions });
      const processor = packageImageProcessor(pkg, images.resampleMode);
      const size = processor.fixedOutputSize;
      if (!size) {
        throw new InputError(
          'INPUT_INVALID',
          `${pkg.location}: X-CLIP needs a fixed frame size (crop_size or size {height,width})`,
        );
      }
      const plan = loader.placement?.plan;
      return new XclipModel(
        {
          modelId: pkg.location,
          host,
          ort: host.ort,
          tokenizer,
          pipeline: {
            preprocess: (rgb) => processor.preprocess(rgb).data,
            pixelShape: [3, size.height, size.width],
          },
          sessions: {
            vision: () => loader.session('vision_model'),
            text: () => loader.session('text_model'),
            prompts: () => loader.session('prompts_generator'),
          },
          loader,
          ...(pkg.dims.vision.frames && { trainedFrames: pkg.dims.vision.frames }),
          ...(plan && {
            planned: {
              ...(plan.video && { frames: plan.video.frames }),
              batchSize: plan.family.batchSize,
              parallelEncoders: plan.family.parallelEncoderExecution,
            },
          }),
          ...(onWarning && { onWarning }),
        },
        options,
      );
    },
  };
}
