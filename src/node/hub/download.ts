/**
 * Get one file into the cache: transfer attempts with retries (each resuming from the
 * partial), then size and checksum verification, then the blob (atomic rename), the ref and
 * the snapshot link that make it visible. The caller holds the file's lock.
 */
import { rename, rm, stat } from 'node:fs/promises';
import { DownloadError, isMmrtError } from '../../errors.js';
import { normalizeEtag } from '../../hub/checksum.js';
import { abortError, sleep } from './abort.js';
import { type FileCachePaths, type RepoCacheLayout, isCommit } from './cache-layout.js';
import type { HttpErrorContext } from './http.js';
import type { DownloadProgress, ProgressListener } from './inflight.js';
import type { CachedFile } from './meta.js';
import type { ResolvedHubOptions } from './options.js';
import { RestartTransfer, discardPartial, transfer } from './transfer.js';
import { expectedChecksum, expectedSize, hashFile, integrityError } from './verify.js';

export interface DownloadJob {
  readonly repo: string;
  readonly revision: string;
  readonly path: string;
  readonly url: string;
  readonly paths: FileCachePaths;
  readonly layout: RepoCacheLayout;
  /** The commit to file the snapshot under when the hub sends none (the listing's). */
  readonly knownCommit?: string;
  /** The size the listing gave, held against a response that says none. */
  readonly listedSize?: number;
  readonly signal: AbortSignal;
  readonly emit: ProgressListener;
}

/** A restart (server ignored our range) is not a failure, but must not loop forever. */
const MAX_RESTARTS = 3;

/**
 * Progress that only moves forward: when a server ignores a resume and sends the file from
 * byte 0, reports pause until the new transfer passes the old high-water mark.
 */
export function monotonicProgress(file: string, emit: ProgressListener) {
  let high = -1;
  let last: DownloadProgress | undefined;
  const send = (p: DownloadProgress) => {
    last = p;
    emit(p);
  };
  return {
    bytes(loaded: number, total: number | undefined) {
      if (loaded > high) {
        high = loaded;
        send({ file, loaded, total });
      }
    },
    /** The closing report: loaded === total === the verified size. */
    done(size: number) {
      if (last?.loaded !== size || last.total !== size) send({ file, loaded: size, total: size });
    },
  };
}

function isRetryable(e: unknown): boolean {
  return isMmrtError(e) && e.code === 'DOWNLOAD_FAILED' && e.details['retryable'] === true;
}

export async function downloadToCache(opts: ResolvedHubOptions, job: DownloadJob): Promise<CachedFile> {
  const { signal } = job;
  const ctx: HttpErrorContext = { repo: job.repo, revision: job.revision, path: job.path, url: job.url };
  const progress = monotonicProgress(job.path, job.emit);
  let failures = 0;
  let restarts = 0;
  for (;;) {
    try {
      const meta = await attempt(opts, job, ctx, progress.bytes);
      progress.done(meta.size);
      return meta;
    } catch (e) {
      if (signal.aborted) throw abortError(signal, job.path);
      if (e instanceof RestartTransfer && ++restarts <= MAX_RESTARTS) continue;
      if (e instanceof RestartTransfer) {
        throw new DownloadError(
          'DOWNLOAD_FAILED',
          `Hub kept refusing to resume "${job.path}": ${e.message}`,
          {
            value: job.url,
            hint: 'Delete the cache entry and retry.',
          },
        );
      }
      if (!isRetryable(e) || failures >= opts.retries) throw e;
      failures++;
      const asked = Number((e as DownloadError).details['retryAfterMs'] ?? 0);
      await sleep(Math.max(opts.retryDelayMs * 2 ** (failures - 1), asked), signal, job.path);
    }
  }
}

async function attempt(
  opts: ResolvedHubOptions,
  job: DownloadJob,
  ctx: HttpErrorContext,
  onBytes: (loaded: number, total: number | undefined) => void,
): Promise<CachedFile> {
  const { paths } = job;
  const r = await transfer(opts, { url: job.url, paths, ctx, signal: job.signal, onBytes });
  const size = (await stat(paths.partial).catch(() => ({ size: 0 }))).size;
  // A response with no size and no checksum is held to the listing's size: a body that ends
  // early and cleanly must not become the cached file.
  const wantSize = expectedSize(r) ?? job.listedSize;
  if (wantSize !== undefined && size < wantSize) {
    // The body ended cleanly but short: treat like a dropped connection and resume.
    throw new DownloadError('DOWNLOAD_FAILED', `Hub sent ${size} of ${wantSize} bytes of "${job.path}"`, {
      value: job.url,
      retryable: true,
      hint: 'The connection ended early; retry resumes from the partial.',
    });
  }
  if (wantSize !== undefined && size > wantSize) {
    await discardPartial(paths);
    throw integrityError(`${job.repo}/${job.path}`, 'size', wantSize, size);
  }
  const checksum = expectedChecksum(r);
  if (checksum) {
    const actual = await hashFile(paths.partial, checksum.algorithm, size);
    if (actual !== checksum.hex) {
      await discardPartial(paths);
      throw integrityError(`${job.repo}/${job.path}`, checksum.algorithm, checksum.hex, actual);
    }
  }
  // The blob is named by the hub's ETag of the content (what Python's cache does); a hub that
  // sends none gets the sha256 we compute, so the blob is still content-addressed.
  const etag =
    normalizeEtag(r.linkedEtag) ??
    normalizeEtag(r.hubEtag) ??
    (await hashFile(paths.partial, 'sha256', size));
  const commit = isCommit(r.commit) ? r.commit : (job.knownCommit ?? encodeURIComponent(job.revision));
  const blob = job.layout.blobPath(etag);
  await rename(paths.partial, blob);
  await rm(paths.partialState, { force: true });
  await job.layout.writeRef(commit);
  const dest = await job.layout.link(commit, job.path, blob);
  return { dest, size, etag, commit, ...(checksum ? { checksum } : {}) };
}
