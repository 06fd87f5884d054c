/**
 * What each model family's package must hold: which `model_type`s belong to it and which
 * ONNX components (one of several layouts) and side files it needs.
 */
export const FAMILIES = ['clip', 'siglip', 'llava', 'llava_next', 'blip', 'blip2', 'xclip'] as const;
export type ModelFamily = (typeof FAMILIES)[number];

export interface FamilyLayout {
  readonly family: ModelFamily;
  /** `config.json` model_type values that mean this family. */
  readonly modelTypes: readonly string[];
  /** Alternative component sets; the first one the package satisfies is used. */
  readonly layouts: ReadonlyArray<readonly string[]>;
  readonly needsTokenizer: boolean;
  readonly needsPreprocessor: boolean;
  /** The brief's compatibility-table row. */
  readonly briefModel: 'CLIP' | 'BLIP/BLIP-2' | 'LLaVA' | 'LLaVA-Next' | 'X-CLIP';
}

export const FAMILY_LAYOUTS: Readonly<Record<ModelFamily, FamilyLayout>> = {
  clip: {
    family: 'clip',
    modelTypes: ['clip'],
    layouts: [['text_model', 'vision_model'], ['model']],
    needsTokenizer: true,
    needsPreprocessor: true,
    briefModel: 'CLIP',
  },
  siglip: {
    family: 'siglip',
    modelTypes: ['siglip', 'siglip2'],
    layouts: [['text_model', 'vision_model'], ['model']],
    needsTokenizer: true,
    needsPreprocessor: true,
    briefModel: 'CLIP',
  },
  llava: {
    family: 'llava',
    modelTypes: ['llava', 'llava_onevision', 'idefics3', 'smolvlm'],
    layouts: [['vision_encoder', 'embed_tokens', 'decoder_model_merged']],
    needsTokenizer: true,
    needsPreprocessor: true,
    briefModel: 'LLaVA',
  },
  llava_next: {
    family: 'llava_next',
    modelTypes: ['llava_next'],
    layouts: [['vision_encoder', 'embed_tokens', 'decoder_model_merged']],
    needsTokenizer: true,
    needsPreprocessor: true,
    briefModel: 'LLaVA-Next',
  },
  blip: {
    family: 'blip',
    modelTypes: ['blip'],
    layouts: [['vision_model', 'text_decoder_model_merged']],
    needsTokenizer: true,
    needsPreprocessor: true,
    briefModel: 'BLIP/BLIP-2',
  },
  blip2: {
    family: 'blip2',
    modelTypes: ['blip-2', 'blip_2'],
    layouts: [['vision_model', 'qformer', 'embed_tokens', 'decoder_model_merged']],
    needsTokenizer: true,
    needsPreprocessor: true,
    briefModel: 'BLIP/BLIP-2',
  },
  xclip: {
    family: 'xclip',
    modelTypes: ['xclip', 'x-clip'],
    layouts: [['text_model', 'vision_model'], ['model']],
    needsTokenizer: true,
    needsPreprocessor: true,
    briefModel: 'X-CLIP',
  },
};

export function familyOfModelType(modelType: string): ModelFamily | undefined {
  for (const f of FAMILIES) if (FAMILY_LAYOUTS[f].modelTypes.includes(modelType)) return f;
  return undefined;
}

export const KNOWN_MODEL_TYPES: readonly string[] = FAMILIES.flatMap((f) => FAMILY_LAYOUTS[f].modelTypes);
