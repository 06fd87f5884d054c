/**
 * inputs_embeds for a decoder that reads images as embeddings (LLaVA's image tokens, BLIP-2's
 * query tokens): token embeddings from `embed_tokens`, with the feature positions overwritten
 * by the features in order (HF's masked_scatter / concatenation).
 */
import { ModelPackageError } from '../errors.js';
import type { OrtModule } from '../host/host.js';
import type { Session } from '../runtime/session.js';
import { toFloat32 } from './float16.js';

/** Feature vectors that take prompt positions: [count, hidden] float32. */
export interface FeatureVectors {
  readonly data: Float32Array;
  readonly count: number;
  readonly hidden: number;
}

/** Prompt positions [start, start + length) that take the features of input `image`. */
export interface FeatureSpan {
  /** First prompt position of the features. */
  readonly start: number;
  readonly length: number;
  /** Index into the request's images (prompt order). */
  readonly image: number;
}

export class TokenEmbedder {
  constructor(
    private readonly ort: OrtModule,
    private readonly session: () => Promise<Session>,
    /** A placeholder id whose embedding is overwritten anyway (LLaVA's image token), or none. */
    private readonly placeholderId: number | undefined,
    private readonly padId: number,
  ) {}

  /** ids: [batch, length] row-major -> [batch, length, hidden] float32. */
  async embed(
    ids: readonly number[],
    batch: number,
    length: number,
  ): Promise<{ data: Float32Array; hidden: number }> {
    const s = await this.session();
    // The placeholder's own embedding is overwritten anyway, and in some vocabularies its id
    // lies past the embedding table: embed the pad token in its place.
    const data = BigInt64Array.from(ids, (id) => BigInt(id === this.placeholderId ? this.padId : id));
    const out = await s.run({ input_ids: new this.ort.Tensor('int64', data, [batch, length]) });
    const t = out.inputs_embeds ?? out[s.outputNames[0]!]!;
    const hidden = t.dims[2]!;
    return { data: toFloat32(t.data, t.type), hidden };
  }
}

/**
 * Writes features into one row of `embeds` ([*, hidden]). The row holds prompt positions
 * [from, from + length) starting at element offset `rowOffset`.
 */
export function scatterFeatures(
  embeds: Float32Array,
  hidden: number,
  rowOffset: number,
  from: number,
  length: number,
  spans: readonly FeatureSpan[],
  features: ReadonlyArray<FeatureVectors | undefined>,
): void {
  const end = from + length;
  for (const span of spans) {
    const a = Math.max(span.start, from);
    const b = Math.min(span.start + span.length, end);
    if (a >= b) continue;
    const f = features[span.image];
    if (!f) throw new RangeError(`features of image ${span.image} are needed but were not computed`);
    if (f.hidden !== hidden) {
      throw new ModelPackageError(
        'MODEL_CONFIG_INVALID',
        `image features are ${f.hidden} wide but the token embeddings ${hidden}: the image side must project to the language model's width`,
        { value: { features: f.hidden, embeddings: hidden } },
      );
    }
    for (let p = a; p < b; p++) {
      const src = (p - span.start) * hidden;
      embeds.set(f.data.subarray(src, src + hidden), rowOffset + (p - from) * hidden);
    }
  }
}
