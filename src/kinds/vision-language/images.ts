/**
 * Decoded image -> the pixel tensor the vision encoder takes and the number of image tokens it
 * becomes in the prompt. LLaVA: one tile through the usual CLIP preprocessing. LLaVA-Next:
 * base image plus the any-resolution tiles (anyres.ts), each normalized the same way.
 */
import type { RgbImage } from '../../host/host.js';
import { type ImageProcessor, type PixelTensor, stackBatch } from '../../media/processor.js';
import { anyresFeatureCount, anyresTiles } from './anyres.js';
import { type LlavaConfig, llavaFeatureCount } from './config.js';
import { hashTensor } from '../../cache/content-hash.js';

export interface PreparedImage {
  /** Content hash of `pixels` (dims included): equal pixels, equal key. */
  readonly key: string;
  /** [tiles, 3, height, width]; one tile for LLaVA. */
  readonly pixels: PixelTensor;
  /** Image tokens (= feature vectors) this image takes in the prompt. */
  readonly featureCount: number;
  /** The decoded image's size (LLaVA-Next unpads features back to its aspect). */
  readonly originalHeight: number;
  readonly originalWidth: number;
}

export class LlavaImagePreparer {
  constructor(
    readonly config: LlavaConfig,
    readonly processor: ImageProcessor,
  ) {}

  prepare(image: RgbImage): PreparedImage {
    const pixels = this.config.anyResolution ? this.anyres(image) : this.processor.preprocess(image);
    const [, , h, w] = pixels.dims;
    const c = this.config;
    const featureCount = c.anyResolution
      ? anyresFeatureCount(
          image.height,
          image.width,
          c.gridPinpoints!,
          [h, w],
          c.patchSize,
          c.numAdditionalImageTokens,
          c.selectStrategy,
        )
      : llavaFeatureCount(c, h, w);
    return {
      key: hashTensor(pixels.data, pixels.dims),
      pixels,
      featureCount,
      originalHeight: image.height,
      originalWidth: image.width,
    };
  }

  private anyres(image: RgbImage): PixelTensor {
    const cfg = this.processor.config;
    const tile = cfg.crop?.height ?? (cfg.resize && 'height' in cfg.resize ? cfg.resize.height : undefined);
    const r = cfg.resize;
    const base = r ? ('shortestEdge' in r ? r.shortestEdge : Math.min(r.height, r.width)) : tile;
    if (!tile || !base)
      throw new RangeError('LLaVA-Next preprocessing needs crop_size (the tile size) and size');
    const tiles = anyresTiles(image, this.config.gridPinpoints!, tile, base, cfg.resample);
    return stackBatch(tiles.map((t) => this.processor.preprocess(t)));
  }
}
