/**
 * One HTTP exchange with the hub, and what its failures mean.
 *
 * Redirects are followed by hand: the hub answers LFS files with a redirect to a CDN, and the
 * facts we verify against (`X-Linked-Etag`, `X-Linked-Size`, `X-Repo-Commit`) are on the hub's
 * redirect, not on the CDN's final response that fetch would hand back. Following by hand also
 * keeps the bearer token on the hub's origin only.
 */
import { DownloadError, type MmrtError, ModelPackageError } from '../../errors.js';
import type { ResolvedHubOptions } from './options.js';

export interface HubResponse {
  /** The final (non-redirect) response. Its body is unread. */
  readonly response: Response;
  /**
   * Call for every body chunk: restarts the idle timer (no data for `idleTimeoutMs` aborts the
   * body with a timeout error). Call `done()` when the body is read.
   */
  readonly touch: () => void;
  readonly done: () => void;
  /** Why the exchange was cut, when a timer cut it (undefined for the caller's own abort). */
  readonly timedOut: () => string | undefined;
  /** URL of the final response. */
  readonly url: string;
  /** True when the bytes come from somewhere the hub redirected to (a CDN). */
  readonly redirected: boolean;
  /** `X-Linked-Etag` from any hop: the hub's content hash for LFS files. */
  readonly linkedEtag?: string;
  /** `X-Linked-Size` from any hop. */
  readonly linkedSize?: number;
  /** `X-Repo-Commit` from any hop. */
  readonly commit?: string;
  /** `ETag` of the first hop (the hub itself): for non-LFS files, the git blob sha1. */
  readonly hubEtag?: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

export interface HubRequest {
  readonly method?: 'GET' | 'HEAD';
  readonly headers?: Record<string, string>;
  readonly signal?: AbortSignal;
}

export async function requestHub(
  opts: ResolvedHubOptions,
  url: string,
  req: HubRequest = {},
): Promise<HubResponse> {
  const hubOrigin = new URL(opts.endpoint).origin;
  // Every exchange is bounded in time: headers within connectTimeoutMs (connect included),
  // then no gap over idleTimeoutMs between body chunks. A hub that stalls fails, and is retried.
  const controller = new AbortController();
  let timedOut: string | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (ms: number, why: string) => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = why;
      controller.abort(new Error(why));
    }, ms);
    timer.unref?.();
  };
  const onAbort = () => controller.abort(req.signal?.reason);
  if (req.signal?.aborted) onAbort();
  else req.signal?.addEventListener('abort', onAbort, { once: true });
  const done = () => {
    if (timer) clearTimeout(timer);
    req.signal?.removeEventListener('abort', onAbort);
  };
  const connectWhy = `no answer from ${new URL(url).host} within ${opts.connectTimeoutMs} ms`;
  let current = url;
  let linkedEtag: string | undefined;
  let linkedSize: number | undefined;
  let commit: string | undefined;
  let hubEtag: string | undefined;
  try {
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = {
        // fetch would otherwise ask for gzip and decode it, so byte counts and ranges would
        // refer to the compressed body while we count decoded bytes.
        'Accept-Encoding': 'identity',
        ...req.headers,
      };
      if (opts.token && new URL(current).origin === hubOrigin)
        headers['Authorization'] = `Bearer ${opts.token}`;
      arm(opts.connectTimeoutMs, connectWhy);
      const response = await opts.fetch(current, {
        method: req.method ?? 'GET',
        headers,
        redirect: 'manual',
        signal: controller.signal,
      });
      const h = response.headers;
      linkedEtag ??= h.get('x-linked-etag') ?? undefined;
      const size = h.get('x-linked-size');
      if (linkedSize === undefined && size !== null && /^\d+$/.test(size)) linkedSize = Number(size);
      commit ??= h.get('x-repo-commit') ?? undefined;
      if (hop === 0) hubEtag = h.get('etag') ?? undefined;

      const location = h.get('location');
      if (!REDIRECTS.has(response.status) || !location) {
        const idleWhy = `the transfer from ${new URL(current).host} stalled: no data for ${opts.idleTimeoutMs} ms`;
        arm(opts.idleTimeoutMs, idleWhy);
        return {
          response,
          url: current,
          redirected: hop > 0,
          linkedEtag,
          linkedSize,
          commit,
          hubEtag,
          touch: () => arm(opts.idleTimeoutMs, idleWhy),
          done,
          timedOut: () => timedOut,
        };
      }
      await response.body?.cancel();
      if (hop >= MAX_REDIRECTS) {
        throw new DownloadError('DOWNLOAD_FAILED', `Too many redirects fetching ${url}`, {
          value: url,
          hint: 'Check HF_ENDPOINT; the server redirects in a loop.',
        });
      }
      current = new URL(location, current).toString();
    }
  } catch (e) {
    done();
    if (timedOut) throw timeoutError(timedOut, url);
    throw e;
  }
}

/** A hub exchange a timer cut: transient, so retried. */
export function timeoutError(why: string, url: string): DownloadError {
  return new DownloadError('DOWNLOAD_FAILED', `Hub request timed out: ${why} (${url})`, {
    value: url,
    retryable: true,
    hint: 'The hub or the network is slow or stalled; retried automatically. Raise hub.connectTimeoutMs / hub.idleTimeoutMs for slow links.',
  });
}

/** A body read to the end under the idle timer, at most `maxBytes`. */
export async function readBody(hub: HubResponse, maxBytes: number, what: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    if (hub.response.body) {
      for await (const chunk of hub.response.body as unknown as AsyncIterable<Uint8Array>) {
        hub.touch();
        size += chunk.byteLength;
        if (size > maxBytes) {
          await hub.response.body.cancel().catch(() => undefined);
          throw new DownloadError('DOWNLOAD_FAILED', `${what} is over ${maxBytes} bytes`, {
            value: hub.url,
            valid: `at most ${maxBytes} bytes`,
          });
        }
        chunks.push(chunk);
      }
    }
  } catch (e) {
    const why = hub.timedOut();
    if (why) throw timeoutError(why, hub.url);
    throw e;
  } finally {
    hub.done();
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** `Retry-After` (seconds or an HTTP date) in ms, capped: a hub asking to wait is obeyed, within reason. */
export function retryAfterMs(response: Response, capMs = 60_000): number | undefined {
  const v = response.headers.get('retry-after');
  if (!v) return undefined;
  const seconds = /^\d+$/.test(v.trim()) ? Number(v) * 1000 : Date.parse(v) - Date.now();
  return Number.isFinite(seconds) ? Math.min(Math.max(0, seconds), capMs) : undefined;
}

export interface HttpErrorContext {
  readonly repo: string;
  readonly revision: string;
  /** The repo file, or undefined for listing requests. */
  readonly path?: string;
  readonly url: string;
}

/** Statuses worth retrying: the server or a proxy had a bad moment. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** A typed error for a non-success hub status. `details.retryable` marks transient ones. */
export function httpError(response: Response, ctx: HttpErrorContext): MmrtError {
  const status = response.status;
  const hubCode = response.headers.get('x-error-code') ?? undefined;
  const hubMessage = response.headers.get('x-error-message') ?? undefined;
  const what = ctx.path ? `"${ctx.path}" in ${ctx.repo}@${ctx.revision}` : `${ctx.repo}@${ctx.revision}`;
  const extra = hubMessage ? ` (hub says: ${hubMessage})` : '';
  const details = { value: ctx.url, status, repo: ctx.repo, revision: ctx.revision, path: ctx.path, hubCode };
  if (status === 404) {
    if (ctx.path && hubCode !== 'RepoNotFound' && hubCode !== 'RevisionNotFound') {
      return new ModelPackageError(
        'MODEL_FILE_MISSING',
        `File "${ctx.path}" not found in hub repo ${ctx.repo} at revision "${ctx.revision}"${extra}`,
        { ...details, hint: 'Check the file name and revision; list the repo files with listFiles().' },
      );
    }
    return new ModelPackageError(
      'MODEL_NOT_FOUND',
      `Hub repo ${ctx.repo} at revision "${ctx.revision}" not found${extra}`,
      {
        ...details,
        hint: 'Check the repo id and revision (branch, tag or commit) on the hub.',
      },
    );
  }
  if (status === 401 || status === 403) {
    return new DownloadError(
      'DOWNLOAD_UNAUTHORIZED',
      `Hub refused access to ${what}: HTTP ${status}${extra}`,
      {
        ...details,
        hint: 'The repo may be gated or private (or may not exist): accept its terms on the hub and set MMRT_HUB_TOKEN or HF_TOKEN to an access token; it is sent as a Bearer token.',
      },
    );
  }
  const wait = retryAfterMs(response);
  return new DownloadError('DOWNLOAD_FAILED', `Hub answered HTTP ${status} for ${what}${extra}`, {
    ...details,
    retryable: isRetryableStatus(status),
    ...(wait !== undefined && { retryAfterMs: wait }),
    hint: isRetryableStatus(status)
      ? 'The hub had a transient failure; try again later.'
      : 'Check MMRT_HUB_ENDPOINT and the repo id.',
  });
}

/** A fetch that never got a response (DNS, refused, reset) or whose body broke off. */
export function networkError(cause: unknown, ctx: HttpErrorContext): DownloadError {
  const reason =
    cause instanceof Error
      ? cause.cause instanceof Error
        ? cause.cause.message
        : cause.message
      : String(cause);
  return new DownloadError(
    'DOWNLOAD_FAILED',
    `Connection to the hub failed for ${ctx.path ? `"${ctx.path}" in ` : ''}${ctx.repo}@${ctx.revision}: ${reason}`,
    {
      value: ctx.url,
      repo: ctx.repo,
      revision: ctx.revision,
      path: ctx.path,
      retryable: true,
      hint: 'Check the network and MMRT_HUB_ENDPOINT, or set MMRT_OFFLINE=1 to use only cached files.',
    },
    { cause },
  );
}
