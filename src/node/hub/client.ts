/**
 * The hub client: cache policy around downloads and listings. A cached file is served
 * without touching the network; offline mode serves the cache or fails saying what is
 * missing; a miss downloads once per process (shared in-flight promise) and once across
 * processes (lock file), then lands in the Hugging Face cache layout (cache-layout.ts) by atomic
 * rename. Downloads are mmrt's own (resume, checksum, locks; `@huggingface/hub`'s
 * downloadFileToCacheDir does none of the three); the layout is Hugging Face's, so caches are shared.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { DownloadError, isMmrtError } from '../../errors.js';
import { normalizeEtag } from '../../hub/checksum.js';
import { parseHubListing } from '../../hub/listing.js';
import { hubFileUrl, hubListingUrl } from '../../hub/reference.js';
import { abortError, sleep } from './abort.js';
import { RepoCacheLayout, blobName, isCommit } from './cache-layout.js';
import { downloadToCache } from './download.js';
import { httpError, networkError, readBody, requestHub } from './http.js';
import { type DownloadProgress, joinFlight } from './inflight.js';
import { acquireLock } from './lock.js';
import { type RepoListing, readJson, writeJson } from './meta.js';
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
  readonly commit: string;
}

export class HubClient {
  readonly options: ResolvedHubOptions;

  constructor(options: HubOptions = {}) {
    this.options = resolveHubOptions(options);
  }

  layout(repo: string, revision: string): RepoCacheLayout {
    return new RepoCacheLayout(this.options.cacheDir, repo, revision);
  }

  /** The cached file's path (its snapshot entry), or undefined when it is not in the cache. */
  async cachedPath(repo: string, revision: string, path: string): Promise<string | undefined> {
    return (await this.cacheHit(this.layout(repo, revision), path))?.dest;
  }

  /** Download `path` of `repo@revision` into the cache (or find it there); its snapshot path. */
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
    const report = (p: DownloadProgress) => {
      opts.onProgress?.(p);
      this.options.onProgress?.({ ...p, repo, revision });
    };
    const hit = await this.cacheHit(layout, path);
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
        `Offline mode is on and ${what} is not in the cache (${layout.repoDir})`,
        {
          value: `${repo}@${revision}/${path}`,
          cacheDir: this.options.cacheDir,
          hint: 'Download it once with network access (unset HF_HUB_OFFLINE / MMRT_OFFLINE / offline), or point HF_HUB_CACHE at a cache that has it.',
        },
      );
    }
    // The content may be in the cache already under another snapshot (another revision, or a
    // cache written by a tool that files snapshots differently): link it, download nothing.
    if (!opts.forceRevalidate) {
      const linked = await this.linkKnownBlob(layout, path);
      if (linked) {
        opts.onProgress?.({ file: path, loaded: linked.size, total: linked.size });
        return linked.dest;
      }
    }
    // Replace only what we saw as stale; a newer copy written meanwhile counts as done.
    const stale = hit ? await realpath(hit.dest).catch(() => hit.dest) : undefined;
    const done = async () => {
      const now = await this.cacheHit(layout, path);
      if (!now) return false;
      return stale === undefined || (await realpath(now.dest).catch(() => now.dest)) !== stale;
    };
    const url = hubFileUrl(this.options.endpoint, repo, revision, path);
    const listing = await readJson<RepoListing>(layout.listing);
    const knownCommit = listing?.sha;
    const listedSize = listing?.files.find((f) => f.path === path)?.size;
    return joinFlight(
      `${layout.repoDir}\u0000${revision}\u0000${path}`,
      async (signal, emit) => {
        await layout.prepare();
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
            const now = (await this.cacheHit(layout, path))!;
            emit({ file: path, loaded: now.size, total: now.size });
            return now.dest;
          }
          const got = await downloadToCache(this.options, {
            repo,
            revision,
            path,
            url,
            paths,
            layout,
            ...(isCommit(knownCommit) && { knownCommit }),
            ...(listedSize !== undefined && { listedSize }),
            signal,
            emit,
          });
          return got.dest;
        } finally {
          await lock?.release();
        }
      },
      { signal: opts.signal, onProgress: report, what },
    );
  }

  /**
   * Link a blob the cache already holds for this file (by the content id the listing gives)
   * into this revision's snapshot. Only from a cached listing: no request is made for it.
   */
  private async linkKnownBlob(layout: RepoCacheLayout, path: string): Promise<CacheHit | undefined> {
    const listing = await readJson<RepoListing>(layout.listing);
    const entry = listing?.files.find((f) => f.path === path);
    if (!listing?.sha || !isCommit(listing.sha) || !entry?.oid) return undefined;
    const blob = layout.blobPath(entry.oid);
    const st = await stat(blob).catch(() => undefined);
    if (!st?.isFile() || (entry.size !== undefined && st.size !== entry.size)) return undefined;
    await layout.writeRef(listing.sha);
    const dest = await layout.link(listing.sha, path, blob);
    return { dest, size: st.size, commit: listing.sha };
  }

  /** The repo's file paths at `revision`, sorted. */
  async listFiles(repo: string, revision: string, opts: ListOptions = {}): Promise<string[]> {
    return (await this.getListing(repo, revision, opts)).files.map((f) => f.path);
  }

  /**
   * The repo listing (paths, sizes when known, commit), from the cache or the hub's API.
   * Offline with no listing kept, the snapshot the revision points at is listed instead: a
   * model another tool downloaded lists as the files it holds.
   */
  async getListing(repo: string, revision: string, opts: ListOptions = {}): Promise<RepoListing> {
    const layout = this.layout(repo, revision);
    const cached = await readJson<RepoListing>(layout.listing);
    if (cached && (this.options.offline || !opts.forceRevalidate)) return cached;
    if (this.options.offline) {
      const snapshot = await this.snapshotListing(layout);
      if (snapshot) return snapshot;
      throw new DownloadError(
        'OFFLINE_MISS',
        `Offline mode is on and ${repo}@${revision} is not in the cache (${layout.repoDir})`,
        {
          value: `${repo}@${revision}`,
          cacheDir: this.options.cacheDir,
          hint: 'List or load the model once with network access, or unset HF_HUB_OFFLINE / MMRT_OFFLINE.',
        },
      );
    }
    const listing = await this.fetchListing(repo, revision, opts.signal);
    await writeJson(layout.listing, listing);
    return listing;
  }

  /** Every file of the cached snapshot of this revision, as a listing (no network). */
  private async snapshotListing(layout: RepoCacheLayout): Promise<RepoListing | undefined> {
    const commit = await layout.commit();
    if (!commit) return undefined;
    const root = layout.snapshotDir(commit);
    const files: Array<{ path: string; size: number }> = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
        const full = join(dir, entry.name);
        if (entry.isDirectory()) await walk(full, rel);
        else {
          // Entries are symlinks into blobs/: only complete blobs count.
          const st = await stat(full).catch(() => undefined);
          if (st?.isFile()) files.push({ path: rel, size: st.size });
        }
      }
    };
    await walk(root, '');
    if (files.length === 0) return undefined;
    files.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
    return {
      repo: layout.repo,
      revision: layout.revision,
      sha: commit,
      files,
      fetchedAt: new Date().toISOString(),
    };
  }

  /** The file's size: from the cache, the cached listing, or a HEAD request. */
  async fileSize(
    repo: string,
    revision: string,
    path: string,
    opts: { signal?: AbortSignal } = {},
  ): Promise<number> {
    const layout = this.layout(repo, revision);
    const hit = await this.cacheHit(layout, path);
    if (hit) return hit.size;
    const listing = await readJson<RepoListing>(layout.listing);
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

  /** Names the cached content of a file without downloading it: its commit and blob, else the listing's. */
  async fingerprint(repo: string, revision: string, path: string): Promise<string> {
    const layout = this.layout(repo, revision);
    const hit = await this.cacheHit(layout, path);
    if (hit) return `${hit.commit}:${basename(await realpath(hit.dest).catch(() => hit.dest))}:${hit.size}`;
    const listing = await readJson<RepoListing>(layout.listing);
    const entry = listing?.files.find((f) => f.path === path);
    if (listing?.sha && entry?.oid) return `${listing.sha}:${entry.oid}:${entry.size ?? '?'}`;
    return `${revision}:${await this.fileSize(repo, revision, path)}`;
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
      hub.done();
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

  /** The snapshot entry of this file at the commit the revision points at in the cache. */
  private async cacheHit(layout: RepoCacheLayout, path: string): Promise<CacheHit | undefined> {
    const commit = await layout.commit();
    if (!commit) return undefined;
    const found = await layout.resolveSnapshot(commit, path);
    return found && { ...found, commit };
  }

  /** For forceRevalidate: does the hub still serve what we hold (same size, same content id)? */
  private async isCurrent(
    hit: CacheHit,
    repo: string,
    revision: string,
    path: string,
    opts: DownloadOptions,
  ) {
    const remote = await this.head(repo, revision, path, opts.signal);
    if (remote.size !== undefined && remote.size !== hit.size) return false;
    const etag = normalizeEtag(remote.etag);
    if (etag === undefined) return false;
    const held = basename(await realpath(hit.dest).catch(() => hit.dest));
    if (held !== blobName(etag)) return false;
    if (isCommit(remote.commit) && remote.commit !== hit.commit) {
      // Same content at a new commit: file it there too, no download.
      const layout = this.layout(repo, revision);
      await layout.writeRef(remote.commit);
      await layout.link(remote.commit, path, layout.blobPath(etag));
    }
    return true;
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
      try {
        const hub = await requestHub(this.options, url, {
          headers: { Accept: 'application/json' },
          ...(signal ? { signal } : {}),
        });
        const res = hub.response;
        if (!res.ok) {
          hub.done();
          await res.body?.cancel();
          throw httpError(res, ctx);
        }
        // A listing is small; one over 64 MiB is not a hub's.
        const body = await readBody(hub, 64 * 1024 * 1024, `the listing of ${repo}@${revision}`);
        try {
          return JSON.parse(new TextDecoder().decode(body)) as unknown;
        } catch (e) {
          throw new DownloadError(
            'DOWNLOAD_FAILED',
            `Hub listing for ${repo}@${revision} is not JSON`,
            {
              value: url,
              hint: 'Check HF_ENDPOINT points at a Hugging Face compatible hub.',
            },
            { cause: e },
          );
        }
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
        const asked = Number((e as DownloadError).details['retryAfterMs'] ?? 0);
        await sleep(Math.max(this.options.retryDelayMs * 2 ** failures, asked), signal, what);
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
    files: listing.files.map((f) => ({
      path: f.path,
      ...(f.size !== undefined && { size: f.size }),
      ...(f.oid !== undefined && { oid: f.oid }),
    })),
    fetchedAt: new Date().toISOString(),
  };
}
