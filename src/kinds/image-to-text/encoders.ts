/**
 * The image side of BLIP and BLIP-2, cached by image content (cache/encoder-cache.ts): BLIP's
 * image embeds (`vision_model`), BLIP-2's projected query tokens (`vision_model` then
 * `qformer`). A second caption or question about the same picture runs neither. BLIP VQA's
 * question encoder (`text_encoder`) runs per question: its output depends on the question.
 */
import type { Tensor } from 'onnxruntime-common';
import { EncoderCache } from '../../cache/encoder-cache.js';
import type { CacheStats } from '../../cache/lru.js';
import { ModelPackageError } from '../../errors.js';
import { fromFloat32, toFloat32 } from '../../generation/float16.js';
import type { FeatureVectors } from '../../generation/inputs-embeds.js';
import type { OrtModule } from '../../host/host.js';
import { type PixelTensor, stackBatch } from '../../media/processor.js';
import type { Session } from '../../runtime/session.js';
import type { EncodedBatch } from '../../text/tokenizer.js';

export interface PreparedImage {
  /** Content hash of `pixels` (dims included): equal pixels, equal key. */
  readonly key: string;
  /** [1, 3, height, width]. */
  readonly pixels: PixelTensor;
}

export interface EncoderStats {
  /** Encoder runs (one run may encode several images). */
  readonly runs: number;
  readonly imagesEncoded: number;
  readonly cache: CacheStats | undefined;
}

/** A float input in the session's dtype (fp16 graphs take fp16). */
function floatInput(
  ort: OrtModule,
  session: Session,
  name: string,
  data: Float32Array,
  dims: readonly number[],
) {
  const type = session.inputs.find((i) => i.name === name)?.type === 'float16' ? 'float16' : 'float32';
  return new ort.Tensor(type as 'float32', fromFloat32(data, type) as Float32Array, [...dims]);
}

function output(session: Session, out: Record<string, Tensor>, preferred: string): Tensor {
  return out[preferred] ?? out[session.outputNames[0]!]!;
}

/** [batch, count, hidden] -> one FeatureVectors per row. */
function rows(t: Tensor): FeatureVectors[] {
  const [batch, count, hidden] = t.dims as [number, number, number];
  const data = toFloat32(t.data, t.type);
  return Array.from({ length: batch }, (_, j) => ({
    data: data.slice(j * count * hidden, (j + 1) * count * hidden),
    count,
    hidden,
  }));
}

/** One stage of the image side: a session from [batch, ...] input to [batch, count, hidden]. */
export interface ImageStage {
  readonly session: () => Promise<Session>;
  readonly input: string;
  readonly output: string;
}

export class CachedImageEncoder {
  private readonly cache: EncoderCache<PreparedImage, FeatureVectors>;
  private runs = 0;
  private imagesEncoded = 0;

  constructor(
    private readonly ort: OrtModule,
    /** vision_model, then for BLIP-2 the qformer on its output. */
    private readonly stages: readonly ImageStage[],
    modelId: string,
    cacheBytes: number,
  ) {
    this.cache = new EncoderCache(
      modelId,
      cacheBytes,
      (f) => f.data.byteLength,
      (images) => this.encode(images),
    );
  }

  stats(): EncoderStats {
    return { runs: this.runs, imagesEncoded: this.imagesEncoded, cache: this.cache.stats() };
  }

  get(images: readonly PreparedImage[]) {
    return this.cache.get(images);
  }

  /** Images of one size go through together (all of them: the BLIP processor resizes to a fixed size). */
  private async encode(images: readonly PreparedImage[]): Promise<FeatureVectors[]> {
    const groups = new Map<string, number[]>();
    images.forEach((im, i) => {
      const k = im.pixels.dims.join('x');
      groups.set(k, [...(groups.get(k) ?? []), i]);
    });
    const out = new Array<FeatureVectors>(images.length);
    for (const members of groups.values()) {
      const pixels = stackBatch(members.map((i) => images[i]!.pixels));
      let data = pixels.data;
      let dims: readonly number[] = pixels.dims;
      let result: Tensor | undefined;
      for (const stage of this.stages) {
        const session = await stage.session();
        const o = await session.run({
          [stage.input]: floatInput(this.ort, session, stage.input, data, dims),
        });
        result = output(session, o, stage.output);
        data = toFloat32(result.data, result.type);
        dims = result.dims;
      }
      this.runs++;
      this.imagesEncoded += members.length;
      rows(result!).forEach((f, j) => {
        out[members[j]!] = f;
      });
    }
    return out;
  }
}

/** Image features of several rows stacked for one decoder batch: [batch, count, hidden]. */
export function stackFeatures(features: readonly FeatureVectors[]): { data: Float32Array; count: number } {
  const { count, hidden } = features[0]!;
  const data = new Float32Array(features.length * count * hidden);
  features.forEach((f, i) => {
    if (f.count !== count || f.hidden !== hidden) {
      throw new ModelPackageError(
        'MODEL_CONFIG_INVALID',
        `image ${i} gives ${f.count}x${f.hidden} features, image 0 ${count}x${hidden}: cannot batch`,
        { value: { index: i, count: f.count, hidden: f.hidden } },
      );
    }
    data.set(f.data, i * count * hidden);
  });
  return { data, count };
}

/**
 * BLIP VQA's question encoder: [CLS] question [SEP] (right-padded), cross-attending the image
 * embeds -> question states [batch, length, hidden], which the answer decoder attends to.
 */
export class QuestionEncoder {
  runs = 0;

  constructor(
    private readonly ort: OrtModule,
    private readonly session: () => Promise<Session>,
  ) {}

  async encode(
    questions: EncodedBatch,
    images: { readonly data: Float32Array; readonly count: number },
  ): Promise<{ data: Float32Array; length: number }> {
    const s = await this.session();
    const [batch, length] = questions.dims;
    const hidden = images.data.length / (batch * images.count);
    const { Tensor } = this.ort;
    const feeds: Record<string, Tensor> = {
      input_ids: new Tensor('int64', questions.inputIds, [batch, length]),
      attention_mask: new Tensor('int64', questions.attentionMask, [batch, length]),
      encoder_hidden_states: floatInput(this.ort, s, 'encoder_hidden_states', images.data, [
        batch,
        images.count,
        hidden,
      ]),
    };
    if (s.hasInput('encoder_attention_mask')) {
      feeds.encoder_attention_mask = new Tensor('int64', new BigInt64Array(batch * images.count).fill(1n), [
        batch,
        images.count,
      ]);
    }
    const out = output(s, await s.run(feeds), 'last_hidden_state');
    this.runs++;
    return { data: toFloat32(out.data, out.type), length };
  }
}
