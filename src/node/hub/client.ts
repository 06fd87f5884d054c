/**
 * The hub client: cache policy around downloads and listings. A cached file is served
 * without touching the network; offline mode serves the cache or fails saying what is
 * missing; a miss downloads once per process (shared in-flight promise) and once across
 * processes (lock file), then lands in the cache by atomic rename.
 */
import { stat } from 'node:fs/promises';
import { DownloadError, isMmrtError } from '../../errors.js';
import { checksumFromEtag, normalizeEtag } from '../../hub/checksum.js';
import { parseHubListing } from '../../hub/listing.js';
import { hubFileUrl, hubListingUrl } from '../../hub/reference.js';
import { abortError, sleep } from './abort.js';
import { type FileCachePaths, RepoCacheLayout } from './cache-layout.js';
import { downloadToCache } from './download.js';
import { httpError, networkError, requestHub } from './http.js';
import { type DownloadProgress, joinFlight } from './inflight.js';
import { acquireLock } from './lock.js';
import { type FileMeta, type RepoListing, readJson, writeJson } from './meta.js';
import { type HubOptions, type ResolvedHubOptions, resolveHubOptions } from './options.js';

export interface DownloadOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: DownloadProgress) => void;
  /** Ask the hub whether the cached copy is current (HEAD) and refetch it if not. */
  readonly forceRevalidate?: boolean;
}

export interface ListOptions {
  readonly signal?: AbortSignal;
  /** Refetch the listing even when one is cached. */
  readonly forceRevalidate?: boolean;
}

interface CacheHit {
  readonly dest: string;
  readonly size: number;
  readonly meta: FileMeta | undefined;
}

export class HubClient {
  readonly options: ResolvedHubOptions;

  constructor(options: HubOptions = {}) {
    this.options = resolveHubOptions(options);
  }

  layout(repo: string, revision: string): RepoCacheLayout {
    return new RepoCacheLayout(this.options.cacheDir, repo, revision);
  }

  /** The cached file's absolute path, or undefined when it is not (fully) in the cache. */
  async cachedPath(repo: string, revision: string, path: string): Promise<string | undefined> {
    return (await this.cacheHit(this.layout(repo, revision).file(path)))?.dest;
  }

  /** Download `path` of `repo@revision` into the cache (or find it there); its absolute path. */
  async downloadFile(
    repo: string,
    revision: string,
    path: string,
    opts: DownloadOptions = {},
  ): Promise<string> {
    const layout = this.layout(repo, revision);
    const paths = layout.file(path);
    const what = `"${path}" from ${repo}@${revision}`;
    if (opts.signal?.aborted) throw abortError(opts.signal, what);
    const hit = await this.cacheHit(paths);
    if (
      hit &&
      (this.options.offline ||
        !opts.forceRevalidate ||
        (await this.isCurrent(hit, repo, revision, path, opts)))
    ) {
      opts.onProgress?.({ file: path, loaded: hit.size, total: hit.size });
      return hit.dest;
    }
    if (this.options.offline) {
      throw new DownloadError(
        'OFFLINE_MISS',
        `Offline mode is on and ${what} is not in the cache (${paths.dest})`,
        {
          value: `${repo}@${revision}/${path}`,
          cacheDir: this.options.cacheDir,
          hint: 'Download it once with network access (unset MMRT_OFFLINE / offline), or point MMRT_CACHE_DIR at a cache that has it.',
        },
      );
    }
    // Replace only what we saw as stale; a newer copy written meanwhile counts as done.
    const staleStamp = hit ? (hit.meta?.downloadedAt ?? 'unrecorded') : undefined;
    const done = async () => {
      const now = await this.cacheHit(paths);
      return now !== undefined && (now.meta?.downloadedAt ?? 'unrecorded') !== staleStamp;
    };
    const url = hubFileUrl(this.options.endpoint, repo, revision, path);
    return joinFlight(
      paths.dest,
      async (signal, emit) => {
        await layout.prepare(paths);
        const lock = await acquireLock(paths.lock, {
          staleMs: this.options.staleLockMs,
          pollMs: this.options.lockPollMs,
          signal,
          what,
          doneElsewhere: done,
        });
        try {
          // Another process may have finished between our cache check and taking the lock.
          if (!lock || (await done())) {
            const size = (await stat(paths.dest)).size;
            emit({ file: path, loaded: size, total: size });
            return paths.dest;
          }
          await downloadToCache(this.options, { repo, revision, path, url, paths, signal, emit });
          return paths.dest;
        } finally {
          await lock?.release();
        }
      },
      { signal: opts.signal, onProgress: opts.onProgress, what },
    );
  }

  /** The repo's file paths at `revision`, sorted. */
  async listFiles(repo: string, revision: string, opts: ListOptions = {}): Promise<string[]> {
    return (await this.getListing(repo, revision, opts)).files.map((f) => f.path);
  }

  /** The repo listing (paths, sizes when known, commit), from the cache or the hub's API. */
  async getListing(repo: string, revision: string, opts: ListOptions = {}): Promise<RepoListing> {
    const layout = this.layout(repo, revision);
    const cached = await readJson<RepoListing>(layout.listing);
    if (cached && (this.options.offline || !opts.forceRevalidate)) return cached;
    if (this.options.offline) {
      throw new DownloadError(
        'OFFLINE_MISS',
        `Offline mode is on and the file listing of ${repo}@${revision} is not in the cache`,
        {
          value: `${repo}@${revision}`,
          cacheDir: this.options.cacheDir,
          hint: 'List or load the model once with network access, or unset MMRT_OFFLINE.',
        },
      );
    }
    const listing = await this.fetchListing(repo, revision, opts.signal);
    await writeJson(layout.listing, listing);
    return listing;
  }

  /** The file's size: from the cache, the cached listing, or a HEAD request. */
  async fileSize(
    repo: string,
    revision: string,
    path: string,
    opts: { signal?: AbortSignal } = {},
  ): Promise<number> {
    const hit = await this.cacheHit(this.layout(repo, revision).file(path));
    if (hit) return hit.size;
    const listing = await readJson<RepoListing>(this.layout(repo, revision).listing);
    const listed = listing?.files.find((f) => f.path === path)?.size;
    if (listed !== undefined) return listed;
    const head = await this.head(repo, revision, path, opts.signal);
    if (head.size === undefined) {
      throw new DownloadError(
        'DOWNLOAD_FAILED',
        `Hub did not report the size of "${path}" in ${repo}@${revision}`,
        {
          value: path,
          hint: 'Download the file (localPath/readBytes) to learn its size.',
        },
      );
    }
    return head.size;
  }

  /** HEAD the file: what the hub currently says about it, without its bytes. */
  async head(
    repo: string,
    revision: string,
    path: string,
    signal?: AbortSignal,
  ): Promise<{ size: number | undefined; etag: string | undefined; commit: string | undefined }> {
    if (this.options.offline) {
      throw new DownloadError(
        'OFFLINE_MISS',
        `Offline mode is on; cannot ask the hub about "${path}" in ${repo}@${revision}`,
        {
          value: `${repo}@${revision}/${path}`,
          hint: 'Unset MMRT_OFFLINE, or download the file while online.',
        },
      );
    }
    const url = hubFileUrl(this.options.endpoint, repo, revision, path);
    const ctx = { repo, revision, path, url };
    const hub = await this.withRetries(`"${path}"`, signal, async () => {
      let hub: Awaited<ReturnType<typeof requestHub>>;
      try {
        hub = await requestHub(this.options, url, { method: 'HEAD', ...(signal ? { signal } : {}) });
      } catch (e) {
        throw isMmrtError(e) ? e : networkError(e, ctx);
      }
      if (!hub.response.ok) throw httpError(hub.response, ctx);
      return hub;
    });
    const len = hub.response.headers.get('content-length');
    return {
      size: hub.linkedSize ?? (len !== null && /^\d+$/.test(len) ? Number(len) : undefined),
      etag: hub.linkedEtag ?? hub.hubEtag,
      commit: hub.commit,
    };
  }

  private async cacheHit(paths: FileCachePaths): Promise<CacheHit | undefined> {
    let size: number;
    try {
      const st = await stat(paths.dest);
      if (!st.isFile()) return undefined;
      size = st.size;
    } catch {
      return undefined;
    }
    const meta = await readJson<FileMeta>(paths.meta);
    // A file whose size disagrees with its record was tampered with or truncated: a miss.
    if (meta && meta.size !== size) return undefined;
    return { dest: paths.dest, size, meta };
  }

  /** For forceRevalidate: does the hub still serve what we hold? */
  private async isCurrent(
    hit: CacheHit,
    repo: string,
    revision: string,
    path: string,
    opts: DownloadOptions,
  ) {
    const remote = await this.head(repo, revision, path, opts.signal);
    if (remote.size !== undefined && remote.size !== hit.size) return false;
    const theirs = checksumFromEtag(remote.etag);
    if (theirs && hit.meta?.checksum) return theirs.hex === hit.meta.checksum.hex;
    return (
      normalizeEtag(remote.etag) !== undefined && normalizeEtag(remote.etag) === normalizeEtag(hit.meta?.etag)
    );
  }

  private async fetchListing(
    repo: string,
    revision: string,
    signal: AbortSignal | undefined,
  ): Promise<RepoListing> {
    // blobs=true makes the hub include each file's size, so size() needs no HEAD.
    const url = `${hubListingUrl(this.options.endpoint, repo, revision)}?blobs=true`;
    const ctx = { repo, revision, url };
    const body = await this.withRetries(`listing of ${repo}@${revision}`, signal, async () => {
      let res: Response;
      try {
        res = (
          await requestHub(this.options, url, {
            headers: { Accept: 'application/json' },
            ...(signal ? { signal } : {}),
          })
        ).response;
        if (!res.ok) {
          await res.body?.cancel();
          throw httpError(res, ctx);
        }
        return (await res.json()) as unknown;
      } catch (e) {
        if (isMmrtError(e)) throw e;
        throw networkError(e, ctx);
      }
    });
    return parseListing(body, repo, revision, url);
  }

  /** Run a hub request, retrying transient failures with exponential backoff. */
  private async withRetries<T>(
    what: string,
    signal: AbortSignal | undefined,
    fn: () => Promise<T>,
  ): Promise<T> {
    for (let failures = 0; ; failures++) {
      try {
        return await fn();
      } catch (e) {
        if (signal?.aborted) throw abortError(signal, what);
        const retryable = e instanceof DownloadError && e.details['retryable'] === true;
        if (!retryable || failures >= this.options.retries) throw e;
        await sleep(this.options.retryDelayMs * 2 ** failures, signal, what);
      }
    }
  }
}

/** The hub's `{ sha, siblings: [{ rfilename, size?, lfs?: { size } }] }`, validated. */
export function parseListing(body: unknown, repo: string, revision: string, url: string): RepoListing {
  const listing = parseHubListing(body, `${repo}@${revision}`, url);
  return {
    repo,
    revision,
    ...(listing.sha !== undefined ? { sha: listing.sha } : {}),
    files: listing.files.map((f) =>
      f.size === undefined ? { path: f.path } : { path: f.path, size: f.size },
    ),
    fetchedAt: new Date().toISOString(),
  };
}
