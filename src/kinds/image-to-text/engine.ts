/**
 * What both image-to-text engines (BLIP's encoder-decoder, BLIP-2's prefix LM) take and give:
 * rows of (image, text) — the text is a caption's prompt or a question — generated as one
 * batch, each row's result with how its image side was obtained.
 */
import { type GenerateArgs, type GenerationResult, generate } from '../../generation/generate.js';
import type { ResolvedGeneration } from '../../generation/options.js';
import type { DecoderCache } from '../../generation/step.js';
import type { TextTokenizer } from '../../text/tokenizer.js';
import type { ImageToTextConfig, ImageToTextTask } from './config.js';
import type { CachedImageEncoder, PreparedImage } from './encoders.js';

export interface EngineRow {
  readonly image: PreparedImage;
  /** caption: the prompt to continue ('' for none); answer: the question. */
  readonly text: string;
}

export interface EngineRowResult {
  readonly generation: GenerationResult;
  /** The caption's prompt as the tokenizer decodes it ('' for none and for answers). */
  readonly promptText: string;
  /** The row's image features came from the encoder cache. */
  readonly fromCache: boolean;
}

export interface EngineRun {
  readonly results: readonly EngineRowResult[];
  /** Image side (and question encoder) time for the batch; 0 when everything was cached. */
  readonly encoderMs: number;
  readonly encoded: number;
}

export interface ImageToTextEngine {
  readonly config: ImageToTextConfig;
  readonly images: CachedImageEncoder;
  /** Whether the decoder session has been asked for yet. */
  readonly decoderCreated: boolean;
  /** BLIP: whether the decoder reuses the first step's cross-attention keys/values. */
  reusesCrossAttention(): Promise<boolean>;
  run(
    task: ImageToTextTask,
    rows: readonly EngineRow[],
    options: ResolvedGeneration,
    startedAt: number,
    emit?: (row: number, delta: string) => void,
  ): Promise<EngineRun>;
}

/**
 * Generates one batch and reports it as both engines do: a caption's prompt (`prompts`, the ids
 * the decoder starts from) is shown first and decoded together with the text that continues
 * it; an answer starts empty. Nothing of a prompt comes from a KV cache.
 */
export async function generateRows<C extends DecoderCache>(
  task: ImageToTextTask,
  tokenizer: TextTokenizer,
  prompts: ReadonlyArray<readonly number[]>,
  args: Omit<GenerateArgs<C>, 'decode' | 'textContext' | 'cachedTokens'>,
  images: { readonly fromCache: readonly boolean[]; readonly encoded: number; readonly encoderMs: number },
): Promise<EngineRun> {
  const promptTexts = prompts.map((p) => (task === 'caption' ? tokenizer.decode(p, true) : ''));
  promptTexts.forEach((t, r) => {
    if (t) args.emit?.(r, t);
  });
  const { results } = await generate({
    ...args,
    decode: (ids) => tokenizer.decode(ids, true),
    ...(task === 'caption' && { textContext: prompts }),
    cachedTokens: prompts.map(() => 0),
  });
  return {
    results: results.map((generation, r) => ({
      generation,
      promptText: promptTexts[r]!,
      fromCache: images.fromCache[r]!,
    })),
    encoderMs: images.encoderMs,
    encoded: images.encoded,
  };
}

/** Left-pads token rows to one width: ids [batch, width] and their mask. */
export function leftPad(rows: ReadonlyArray<readonly number[]>, pad: number) {
  const width = Math.max(...rows.map((r) => r.length));
  const ids: number[] = [];
  const mask = new BigInt64Array(rows.length * width);
  rows.forEach((row, r) => {
    const left = width - row.length;
    for (let j = 0; j < left; j++) ids.push(pad);
    ids.push(...row);
    mask.fill(1n, r * width + left, (r + 1) * width);
  });
  return { ids, mask, width };
}

/** A memoized session-backed object that is retried after a failure (a lazy decoder). */
export function lazy<T>(make: () => Promise<T>): { get(): Promise<T>; readonly started: boolean } {
  let p: Promise<T> | undefined;
  return {
    get() {
      if (!p) {
        p = make();
        p.catch(() => {
          p = undefined;
        });
      }
      return p;
    },
    get started() {
      return p !== undefined;
    },
  };
}
