/**
 * Records mmrt keeps beside the Hugging Face cache: the ETag a partial download started from,
 * and repo listings (the layout itself has no place for either).
 */
import { readFile } from 'node:fs/promises';
import type { Checksum } from '../../hub/checksum.js';
import { writeFileAtomic } from './cache-layout.js';

/** What a finished download left in the cache. */
export interface CachedFile {
  /** The snapshot path callers get back. */
  readonly dest: string;
  readonly size: number;
  /** The checksum that was verified, when the hub gave one. */
  readonly checksum?: Checksum;
  /** The blob's name: the hub's ETag of the content. */
  readonly etag: string;
  /** The commit the revision pointed at when downloaded. */
  readonly commit: string;
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
  readonly files: ReadonlyArray<{
    readonly path: string;
    readonly size?: number;
    /** The content's id as the hub's ETag gives it (LFS sha256 or git blob sha1): the blob name. */
    readonly oid?: string;
  }>;
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
