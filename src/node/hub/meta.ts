/**
 * Records kept beside cached files so a later (possibly offline) run knows what it holds:
 * per-file metadata, the ETag a partial download started from, and repo listings.
 */
import { readFile } from 'node:fs/promises';
import type { Checksum } from '../../hub/checksum.js';
import { writeFileAtomic } from './cache-layout.js';

export interface FileMeta {
  readonly repo: string;
  readonly revision: string;
  readonly path: string;
  readonly size: number;
  /** The checksum that was verified, when the hub gave one. */
  readonly checksum?: Checksum;
  /** The raw ETag of the response that delivered the bytes. */
  readonly etag?: string;
  /** `X-Repo-Commit`: the commit the revision pointed at when downloaded. */
  readonly commit?: string;
  readonly url: string;
  readonly downloadedAt: string;
}

export interface PartialState {
  /** Strong ETag of the response whose bytes the partial holds; sent as `If-Range`. */
  readonly etag?: string;
  readonly url: string;
}

export interface RepoListing {
  readonly repo: string;
  readonly revision: string;
  /** The commit the revision resolved to. */
  readonly sha?: string;
  readonly files: ReadonlyArray<{ readonly path: string; readonly size?: number }>;
  readonly fetchedAt: string;
}

/** A JSON record, or undefined when it is absent or unreadable (then it is simply redone). */
export async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function writeJson(path: string, value: unknown): Promise<void> {
  return writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}
