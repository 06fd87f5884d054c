/**
 * Node image decoding with sharp (libvips), arranged to hand back the pixels Hugging
 * Face's Python `load_image` would: `PIL.Image.open` -> `ImageOps.exif_transpose` ->
 * `.convert("RGB")`. Concretely:
 * - EXIF orientation is applied (sharp autoOrient == exif_transpose).
 * - Embedded ICC profiles are ignored (`ignoreIcc`): Pillow does no colour management,
 *   sharp would otherwise convert e.g. Display-P3 photos to sRGB and drift from Python.
 * - CMYK stays CMYK through libvips and is converted with Pillow's formula (pixels.ts).
 * - Alpha is dropped like `convert("RGB")` (default), or composited onto white.
 * - Gray, palette and 16-bit inputs come out as 8-bit RGB (libvips takes the high byte of
 *   16-bit RGB as Pillow does; 16-bit grayscale differs: Pillow clips it, see report).
 * - The first frame of animated images, as PIL.Image.open does.
 * Large images are refused before decoding (pixel limit) so a decompression bomb cannot
 * exhaust memory.
 */
import { open } from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import { InputError, isMmrtError } from '../../errors.js';
import type { ImageDecodeOptions, RgbImage } from '../../host/host.js';
import { describeInput, type ImageInput } from '../../media/input.js';
import { assertRawPixels, cmykToRgb, type RawPixels, toRgb } from '../../media/pixels.js';
import type { DecodeHint } from '../../media/processor.js';
import {
  checkBytes,
  checkFile,
  checkLimit,
  DEFAULT_MAX_BYTES,
  type EncodedImage,
  resolveImageSource,
} from './source.js';

/**
 * `fast` (resampleMode 'fast'): libvips shrinks while decoding (JPEG DCT scaling, then a cubic
 * reduce) to at least that size. The result differs slightly from Python's pixels, and under
 * fully transparent pixels the colour becomes black (libvips premultiplies).
 */
export type DecodeOptions = ImageDecodeOptions;

export const DEFAULT_MAX_PIXELS = 100_000_000;
export const DEFAULT_DECODE_TIMEOUT_MS = 30_000;

function isRawPixels(v: unknown): v is RawPixels {
  return !!v && typeof v === 'object' && 'data' in v && 'width' in v && 'height' in v && 'channels' in v;
}

/** Decodes any supported input to 8-bit RGB, as described above. */
export async function decodeImage(input: ImageInput, opts: DecodeOptions = {}): Promise<RgbImage> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  checkLimit('decodeTimeoutMs', opts.decodeTimeoutMs);
  if (!(Number.isFinite(maxPixels) && maxPixels > 0)) {
    throw new InputError('INPUT_INVALID', `maxPixels must be a positive number, got ${maxPixels}`, {
      value: maxPixels,
    });
  }
  if (opts.fast) checkHint(opts.fast);
  if (isRawPixels(input) && !(input instanceof Uint8Array)) {
    assertRawPixels(input);
    checkPixels(input.width, input.height, maxPixels, 'raw pixels');
    return toRgb(input, opts.alpha ?? 'drop');
  }
  const source = await toSource(input, opts);
  if (source.kind === 'path') await checkFile(source.path);
  if (source.kind === 'bytes' && source.bytes.length === 0) {
    throw new InputError('IMAGE_DECODE_FAILED', `Cannot decode ${source.label}: it is empty (0 bytes)`, {
      value: source.label,
    });
  }
  checkAborted(opts.signal, source.label);
  await refuseSvg(source);
  try {
    return await decodeWithSharp(source, maxPixels, opts);
  } catch (e) {
    throw mapSharpError(e, source.label, maxPixels);
  }
}

async function toSource(input: ImageInput, opts: DecodeOptions): Promise<EncodedImage> {
  if (input instanceof Uint8Array) return { kind: 'bytes', bytes: input, label: `<${input.length} bytes>` };
  if (input instanceof ArrayBuffer) {
    return { kind: 'bytes', bytes: new Uint8Array(input), label: `<${input.byteLength} bytes>` };
  }
  if (typeof input === 'string' || input instanceof URL) return resolveImageSource(input, opts);
  if (input instanceof Blob) return blobSource(input, opts);
  throw new InputError(
    'INPUT_INVALID',
    `Unsupported image input of type ${Object.prototype.toString.call(input)}`,
    {
      value: typeof input,
      valid: [
        'file path',
        'URL (http, https, data, file)',
        'Uint8Array/Buffer',
        'ArrayBuffer',
        'Blob/File',
        '{data, width, height, channels}',
      ],
    },
  );
}

/** Node 20 has Blob and File (fetch bodies, form uploads): read under the same byte cap as a URL. */
async function blobSource(blob: Blob, opts: DecodeOptions): Promise<EncodedImage> {
  checkLimit('maxBytes', opts.maxBytes);
  const label = describeInput(blob);
  checkBytes(blob.size, opts.maxBytes ?? DEFAULT_MAX_BYTES, label);
  return { kind: 'bytes', bytes: new Uint8Array(await blob.arrayBuffer()), label };
}

function checkAborted(signal: AbortSignal | undefined, label: string): void {
  if (signal?.aborted) {
    throw new InputError(
      'ABORTED',
      `Decoding ${label} was aborted`,
      { value: label },
      { cause: signal.reason },
    );
  }
}

function checkHint(hint: DecodeHint): void {
  const dims = 'shortestEdge' in hint ? [hint.shortestEdge] : [hint.width, hint.height];
  if (!dims.every((v) => Number.isInteger(v) && v > 0)) {
    throw new InputError('INPUT_INVALID', `Invalid fast decode size ${JSON.stringify(hint)}`, {
      value: hint,
      valid: '{shortestEdge: N} or {width: W, height: H} with positive integers',
    });
  }
}

function checkPixels(width: number, height: number, maxPixels: number, label: string): void {
  if (width * height > maxPixels) {
    throw new InputError(
      'IMAGE_TOO_LARGE',
      `${label} is ${width}x${height} = ${width * height} pixels, over the limit of ${maxPixels}`,
      {
        value: { width, height },
        valid: `<= ${maxPixels} pixels`,
        hint: 'Raise maxPixels if this image is expected.',
      },
    );
  }
}

/**
 * SVG is refused: rendering it is a program (librsvg) that can pull other files into the
 * pixels (`<image href>`, xi:include) and take unbounded time, and no CLIP or LLaVA input
 * needs it. Rasterize SVGs before handing them to mmrt.
 */
async function refuseSvg(source: EncodedImage): Promise<void> {
  let head: string;
  if (source.kind === 'bytes') head = new TextDecoder().decode(source.bytes.subarray(0, 1024));
  else {
    const fh = await open(source.path, 'r');
    try {
      const buf = Buffer.alloc(1024);
      const { bytesRead } = await fh.read(buf, 0, 1024, 0);
      head = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
  }
  if (
    /^\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*|<!DOCTYPE[^>]*>\s*)*<svg[\s>]/i.test(
      head.replace(/^\uFEFF/, ''),
    )
  ) {
    throw new InputError(
      'IMAGE_DECODE_FAILED',
      `${source.label} is an SVG: mmrt does not render SVG images`,
      {
        value: source.label,
        valid: 'a raster image: JPEG, PNG, WebP, GIF, TIFF, AVIF',
        hint: 'Rasterize it first (e.g. to PNG); SVG rendering can read other files and run unbounded.',
      },
    );
  }
}

async function decodeWithSharp(
  source: EncodedImage,
  maxPixels: number,
  opts: DecodeOptions,
): Promise<RgbImage> {
  const input = source.kind === 'path' ? source.path : source.bytes;
  const base = { failOn: 'error', ignoreIcc: true } as const;
  // One sharp instance reads the header and then decodes: a sharp object is ~25 KB of JS heap
  // (measured in the server's allocation profile), and a server decodes hundreds of images a
  // second; the time per image is the same either way. The header read already refuses
  // an image over the pixel limit, before any pixel is decoded; the pixel limit holds again at
  // decode in case a format's header understated the size, and the timeout stops libvips
  // itself (a decompression bomb is not waited out).
  let img = sharp(input, { ...base, limitInputPixels: Math.ceil(maxPixels) }).timeout({
    seconds: Math.max(1, Math.ceil((opts.decodeTimeoutMs ?? DEFAULT_DECODE_TIMEOUT_MS) / 1000)),
  });
  let meta: Metadata;
  try {
    meta = await img.metadata();
  } catch (e) {
    // Over the limit: read the header again without it, to say how large the image is.
    if (!/exceeds pixel limit/i.test(e instanceof Error ? e.message : String(e))) throw e;
    const size = await sharp(input, { ...base, limitInputPixels: false }).metadata();
    if (size.width && size.height) checkPixels(size.width, size.height, maxPixels, source.label);
    throw e;
  }
  if (meta.width && meta.height) checkPixels(meta.width, meta.height, maxPixels, source.label);
  const cmyk = meta.space === 'cmyk';

  if (cmyk) img = img.pipelineColourspace('cmyk');
  img = img.autoOrient();
  if (opts.fast) {
    const size =
      'shortestEdge' in opts.fast
        ? { width: opts.fast.shortestEdge, height: opts.fast.shortestEdge }
        : opts.fast;
    img = img.resize({
      ...size,
      fit: 'outside',
      kernel: 'cubic',
      fastShrinkOnLoad: true,
      withoutEnlargement: true,
    });
  }
  img = img.toColourspace(cmyk ? 'cmyk' : 'srgb');
  const { data, info } = await img.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  checkAborted(opts.signal, source.label);
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (cmyk && info.channels === 4) return cmykToRgb(bytes, info.width, info.height);
  return toRgb(
    { data: bytes, width: info.width, height: info.height, channels: info.channels },
    opts.alpha ?? 'drop',
  );
}

function mapSharpError(e: unknown, label: string, maxPixels: number): unknown {
  if (isMmrtError(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (/timeout/i.test(message)) {
    return new InputError(
      'IMAGE_DECODE_FAILED',
      `decoding ${label} took longer than its deadline and was stopped`,
      {
        value: label,
        hint: 'Raise images.decodeTimeoutMs if such images are expected.',
      },
    );
  }
  if (/exceeds pixel limit/i.test(message)) {
    return new InputError(
      'IMAGE_TOO_LARGE',
      `${label} exceeds the limit of ${maxPixels} pixels`,
      {
        value: label,
        valid: `<= ${maxPixels} pixels`,
        hint: 'Raise maxPixels if this image is expected.',
      },
      { cause: e },
    );
  }
  return new InputError(
    'IMAGE_DECODE_FAILED',
    `Cannot decode image ${label}: ${message}`,
    {
      value: label,
      valid: 'a complete JPEG, PNG, WebP, GIF, AVIF, TIFF or SVG file',
    },
    { cause: e },
  );
}
