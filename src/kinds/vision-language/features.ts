/**
 * Image features from the vision encoder (projected to the decoder's width), cached by
 * content: the key is the model id plus a hash of the preprocessed pixel tensor, so a second
 * question about the same picture (or the same picture in another conversation) skips the
 * encoder. The cache is bounded in bytes (ByteLru).
 */
import type { Tensor } from 'onnxruntime-common';
import { EncoderCache } from '../../cache/encoder-cache.js';
import type { CacheStats } from '../../cache/lru.js';
import { ModelPackageError } from '../../errors.js';
import type { FeatureVectors } from '../../generation/inputs-embeds.js';
import type { OrtModule } from '../../host/host.js';
import { stackBatch } from '../../media/processor.js';
import type { Session } from '../../runtime/session.js';
import { fromFloat32, toFloat32 } from '../../generation/float16.js';
import { packAnyresFeatures } from './anyres.js';
import type { LlavaConfig } from './config.js';
import type { PreparedImage } from './images.js';

/** [count, hidden] float32 features of one image. */
export type ImageFeatures = FeatureVectors;

export interface VisionStats {
  /** Vision encoder runs (one run may encode several images). */
  readonly encoderRuns: number;
  readonly imagesEncoded: number;
  readonly cache: CacheStats | undefined;
}

export class VisionFeatures {
  private readonly cache: EncoderCache<PreparedImage, ImageFeatures>;
  private encoderRuns = 0;
  private imagesEncoded = 0;

  constructor(
    private readonly ort: OrtModule,
    private readonly session: () => Promise<Session>,
    private readonly config: LlavaConfig,
    modelId: string,
    cacheBytes: number,
    /** LLaVA-Next's learned image_newline vector, when the package provides it. */
    private readonly newline?: () => Promise<Float32Array | undefined>,
  ) {
    this.cache = new EncoderCache(
      modelId,
      cacheBytes,
      (f) => f.data.byteLength,
      (images) => this.encode(images),
    );
  }

  stats(): VisionStats {
    return { encoderRuns: this.encoderRuns, imagesEncoded: this.imagesEncoded, cache: this.cache.stats() };
  }

  /**
   * Features for each image, in order. `cached`: images served from the cache; `encoded`:
   * distinct images the encoder ran for (a picture repeated in one request is encoded once).
   */
  async get(
    images: readonly PreparedImage[],
  ): Promise<{ features: ImageFeatures[]; cached: number; encoded: number }> {
    const { values, cached, encoded } = await this.cache.get(images);
    return { features: values, cached, encoded };
  }

  private async encode(images: readonly PreparedImage[]): Promise<ImageFeatures[]> {
    if (this.config.anyResolution) {
      const out: ImageFeatures[] = [];
      for (const im of images) out.push(await this.encodeAnyres(im));
      return out;
    }
    // LLaVA: images of one size go through the encoder together (usually all of them: the
    // processor crops to a fixed size).
    const groups = new Map<string, number[]>();
    images.forEach((im, i) => {
      const k = im.pixels.dims.join('x');
      groups.set(k, [...(groups.get(k) ?? []), i]);
    });
    const out = new Array<ImageFeatures>(images.length);
    for (const members of groups.values()) {
      const pixels = stackBatch(members.map((i) => images[i]!.pixels));
      const t = await this.run(pixels.data, pixels.dims);
      const [, count, hidden] = t.dims as [number, number, number];
      const data = toFloat32(t.data, t.type);
      members.forEach((i, j) => {
        this.checkCount(count, images[i]!.featureCount);
        out[i] = { data: data.slice(j * count * hidden, (j + 1) * count * hidden), count, hidden };
      });
    }
    return out;
  }

  private async encodeAnyres(image: PreparedImage): Promise<ImageFeatures> {
    const t = await this.run(image.pixels.data, image.pixels.dims);
    const [tiles, , hidden] = t.dims as [number, number, number];
    const { features, count } = packAnyresFeatures(
      toFloat32(t.data, t.type),
      tiles,
      hidden,
      image.originalHeight,
      image.originalWidth,
      this.config.gridPinpoints!,
      this.config.visionImageSize ?? image.pixels.dims[2],
      this.config.patchSize,
      await this.newline?.(),
    );
    this.checkCount(count, image.featureCount);
    return { data: features, count, hidden };
  }

  private async run(data: Float32Array, dims: readonly number[]): Promise<Tensor> {
    const session = await this.session();
    const input = session.inputs.find((i) => i.name === 'pixel_values');
    const type = input?.type === 'float16' ? 'float16' : 'float32';
    const feeds: Record<string, Tensor> = {
      pixel_values: new this.ort.Tensor(type as 'float32', fromFloat32(data, type) as Float32Array, [
        ...dims,
      ]),
    };
    const out = await session.run(feeds);
    this.encoderRuns++;
    this.imagesEncoded += this.config.anyResolution ? 1 : dims[0]!;
    const name = session.outputNames.includes('image_features') ? 'image_features' : session.outputNames[0]!;
    return out[name]!;
  }

  /** The prompt's image tokens must match what the encoder made, or the answer is silently wrong. */
  private checkCount(got: number, expected: number): void {
    if (got !== expected) {
      throw new ModelPackageError(
        'MODEL_CONFIG_INVALID',
        `the vision encoder gives ${got} features per image but the processor config implies ${expected} image tokens`,
        {
          value: { features: got, imageTokens: expected },
          hint: 'check patch_size, num_additional_image_tokens and vision_feature_select_strategy in processor_config.json',
        },
      );
    }
  }
}
