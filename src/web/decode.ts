/**
 * Browser image decoding: every input a page has (Blob, File, ImageBitmap, ImageData,
 * HTMLImageElement, canvas, bytes, URLs) to the full-size 8-bit RGB that Python's
 * `load_image` would see. `createImageBitmap` decodes (EXIF orientation applied, as
 * `exif_transpose`; no colour management, as Pillow), an OffscreenCanvas hands back the
 * pixels at their own size, and the core resizes them with its Pillow-exact resampler.
 * Never canvas `drawImage` scaling: its bilinear/bicubic is the browser's, not Pillow's.
 *
 * One difference remains for images with partial transparency: a 2D canvas stores
 * premultiplied pixels, so the colour under a transparent pixel comes back rounded (fully
 * transparent: black), where Pillow's convert("RGB") keeps it. Opaque images are exact.
 */
import { InputError, isMmrtError } from '../errors.js';
import type { ImageDecodeOptions, RgbImage } from '../host/host.js';
import { isDataUrl, parseDataUrl } from '../media/data-url.js';
import { describeInput, type ImageInput } from '../media/input.js';
import { type RawPixels, toRgb } from '../media/pixels.js';
import { fetchBytes } from './fetch.js';

export const DEFAULT_MAX_PIXELS = 100_000_000;
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

const BITMAP_OPTIONS: ImageBitmapOptions = {
  imageOrientation: 'from-image',
  premultiplyAlpha: 'none',
  colorSpaceConversion: 'none',
};

type Obj = Record<string, unknown>;
const has = (v: unknown, k: string): boolean => !!v && typeof v === 'object' && k in (v as Obj);

function checkPixels(width: number, height: number, max: number, what: string): void {
  if (width * height > max) {
    throw new InputError(
      'IMAGE_TOO_LARGE',
      `${what} is ${width}x${height} (${width * height} pixels), over the limit of ${max}`,
      { value: width * height, valid: `<= ${max} pixels`, hint: 'raise maxPixels if this image is expected' },
    );
  }
}

function rgbaOf(source: CanvasImageSource & { width: number; height: number }): Uint8ClampedArray {
  const canvas = new OffscreenCanvas(source.width, source.height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' });
  if (!ctx)
    throw new InputError('IMAGE_DECODE_FAILED', 'this browser gives no 2D context on an OffscreenCanvas');
  // Same size in, same size out: no resampling here.
  ctx.drawImage(source, 0, 0);
  return ctx.getImageData(0, 0, source.width, source.height, { colorSpace: 'srgb' }).data;
}

async function encodedBytes(input: ImageInput, o: ImageDecodeOptions): Promise<Blob | undefined> {
  const maxBytes = o.maxBytes ?? DEFAULT_MAX_BYTES;
  if (input instanceof Uint8Array) return new Blob([input as Uint8Array<ArrayBuffer>]);
  if (input instanceof ArrayBuffer) return new Blob([input]);
  if (typeof input === 'string' || input instanceof URL) {
    const text = typeof input === 'string' ? input : input.href;
    if (isDataUrl(text)) {
      const { bytes, mediaType } = parseDataUrl(text);
      if (bytes.byteLength > maxBytes) {
        throw new InputError(
          'IMAGE_TOO_LARGE',
          `a data: URL of ${bytes.byteLength} bytes is over ${maxBytes}`,
          {
            value: bytes.byteLength,
          },
        );
      }
      return new Blob([bytes as Uint8Array<ArrayBuffer>], { type: mediaType });
    }
    const url = new URL(text, globalThis.location?.href).href;
    const bytes = await fetchBytes(url, {
      kind: 'input',
      maxBytes,
      idleTimeoutMs: o.timeoutMs ?? 30_000,
      ...(o.signal && { signal: o.signal }),
    });
    return new Blob([bytes as Uint8Array<ArrayBuffer>]);
  }
  if (typeof Blob !== 'undefined' && input instanceof Blob) {
    if (input.size > maxBytes) {
      throw new InputError('IMAGE_TOO_LARGE', `${describeInput(input)} is over ${maxBytes} bytes`, {
        value: input.size,
      });
    }
    return input;
  }
  return undefined;
}

async function bitmapOf(
  input: ImageInput,
  o: ImageDecodeOptions,
): Promise<{ bitmap: ImageBitmap; owned: boolean }> {
  if (typeof ImageBitmap !== 'undefined' && input instanceof ImageBitmap)
    return { bitmap: input, owned: false };
  const blob = await encodedBytes(input, o);
  const what = describeInput(input);
  if (blob) {
    if (blob.size === 0)
      throw new InputError('IMAGE_DECODE_FAILED', `cannot decode ${what}: it is empty (0 bytes)`);
    try {
      return { bitmap: await createImageBitmap(blob, BITMAP_OPTIONS), owned: true };
    } catch (e) {
      throw new InputError(
        'IMAGE_DECODE_FAILED',
        `cannot decode ${what}: ${e instanceof Error ? e.message : String(e)} (the browser decodes PNG, JPEG, WebP, GIF, AVIF, BMP)`,
        { value: what },
        { cause: e },
      );
    }
  }
  // <img>, <canvas>, OffscreenCanvas, <video>: sources createImageBitmap takes as they are.
  if (has(input, 'naturalWidth') || has(input, 'getContext')) {
    if (has(input, 'complete') && !(input as { complete: boolean }).complete) {
      throw new InputError('IMAGE_DECODE_FAILED', `${what} has not finished loading`, {
        value: what,
        hint: 'await img.decode() before passing an <img>',
      });
    }
    try {
      return { bitmap: await createImageBitmap(input as ImageBitmapSource, BITMAP_OPTIONS), owned: true };
    } catch (e) {
      throw new InputError(
        'IMAGE_DECODE_FAILED',
        `cannot read ${what}: ${e instanceof Error ? e.message : String(e)}`,
        { value: what },
        { cause: e },
      );
    }
  }
  throw new InputError('INPUT_INVALID', `unsupported image input ${what}`, {
    value: what,
    valid: [
      'URL',
      'data: URL',
      'Uint8Array',
      'ArrayBuffer',
      'Blob/File',
      'ImageBitmap',
      'ImageData',
      'HTMLImageElement',
      'canvas',
      'raw pixels',
    ],
  });
}

/** Decode any browser image input to RGB at its own size. */
export async function decodeWebImage(input: ImageInput, o: ImageDecodeOptions = {}): Promise<RgbImage> {
  const maxPixels = o.maxPixels ?? DEFAULT_MAX_PIXELS;
  const alpha = o.alpha ?? 'drop';
  const what = describeInput(input);
  if (input === null || input === undefined) {
    throw new InputError('INPUT_INVALID', 'no image given', { value: input });
  }
  // Raw pixels and ImageData are pixels already.
  if (has(input, 'channels') && has(input, 'data')) {
    const raw = input as RawPixels;
    checkPixels(raw.width, raw.height, maxPixels, what);
    return toRgb(raw, alpha);
  }
  if (has(input, 'colorSpace') && has(input, 'data')) {
    const d = input as { data: Uint8ClampedArray; width: number; height: number };
    checkPixels(d.width, d.height, maxPixels, what);
    return toRgb({ data: d.data, width: d.width, height: d.height, channels: 4 }, alpha);
  }
  o.signal?.throwIfAborted();
  try {
    const { bitmap, owned } = await bitmapOf(input, o);
    try {
      checkPixels(bitmap.width, bitmap.height, maxPixels, what);
      return toRgb({ data: rgbaOf(bitmap), width: bitmap.width, height: bitmap.height, channels: 4 }, alpha);
    } finally {
      if (owned) bitmap.close();
    }
  } catch (e) {
    if (isMmrtError(e)) throw e;
    throw new InputError(
      'IMAGE_DECODE_FAILED',
      `cannot decode ${what}: ${e instanceof Error ? e.message : String(e)}`,
      { value: what },
      { cause: e },
    );
  }
}
