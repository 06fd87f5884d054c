/**
 * Generation options as callers write them, the defaults a model package supplies
 * (`generation_config.json`, `config.json`), and the validated form the decode loop runs on.
 */
import { jsonObject, readModelDims } from '../package/model-config.js';
import { InputError, ModelPackageError } from '../errors.js';
import { randomSeed } from './prng.js';
import type { SamplingOptions, TokenChoice } from './sampling.js';

export interface GenerationOptions {
  /** Tokens to generate at most. Default: generation_config.json's max_new_tokens, else 256. */
  readonly maxNewTokens?: number;
  /** Suppress the stop ids until this many tokens exist (HF min_new_tokens). Default 0. */
  readonly minNewTokens?: number;
  /** Sample instead of greedy decoding. Default: greedy, unless generation_config says do_sample. */
  readonly sampling?: SamplingOptions | false;
  /** > 0; 1 (default) is off. Applies to greedy decoding too, as in Hugging Face. */
  readonly repetitionPenalty?: number;
  /** End when the generated text contains one of these; the stop string is not returned. */
  readonly stopStrings?: readonly string[];
  /** Token ids that end generation, in addition to the model's EOS ids. */
  readonly stopTokenIds?: readonly number[];
  /**
   * Bound on positions held in the KV cache (prompt, history and generated tokens). A prompt
   * that does not fit is refused with GenerationError CONTEXT_OVERFLOW before any compute;
   * generation that fills the cache stops with finishReason 'context_full'. Default: the
   * model's max_position_embeddings.
   */
  readonly kvCacheMaxLength?: number;
  readonly signal?: AbortSignal;
  /**
   * Inspection hook: the raw logits of each step ([batch, vocab], before any penalty or
   * warper), e.g. to compare with a reference. Called synchronously; copy what you keep.
   */
  readonly onLogits?: (logits: Float32Array, step: number, vocab: number) => void;
}

/** What a model package says about generating with it. */
export interface GenerationDefaults {
  readonly maxNewTokens: number;
  readonly eosIds: readonly number[];
  readonly padId: number;
  /** max_position_embeddings: positions the model can address at all. */
  readonly maxPositions: number;
  readonly sampling?: SamplingOptions;
  readonly repetitionPenalty: number;
}

export interface ResolvedGeneration {
  readonly maxNewTokens: number;
  readonly minNewTokens: number;
  readonly choice: TokenChoice;
  readonly repetitionPenalty: number;
  readonly stopStrings: readonly string[];
  readonly stopIds: ReadonlySet<number>;
  readonly padId: number;
  readonly kvCacheMaxLength: number;
  readonly signal?: AbortSignal;
  readonly onLogits?: (logits: Float32Array, step: number, vocab: number) => void;
}

function ids(v: unknown): number[] {
  if (typeof v === 'number' && Number.isInteger(v)) return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number' && Number.isInteger(x));
  return [];
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Defaults from `generation_config.json` (preferred, as HF) and `config.json` (text_config, then top level). */
/**
 * A value in generation_config.json that is there but wrong is the package's error, named by
 * its file (not "a generation option" of the caller's).
 */
function checkGenerationConfig(g: Record<string, unknown>, source: string): void {
  const bad = (key: string, valid: string) => {
    throw new ModelPackageError(
      'MODEL_CONFIG_INVALID',
      `${source}: "${key}" is ${JSON.stringify(g[key])}; it must be ${valid}`,
      { value: g[key], key, valid, file: source },
    );
  };
  const present = (k: string) => g[k] !== undefined && g[k] !== null;
  const int = (v: unknown, min: number) => typeof v === 'number' && Number.isInteger(v) && v >= min;
  if (present('max_new_tokens') && !int(g.max_new_tokens, 1)) bad('max_new_tokens', 'an integer >= 1');
  if (
    present('temperature') &&
    !(typeof g.temperature === 'number' && g.temperature > 0 && Number.isFinite(g.temperature))
  )
    bad('temperature', 'a number > 0');
  if (present('top_k') && !int(g.top_k, 0)) bad('top_k', 'an integer >= 0');
  if (present('top_p') && !(typeof g.top_p === 'number' && g.top_p > 0 && g.top_p <= 1))
    bad('top_p', 'a number in (0, 1]');
  if (
    present('repetition_penalty') &&
    !(
      typeof g.repetition_penalty === 'number' &&
      g.repetition_penalty > 0 &&
      Number.isFinite(g.repetition_penalty)
    )
  )
    bad('repetition_penalty', 'a number > 0');
  if (present('do_sample') && typeof g.do_sample !== 'boolean') bad('do_sample', 'true or false');
}

export function generationDefaults(
  generationConfig: Record<string, unknown> | undefined,
  topConfig: Record<string, unknown>,
  source = 'generation_config.json',
): GenerationDefaults {
  const g = generationConfig ?? {};
  checkGenerationConfig(g, source);
  const textConfig = jsonObject(topConfig.text_config);
  const eos = [
    ...new Set([...ids(g.eos_token_id), ...ids(textConfig.eos_token_id), ...ids(topConfig.eos_token_id)]),
  ];
  const pad =
    ids(g.pad_token_id)[0] ??
    ids(textConfig.pad_token_id)[0] ??
    ids(topConfig.pad_token_id)[0] ??
    eos[0] ??
    0;
  const sampling: SamplingOptions | undefined =
    g.do_sample === true
      ? {
          ...(num(g.temperature) !== undefined ? { temperature: num(g.temperature)! } : {}),
          ...(num(g.top_k) !== undefined ? { topK: num(g.top_k)! } : {}),
          ...(num(g.top_p) !== undefined ? { topP: num(g.top_p)! } : {}),
        }
      : undefined;
  return {
    maxNewTokens: num(g.max_new_tokens) ?? 256,
    eosIds: eos,
    padId: pad,
    maxPositions: readModelDims(topConfig).text.maxPositions ?? 2048,
    ...(sampling ? { sampling } : {}),
    repetitionPenalty: num(g.repetition_penalty) ?? 1,
  };
}

function invalid(name: string, value: unknown, valid: string): never {
  throw new InputError(
    'INPUT_INVALID',
    `generation option ${name} is ${JSON.stringify(value)}; it must be ${valid}`,
    {
      value,
      valid,
    },
  );
}

const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

export function resolveGeneration(opts: GenerationOptions, defaults: GenerationDefaults): ResolvedGeneration {
  const maxNewTokens = opts.maxNewTokens ?? defaults.maxNewTokens;
  if (!isPosInt(maxNewTokens)) invalid('maxNewTokens', maxNewTokens, 'a positive integer');
  const minNewTokens = opts.minNewTokens ?? 0;
  if (!(Number.isInteger(minNewTokens) && minNewTokens >= 0))
    invalid('minNewTokens', minNewTokens, 'an integer >= 0');
  const kvCacheMaxLength = opts.kvCacheMaxLength ?? defaults.maxPositions;
  if (!isPosInt(kvCacheMaxLength)) invalid('kvCacheMaxLength', kvCacheMaxLength, 'a positive integer');
  if (kvCacheMaxLength > defaults.maxPositions) {
    invalid(
      'kvCacheMaxLength',
      kvCacheMaxLength,
      `at most the model's max_position_embeddings (${defaults.maxPositions})`,
    );
  }
  const repetitionPenalty = opts.repetitionPenalty ?? defaults.repetitionPenalty;
  if (
    !(typeof repetitionPenalty === 'number' && repetitionPenalty > 0 && Number.isFinite(repetitionPenalty))
  ) {
    invalid('repetitionPenalty', repetitionPenalty, 'a positive number (1 = off)');
  }
  const stopStrings = opts.stopStrings ?? [];
  if (!Array.isArray(stopStrings) || stopStrings.some((s) => typeof s !== 'string' || s.length === 0)) {
    invalid('stopStrings', stopStrings, 'a list of non-empty strings');
  }
  const extra = opts.stopTokenIds ?? [];
  if (!Array.isArray(extra) || extra.some((x) => !Number.isInteger(x) || x < 0)) {
    invalid('stopTokenIds', extra, 'a list of token ids');
  }
  const sampling = opts.sampling === false ? undefined : (opts.sampling ?? defaults.sampling);
  let choice: TokenChoice = { kind: 'greedy' };
  if (sampling) {
    const temperature = sampling.temperature ?? 1;
    const topK = sampling.topK ?? 0;
    const topP = sampling.topP ?? 1;
    const seed = sampling.seed ?? randomSeed();
    if (!(typeof temperature === 'number' && temperature > 0 && Number.isFinite(temperature))) {
      invalid('sampling.temperature', temperature, 'a positive number (omit sampling for greedy decoding)');
    }
    if (!(Number.isInteger(topK) && topK >= 0)) invalid('sampling.topK', topK, 'an integer >= 0 (0 = off)');
    if (!(typeof topP === 'number' && topP > 0 && topP <= 1))
      invalid('sampling.topP', topP, 'a number in (0, 1]');
    if (!Number.isSafeInteger(seed)) invalid('sampling.seed', seed, 'a safe integer');
    choice = { kind: 'sample', temperature, topK, topP, seed };
  }
  return {
    maxNewTokens,
    minNewTokens,
    choice,
    repetitionPenalty,
    stopStrings,
    stopIds: new Set([...defaults.eosIds, ...extra]),
    padId: defaults.padId,
    kvCacheMaxLength,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onLogits ? { onLogits: opts.onLogits } : {}),
  };
}
