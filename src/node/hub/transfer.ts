/**
 * One attempt at moving a file's bytes into its partial: resume with `Range` from what is
 * already there, append on 206, start over on 200, and stream chunk by chunk to disk (never
 * the whole file in memory). Retrying and verifying are the caller's job.
 */
import { open, rm, stat } from 'node:fs/promises';
import { DownloadError } from '../../errors.js';
import { abortError } from './abort.js';
import type { FileCachePaths } from './cache-layout.js';
import { type HttpErrorContext, httpError, networkError, requestHub, timeoutError } from './http.js';
import { type PartialState, readJson, writeJson } from './meta.js';
import type { ResolvedHubOptions } from './options.js';

export interface TransferResult {
  /** The partial now holds this many bytes. */
  readonly received: number;
  /** Full size per the transfer headers (Content-Length / Content-Range), if given. */
  readonly total: number | undefined;
  /** Raw ETag of the response that delivered the bytes. */
  readonly etag: string | undefined;
  readonly linkedEtag: string | undefined;
  readonly linkedSize: number | undefined;
  readonly hubEtag: string | undefined;
  readonly redirected: boolean;
  readonly commit: string | undefined;
}

export interface TransferOptions {
  readonly url: string;
  readonly paths: FileCachePaths;
  readonly ctx: HttpErrorContext;
  readonly signal: AbortSignal;
  readonly onBytes: (loaded: number, total: number | undefined) => void;
}

/** Thrown (and caught by the retry loop) when the partial must be discarded and refetched. */
export class RestartTransfer extends Error {}

async function partialSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

export async function discardPartial(paths: FileCachePaths): Promise<void> {
  await rm(paths.partial, { force: true });
  await rm(paths.partialState, { force: true });
}

// `bytes 100-199/1000` -> {start: 100, total: 1000}; `bytes */1000` -> {total: 1000}.
function parseContentRange(v: string | null): { start?: number; total?: number } {
  const m = v?.match(/^bytes\s+(?:(\d+)-\d+|\*)\/(\d+|\*)$/);
  if (!m) return {};
  return {
    start: m[1] !== undefined ? Number(m[1]) : undefined,
    total: m[2] !== undefined && m[2] !== '*' ? Number(m[2]) : undefined,
  };
}

export async function transfer(opts: ResolvedHubOptions, t: TransferOptions): Promise<TransferResult> {
  const { paths, signal } = t;
  const offset = await partialSize(paths.partial);
  const state = offset > 0 ? await readJson<PartialState>(paths.partialState) : undefined;
  const headers: Record<string, string> = {};
  if (offset > 0) {
    headers['Range'] = `bytes=${offset}-`;
    // If-Range wants a strong validator; with it, a changed file comes back whole (200).
    if (state?.etag && !state.etag.startsWith('W/')) headers['If-Range'] = state.etag;
  }

  let hub: Awaited<ReturnType<typeof requestHub>>;
  try {
    hub = await requestHub(opts, t.url, { headers, signal });
  } catch (e) {
    if (signal.aborted) throw abortError(signal, t.ctx.path ?? t.url);
    if (e instanceof DownloadError) throw e;
    throw networkError(e, t.ctx);
  }
  const res = hub.response;
  const etag = res.headers.get('etag') ?? undefined;
  const common = {
    etag,
    linkedEtag: hub.linkedEtag,
    linkedSize: hub.linkedSize,
    hubEtag: hub.hubEtag,
    redirected: hub.redirected,
    commit: hub.commit,
  };

  let start: number;
  let total: number | undefined;
  // Every early return below cancels the body: stop its timers too.
  if (res.status !== 206 && res.status !== 200) hub.done();
  if (res.status === 206) {
    const range = parseContentRange(res.headers.get('content-range'));
    if (range.start !== offset) {
      hub.done();
      await res.body?.cancel();
      await discardPartial(paths);
      throw new RestartTransfer(`server resumed at ${range.start}, not ${offset}`);
    }
    start = offset;
    total = range.total;
  } else if (res.status === 200) {
    // A full answer to a range request: the file changed (If-Range) or the server ignores ranges.
    start = 0;
    const len = res.headers.get('content-length');
    total = len !== null && /^\d+$/.test(len) ? Number(len) : undefined;
    await writeJson(paths.partialState, { etag, url: hub.url } satisfies PartialState);
  } else if (res.status === 416 && offset > 0) {
    await res.body?.cancel();
    const range = parseContentRange(res.headers.get('content-range'));
    // The partial already holds every byte (a crash between download and rename).
    if (range.total === offset) return { received: offset, total: offset, ...common };
    await discardPartial(paths);
    throw new RestartTransfer('range not satisfiable');
  } else {
    await res.body?.cancel();
    throw httpError(res, t.ctx);
  }

  const fh = await open(paths.partial, start === 0 ? 'w' : 'a');
  let received = start;
  try {
    t.onBytes(received, total);
    if (res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        hub.touch();
        await fh.write(chunk);
        received += chunk.byteLength;
        t.onBytes(received, total);
      }
    }
  } catch (e) {
    if (signal.aborted) throw abortError(signal, t.ctx.path ?? t.url);
    const why = hub.timedOut();
    if (why) throw timeoutError(why, t.url);
    throw networkError(e, t.ctx);
  } finally {
    hub.done();
    await fh.close();
  }
  return { received, total, ...common };
}
