/**
 * Images as requests carry them — an http(s) URL, a data: URI, or raw base64 (infinity's
 * `modality: "image"`) — turned into bytes before any model sees them. The server never hands
 * a model a string: a string image is a file path to the library, and a client must not be
 * able to make the server read its files. Remote URLs go through the fetcher the host plugs in
 * (the Node one enforces the host allowlist and refuses private ranges); without one they are
 * refused.
 */
import { InputError, ServeError } from '../errors.js';
import { isDataUrl, parseDataUrl } from '../media/data-url.js';

/** Fetches an allowed remote image (the host's policy: allowlist, ranges, redirects, time, bytes). */
export type ImageFetcher = (url: URL, signal: AbortSignal) => Promise<Uint8Array>;

/** Reads an encoded image's size from its header, without decoding it (Node: sharp's metadata). */
export type ImageProbe = (bytes: Uint8Array) => Promise<{ readonly width: number; readonly height: number }>;

export interface ImageSourceOptions {
  readonly fetchImage?: ImageFetcher;
  readonly probeImage?: ImageProbe;
  /** Cap on an image's encoded bytes (data: URI or base64 payload). */
  readonly maxBytes: number;
  /** Cap on its pixels, checked from the header before any model decodes it. */
  readonly maxPixels: number;
  readonly signal: AbortSignal;
}

/** An image of a request, as bytes, with a content key (for prefix matching). */
export interface RequestImage {
  readonly bytes: Uint8Array;
  /** SHA-256 of the bytes, hex: the same picture sent again has the same key. */
  readonly key: string;
}

const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

function tooLarge(bytes: number, maxBytes: number): ServeError {
  return new ServeError('IMAGE_TOO_LARGE', `the image is ${bytes} bytes, over the ${maxBytes}-byte limit`, {
    value: bytes,
    valid: `<= ${maxBytes} bytes`,
    hint: 'send a smaller image, or start the server with a higher --max-image-bytes',
  });
}

function fromBase64(text: string, maxBytes: number): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  if (Math.floor((clean.length * 3) / 4) > maxBytes)
    throw tooLarge(Math.floor((clean.length * 3) / 4), maxBytes);
  const bin = atob(clean.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** One image reference from a request body as bytes. */
export async function imageBytes(ref: unknown, options: ImageSourceOptions): Promise<Uint8Array> {
  if (typeof ref !== 'string' || ref.length === 0) {
    throw new InputError('INPUT_INVALID', 'an image must be given as a string', {
      value: typeof ref,
      valid: ['an http(s) URL', 'a data: URI', 'base64 bytes'],
    });
  }
  if (isDataUrl(ref)) {
    const comma = ref.indexOf(',');
    // Refuse an oversized payload before decoding it.
    const estimate = comma < 0 ? 0 : Math.floor(((ref.length - comma - 1) * 3) / 4);
    if (estimate > options.maxBytes) throw tooLarge(estimate, options.maxBytes);
    const { bytes } = parseDataUrl(ref);
    if (bytes.length > options.maxBytes) throw tooLarge(bytes.length, options.maxBytes);
    return bytes;
  }
  if (/^https?:\/\//i.test(ref)) {
    let url: URL;
    try {
      url = new URL(ref);
    } catch {
      throw new InputError('INPUT_INVALID', `${ref.slice(0, 120)} is not a valid URL`, {
        value: ref.slice(0, 120),
      });
    }
    if (!options.fetchImage) {
      throw new ServeError(
        'INPUT_URL_REFUSED',
        `remote image URLs are not allowed on this server (${url.host})`,
        {
          value: url.host,
          valid: ['a data: URI', 'base64 bytes'],
          hint: 'send the image inline, or start the server with --allow-image-host',
        },
      );
    }
    return options.fetchImage(url, options.signal);
  }
  if (ref.length >= 8 && BASE64.test(ref.replace(/\s+/g, ''))) {
    try {
      return fromBase64(ref, options.maxBytes);
    } catch (e) {
      if (e instanceof ServeError) throw e;
    }
  }
  throw new InputError(
    'INPUT_INVALID',
    `${JSON.stringify(ref.slice(0, 40))} is not an http(s) URL, a data: URI or base64 (the server does not read file paths)`,
    { value: ref.slice(0, 40), valid: ['an http(s) URL', 'a data: URI', 'base64 bytes'] },
  );
}

export async function contentKey(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  let hex = '';
  for (const b of new Uint8Array(digest)) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/**
 * An image of a request: bytes, checked from its header (refused when it is no image or has
 * more pixels than allowed: a small PNG can claim 100k x 100k), with its content key.
 */
export async function requestImage(ref: unknown, options: ImageSourceOptions): Promise<RequestImage> {
  const bytes = await imageBytes(ref, options);
  if (options.probeImage) {
    let size: { width: number; height: number };
    try {
      size = await options.probeImage(bytes);
    } catch (e) {
      throw new InputError(
        'IMAGE_DECODE_FAILED',
        `not a readable image (${bytes.length} bytes): ${(e as Error).message}`,
        {
          value: bytes.length,
          valid: 'a JPEG, PNG, WebP, GIF, AVIF or TIFF image',
        },
      );
    }
    if (size.width * size.height > options.maxPixels) {
      throw new ServeError(
        'IMAGE_TOO_LARGE',
        `the image is ${size.width}x${size.height} = ${size.width * size.height} pixels, over the limit of ${options.maxPixels}`,
        { value: { width: size.width, height: size.height }, valid: `<= ${options.maxPixels} pixels` },
      );
    }
  }
  return { bytes, key: await contentKey(bytes) };
}

/** One content part of a request: text, or an image reference (OpenAI's and the Responses API's spellings). */
export type RequestPart =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'image'; readonly ref: string };

/** `{type: 'text', text}` / `{type: 'image_url', image_url: {url} | url}` (and `input_text` / `input_image`). */
export function readPart(part: unknown, param: string): RequestPart {
  const p = part as { type?: unknown; text?: unknown; image_url?: unknown };
  if (p && typeof p === 'object') {
    if ((p.type === 'text' || p.type === 'input_text') && typeof p.text === 'string')
      return { type: 'text', text: p.text };
    if (p.type === 'image_url' || p.type === 'input_image') {
      const url =
        typeof p.image_url === 'string' ? p.image_url : (p.image_url as { url?: unknown } | undefined)?.url;
      if (typeof url === 'string' && url.length > 0) return { type: 'image', ref: url };
      throw new InputError('INPUT_INVALID', `${param} is an image part without image_url.url`, {
        param,
        valid: '{ "type": "image_url", "image_url": { "url": "data:image/png;base64,..." } }',
      });
    }
  }
  throw new InputError('INPUT_INVALID', `${param} is not a text or image_url content part`, {
    param,
    value: p && typeof p === 'object' ? p.type : typeof p,
    valid: ['{ "type": "text", "text": "..." }', '{ "type": "image_url", "image_url": { "url": "..." } }'],
  });
}

/** `input` of the image endpoints: one image (a string or an image part) or a list of them. */
export function readImageList(
  value: unknown,
  param: string,
): Array<{ readonly ref: string; readonly param: string }> {
  const list = Array.isArray(value) ? value : [value];
  if (value === undefined || value === null || list.length === 0) {
    throw new InputError('INPUT_INVALID', `"${param}" must be an image or a list of images`, {
      param,
      valid: [
        'an http(s) URL',
        'a data: URI',
        'base64 bytes',
        '{ "type": "image_url", "image_url": { "url": "..." } }',
      ],
    });
  }
  return list.map((item, i) => {
    const where = Array.isArray(value) ? `${param}[${i}]` : param;
    if (typeof item === 'string') return { ref: item, param: where };
    const part = readPart(item, where);
    if (part.type !== 'image')
      throw new InputError('INPUT_INVALID', `${where} is text; an image was expected`, { param: where });
    return { ref: part.ref, param: where };
  });
}
