/**
 * One forward pass of a merged causal decoder (`decoder_model_merged`: inputs_embeds or
 * input_ids, attention_mask, position_ids, past_key_values.* -> logits, present.*). Asks the
 * graph for the last position's logits only when it can (`num_logits_to_keep`), since prefill
 * otherwise computes logits for every prompt position and throws all but one away.
 */
import type { Tensor } from 'onnxruntime-common';
import { ModelPackageError } from '../errors.js';
import type { OrtModule } from '../host/host.js';
import type { Session } from '../runtime/session.js';
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

export type ForwardInput = StepInput<KvCache>;
export type ForwardOutput = StepOutput<KvCache>;

export function missingInput(session: Session, what: string, valid: readonly string[]): ModelPackageError {
  return new ModelPackageError('MODEL_CONFIG_INVALID', `decoder "${session.name}" has no ${what} input`, {
    value: session.inputNames,
    valid,
  });
}

export function requireLogits(session: Session): void {
  if (!session.outputNames.includes('logits')) {
    throw new ModelPackageError('MODEL_CONFIG_INVALID', `decoder "${session.name}" has no "logits" output`, {
      value: session.outputNames,
    });
  }
}

/** The `input_ids` or `inputs_embeds` feed for new positions (fp16 graphs get fp16 embeddings). */
export function tokenFeed(
  ort: OrtModule,
  tokens: StepTokens,
  batch: number,
  positions: number,
  embedsType: string,
): [string, Tensor] {
  if (tokens.kind === 'ids') return ['input_ids', new ort.Tensor('int64', tokens.data, [batch, positions])];
  const hidden = tokens.data.length / (batch * positions);
  const data = fromFloat32(tokens.data, embedsType) as Float32Array;
  return ['inputs_embeds', new ort.Tensor(embedsType as 'float32', data, [batch, positions, hidden])];
}

export function checkStepShapes<C extends DecoderCache>(
  batch: number,
  past: number,
  input: StepInput<C>,
): number {
  const s = input.newPositions;
  const total = past + s;
  if (input.attentionMask.length !== batch * total || input.positionIds.length !== batch * s) {
    throw new RangeError(
      `decoder inputs disagree: batch ${batch}, past ${past}, new ${s}, mask ${input.attentionMask.length}, positions ${input.positionIds.length}`,
    );
  }
  return total;
}

export class CausalDecoder implements StepDecoder<KvCache> {
  readonly layout: KvLayout;
  readonly hidden: number | undefined;
  readonly tokenInput: StepTokens['kind'];
  private readonly embedsType: string;
  private readonly keepLogits: boolean;

  constructor(
    private readonly ort: OrtModule,
    readonly session: Session,
    fallback?: { readonly heads: number; readonly headDim: number },
  ) {
    const valid = [
      'inputs_embeds or input_ids',
      'attention_mask',
      'position_ids',
      'past_key_values.{i}.key/value',
    ];
    if (!session.hasInput('attention_mask')) throw missingInput(session, '"attention_mask"', valid);
    if (session.hasInput('inputs_embeds')) this.tokenInput = 'embeds';
    else if (session.hasInput('input_ids')) this.tokenInput = 'ids';
    else throw missingInput(session, '"inputs_embeds" (or "input_ids")', valid);
    requireLogits(session);
    this.layout = kvLayoutOf(session.inputs, session.outputNames, fallback);
    const embeds = session.inputs.find((i) => i.name === 'inputs_embeds');
    this.embedsType = embeds?.type === 'float16' ? 'float16' : 'float32';
    this.hidden = typeof embeds?.shape[2] === 'number' ? embeds.shape[2] : undefined;
    this.keepLogits = session.hasInput('num_logits_to_keep');
  }

  emptyCache(batch: number): KvCache {
    return KvCache.empty(this.ort, this.layout, batch);
  }

  async forward(input: ForwardInput): Promise<ForwardOutput> {
    const { Tensor } = this.ort;
    const batch = input.cache.batch;
    const total = checkStepShapes(batch, input.cache.length, input);
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
      ...input.cache.feeds(),
    };
    if (this.session.hasInput('position_ids'))
      feeds.position_ids = new Tensor('int64', input.positionIds, [batch, input.newPositions]);
    if (this.keepLogits) feeds.num_logits_to_keep = new Tensor('int64', BigInt64Array.of(1n), []);
    const out = await this.session.run(feeds);
    return { ...lastLogits(out.logits!, batch), cache: KvCache.fromOutputs(this.layout, out, total, batch) };
  }
}
