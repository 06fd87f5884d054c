/**
 * What the hub promises about a file's content, read from its ETags. Host-free: hashing
 * itself happens in the host adapter; this only decides which hash to compare against.
 *
 * The hub's conventions: LFS files (weights) carry their sha256 (64 hex) in `X-Linked-Etag`
 * (and often `ETag`); small files stored in git carry their git blob sha1 (40 hex), which is
 * sha1 of `blob <size>\0<content>`, not of the content alone. Other ETags (a CDN's md5 or
 * multipart tag) promise nothing we can check and are ignored.
 */
export type Checksum =
  | { readonly algorithm: 'sha256'; readonly hex: string }
  | { readonly algorithm: 'git-sha1'; readonly hex: string };

/** Strip `W/` and quotes from an ETag header value. */
export function normalizeEtag(etag: string | null | undefined): string | undefined {
  if (!etag) return undefined;
  const v = etag
    .trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1');
  return v || undefined;
}

/** The checksum an ETag value stands for, if it is one of the hub's two kinds. */
export function checksumFromEtag(etag: string | null | undefined): Checksum | undefined {
  const v = normalizeEtag(etag)?.toLowerCase();
  if (!v) return undefined;
  if (/^[0-9a-f]{64}$/.test(v)) return { algorithm: 'sha256', hex: v };
  if (/^[0-9a-f]{40}$/.test(v)) return { algorithm: 'git-sha1', hex: v };
  return undefined;
}

/** The header that git puts before a blob's bytes when it hashes it. */
export function gitBlobHeader(size: number): string {
  return `blob ${size}\0`;
}
