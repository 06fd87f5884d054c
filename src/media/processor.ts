/**
 * RGB image -> the `pixel_values` tensor a vision encoder takes, computed as Hugging Face's
 * slow (PIL) image processors compute it: resize (Pillow-exact), center crop, then
 * rescale and normalize in the same dtypes as Python (see `channelTable`).
 */
import { InputError } from '../errors.js';
import type { RgbImage } from '../host/host.js';
import { centerCrop, resizeOutputSize } from './geometry.js';
import { type ImageProcessorConfig, parseImageProcessorConfig } from './processor-config.js';
import { assertRgbImage, resizeRgb } from './resample.js';

/**
 * 'exact' (default): the decoder returns full-size pixels and the Pillow-exact resize
 * does all the scaling: outputs match Python. 'fast': the decoder may shrink large images
 * while decoding (JPEG DCT scaling) to about the target size first; much cheaper for big
 * photos, but outputs then differ slightly from Python's.
 */
export type ResampleMode = 'exact' | 'fast';

/** What a 'fast' decoder should shrink to: at least this size, aspect preserved. */
export type DecodeHint =
  | { readonly shortestEdge: number }
  | { readonly width: number; readonly height: number };

export interface PixelTensor {
  readonly data: Float32Array;
  readonly dims: readonly [number, number, number, number];
}

export interface ImageProcessorOptions {
  readonly resampleMode?: ResampleMode;
}

/**
 * One float32 per (channel, byte value). Python rescales in float64 then casts to float32
 * (`image.astype(np.float64) * scale` -> `.astype(np.float32)`), then normalizes in
 * float32 with mean/std cast to float32. Math.fround after each operation reproduces the
 * float32 results exactly (double rounding is innocuous for one +,-,*,/ on floats).
 * Since inputs are bytes, the whole chain is a 256-entry table per channel.
 */
function channelTable(config: ImageProcessorConfig): Float32Array {
  const lut = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    const mean = config.mean ? Math.fround(config.mean[c]!) : 0;
    const std = config.std ? Math.fround(config.std[c]!) : 1;
    for (let v = 0; v < 256; v++) {
      let x = config.rescaleFactor !== undefined ? Math.fround(v * config.rescaleFactor) : v;
      if (config.mean) x = Math.fround(Math.fround(x - mean) / std);
      lut[c * 256 + v] = x;
    }
  }
  return lut;
}

export class ImageProcessor {
  readonly config: ImageProcessorConfig;
  readonly resampleMode: ResampleMode;
  readonly #lut: Float32Array;

  constructor(config: ImageProcessorConfig, options: ImageProcessorOptions = {}) {
    const mode = options.resampleMode ?? 'exact';
    if (mode !== 'exact' && mode !== 'fast') {
      throw new InputError('INPUT_INVALID', `Unknown resampleMode ${JSON.stringify(mode)}`, {
        value: mode,
        valid: ['exact', 'fast'],
      });
    }
    this.config = config;
    this.resampleMode = mode;
    this.#lut = channelTable(config);
  }

  /** From the parsed JSON of a preprocessor_config.json; `source` names it in errors. */
  static fromConfig(
    json: unknown,
    options: ImageProcessorOptions & { source?: string } = {},
  ): ImageProcessor {
    return new ImageProcessor(parseImageProcessorConfig(json, options.source), options);
  }

  /** The output size when it does not depend on the input (crop, or plain resize). */
  get fixedOutputSize(): { width: number; height: number } | undefined {
    if (this.config.crop) return this.config.crop;
    const r = this.config.resize;
    return r && !('shortestEdge' in r) ? { width: r.width, height: r.height } : undefined;
  }

  /** In 'fast' mode, how far a decoder may shrink while decoding; undefined in 'exact'. */
  decodeHint(): DecodeHint | undefined {
    const r = this.config.resize;
    if (this.resampleMode !== 'fast' || !r) return undefined;
    return 'shortestEdge' in r ? { shortestEdge: r.shortestEdge } : { width: r.width, height: r.height };
  }

  /** Resize + center crop: the uint8 pixels Python holds right before rescale. */
  resizeAndCrop(image: RgbImage): RgbImage {
    assertRgbImage(image);
    let out = image;
    const { resize, crop } = this.config;
    if (resize) {
      const size = resizeOutputSize(out.width, out.height, resize);
      out = resizeRgb(out, size.width, size.height, this.config.resample);
    }
    if (crop) out = centerCrop(out, crop.width, crop.height);
    return out;
  }

  /** One image -> float32 [1, 3, H, W]. */
  preprocess(image: RgbImage): PixelTensor {
    const px = this.resizeAndCrop(image);
    const data = new Float32Array(3 * px.width * px.height);
    this.#writeChw(px, data, 0);
    return { data, dims: [1, 3, px.height, px.width] };
  }

  /**
   * One image written straight into a batch buffer at `offset` (no intermediate tensor); the
   * image must preprocess to `width` x `height`.
   */
  preprocessInto(image: RgbImage, out: Float32Array, offset: number, width: number, height: number): void {
    const px = this.resizeAndCrop(image);
    if (px.width !== width || px.height !== height) {
      throw new InputError(
        'INPUT_INVALID',
        `The image preprocesses to ${px.width}x${px.height}, the batch holds ${width}x${height}`,
        { value: { width: px.width, height: px.height }, valid: `${width}x${height}` },
      );
    }
    if (offset < 0 || offset + 3 * width * height > out.length) {
      throw new InputError('INPUT_INVALID', `No room for a ${width}x${height} image at ${offset}`, {
        value: { offset, length: out.length },
      });
    }
    this.#writeChw(px, out, offset);
  }

  /** N images -> float32 [N, 3, H, W]; the outputs must share one size (crop or fixed resize). */
  preprocessBatch(images: readonly RgbImage[]): PixelTensor {
    if (images.length === 0) {
      throw new InputError('INPUT_INVALID', 'preprocessBatch needs at least one image', { value: 0 });
    }
    const prepared = images.map((im) => this.resizeAndCrop(im));
    const { width, height } = prepared[0]!;
    const plane = 3 * width * height;
    const data = new Float32Array(plane * prepared.length);
    prepared.forEach((px, i) => {
      if (px.width !== width || px.height !== height) throw sizeMismatch(i, px, width, height);
      this.#writeChw(px, data, i * plane);
    });
    return { data, dims: [prepared.length, 3, height, width] };
  }

  /** HWC uint8 -> CHW float32 through the per-channel table. */
  #writeChw(px: RgbImage, out: Float32Array, offset: number): void {
    const n = px.width * px.height;
    const src = px.data;
    const lut = this.#lut;
    const g = offset + n;
    const b = offset + 2 * n;
    for (let i = 0, s = 0; i < n; i++, s += 3) {
      out[offset + i] = lut[src[s]!]!;
      out[g + i] = lut[256 + src[s + 1]!]!;
      out[b + i] = lut[512 + src[s + 2]!]!;
    }
  }
}

function sizeMismatch(i: number, px: { width: number; height: number }, width: number, height: number) {
  return new InputError(
    'INPUT_INVALID',
    `Image ${i} preprocesses to ${px.width}x${px.height}, image 0 to ${width}x${height}: cannot batch`,
    { value: { index: i, width: px.width, height: px.height }, valid: `${width}x${height}` },
  );
}

/** Stacks [1|k, 3, H, W] tensors along the batch axis into one [N, 3, H, W] tensor. */
export function stackBatch(tensors: readonly PixelTensor[]): PixelTensor {
  if (tensors.length === 0)
    throw new InputError('INPUT_INVALID', 'stackBatch needs at least one tensor', { value: 0 });
  const [, c, h, w] = tensors[0]!.dims;
  let n = 0;
  for (const [i, t] of tensors.entries()) {
    const [tn, tc, th, tw] = t.dims;
    if (tc !== c || th !== h || tw !== w || t.data.length !== tn * tc * th * tw) {
      throw new InputError(
        'INPUT_INVALID',
        `Tensor ${i} has dims [${t.dims}], expected [*, ${c}, ${h}, ${w}]`,
        {
          value: t.dims,
          valid: `[N, ${c}, ${h}, ${w}]`,
        },
      );
    }
    n += tn;
  }
  const data = new Float32Array(n * c * h * w);
  let off = 0;
  for (const t of tensors) {
    data.set(t.data, off);
    off += t.data.length;
  }
  return { data, dims: [n, c, h, w] };
}
