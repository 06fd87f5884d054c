/**
 * The one reader of a package's `config.json` geometry: the fields that planning, memory
 * estimates, tokenizers and families need, under every spelling Hugging Face configs use
 * (`hidden_size` / `d_model`, `num_hidden_layers` / `num_layers`, ...). A field the config does
 * not carry is undefined here; each reader chooses its own documented fallback.
 */
import type { Json } from './describe.js';

export interface TowerDims {
  readonly hidden?: number;
  readonly intermediate?: number;
  readonly heads?: number;
  readonly layers?: number;
}

export interface TextDims extends TowerDims {
  /** `max_position_embeddings`: positions the model can address at all. */
  readonly maxPositions?: number;
  readonly kvHeads?: number;
  readonly headDim?: number;
  readonly vocab?: number;
}

export interface VisionDims extends TowerDims {
  readonly imageSize?: number;
  readonly patchSize?: number;
  /** Video models: frames per clip. */
  readonly frames?: number;
}

export interface ModelDims {
  readonly text: TextDims;
  readonly vision: VisionDims;
  /** BLIP-2's Q-Former. */
  readonly qformer: TowerDims & { readonly queryTokens?: number };
}

export function jsonObject(v: unknown): Json {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
}

/** A positive finite number, or undefined. */
export function positive(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;
}

function first(o: Json, ...keys: string[]): number | undefined {
  for (const k of keys) {
    const v = positive(o[k]);
    if (v !== undefined) return v;
  }
  return undefined;
}

function tower(o: Json): TowerDims {
  const hidden = first(o, 'hidden_size', 'd_model');
  return {
    ...(hidden !== undefined && { hidden }),
    ...optional('intermediate', first(o, 'intermediate_size', 'ffn_dim')),
    ...optional('heads', first(o, 'num_attention_heads')),
    ...optional('layers', first(o, 'num_hidden_layers', 'num_layers')),
  };
}

function optional<K extends string>(key: K, v: number | undefined): { [P in K]?: number } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: number };
}

/** Read the geometry of `config.json` (text_config, vision_config, qformer_config, top level). */
export function readModelDims(config: Json): ModelDims {
  const textConfig = jsonObject(config.text_config);
  const visionConfig = jsonObject(config.vision_config);
  const qformerConfig = jsonObject(config.qformer_config);
  const text = tower(textConfig);
  const kvHeads = first(textConfig, 'num_key_value_heads') ?? text.heads;
  const headDim =
    first(textConfig, 'head_dim') ?? (text.hidden && text.heads ? text.hidden / text.heads : undefined);
  return {
    text: {
      ...text,
      ...optional('maxPositions', first(textConfig, 'max_position_embeddings')),
      ...optional('kvHeads', kvHeads),
      ...optional('headDim', headDim),
      ...optional('vocab', first(textConfig, 'vocab_size') ?? first(config, 'vocab_size')),
    },
    vision: {
      ...tower(visionConfig),
      ...optional('imageSize', first(visionConfig, 'image_size')),
      ...optional('patchSize', first(visionConfig, 'patch_size')),
      ...optional('frames', first(visionConfig, 'num_frames') ?? first(config, 'num_frames')),
    },
    qformer: {
      ...tower(qformerConfig),
      ...optional('queryTokens', first(config, 'num_query_tokens')),
    },
  };
}
