/**
 * The decoder's key/value cache: one `past_key_values.{i}.key|value` input and its
 * `present.{i}.key|value` output per layer, shaped [batch, kv_heads, positions, head_dim].
 * A `KvCache` is immutable: each decoder run returns a new one, so a conversation can keep an
 * older cache (to resume from it, or cut it back after an edit) while generation goes on.
 *
 * On WebGPU the tensors may live on the GPU (`preferredOutputLocation: 'gpu-buffer'`): they are
 * fed back to the next step without a copy, read back only to cut the cache (`toHost`), and
 * freed by `dispose()`, which whoever drops a cache calls (GPU buffers are not garbage collected).
 */
import type { Tensor } from 'onnxruntime-common';
import { ModelPackageError, RuntimeError } from '../errors.js';
import type { OrtModule } from '../host/host.js';
import type { TensorInfo } from '../runtime/session.js';

export type KvDtype = 'float32' | 'float16';

export interface KvEntry {
  /** Decoder input, e.g. `past_key_values.0.key`. */
  readonly past: string;
  /** Decoder output holding the updated cache, e.g. `present.0.key`. */
  readonly present: string;
  readonly dtype: KvDtype;
  readonly heads: number;
  readonly headDim: number;
}

export interface KvLayout {
  readonly entries: readonly KvEntry[];
}

/** `past_key_values.{i}.key`, or with the self/cross split of encoder-decoder exports `.decoder.` / `.encoder.`. */
const PAST = /^past_key_values\.(\d+)\.(?:(decoder|encoder)\.)?(key|value)$/;

/**
 * Reads a cache layout from the decoder's input metadata: the self-attention entries
 * (`past_key_values.{i}.key|value`, or `.decoder.` in encoder-decoder exports), or with
 * `part: 'cross'` the cross-attention ones (`.encoder.`). Fixed head counts come from the
 * metadata; where an export left them symbolic, `fallback` (the model config) supplies them.
 */
export function kvLayoutOf(
  inputs: readonly TensorInfo[],
  outputNames: readonly string[],
  fallback?: { readonly heads: number; readonly headDim: number },
  part: 'self' | 'cross' = 'self',
): KvLayout {
  const entries: KvEntry[] = [];
  for (const info of inputs) {
    const m = PAST.exec(info.name);
    if (!m || (m[2] === 'encoder') !== (part === 'cross')) continue;
    const present = `present.${m[1]}.${m[2] ? `${m[2]}.` : ''}${m[3]}`;
    if (!outputNames.includes(present)) {
      throw new ModelPackageError(
        'MODEL_CONFIG_INVALID',
        `decoder has input ${info.name} but no output ${present}`,
        {
          value: outputNames,
          hint: 'export the decoder with use_cache so it returns present.{i}.key/value',
        },
      );
    }
    const shape = info.shape;
    const heads = typeof shape[1] === 'number' ? shape[1] : fallback?.heads;
    const headDim = typeof shape[3] === 'number' ? shape[3] : fallback?.headDim;
    if (heads === undefined || headDim === undefined || (shape.length !== 0 && shape.length !== 4)) {
      throw new ModelPackageError(
        'MODEL_CONFIG_INVALID',
        `cannot tell the shape of ${info.name} (${JSON.stringify(shape)}); expected [batch, kv_heads, past_length, head_dim]`,
        { value: shape },
      );
    }
    const dtype: KvDtype = info.type === 'float16' ? 'float16' : 'float32';
    entries.push({ past: info.name, present, dtype, heads, headDim });
  }
  if (entries.length === 0 && part === 'self') {
    throw new ModelPackageError(
      'MODEL_CONFIG_INVALID',
      'decoder has no past_key_values inputs: it cannot generate with a cache',
      {
        value: inputs.map((i) => i.name),
        hint: 'export decoder_model_merged with past_key_values.{i}.key/value inputs',
      },
    );
  }
  return { entries };
}

type KvData = Float32Array | Uint16Array;

export class KvCache {
  private constructor(
    readonly layout: KvLayout,
    private readonly tensors: readonly Tensor[],
    /** Positions held (the past length the next run continues from). */
    readonly length: number,
    readonly batch: number,
  ) {}

  /** Past length 0, as Hugging Face builds it (every symbolic dim but batch is 0). */
  static empty(ort: OrtModule, layout: KvLayout, batch: number): KvCache {
    const tensors = layout.entries.map((e) => {
      const data = e.dtype === 'float16' ? new Uint16Array(0) : new Float32Array(0);
      return new ort.Tensor(e.dtype, data, [batch, e.heads, 0, e.headDim]);
    });
    return new KvCache(layout, tensors, 0, batch);
  }

  /** The cache a decoder run returned, checked against the length the caller expects. */
  static fromOutputs(
    layout: KvLayout,
    outputs: Readonly<Record<string, Tensor>>,
    length: number,
    batch: number,
  ): KvCache {
    const tensors = layout.entries.map((e) => {
      const t = outputs[e.present];
      if (!t)
        throw new RuntimeError('SESSION_RUN_FAILED', `decoder did not return ${e.present}`, {
          value: Object.keys(outputs),
        });
      if (t.dims[2] !== length || t.dims[0] !== batch) {
        throw new RuntimeError(
          'SESSION_RUN_FAILED',
          `decoder returned ${e.present} with dims [${t.dims}], expected [${batch}, ${e.heads}, ${length}, ${e.headDim}]`,
          { value: t.dims },
        );
      }
      return t;
    });
    return new KvCache(layout, tensors, length, batch);
  }

  /** The decoder inputs this cache feeds. */
  feeds(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    this.layout.entries.forEach((e, i) => {
      out[e.past] = this.tensors[i]!;
    });
    return out;
  }

  /** Bytes held, for memory accounting (from the shapes: device tensors have no `data`). */
  get bytes(): number {
    let n = 0;
    for (const t of this.tensors) n += t.dims.reduce((a, b) => a * b, 1) * (t.type === 'float16' ? 2 : 4);
    return n;
  }

  /** Some tensors live on a device (GPU), not in JavaScript memory. */
  get onDevice(): boolean {
    return this.tensors.some((t) => t.location !== undefined && t.location !== 'cpu');
  }

  /** The same cache in JavaScript memory (device tensors read back; this one is left as it is). */
  async toHost(ort: OrtModule): Promise<KvCache> {
    if (!this.onDevice) return this;
    const tensors = await Promise.all(
      this.tensors.map(async (t) =>
        t.location === 'cpu' ? t : new ort.Tensor(t.type as 'float32', (await t.getData()) as KvData, t.dims),
      ),
    );
    return new KvCache(this.layout, tensors, this.length, this.batch);
  }

  /** Free device buffers now; a cache in JavaScript memory needs nothing (the GC has it). */
  dispose(): void {
    for (const t of this.tensors) if (t.location !== undefined && t.location !== 'cpu') t.dispose();
  }

  /**
   * The cache of the first `n` positions. Valid because a causal decoder's keys and values at
   * position p depend only on positions <= p: a shared prefix keeps its cache exactly.
   */
  truncate(ort: OrtModule, n: number): KvCache {
    if (n === this.length) return this;
    if (!(Number.isInteger(n) && n >= 0 && n <= this.length)) {
      throw new RangeError(`cannot truncate a cache of ${this.length} positions to ${n}`);
    }
    if (this.onDevice) throw new RangeError('truncate a cache read back with toHost() first');
    const tensors = this.layout.entries.map((e, i) => {
      const src = this.tensors[i]!.data as KvData;
      const rows = this.batch * e.heads;
      const from = this.length * e.headDim;
      const to = n * e.headDim;
      const out = src instanceof Uint16Array ? new Uint16Array(rows * to) : new Float32Array(rows * to);
      for (let r = 0; r < rows; r++) out.set(src.subarray(r * from, r * from + to), r * to);
      return new ort.Tensor(e.dtype, out, [this.batch, e.heads, n, e.headDim]);
    });
    return new KvCache(this.layout, tensors, n, this.batch);
  }
}
