/**
 * The LLaVA-family facts mmrt needs from a model package, read once and validated:
 * the image token, how many features one image becomes (Hugging Face Python's rule), the
 * decoder's cache geometry, and for LLaVA-Next the any-resolution grid.
 */
import { ModelPackageError } from '../../errors.js';
import type { Json, ModelPackage } from '../../package/describe.js';

export type FeatureSelectStrategy = 'default' | 'full';

export interface LlavaConfig {
  /** The family's name (`llava`, `llava_next`). */
  readonly family: string;
  /** LLaVA-Next: any-resolution tiling (a base view plus grid tiles per image). */
  readonly anyResolution: boolean;
  readonly modelType: string;
  readonly imageTokenId: number;
  /** The image token as text (`<image>`), as chat templates write it. */
  readonly imageToken: string;
  readonly patchSize: number;
  /** Tokens beyond the patches (a CLS token: 1) that the processor counts. */
  readonly numAdditionalImageTokens: number;
  /** 'default' drops the CLS feature (one token fewer), 'full' keeps it. */
  readonly selectStrategy: FeatureSelectStrategy;
  readonly textConfig: Json;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly hidden: number;
  /** LLaVA-Next: candidate [height, width] resolutions, and the vision tower's tile size. */
  readonly gridPinpoints?: ReadonlyArray<readonly [number, number]>;
  readonly visionImageSize?: number;
}

function obj(v: unknown): Json {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
}

function posInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
}

function invalid(pkg: ModelPackage, what: string, value: unknown, valid: string): never {
  throw new ModelPackageError('MODEL_CONFIG_INVALID', `${pkg.location}: ${what}`, { value, valid });
}

export function readLlavaConfig(
  pkg: ModelPackage,
  idToToken: (id: number) => string | undefined,
  options: { readonly anyResolution: boolean },
): LlavaConfig {
  const c = pkg.config;
  const proc = pkg.processorConfig ?? {};
  const text = obj(c.text_config);
  const vision = obj(c.vision_config);
  const imageTokenId = c.image_token_index ?? c.image_token_id;
  if (!(typeof imageTokenId === 'number' && Number.isInteger(imageTokenId) && imageTokenId >= 0)) {
    invalid(pkg, 'config.json has no image_token_index', imageTokenId, 'the id of the image token');
  }
  const imageToken = typeof proc.image_token === 'string' ? proc.image_token : idToToken(imageTokenId);
  if (!imageToken)
    invalid(
      pkg,
      `the tokenizer has no token with id ${imageTokenId} (image_token_index)`,
      imageTokenId,
      'a token in tokenizer.json',
    );
  const patchSize = posInt(proc.patch_size) ?? posInt(vision.patch_size);
  if (!patchSize)
    invalid(pkg, 'no patch_size in processor_config.json or vision_config', undefined, 'a positive integer');
  const strategy = proc.vision_feature_select_strategy ?? c.vision_feature_select_strategy ?? 'default';
  if (strategy !== 'default' && strategy !== 'full') {
    invalid(
      pkg,
      `unknown vision_feature_select_strategy ${JSON.stringify(strategy)}`,
      strategy,
      '"default" or "full"',
    );
  }
  const additional = proc.num_additional_image_tokens ?? 0; // HF Python's LlavaProcessor default
  if (!(typeof additional === 'number' && Number.isInteger(additional) && additional >= 0)) {
    invalid(pkg, 'num_additional_image_tokens must be an integer >= 0', additional, 'an integer >= 0');
  }
  const { hidden, heads, kvHeads, headDim } = pkg.dims.text;
  if (!hidden || !heads || !kvHeads || !headDim || ![hidden, heads, kvHeads].every((v) => posInt(v)))
    invalid(pkg, 'text_config needs hidden_size and num_attention_heads', text, 'positive integers');
  let gridPinpoints: Array<[number, number]> | undefined;
  if (options.anyResolution) {
    const pins = c.image_grid_pinpoints ?? pkg.preprocessorConfig?.image_grid_pinpoints;
    if (
      !Array.isArray(pins) ||
      pins.length === 0 ||
      !pins.every((p) => Array.isArray(p) && p.length === 2 && p.every(posInt))
    ) {
      invalid(
        pkg,
        'LLaVA-Next needs image_grid_pinpoints: a list of [height, width]',
        pins,
        '[[336, 672], [672, 336], ...]',
      );
    }
    gridPinpoints = (pins as number[][]).map((p) => [p[0]!, p[1]!]);
  }
  const visionImageSize = posInt(vision.image_size);
  return {
    family: pkg.family,
    anyResolution: options.anyResolution,
    modelType: pkg.modelType,
    imageTokenId,
    imageToken,
    patchSize,
    numAdditionalImageTokens: additional,
    selectStrategy: strategy,
    textConfig: text,
    kvHeads,
    headDim,
    hidden,
    ...(gridPinpoints ? { gridPinpoints } : {}),
    ...(visionImageSize ? { visionImageSize } : {}),
  };
}

/**
 * Hugging Face Python's LlavaProcessor count: (H // patch) * (W // patch) + additional,
 * minus one for the 'default' strategy (it drops CLS). transformers.js skips the minus one,
 * so with 'default' and 1 additional token it disagrees with Python; mmrt follows Python.
 */
export function llavaFeatureCount(config: LlavaConfig, height: number, width: number): number {
  const n =
    Math.floor(height / config.patchSize) * Math.floor(width / config.patchSize) +
    config.numAdditionalImageTokens;
  return config.selectStrategy === 'default' ? n - 1 : n;
}
