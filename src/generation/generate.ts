/**
 * Generation with text: runs the decode loop, turns each row's tokens into streamed text
 * (stop strings included), and reports token counts and timings.
 */
import { type DecodeFn, IncrementalText } from './incremental-text.js';
import { type FinishReason, type LoopOutcome, type PrefillRequest, runDecodeLoop } from './loop.js';
import type { ResolvedGeneration } from './options.js';
import type { DecoderCache, StepDecoder, StepTokens } from './step.js';

export interface TokenUsage {
  /** Every position of the prompt (history included). */
  readonly promptTokens: number;
  /** Prompt positions whose KV cache was reused instead of recomputed. */
  readonly cachedTokens: number;
  /** Prompt positions run through the decoder now. */
  readonly prefillTokens: number;
  readonly generatedTokens: number;
}

export interface GenerationTimings {
  /** Request start to the first generated token (vision, embedding and prefill included). */
  readonly timeToFirstTokenMs: number;
  readonly prefillMs: number;
  /** After prefill, to the last token. */
  readonly decodeMs: number;
  /** Tokens per second after the first token (decode steps / decode time). */
  readonly decodeTokensPerSecond: number;
  readonly totalMs: number;
}

export interface GenerationResult {
  readonly text: string;
  /** Generated ids; a stop token that ended generation is included. */
  readonly tokenIds: readonly number[];
  readonly finishReason: FinishReason;
  readonly usage: TokenUsage;
  readonly timings: GenerationTimings;
  /** The sampling seed used (absent for greedy), so a run can be repeated. */
  readonly seed?: number;
}

export interface GenerateArgs<C extends DecoderCache> {
  readonly decoder: StepDecoder<C>;
  readonly request: PrefillRequest<C>;
  readonly options: ResolvedGeneration;
  /** One generated token per row as the decoder takes it (ids, or their embeddings). */
  readonly next: (ids: readonly number[]) => Promise<StepTokens>;
  readonly decode: DecodeFn;
  /**
   * Per row, ids whose text comes before the generated text (a caption's prompt): decoded
   * together with it, so spacing is the tokenizer's, but not part of `text` or the stream.
   */
  readonly textContext?: ReadonlyArray<readonly number[]>;
  /** performance.now() when the caller's request began (for time to first token). */
  readonly startedAt: number;
  /** Per row: real prompt positions, and how many of them came from the cache. */
  readonly promptTokens: readonly number[];
  readonly cachedTokens: readonly number[];
  readonly emit?: (row: number, delta: string) => void;
}

export interface GenerateOutcome<C extends DecoderCache> {
  readonly results: readonly GenerationResult[];
  readonly cache: C;
  readonly loop: LoopOutcome<C>;
}

export async function generate<C extends DecoderCache>(args: GenerateArgs<C>): Promise<GenerateOutcome<C>> {
  const { request, options } = args;
  const texts = Array.from(
    { length: request.batch },
    (_, r) => new IncrementalText(args.decode, options.stopStrings, args.textContext?.[r]),
  );
  let firstTokenAt: number | undefined;
  const loop = await runDecodeLoop(args.decoder, request, options, {
    next: args.next,
    onToken: (row, id) => {
      firstTokenAt ??= performance.now();
      const { delta, stopped } = texts[row]!.push(id);
      if (delta) args.emit?.(row, delta);
      return stopped;
    },
  });
  const end = performance.now();
  firstTokenAt ??= end; // the first token was a stop id
  const results = loop.rows.map((row, r): GenerationResult => {
    const rest = texts[r]!.finish();
    if (rest) args.emit?.(r, rest);
    const steps = loop.decodeSteps;
    return {
      text: texts[r]!.text,
      tokenIds: row.tokens,
      finishReason: row.finishReason,
      usage: {
        promptTokens: args.promptTokens[r]!,
        cachedTokens: args.cachedTokens[r]!,
        prefillTokens: args.promptTokens[r]! - args.cachedTokens[r]!,
        generatedTokens: row.tokens.length,
      },
      timings: {
        timeToFirstTokenMs: firstTokenAt! - args.startedAt,
        prefillMs: loop.prefillMs,
        decodeMs: loop.decodeMs,
        decodeTokensPerSecond: steps > 0 && loop.decodeMs > 0 ? (steps * 1000) / loop.decodeMs : 0,
        totalMs: end - args.startedAt,
      },
      ...(options.choice.kind === 'sample' ? { seed: options.choice.seed } : {}),
    };
  });
  return { results, cache: loop.cache, loop };
}
