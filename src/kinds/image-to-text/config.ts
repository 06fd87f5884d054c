/**
 * What the image-to-text kind needs from a BLIP or BLIP-2 package, read once and validated:
 * which tasks the package does (a BLIP captioning package captions, a BLIP VQA package answers,
 * BLIP-2 does both through its prompt), the decoder's special tokens, and its cache geometry.
 */
import { ModelPackageError } from '../../errors.js';
import { jsonObject } from '../../package/model-config.js';
import type { Json, ModelPackage } from '../../package/describe.js';

export const IMAGE_TO_TEXT_TASKS = ['caption', 'answer'] as const;
export type ImageToTextTask = (typeof IMAGE_TO_TEXT_TASKS)[number];

/** BLIP-2's question prompt (the BLIP-2 paper's VQA format). */
export const DEFAULT_QUESTION_TEMPLATE = 'Question: {question} Answer:';

interface Common {
  readonly family: string;
  /** `config.json` architectures[0], for messages. */
  readonly architecture: string;
  readonly tasks: readonly ImageToTextTask[];
  /** The language side's cache geometry, when the graph leaves it symbolic. */
  readonly kvHeads: number;
  readonly headDim: number;
}

/** BLIP: the text decoder cross-attends to image embeds (captioning) or question states (VQA). */
export interface BlipConfig extends Common {
  readonly kind: 'encoder-decoder';
  /** The decoder's first token (`text_config.bos_token_id`, [DEC]). */
  readonly bosId: number;
  /** Generation ends here: BLIP's generate uses `text_config.sep_token_id` ([SEP]). */
  readonly eosId: number;
  readonly padId: number;
}

/** BLIP-2: query features from the Q-Former, then a decoder-only language model on embeddings. */
export interface Blip2Config extends Common {
  readonly kind: 'prefix-lm';
  readonly queryTokens: number;
  readonly bosId: number;
}

export type ImageToTextConfig = BlipConfig | Blip2Config;

function posInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
}

function tokenId(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined;
}

function invalid(pkg: ModelPackage, what: string, value: unknown, valid: string): never {
  throw new ModelPackageError('MODEL_CONFIG_INVALID', `${pkg.location}: ${what}`, { value, valid });
}

function geometry(pkg: ModelPackage, text: Json): { kvHeads: number; headDim: number } {
  const heads = pkg.dims.text.kvHeads ?? posInt(text.num_attention_heads) ?? 12;
  const hidden = pkg.dims.text.hidden ?? 768;
  return { kvHeads: heads, headDim: pkg.dims.text.headDim ?? hidden / heads };
}

function architectureOf(pkg: ModelPackage): string {
  const a = pkg.config.architectures;
  return Array.isArray(a) && typeof a[0] === 'string' ? a[0] : pkg.family;
}

export function readBlipConfig(pkg: ModelPackage): BlipConfig {
  const text = jsonObject(pkg.config.text_config);
  const architecture = architectureOf(pkg);
  const vqa = pkg.layout.includes('text_encoder');
  if (architecture === 'BlipForQuestionAnswering' && !vqa) {
    throw new ModelPackageError(
      'MODEL_COMPONENT_MISSING',
      `${pkg.location} is a BLIP question-answering model (BlipForQuestionAnswering) but has no onnx/text_encoder.onnx, which encodes the question`,
      {
        value: Object.keys(pkg.components),
        valid: ['vision_model', 'text_encoder', 'text_decoder_model_merged'],
      },
    );
  }
  const bosId = tokenId(text.bos_token_id) ?? 30522;
  const eosId = tokenId(text.sep_token_id) ?? tokenId(pkg.generationConfig?.eos_token_id) ?? 102;
  const padId = tokenId(text.pad_token_id) ?? 0;
  if (bosId === eosId) invalid(pkg, 'text_config.bos_token_id equals sep_token_id', bosId, 'distinct ids');
  return {
    kind: 'encoder-decoder',
    family: pkg.family,
    architecture,
    tasks: vqa ? ['answer'] : ['caption'],
    bosId,
    eosId,
    padId,
    ...geometry(pkg, text),
  };
}

export function readBlip2Config(pkg: ModelPackage): Blip2Config {
  const text = jsonObject(pkg.config.text_config);
  const queryTokens =
    posInt(pkg.config.num_query_tokens) ?? posInt(pkg.processorConfig?.num_query_tokens) ?? undefined;
  if (!queryTokens) {
    invalid(
      pkg,
      'config.json has no num_query_tokens',
      pkg.config.num_query_tokens,
      'the Q-Former query count (32 for BLIP-2)',
    );
  }
  const bosId =
    tokenId(text.bos_token_id) ??
    tokenId(pkg.generationConfig?.bos_token_id) ??
    tokenId(pkg.config.bos_token_id);
  if (bosId === undefined)
    invalid(pkg, 'text_config has no bos_token_id', undefined, 'the language model BOS id');
  return {
    kind: 'prefix-lm',
    family: pkg.family,
    architecture: architectureOf(pkg),
    tasks: ['caption', 'answer'],
    queryTokens,
    bosId,
    ...geometry(pkg, text),
  };
}
