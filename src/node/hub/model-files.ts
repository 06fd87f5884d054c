/**
 * `ModelFiles` over a hub repo at one revision: listing from the hub's API (cached), file
 * contents downloaded into the cache on first use, then read from disk.
 */
import { readFile } from 'node:fs/promises';
import type { ModelFiles } from '../../host/host.js';
import { validateRepoFilePath } from '../../hub/reference.js';
import { readRange } from '../files.js';
import type { HubClient } from './client.js';

export class HubModelFiles implements ModelFiles {
  readonly location: string;

  constructor(
    readonly client: HubClient,
    readonly repo: string,
    readonly revision: string,
  ) {
    this.location = `${client.options.endpoint}/${repo}@${revision}`;
  }

  list(): Promise<string[]> {
    return this.client.listFiles(this.repo, this.revision);
  }

  async exists(path: string): Promise<boolean> {
    validateRepoFilePath(path);
    // A cached file certainly exists, and needs no listing (which offline mode may lack).
    if (await this.client.cachedPath(this.repo, this.revision, path)) return true;
    return (await this.list()).includes(path);
  }

  localPath(path: string, signal?: AbortSignal): Promise<string> {
    return this.client.downloadFile(this.repo, this.revision, path, signal ? { signal } : {});
  }

  /** Download into the cache (once; shared with concurrent callers), reporting bytes. */
  async prefetch(
    path: string,
    opts: { signal?: AbortSignal; onProgress?: (loaded: number, total: number | undefined) => void } = {},
  ): Promise<void> {
    const onProgress = opts.onProgress;
    await this.client.downloadFile(this.repo, this.revision, path, {
      ...(opts.signal && { signal: opts.signal }),
      ...(onProgress && {
        onProgress: (p: { loaded: number; total: number | undefined }) => onProgress(p.loaded, p.total),
      }),
    });
  }

  async readBytes(path: string, signal?: AbortSignal): Promise<Uint8Array> {
    return readFile(await this.localPath(path, signal));
  }

  async readText(path: string, signal?: AbortSignal): Promise<string> {
    return readFile(await this.localPath(path, signal), 'utf8');
  }

  /** From the cached copy only: a hub file not downloaded yet is not read in pieces. */
  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    const cached = await this.client.cachedPath(this.repo, this.revision, path);
    if (!cached) throw new Error(`${path} is not in the cache`);
    return readRange(cached, offset, length);
  }

  /** The cached copy's path when there is one, naming the repo it came from. */
  async describe(path: string): Promise<string> {
    const cached = await this.client.cachedPath(this.repo, this.revision, path);
    return cached
      ? `${cached} (cached from ${this.repo}@${this.revision}; mmrt cache verify checks it)`
      : `${this.location}/${path}`;
  }

  size(path: string): Promise<number> {
    validateRepoFilePath(path);
    return this.client.fileSize(this.repo, this.revision, path);
  }

  /** The cached blob (or the listing's content id), never a download. */
  fingerprint(path: string): Promise<string> {
    validateRepoFilePath(path);
    return this.client.fingerprint(this.repo, this.revision, path);
  }
}
