/**
 * Bounded fetches for the web host: bytes with progress, a byte cap, an idle timeout (no byte
 * for that long fails the read; a large model may take minutes, a stalled one must not hang)
 * and the caller's AbortSignal, failing with typed errors that name the URL.
 */
import { DownloadError, type ErrorCode, InputError, MmrtError } from '../errors.js';

export interface FetchBytesOptions {
  readonly signal?: AbortSignal;
  /** Fail when no byte arrives for this long. Default 30 s. */
  readonly idleTimeoutMs?: number;
  /** Refuse bodies longer than this. Default unlimited. */
  readonly maxBytes?: number;
  /** The size the caller expects (a listing's), for progress when the server sends no length. */
  readonly expectedBytes?: number;
  readonly onProgress?: (loaded: number, total: number | undefined) => void;
  /** Model files fail with download errors, images with input errors. */
  readonly kind?: 'download' | 'input';
  /** Consult the HTTP cache (`default`) or not (`no-store`, for files mmrt caches itself). */
  readonly cache?: RequestCache;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

function fail(kind: 'download' | 'input', code: ErrorCode, message: string, url: string, cause?: unknown) {
  const details = { value: url };
  if (kind === 'input') {
    const c: ErrorCode = code === 'DOWNLOAD_ABORTED' ? 'ABORTED' : 'INPUT_FETCH_FAILED';
    return new InputError(c, message, details, { cause });
  }
  return new DownloadError(code, message, details, { cause });
}

export async function fetchBytes(url: string, options: FetchBytesOptions = {}): Promise<Uint8Array> {
  const kind = options.kind ?? 'download';
  const idle = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const controller = new AbortController();
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, idle);
  };
  const onAbort = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) throw fail(kind, 'DOWNLOAD_ABORTED', `fetching ${url} was aborted`, url);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const why = (e: unknown) => {
    if (options.signal?.aborted) return fail(kind, 'DOWNLOAD_ABORTED', `fetching ${url} was aborted`, url, e);
    if (timedOut) return fail(kind, 'DOWNLOAD_FAILED', `fetching ${url}: no data for ${idle} ms`, url, e);
    if (e instanceof MmrtError) return e;
    return fail(
      kind,
      'DOWNLOAD_FAILED',
      `fetching ${url} failed: ${e instanceof Error ? e.message : String(e)}`,
      url,
      e,
    );
  };
  try {
    arm();
    let response: Response;
    try {
      response = await fetch(url, { signal: controller.signal, cache: options.cache ?? 'default' });
    } catch (e) {
      throw why(e);
    }
    if (!response.ok) {
      const code: ErrorCode =
        response.status === 401 || response.status === 403 ? 'DOWNLOAD_UNAUTHORIZED' : 'DOWNLOAD_FAILED';
      throw fail(kind, code, `fetching ${url} failed: HTTP ${response.status} ${response.statusText}`, url);
    }
    const header = Number(response.headers.get('content-length'));
    const total = Number.isFinite(header) && header > 0 ? header : options.expectedBytes;
    const max = options.maxBytes ?? Number.POSITIVE_INFINITY;
    const tooBig = (n: number) =>
      kind === 'input'
        ? new InputError('IMAGE_TOO_LARGE', `${url} is over the ${max}-byte limit (${n} bytes)`, {
            value: n,
            valid: `<= ${max} bytes`,
          })
        : fail(kind, 'DOWNLOAD_FAILED', `${url} is over the ${max}-byte limit (${n} bytes)`, url);
    if (total !== undefined && total > max) throw tooBig(total);
    const reader = response.body?.getReader();
    if (!reader) return new Uint8Array(await response.arrayBuffer());
    const chunks: Uint8Array[] = [];
    let loaded = 0;
    options.onProgress?.(0, total);
    for (;;) {
      let step: ReadableStreamReadResult<Uint8Array>;
      try {
        step = await reader.read();
      } catch (e) {
        throw why(e);
      }
      if (step.done) break;
      arm();
      loaded += step.value.byteLength;
      if (loaded > max) {
        await reader.cancel().catch(() => undefined);
        throw tooBig(loaded);
      }
      chunks.push(step.value);
      options.onProgress?.(loaded, total);
    }
    if (chunks.length === 1) return chunks[0]!;
    const out = new Uint8Array(loaded);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}
