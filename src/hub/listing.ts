/**
 * A repository's file list in the hub's format (`GET /api/models/{repo}/revision/{rev}`:
 * `{ sha, siblings: [{ rfilename, size?, lfs?: { size, sha256 } }] }`), validated. Host-free:
 * the Node hub client and the web host read listings through this one parser, and a model
 * folder served over plain HTTP describes itself in the same format (`mmrt-listing.json`).
 */
import { DownloadError } from '../errors.js';
import { validateRepoFilePath } from './reference.js';

export interface ListedFile {
  readonly path: string;
  readonly size?: number;
  /** Hex SHA-256 of the content, when the listing gives one (LFS files). */
  readonly sha256?: string;
  /** The content's id as the hub's ETag names it: the LFS sha256, else git's blob sha1. */
  readonly oid?: string;
}

export interface HubListing {
  /** The commit the revision resolved to. */
  readonly sha?: string;
  /** Sorted by path; names that could escape a cache folder are left out. */
  readonly files: readonly ListedFile[];
}

export function parseHubListing(body: unknown, what: string, url: string): HubListing {
  const b = body as { sha?: unknown; siblings?: unknown } | null;
  if (!b || typeof b !== 'object' || !Array.isArray(b.siblings)) {
    throw new DownloadError('DOWNLOAD_FAILED', `the listing of ${what} has no "siblings" array`, {
      value: url,
      hint: 'point mmrt at a Hugging Face compatible hub, or serve the folder with an mmrt-listing.json',
    });
  }
  const files: ListedFile[] = [];
  for (const s of b.siblings as {
    rfilename?: unknown;
    size?: unknown;
    blobId?: unknown;
    lfs?: { size?: unknown; sha256?: unknown; oid?: unknown };
  }[]) {
    if (typeof s?.rfilename !== 'string') continue;
    try {
      validateRepoFilePath(s.rfilename);
    } catch {
      continue; // a name we could never fetch safely is not offered at all
    }
    const size =
      typeof s.lfs?.size === 'number' ? s.lfs.size : typeof s.size === 'number' ? s.size : undefined;
    const sha256 =
      typeof s.lfs?.sha256 === 'string' && /^[0-9a-f]{64}$/.test(s.lfs.sha256) ? s.lfs.sha256 : undefined;
    const lfsOid = typeof s.lfs?.sha256 === 'string' ? s.lfs.sha256 : s.lfs?.oid;
    const oid = typeof lfsOid === 'string' ? lfsOid : typeof s.blobId === 'string' ? s.blobId : undefined;
    files.push({
      path: s.rfilename,
      ...(size !== undefined && { size }),
      ...(sha256 !== undefined && { sha256 }),
      ...(oid !== undefined && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(oid) && { oid }),
    });
  }
  files.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  return { ...(typeof b.sha === 'string' ? { sha: b.sha } : {}), files };
}
