/**
 * One forward pass of a merged decoder (`decoder_model_merged`: inputs_embeds, attention_mask,
 * position_ids, past_key_values.* -> logits, present.*). Asks the graph for the last position's
 * logits only when it can (`num_logits_to_keep`), since prefill otherwise computes logits for
 * every prompt position and throws all but one away.
 */
import type { Tensor } from 'onnxruntime-common';
import { ModelPackageError } from '../errors.js';
import type { OrtModule } from '../host/host.js';
import type { Session } from '../runtime/session.js';
import { fromFloat32, toFloat32 } from './float16.js';
import { KvCache, type KvLayout, kvLayoutOf } from './kv-cache.js';

export interface ForwardInput {
  /** [batch, new_positions, hidden] float32 (converted to the graph's dtype here). */
  readonly embeds: Float32Array;
  readonly newPositions: number;
  /** [batch, past + new], 1 for real tokens, 0 for left padding. */
  readonly attentionMask: BigInt64Array;
  /** [batch, new] */
  readonly positionIds: BigInt64Array;
  readonly cache: KvCache;
}

export interface ForwardOutput {
  /** Last position's logits, [batch, vocab] float32. */
  readonly logits: Float32Array;
  readonly vocab: number;
  readonly cache: KvCache;
}

export class CausalDecoder {
  readonly layout: KvLayout;
  readonly hidden: number | undefined;
  private readonly embedsType: string;
  private readonly keepLogits: boolean;

  constructor(
    private readonly ort: OrtModule,
    readonly session: Session,
    fallback?: { readonly heads: number; readonly headDim: number },
  ) {
    for (const name of ['inputs_embeds', 'attention_mask']) {
      if (!session.hasInput(name)) {
        throw new ModelPackageError(
          'MODEL_CONFIG_INVALID',
          `decoder "${session.name}" has no "${name}" input`,
          {
            value: session.inputNames,
            valid: ['inputs_embeds', 'attention_mask', 'position_ids', 'past_key_values.{i}.key/value'],
          },
        );
      }
    }
    if (!session.outputNames.includes('logits')) {
      throw new ModelPackageError(
        'MODEL_CONFIG_INVALID',
        `decoder "${session.name}" has no "logits" output`,
        {
          value: session.outputNames,
        },
      );
    }
    this.layout = kvLayoutOf(session.inputs, session.outputNames, fallback);
    const embeds = session.inputs.find((i) => i.name === 'inputs_embeds')!;
    this.embedsType = embeds.type === 'float16' ? 'float16' : 'float32';
    this.hidden = typeof embeds.shape[2] === 'number' ? embeds.shape[2] : undefined;
    this.keepLogits = session.hasInput('num_logits_to_keep');
  }

  emptyCache(batch: number): KvCache {
    return KvCache.empty(this.ort, this.layout, batch);
  }

  async forward(input: ForwardInput): Promise<ForwardOutput> {
    const { Tensor } = this.ort;
    const batch = input.cache.batch;
    const s = input.newPositions;
    const total = input.cache.length + s;
    if (input.attentionMask.length !== batch * total || input.positionIds.length !== batch * s) {
      throw new RangeError(
        `decoder inputs disagree: batch ${batch}, past ${input.cache.length}, new ${s}, mask ${input.attentionMask.length}, positions ${input.positionIds.length}`,
      );
    }
    const hidden = input.embeds.length / (batch * s);
    const feeds: Record<string, Tensor> = {
      inputs_embeds: new Tensor(
        this.embedsType as 'float32',
        fromFloat32(input.embeds, this.embedsType) as Float32Array,
        [batch, s, hidden],
      ),
      attention_mask: new Tensor('int64', input.attentionMask, [batch, total]),
      ...input.cache.feeds(),
    };
    if (this.session.hasInput('position_ids'))
      feeds.position_ids = new Tensor('int64', input.positionIds, [batch, s]);
    if (this.keepLogits) feeds.num_logits_to_keep = new Tensor('int64', BigInt64Array.of(1n), []);
    const out = await this.session.run(feeds);
    const logitsTensor = out.logits!;
    const [, rows, vocab] = logitsTensor.dims as [number, number, number];
    const all = toFloat32(logitsTensor.data, logitsTensor.type);
    let logits: Float32Array;
    if (rows === 1) logits = all;
    else {
      // The graph computed every position: keep each row's last.
      logits = new Float32Array(batch * vocab);
      for (let b = 0; b < batch; b++)
        logits.set(all.subarray((b * rows + rows - 1) * vocab, (b * rows + rows) * vocab), b * vocab);
    }
    return { logits, vocab, cache: KvCache.fromOutputs(this.layout, out, total, batch) };
  }
}
