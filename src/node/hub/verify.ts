/**
 * Check a finished partial against what the hub promised: its size and, when the hub gave
 * one, its sha256 (LFS) or git blob sha1. The file is hashed once at the end, streamed from
 * disk: a resumed download's bytes come from several responses (and maybe several runs), and
 * one pass over the finished file is the simple way to hash them all; it costs a sequential
 * read next to a download that is far slower.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type Checksum, checksumFromEtag, gitBlobHeader } from '../../hub/checksum.js';
import { DownloadError } from '../../errors.js';
import type { TransferResult } from './transfer.js';

export async function hashFile(
  path: string,
  algorithm: Checksum['algorithm'],
  size: number,
): Promise<string> {
  const hash = createHash(algorithm === 'sha256' ? 'sha256' : 'sha1');
  if (algorithm === 'git-sha1') hash.update(gitBlobHeader(size));
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The checksum to hold the file to. `X-Linked-Etag` is the hub's own statement for LFS files;
 * otherwise the ETag of the first hop, which is the hub's. The final response's ETag after a
 * redirect is a CDN's (an md5 or a multipart tag) and is never used.
 */
export function expectedChecksum(r: TransferResult): Checksum | undefined {
  return checksumFromEtag(r.linkedEtag) ?? checksumFromEtag(r.hubEtag);
}

/** The size to hold the file to: the hub's `X-Linked-Size` first, then the transfer's total. */
export function expectedSize(r: TransferResult): number | undefined {
  return r.linkedSize ?? r.total;
}

export function integrityError(
  what: string,
  check: 'size' | Checksum['algorithm'],
  expected: string | number,
  actual: string | number,
): DownloadError {
  return new DownloadError(
    'DOWNLOAD_INTEGRITY',
    `Downloaded ${what} does not match what the hub promised: ${check} expected ${expected}, got ${actual}`,
    {
      value: what,
      check,
      expected,
      actual,
      hint: 'The partial download was deleted; retry. If it persists, the hub or a proxy is serving corrupt data.',
    },
  );
}
