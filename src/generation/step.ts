/**
 * What the decode loop needs from a decoder, whatever its graph: one forward pass over the new
 * positions, given as token ids or as embeddings, on top of a cache the decoder defines. A
 * causal decoder's cache is its self-attention keys/values (`KvCache`); an encoder-decoder's
 * also holds the encoder states and, where the export separates them, the cross-attention
 * keys/values computed once on the first step (`EncoderDecoderCache`).
 */
import type { Tensor } from 'onnxruntime-common';
import { toFloat32 } from './float16.js';

/** New positions as the decoder graph takes them: `input_ids` or `inputs_embeds`. */
export type StepTokens =
  /** [batch, new] token ids. */
  | { readonly kind: 'ids'; readonly data: BigInt64Array }
  /** [batch, new, hidden] float32 (converted to the graph's dtype by the decoder). */
  | { readonly kind: 'embeds'; readonly data: Float32Array };

/** What every decoder cache tells the loop. */
export interface DecoderCache {
  /** Positions held: the past length the next step continues from. */
  readonly length: number;
  readonly batch: number;
  /** Free what the cache holds on a device (WebGPU buffers); nothing to do for host memory. */
  dispose(): void;
}

export interface StepInput<C extends DecoderCache> {
  readonly tokens: StepTokens;
  readonly newPositions: number;
  /** [batch, past + new], 1 for real tokens, 0 for left padding. */
  readonly attentionMask: BigInt64Array;
  /** [batch, new], Hugging Face's rule (positions.ts); fed when the graph takes them. */
  readonly positionIds: BigInt64Array;
  readonly cache: C;
}

export interface StepOutput<C extends DecoderCache> {
  /** Last position's logits, [batch, vocab] float32. */
  readonly logits: Float32Array;
  readonly vocab: number;
  readonly cache: C;
}

export interface StepDecoder<C extends DecoderCache> {
  /** How the loop must give it new positions (ids directly, or embeddings of them). */
  readonly tokenInput: StepTokens['kind'];
  forward(input: StepInput<C>): Promise<StepOutput<C>>;
}

/** Each row's last position of `logits` ([batch, rows, vocab]) as [batch, vocab] float32. */
export function lastLogits(logits: Tensor, batch: number): { logits: Float32Array; vocab: number } {
  const [, rows, vocab] = logits.dims as [number, number, number];
  const all = toFloat32(logits.data, logits.type);
  if (rows === 1) return { logits: all, vocab };
  // The graph computed every position: keep each row's last.
  const out = new Float32Array(batch * vocab);
  for (let b = 0; b < batch; b++)
    out.set(all.subarray((b * rows + rows - 1) * vocab, (b * rows + rows) * vocab), b * vocab);
  return { logits: out, vocab };
}

/** Token ids as the [batch, n] int64 data a graph takes. */
export function idsTokens(ids: readonly number[]): StepTokens {
  return { kind: 'ids', data: BigInt64Array.from(ids, (id) => BigInt(id)) };
}
