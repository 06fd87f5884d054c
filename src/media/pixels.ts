/**
 * Raw pixels (1, 2, 3 or 4 interleaved 8-bit channels) to the RGB that Hugging Face's
 * Python pipeline would see after `image.convert("RGB")`.
 *
 * Alpha: transformers' `load_image` and `image_transforms.convert_to_rgb` both call
 * `PIL.Image.convert("RGB")`, which simply drops the alpha channel (the colour stored
 * under a transparent pixel comes through). That is the default here ('drop'), for parity.
 * Some model-specific processors (IDEFICS) instead `alpha_composite` onto opaque white;
 * 'white' reproduces that with Pillow's integer arithmetic (libImaging/AlphaComposite.c).
 */
import { InputError } from '../errors.js';
import type { RgbImage } from '../host/host.js';

export type AlphaMode = 'drop' | 'white';
export const ALPHA_MODES: readonly AlphaMode[] = ['drop', 'white'];

export interface RawPixels {
  readonly data: Uint8Array | Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
  /** 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. */
  readonly channels: number;
}

/**
 * Pillow's alpha_composite of (r, g, b, a) over opaque white, for one channel value.
 * With an opaque destination the coefficients reduce to a*128 and (255-a)*128 exactly
 * (PRECISION_BITS = 7); the division by 255 is the shift trick of SHIFTFORDIV255.
 */
function overWhite(c: number, a: number): number {
  if (a === 0) return 255;
  const tmp = c * a * 128 + 255 * (255 - a) * 128 + (0x80 << 7);
  return (((tmp >>> 8) + tmp) >>> 8) >>> 7;
}

/** A 256x256 table of overWhite, built on first use: one lookup per channel afterwards. */
let whiteTable: Uint8Array | undefined;
function whiteLut(): Uint8Array {
  if (!whiteTable) {
    whiteTable = new Uint8Array(256 * 256);
    for (let a = 0; a < 256; a++) for (let c = 0; c < 256; c++) whiteTable[(a << 8) | c] = overWhite(c, a);
  }
  return whiteTable;
}

export function assertRawPixels(raw: RawPixels, what = 'raw pixels'): void {
  const { width, height, channels, data } = raw;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InputError('INPUT_INVALID', `The ${what} have invalid dimensions ${width}x${height}`, {
      value: { width, height },
      valid: 'positive integers',
    });
  }
  if (![1, 2, 3, 4].includes(channels)) {
    throw new InputError('INPUT_INVALID', `The ${what} have ${channels} channels`, {
      value: channels,
      valid: [1, 2, 3, 4],
    });
  }
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    throw new InputError('INPUT_INVALID', `The ${what} must be a Uint8Array of 8-bit samples`, {
      value: Object.prototype.toString.call(data),
      valid: ['Uint8Array', 'Uint8ClampedArray', 'Buffer'],
    });
  }
  const expected = width * height * channels;
  if (data.length !== expected) {
    throw new InputError(
      'INPUT_INVALID',
      `The ${what} should hold ${expected} bytes (${width}x${height}x${channels}), got ${data.length}`,
      { value: data.length, valid: `${expected}` },
    );
  }
}

/** Converts interleaved 8-bit pixels to RGB; alpha is dropped or composited onto white. */
export function toRgb(raw: RawPixels, alpha: AlphaMode = 'drop'): RgbImage {
  assertRawPixels(raw);
  if (!ALPHA_MODES.includes(alpha)) {
    throw new InputError('INPUT_INVALID', `Unknown alpha mode ${JSON.stringify(alpha)}`, {
      value: alpha,
      valid: ALPHA_MODES,
    });
  }
  const { width, height, channels } = raw;
  const src = raw.data;
  const n = width * height;
  if (channels === 3) {
    const data = src instanceof Uint8Array ? src : new Uint8Array(src.buffer, src.byteOffset, src.length);
    return { data, width, height };
  }
  const out = new Uint8Array(n * 3);
  const hasAlpha = channels === 2 || channels === 4;
  const lut = hasAlpha && alpha === 'white' ? whiteLut() : undefined;
  for (let i = 0, s = 0, o = 0; i < n; i++, s += channels, o += 3) {
    let r: number;
    let g: number;
    let b: number;
    if (channels <= 2) {
      r = g = b = src[s]!;
    } else {
      r = src[s]!;
      g = src[s + 1]!;
      b = src[s + 2]!;
    }
    if (lut) {
      const a = src[s + channels - 1]! << 8;
      r = lut[a | r]!;
      g = lut[a | g]!;
      b = lut[a | b]!;
    }
    out[o] = r;
    out[o + 1] = g;
    out[o + 2] = b;
  }
  return { data: out, width, height };
}

/**
 * CMYK -> RGB as Pillow's `convert("RGB")` does it (libImaging/Convert.c cmyk2rgb): no
 * colour management, r = (255 - k) - c * (255 - k) / 255 with Pillow's rounded integer
 * division. Decoders that colour-manage CMYK through an ICC profile give other colours.
 */
export function cmykToRgb(data: Uint8Array, width: number, height: number): RgbImage {
  assertRawPixels({ data, width, height, channels: 4 }, 'CMYK pixels');
  const n = width * height;
  const out = new Uint8Array(n * 3);
  for (let i = 0, s = 0, o = 0; i < n; i++, s += 4, o += 3) {
    const nk = 255 - data[s + 3]!;
    for (let c = 0; c < 3; c++) {
      const tmp = data[s + c]! * nk + 128;
      const v = nk - (((tmp >> 8) + tmp) >> 8);
      out[o + c] = Math.max(v, 0);
    }
  }
  return { data: out, width, height };
}
