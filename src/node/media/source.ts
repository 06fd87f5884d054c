/**
 * Where the encoded bytes of an image come from: a file path (or file: URL), an http(s)
 * URL (global fetch, with a timeout, the caller's AbortSignal and a byte cap), or a data:
 * URL. Local files are handed to sharp by path so that huge files are not read into
 * memory before the pixel limit has a chance to reject them.
 */
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { InputError } from '../../errors.js';
import { isDataUrl, parseDataUrl } from '../../media/data-url.js';

export type EncodedImage =
  | { readonly kind: 'path'; readonly path: string; readonly label: string }
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array; readonly label: string };

export interface FetchOptions {
  readonly signal?: AbortSignal;
  /** Cap on downloaded / data: URL bytes (default 64 MiB). */
  readonly maxBytes?: number;
  /** Network timeout for http(s) (default 30 s). */
  readonly timeoutMs?: number;
}

export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_TIMEOUT_MS = 30_000;

const shorten = (s: string) => (s.length > 120 ? `${s.slice(0, 117)}...` : s);

/** Resolves a string or URL input to a path or to bytes. */
/** A limit given by the caller must be a positive finite number: -1 is not "no limit". */
export function checkLimit(name: string, value: number | undefined): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InputError('INPUT_INVALID', `${name} must be a positive number, got ${String(value)}`, {
      value,
      valid: 'a finite number > 0',
    });
  }
}

/** Schemes an image may come from. */
const SCHEMES = ['http:', 'https:', 'data:', 'file:'];

export async function resolveImageSource(
  input: string | URL,
  opts: FetchOptions = {},
): Promise<EncodedImage> {
  checkLimit('maxBytes', opts.maxBytes);
  checkLimit('timeoutMs', opts.timeoutMs);
  const text = typeof input === 'string' ? input : input.href;
  if (typeof text !== 'string' || text.length === 0) {
    throw new InputError('INPUT_INVALID', 'an image path or URL must be a non-empty string', {
      value: text,
      valid: 'a file path or an http(s)/data:/file: URL',
    });
  }
  // Any other scheme (ftp:, s3:, javascript:) is refused by name, not taken for a file name.
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase();
  if (scheme && scheme.length > 1 && !SCHEMES.includes(`${scheme}:`)) {
    throw new InputError(
      'INPUT_INVALID',
      `Unsupported URL scheme ${scheme}: for an image (${shorten(text)})`,
      {
        value: shorten(text),
        valid: SCHEMES,
      },
    );
  }
  if (isDataUrl(text)) {
    const { bytes } = parseDataUrl(text);
    checkBytes(bytes.length, opts.maxBytes ?? DEFAULT_MAX_BYTES, shorten(text));
    return { kind: 'bytes', bytes, label: shorten(text) };
  }
  if (/^https?:\/\//i.test(text)) return { kind: 'bytes', bytes: await fetchBytes(text, opts), label: text };
  let path = text;
  if (input instanceof URL || /^file:/i.test(text)) {
    const url = input instanceof URL ? input : new URL(text);
    if (url.protocol !== 'file:') {
      throw new InputError('INPUT_INVALID', `Unsupported URL scheme ${url.protocol} for an image`, {
        value: text,
        valid: ['http:', 'https:', 'data:', 'file:'],
      });
    }
    try {
      path = fileURLToPath(url);
    } catch (cause) {
      // file://host/x names another machine's file; mmrt reads this one's only.
      throw new InputError(
        'INPUT_INVALID',
        `file: URL ${shorten(text)} cannot be read here: ${(cause as Error).message}`,
        { value: shorten(text), valid: 'file:///absolute/path (no host)' },
        { cause },
      );
    }
  }
  return { kind: 'path', path, label: path };
}

export function checkBytes(size: number, maxBytes: number, label: string): void {
  if (size > maxBytes) {
    throw new InputError('IMAGE_TOO_LARGE', `${label} is ${size} bytes, over the ${maxBytes}-byte limit`, {
      value: size,
      valid: `<= ${maxBytes} bytes`,
      hint: 'Raise maxBytes if this image is expected.',
    });
  }
}

/** Throws a typed error unless `path` is a readable regular file. */
export async function checkFile(path: string): Promise<void> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new InputError('INPUT_NOT_FOUND', `Image file not found: ${path}`, { value: path }, { cause });
    }
    throw new InputError(
      'INPUT_INVALID',
      `Cannot read image file ${path}: ${code ?? cause}`,
      { value: path },
      { cause },
    );
  }
  if (!st.isFile()) {
    throw new InputError('INPUT_INVALID', `Not a regular file: ${path}`, {
      value: path,
      valid: 'an image file',
    });
  }
}

async function fetchBytes(url: string, opts: FetchOptions): Promise<Uint8Array> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  const failed = (why: string, cause?: unknown, extra: Record<string, unknown> = {}) => {
    if (opts.signal?.aborted) {
      return new InputError(
        'ABORTED',
        `Fetching ${url} was aborted`,
        { value: url },
        { cause: opts.signal.reason },
      );
    }
    const reason = timeout.aborted ? `timed out after ${opts.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms` : why;
    return new InputError(
      'INPUT_FETCH_FAILED',
      `Could not fetch image ${url}: ${reason}`,
      { value: url, ...extra },
      {
        cause,
      },
    );
  };

  let res: Response;
  try {
    res = await fetch(url, { signal, redirect: 'follow' });
  } catch (cause) {
    throw failed(describe(cause), cause);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    throw failed(`HTTP ${res.status} ${res.statusText}`.trim(), undefined, { status: res.status });
  }
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    checkBytes(declared, maxBytes, url);
  }
  if (!res.body) return new Uint8Array(0);
  // Stream with a running count: a lying or absent content-length cannot exhaust memory.
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        checkBytes(total, maxBytes, url);
      }
      chunks.push(value);
    }
  } catch (cause) {
    if (cause instanceof InputError) throw cause;
    throw failed(`connection failed while reading the body (${describe(cause)})`, cause);
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

/** undici wraps the useful part ("other side closed", ECONNREFUSED) in `cause`. */
function describe(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let i = 0; cur && i < 4; i++) {
    const err = cur as { message?: string; code?: string; cause?: unknown };
    if (err.message) parts.push(err.code ? `${err.message} [${err.code}]` : err.message);
    cur = err.cause;
  }
  return parts.join(': ') || String(e);
}
