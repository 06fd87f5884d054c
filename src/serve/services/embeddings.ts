/**
 * A dual-encoder model (CLIP, SigLIP) behind two dynamic batchers, one per tower: texts from
 * concurrent requests share text-model runs (and the model's text-embedding cache), images
 * share vision-model runs. Zero-shot classification is both: the label prompts through the
 * text queue, the images through the image queue, then the model's own scoring.
 */
import { type ClipModel, type LabelScore, zeroShotPrompts } from '../../kinds/dual-encoder/model.js';
import { settleImages } from '../../kinds/dual-encoder/settle.js';
import { type BatchingOptions, Batcher } from '../batcher.js';
import type { ServeMetrics } from '../metrics.js';

/** One input of an embeddings request. */
export type EmbeddingInput =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'image'; readonly bytes: Uint8Array };

export class EmbeddingService {
  readonly texts: Batcher<string, Float32Array>;
  readonly images: Batcher<Uint8Array, Float32Array>;

  constructor(
    readonly id: string,
    readonly clip: ClipModel,
    batching: BatchingOptions,
    metrics: ServeMetrics,
  ) {
    this.texts = new Batcher({
      ...batching,
      name: `${id} text embeddings`,
      observer: metrics.observer(id, 'text_embeddings'),
      run: async (texts, signal) =>
        (await clip.embedTexts(texts, { signal })).map((value) => ({ ok: true, value })),
    });
    this.images = new Batcher({
      ...batching,
      name: `${id} image embeddings`,
      observer: metrics.observer(id, 'image_embeddings'),
      // A batch holds images of several requests: one bad image fails only its own request.
      run: (images, signal) => settleImages(images, (pending) => clip.embedImages(pending, { signal })),
    });
    metrics.addCache(id, 'text_embeddings', () => {
      const s = clip.textCacheStats();
      return s && { hits: s.hits, queries: s.hits + s.misses };
    });
  }

  /** Vectors in input order (unit length, as the library returns them). */
  async embed(inputs: readonly EmbeddingInput[], signal: AbortSignal): Promise<Float32Array[]> {
    const texts: Array<{ i: number; text: string }> = [];
    const images: Array<{ i: number; bytes: Uint8Array }> = [];
    inputs.forEach((input, i) => {
      if (input.kind === 'text') texts.push({ i, text: input.text });
      else images.push({ i, bytes: input.bytes });
    });
    // A request refused by the second queue must not leave its items in the first. One
    // controller that follows the request's signal, not `AbortSignal.any`, whose result is held
    // by WeakRefs and so outlives young-generation collections (see ../body.ts).
    const local = new AbortController();
    const follow = () => local.abort(signal.reason);
    if (signal.aborted) follow();
    else signal.addEventListener('abort', follow, { once: true });
    const both = local.signal;
    let textVectors: Float32Array[] | undefined;
    let imageVectors: Float32Array[] | undefined;
    try {
      const textJob =
        texts.length > 0
          ? this.texts.submit(
              texts.map((t) => t.text),
              both,
            )
          : undefined;
      textJob?.catch(() => undefined);
      let imageJob: Promise<Float32Array[]> | undefined;
      try {
        imageJob =
          images.length > 0
            ? this.images.submit(
                images.map((m) => m.bytes),
                both,
              )
            : undefined;
      } catch (e) {
        local.abort(e);
        throw e;
      }
      [textVectors, imageVectors] = await Promise.all([textJob, imageJob]);
    } finally {
      signal.removeEventListener('abort', follow);
    }
    const out = new Array<Float32Array>(inputs.length);
    texts.forEach((t, k) => {
      out[t.i] = textVectors![k]!;
    });
    images.forEach((m, k) => {
      out[m.i] = imageVectors![k]!;
    });
    return out;
  }

  /** Zero-shot scores per image, best first. */
  async classify(
    images: readonly Uint8Array[],
    labels: readonly string[],
    options: { readonly template?: string; readonly topK?: number; readonly signal: AbortSignal },
  ): Promise<LabelScore[][]> {
    const { labels: cleaned, prompts } = zeroShotPrompts(labels, options.template);
    const vectors = await this.embed(
      [
        ...prompts.map((text) => ({ kind: 'text' as const, text })),
        ...images.map((bytes) => ({ kind: 'image' as const, bytes })),
      ],
      options.signal,
    );
    return this.clip.scoreLabels(
      vectors.slice(prompts.length),
      vectors.slice(0, prompts.length),
      cleaned,
      options.topK,
    );
  }

  /** Text tokens of an input, for `usage` (special tokens included, no padding). */
  tokens(text: string): number {
    return this.clip.tokenizer.encode(text).length;
  }
}
