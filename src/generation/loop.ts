/**
 * The decode loop over any step decoder (step.ts): one prefill over the new prompt positions
 * (after whatever the cache already holds), then one position per step until every row is
 * finished. Text, stop strings and streaming live in the caller's `onToken`; this module only
 * moves tokens and the cache.
 */
import { GenerationError, MmrtError } from '../errors.js';
import type { ResolvedGeneration } from './options.js';
import { appendOnes, concatMasks, positionIds } from './positions.js';
import { createRng, type Rng } from './prng.js';
import { applyRepetitionPenalty, argmax, sampleToken } from './sampling.js';
import type { DecoderCache, StepDecoder, StepTokens } from './step.js';

export type FinishReason = 'eos' | 'stop_string' | 'max_new_tokens' | 'context_full';

export interface PrefillRequest<C extends DecoderCache> {
  readonly batch: number;
  /** The prompt positions not in the cache yet ([batch, newLength], as ids or embeddings). */
  readonly tokens: StepTokens;
  readonly newLength: number;
  /** [batch, newLength]; 0 marks left padding. */
  readonly newMask: BigInt64Array;
  /** The cache to continue from: a decoder's empty one, or an earlier turn's. */
  readonly cache: C;
  /** The mask of what `cache` holds ([batch, cache.length]); needed when it is not empty. */
  readonly pastMask?: BigInt64Array;
  /** Per row, every real token id in the context (for the repetition penalty). */
  readonly contextIds: ReadonlyArray<readonly number[]>;
}

export interface LoopCallbacks {
  /** One token per row as the decoder takes it (`decoder.tokenInput`): ids, or their embeddings. */
  next(ids: readonly number[]): Promise<StepTokens>;
  /** Called for each generated token that is not a stop id; true ends the row (a stop string). */
  onToken(row: number, id: number): boolean;
}

export interface RowOutcome {
  /** Generated ids, stop id included when one ended the row. */
  readonly tokens: readonly number[];
  readonly finishReason: FinishReason;
}

export interface LoopOutcome<C extends DecoderCache = DecoderCache> {
  readonly rows: readonly RowOutcome[];
  /** Cache over the prompt and every generated token but the last (which was never fed). */
  readonly cache: C;
  readonly mask: BigInt64Array;
  readonly prefillMs: number;
  /** From the end of prefill to the last token. */
  readonly decodeMs: number;
  readonly decodeSteps: number;
}

export function contextOverflow(needed: number, cached: number, max: number): GenerationError {
  return new GenerationError(
    'CONTEXT_OVERFLOW',
    `the prompt needs ${needed} positions (${cached} already cached + ${needed - cached} new), over kvCacheMaxLength ${max}`,
    {
      value: needed,
      valid: `at most ${max} positions, leaving room for the answer`,
      hint: 'shorten or remove earlier messages, start a new conversation, or raise kvCacheMaxLength (up to max_position_embeddings)',
    },
  );
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new MmrtError('ABORTED', 'generation was aborted', { value: signal.reason });
}

export async function runDecodeLoop<C extends DecoderCache>(
  decoder: StepDecoder<C>,
  request: PrefillRequest<C>,
  opts: ResolvedGeneration,
  callbacks: LoopCallbacks,
): Promise<LoopOutcome<C>> {
  const { batch, newLength } = request;
  const pastLen = request.cache.length;
  let total = pastLen + newLength;
  if (total > opts.kvCacheMaxLength) throw contextOverflow(total, pastLen, opts.kvCacheMaxLength);
  checkAborted(opts.signal);

  if (request.tokens.kind !== decoder.tokenInput)
    throw new RangeError(`the decoder takes ${decoder.tokenInput}, the request gives ${request.tokens.kind}`);
  if (pastLen > 0 && request.pastMask?.length !== batch * pastLen)
    throw new RangeError(`a resumed cache of ${pastLen} positions needs its [${batch}, ${pastLen}] mask`);
  let mask =
    pastLen > 0
      ? concatMasks(request.pastMask!, pastLen, request.newMask, newLength, batch)
      : request.newMask;
  const t0 = performance.now();
  let out = await decoder.forward({
    tokens: request.tokens,
    newPositions: newLength,
    attentionMask: mask,
    positionIds: positionIds(mask, total, newLength, batch),
    cache: request.cache,
  });
  const prefillMs = performance.now() - t0;

  const choice = opts.choice;
  const rngs: Rng[] =
    choice.kind === 'sample' ? Array.from({ length: batch }, (_, r) => createRng(choice.seed, r)) : [];
  const seen = request.contextIds.map((ids) => new Set(ids));
  const tokens: number[][] = Array.from({ length: batch }, () => []);
  const finish: Array<FinishReason | undefined> = new Array(batch).fill(undefined);
  let steps = 0;

  try {
    for (;;) {
      checkAborted(opts.signal);
      opts.onLogits?.(out.logits, steps, out.vocab);
      for (let r = 0; r < batch; r++) {
        if (finish[r]) continue;
        const row = out.logits.slice(r * out.vocab, (r + 1) * out.vocab);
        // NaN logits pick token 0 by argmax and print garbage: a broken model, said as such.
        if (row.some(Number.isNaN)) {
          throw new GenerationError(
            'SESSION_RUN_FAILED',
            `the decoder returned NaN logits at step ${steps}: the model or its precision variant is broken for this input`,
            { value: 'NaN', step: steps, hint: 'Try another precision (fp32), or check the model file.' },
          );
        }
        applyRepetitionPenalty(row, seen[r]!, opts.repetitionPenalty);
        if (tokens[r]!.length < opts.minNewTokens)
          for (const id of opts.stopIds) if (id < row.length) row[id] = Number.NEGATIVE_INFINITY;
        const id = choice.kind === 'greedy' ? argmax(row) : sampleToken(row, choice, rngs[r]!);
        tokens[r]!.push(id);
        seen[r]!.add(id);
        if (opts.stopIds.has(id)) finish[r] = 'eos';
        else if (callbacks.onToken(r, id)) finish[r] = 'stop_string';
        else if (tokens[r]!.length >= opts.maxNewTokens) finish[r] = 'max_new_tokens';
      }
      if (finish.every((f) => f !== undefined)) break;
      if (total + 1 > opts.kvCacheMaxLength) {
        for (let r = 0; r < batch; r++) finish[r] ??= 'context_full';
        break;
      }
      // Finished rows keep stepping with the pad token (their output is ignored), as HF does.
      const next = tokens.map((t, r) => (finish[r] ? opts.padId : t[t.length - 1]!));
      const stepTokens = await callbacks.next(next);
      mask = appendOnes(mask, total, batch);
      total += 1;
      const previous = out.cache;
      out = await decoder.forward({
        tokens: stepTokens,
        newPositions: 1,
        attentionMask: mask,
        positionIds: positionIds(mask, total, 1, batch),
        cache: previous,
      });
      // A step's cache is superseded by the next one's (device buffers are freed now); the
      // caller's past cache is theirs to keep.
      if (previous !== request.cache) previous.dispose();
      steps++;
    }
  } catch (e) {
    // An abort or a failed step: the cache in hand will never be returned, so free it.
    if (out.cache !== request.cache) out.cache.dispose();
    throw e;
  }
  return {
    rows: tokens.map((t, r) => ({ tokens: t, finishReason: finish[r]! })),
    cache: out.cache,
    mask,
    prefillMs,
    decodeMs: performance.now() - t0 - prefillMs,
    decodeSteps: steps,
  };
}
