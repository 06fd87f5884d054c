/**
 * A decoder that cross-attends to encoder states (BLIP's text decoder; the decoder of any
 * seq2seq export): input_ids, attention_mask, encoder_hidden_states, encoder_attention_mask and
 * its self-attention cache -> logits and the updated cache.
 *
 * Two export shapes run, told apart by their inputs (docs/blip-layout.md):
 * - separated cross-attention (the hub's merged seq2seq decoders, and mmrt's BLIP exports):
 *   `past_key_values.{i}.encoder.key|value` and a `use_cache_branch` flag. The first step
 *   (flag false) computes every layer's cross-attention keys/values from the encoder states
 *   and returns them as `present.{i}.encoder.*`; they are kept in the cache and fed back on
 *   every later step (flag true), which skips that projection — for BLIP-base, 577 image
 *   positions x 12 layers, most of a step's work.
 * - plain: only `encoder_hidden_states`; the graph recomputes the projection at every step.
 * transformers.js's seq2seq forward feeds merged decoders the same way.
 */
import type { Tensor } from 'onnxruntime-common';
import { RuntimeError } from '../errors.js';
import type { OrtModule } from '../host/host.js';
import type { Session } from '../runtime/session.js';
import { checkStepShapes, missingInput, requireLogits, tokenFeed } from './decoder.js';
import { fromFloat32 } from './float16.js';
import { KvCache, type KvLayout, kvLayoutOf } from './kv-cache.js';
import {
  type DecoderCache,
  lastLogits,
  type StepDecoder,
  type StepInput,
  type StepOutput,
  type StepTokens,
} from './step.js';

/** What the decoder attends to: the encoder's output for each row, padded to one length. */
export interface EncoderStates {
  /** [batch, length, hidden] float32. */
  readonly data: Float32Array;
  readonly batch: number;
  readonly length: number;
  /** [batch, length]; 0 marks padding (a question shorter than the batch's longest). */
  readonly mask: BigInt64Array;
}

export class EncoderDecoderCache implements DecoderCache {
  constructor(
    readonly self: KvCache,
    /** The encoder feeds, built once per request. */
    readonly encoder: { readonly states: Tensor; readonly mask: Tensor },
    /** `past_key_values.{i}.encoder.*` from the first step; absent before it, or for plain graphs. */
    readonly cross: Readonly<Record<string, Tensor>> | undefined,
  ) {}

  get length(): number {
    return this.self.length;
  }

  get batch(): number {
    return this.self.batch;
  }

  /**
   * Free the self-attention keys/values held on a device. The cross-attention entries are shared
   * by every step of a request (computed once), so a step's cache never frees them.
   */
  dispose(): void {
    this.self.dispose();
  }

  /** Bytes held in keys/values (self and cross), for memory accounting. */
  get bytes(): number {
    let n = this.self.bytes;
    for (const t of Object.values(this.cross ?? {})) n += (t.data as Float32Array | Uint16Array).byteLength;
    return n;
  }
}

export class CrossAttentionDecoder implements StepDecoder<EncoderDecoderCache> {
  readonly tokenInput: StepTokens['kind'];
  readonly layout: KvLayout;
  /** Cross-attention entries; empty when the graph recomputes them every step. */
  readonly crossLayout: KvLayout;
  private readonly statesType: string;
  private readonly embedsType: string;

  constructor(
    private readonly ort: OrtModule,
    readonly session: Session,
    fallback?: { readonly heads: number; readonly headDim: number },
  ) {
    const valid = [
      'input_ids',
      'attention_mask',
      'encoder_hidden_states',
      'encoder_attention_mask',
      'past_key_values.{i}.decoder.key/value',
      'past_key_values.{i}.encoder.key/value + use_cache_branch',
    ];
    const need = (name: string) => {
      if (!session.hasInput(name)) throw missingInput(session, `"${name}"`, valid);
    };
    need('attention_mask');
    need('encoder_hidden_states');
    this.tokenInput = session.hasInput('inputs_embeds') ? 'embeds' : 'ids';
    if (this.tokenInput === 'ids') need('input_ids');
    requireLogits(session);
    this.layout = kvLayoutOf(session.inputs, session.outputNames, fallback);
    this.crossLayout = kvLayoutOf(session.inputs, session.outputNames, fallback, 'cross');
    if (this.crossLayout.entries.length > 0) need('use_cache_branch');
    const type = (name: string) =>
      session.inputs.find((i) => i.name === name)?.type === 'float16' ? 'float16' : 'float32';
    this.statesType = type('encoder_hidden_states');
    this.embedsType = type('inputs_embeds');
  }

  /** Whether cross-attention keys/values are computed once per request and reused. */
  get reusesCrossAttention(): boolean {
    return this.crossLayout.entries.length > 0;
  }

  /** The cache a request starts from: no positions yet, the encoder states bound. */
  start(encoder: EncoderStates): EncoderDecoderCache {
    const { Tensor } = this.ort;
    const { batch, length } = encoder;
    if (encoder.mask.length !== batch * length || encoder.data.length % (batch * length) !== 0) {
      throw new RangeError(
        `encoder states disagree: batch ${batch}, length ${length}, data ${encoder.data.length}, mask ${encoder.mask.length}`,
      );
    }
    const hidden = encoder.data.length / (batch * length);
    const states = new Tensor(
      this.statesType as 'float32',
      fromFloat32(encoder.data, this.statesType) as Float32Array,
      [batch, length, hidden],
    );
    return new EncoderDecoderCache(
      KvCache.empty(this.ort, this.layout, batch),
      { states, mask: new Tensor('int64', encoder.mask, [batch, length]) },
      undefined,
    );
  }

  async forward(input: StepInput<EncoderDecoderCache>): Promise<StepOutput<EncoderDecoderCache>> {
    const { Tensor } = this.ort;
    const { cache } = input;
    const batch = cache.batch;
    const total = checkStepShapes(batch, cache.length, input);
    const [tokenName, tokenTensor] = tokenFeed(
      this.ort,
      input.tokens,
      batch,
      input.newPositions,
      this.embedsType,
    );
    const feeds: Record<string, Tensor> = {
      [tokenName]: tokenTensor,
      attention_mask: new Tensor('int64', input.attentionMask, [batch, total]),
      encoder_hidden_states: cache.encoder.states,
      encoder_attention_mask: cache.encoder.mask,
      ...cache.self.feeds(),
    };
    if (this.session.hasInput('position_ids'))
      feeds.position_ids = new Tensor('int64', input.positionIds, [batch, input.newPositions]);
    const reuse = this.reusesCrossAttention && cache.cross !== undefined;
    let fetches: string[] | undefined;
    if (this.reusesCrossAttention) {
      Object.assign(feeds, cache.cross ?? KvCache.empty(this.ort, this.crossLayout, batch).feeds());
      feeds.use_cache_branch = new Tensor('bool', [reuse], [1]);
      // Later steps return empty cross presents: do not fetch them.
      if (reuse) fetches = ['logits', ...this.layout.entries.map((e) => e.present)];
    }
    const out = await this.session.run(feeds, fetches);
    const self = KvCache.fromOutputs(this.layout, out, total, batch);
    const cross = reuse || !this.reusesCrossAttention ? cache.cross : this.crossOf(out, cache);
    return { ...lastLogits(out.logits!, batch), cache: new EncoderDecoderCache(self, cache.encoder, cross) };
  }

  /** The first step's `present.{i}.encoder.*`, renamed to the inputs they feed. */
  private crossOf(out: Readonly<Record<string, Tensor>>, cache: EncoderDecoderCache): Record<string, Tensor> {
    const length = cache.encoder.mask.dims[1];
    const cross: Record<string, Tensor> = {};
    for (const e of this.crossLayout.entries) {
      const t = out[e.present];
      if (!t || t.dims[0] !== cache.batch || t.dims[2] !== length) {
        throw new RuntimeError(
          'SESSION_RUN_FAILED',
          `decoder returned ${e.present} with dims [${t?.dims ?? 'none'}], expected [${cache.batch}, ${e.heads}, ${length}, ${e.headDim}] (the encoder's length)`,
          { value: t?.dims },
        );
      }
      cross[e.past] = t;
    }
    return cross;
  }
}
