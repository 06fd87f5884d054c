/**
 * What a caller may hand any family as an image or a video, and how it is named in messages.
 * Every host decodes these same inputs (Node through sharp and ffmpeg, browsers through
 * createImageBitmap and WebCodecs); families only ever see the decoded RGB.
 */
import { InputError } from '../errors.js';
import type { Host, RgbImage } from '../host/host.js';
import type { AlphaMode, RawPixels } from './pixels.js';
import type { DecodeHint, ResampleMode } from './processor.js';

/**
 * A browser's own image objects, as structural types (the core has no DOM): `Blob`/`File`,
 * `ImageBitmap`, `ImageData`, `HTMLImageElement`, `HTMLCanvasElement`/`OffscreenCanvas`. The web
 * host decodes them all; Node decodes `Blob`/`File` (it has them) and refuses the rest, typed.
 */
export type BrowserImage =
  | { readonly size: number; readonly type: string; arrayBuffer(): Promise<ArrayBuffer> }
  | { readonly width: number; readonly height: number; close(): void }
  | {
      readonly width: number;
      readonly height: number;
      readonly data: Uint8ClampedArray;
      readonly colorSpace: string;
    }
  | { readonly naturalWidth: number; readonly naturalHeight: number; readonly complete: boolean }
  | { readonly width: number; readonly height: number; getContext(id: '2d'): unknown };

/** A path, encoded bytes, a URL (http(s), data:, file:), decoded pixels, or a browser image. */
export type ImageInput = string | URL | Uint8Array | ArrayBuffer | RawPixels | BrowserImage;

/** A video: a path, encoded bytes, a URL, or its frames already decoded (in time order). */
export type VideoInput = EncodedVideo | readonly RawPixels[] | DecodedFramesInput;

/** An encoded video (mp4, webm, ...): what a host's `openVideo` reads. */
export type EncodedVideo = string | URL | Uint8Array | ArrayBuffer;

/** Already decoded frames with their frame rate (plain arrays are read at 30 fps). */
export interface DecodedFramesInput {
  readonly frames: readonly RawPixels[];
  /** Frames per second; frame i is shown at i / fps. */
  readonly fps: number;
}

/** Short, printable name of an input for error messages (never the whole data: URL or buffer). */
export function describeInput(input: ImageInput | VideoInput): string {
  if (typeof input === 'string') return input.startsWith('data:') ? `${input.slice(0, 30)}…` : input;
  if (input instanceof URL) return input.href;
  if (input instanceof Uint8Array) return `<${input.byteLength} bytes>`;
  if (input instanceof ArrayBuffer) return `<${input.byteLength} bytes>`;
  if (Array.isArray(input)) return `<${input.length} decoded frames>`;
  if (isDecodedFramesInput(input)) return `<${input.frames.length} decoded frames at ${input.fps} fps>`;
  const o = input as unknown as Record<string, unknown>;
  const tag = Object.prototype.toString.call(input).slice(8, -1);
  if (typeof o.arrayBuffer === 'function') {
    const name = typeof o.name === 'string' && o.name ? ` ${o.name}` : '';
    return `<${tag}${name} ${o.type || 'untyped'}, ${o.size} bytes>`;
  }
  if (typeof o.naturalWidth === 'number') {
    const src = typeof o.currentSrc === 'string' && o.currentSrc ? ` ${o.currentSrc.slice(0, 80)}` : '';
    return `<${tag}${src} ${o.naturalWidth}x${o.naturalHeight}>`;
  }
  if (typeof o.channels === 'number') return `<raw ${o.width}x${o.height}x${o.channels}>`;
  return `<${tag} ${o.width}x${o.height}>`;
}

export function isDecodedFramesInput(v: unknown): v is DecodedFramesInput {
  return !!v && typeof v === 'object' && Array.isArray((v as DecodedFramesInput).frames) && 'fps' in v;
}

/** How a model reads its images: the resize mode and the decoder's limits. */
export interface ImageOptions {
  /** 'exact' (default): Pillow-identical resize, so features match Python. 'fast': see ResampleMode. */
  readonly resampleMode?: ResampleMode;
  /** Refuse images with more pixels than this. Default 100 megapixels. */
  readonly maxPixels?: number;
  /** Cap on fetched or data: URL bytes. Default 64 MiB. */
  readonly maxBytes?: number;
  /** Network timeout for image URLs in ms. Default 30 s. */
  readonly timeoutMs?: number;
  /** Deadline for decoding one image, in ms (the decoder is stopped). Default 30 s. */
  readonly decodeTimeoutMs?: number;
  /**
   * Pixels a batch may decode at once (images are decoded concurrently up to this, at the
   * `maxPixels` of each). Default 200 megapixels: two images at the 100 MP limit, about 600 MB.
   */
  readonly maxPixelsInFlight?: number;
  /** 'drop' (default, as HF's convert("RGB")) or 'white'. */
  readonly alpha?: AlphaMode;
}

/** The host's decoder with the model's limits, and its shrink hint in 'fast' mode. */
export function imageDecoder(
  host: Pick<Host, 'decodeImage'>,
  options: ImageOptions,
  hint: DecodeHint | undefined,
): (input: ImageInput, signal?: AbortSignal) => Promise<RgbImage> {
  const { resampleMode: _mode, maxPixelsInFlight: _inFlight, ...limits } = options;
  return (input, signal) =>
    host.decodeImage(input, { ...limits, ...(signal && { signal }), ...(hint && { fast: hint }) });
}

/** Default pixel bounds: one image, and a batch decoding at once. */
export const DEFAULT_MAX_PIXELS = 100_000_000;
export const DEFAULT_MAX_PIXELS_IN_FLIGHT = 200_000_000;

/** How many images of a batch may decode at once, so their pixels stay within `maxPixelsInFlight`. */
export function decodeConcurrency(options: ImageOptions): number {
  const perImage = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const budget = options.maxPixelsInFlight ?? DEFAULT_MAX_PIXELS_IN_FLIGHT;
  if (!(Number.isFinite(budget) && budget > 0)) {
    throw new InputError(
      'INPUT_INVALID',
      `maxPixelsInFlight must be a positive number, got ${String(budget)}`,
      {
        value: budget,
        valid: 'a number > 0',
      },
    );
  }
  return Math.max(1, Math.floor(budget / perImage));
}
