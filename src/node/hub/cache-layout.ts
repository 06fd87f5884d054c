/**
 * Where hub files live on disk.
 *
 *   {cacheDir}/hub/{org}/{name}/{rev}/{path}          the files, exactly as in the repo
 *   {cacheDir}/hub/{org}/{name}/.mmrt/{rev}/{key}.*   bookkeeping: .meta.json, .incomplete,
 *                                                     .incomplete.json, .lock; listing.json
 *
 * `{rev}` is the revision URL-encoded into one segment, so `refs/pr/1` cannot collide with a
 * branch `refs` holding a folder `pr`. Bookkeeping sits in a separate tree named by a hash of
 * the file path (`{key}`), so no repo file name can collide with another file's sidecar, and
 * `.mmrt` cannot clash with a revision (git refs never start with "."). The final path only
 * ever receives a complete, verified file by rename.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { DownloadError } from '../../errors.js';
import { validateRepoFilePath, validateRepoId, validateRevision } from '../../hub/reference.js';

export interface FileCachePaths {
  /** Where the verified file ends up; what callers get back. */
  readonly dest: string;
  /** Bytes downloaded so far; survives an abort or crash for a later resume. */
  readonly partial: string;
  /** Validator (ETag) of the partial's bytes, for `If-Range` when resuming. */
  readonly partialState: string;
  /** What the hub said about the complete file (size, checksum, commit). */
  readonly meta: string;
  /** Exclusive lock a process holds while it downloads this file. */
  readonly lock: string;
}

/** True when `child` is `root` itself or below it, after resolving `.`/`..`. */
export function isInside(root: string, child: string): boolean {
  const rel = relative(resolve(root), resolve(child));
  return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`));
}

function escapes(root: string, path: string): DownloadError {
  return new DownloadError(
    'DOWNLOAD_FAILED',
    `Refusing to write "${path}": it resolves outside the cache "${root}"`,
    {
      value: path,
      valid: `a path inside ${root}`,
      hint: 'The cache folder or one of its parents is a symlink out of the cache; remove it.',
    },
  );
}

export class RepoCacheLayout {
  readonly root: string;
  readonly revisionDir: string;
  readonly sidecarDir: string;

  constructor(
    cacheDir: string,
    readonly repo: string,
    readonly revision: string,
  ) {
    validateRepoId(repo);
    validateRevision(revision);
    this.root = resolve(cacheDir);
    const [org, name] = repo.split('/') as [string, string];
    const rev = encodeURIComponent(revision);
    this.revisionDir = join(this.root, 'hub', org, name, rev);
    this.sidecarDir = join(this.root, 'hub', org, name, '.mmrt', rev);
    // Validation above already rules out `..`; this is the belt to its braces.
    if (!isInside(this.root, this.revisionDir)) throw escapes(this.root, this.revisionDir);
  }

  get listing(): string {
    return join(this.sidecarDir, 'listing.json');
  }

  file(path: string): FileCachePaths {
    validateRepoFilePath(path);
    const dest = resolve(this.revisionDir, ...path.split('/'));
    if (!isInside(this.revisionDir, dest)) throw escapes(this.revisionDir, dest);
    const key = createHash('sha256').update(path).digest('hex').slice(0, 32);
    const base = join(this.sidecarDir, key);
    return {
      dest,
      partial: `${base}.incomplete`,
      partialState: `${base}.incomplete.json`,
      meta: `${base}.meta.json`,
      lock: `${base}.lock`,
    };
  }

  /**
   * Create the folders a download writes to and prove, on the real file system (symlinks
   * followed), that they are inside the cache.
   */
  async prepare(paths: FileCachePaths): Promise<void> {
    const destDir = dirname(paths.dest);
    await mkdir(destDir, { recursive: true });
    await mkdir(this.sidecarDir, { recursive: true });
    const realRoot = await realpath(this.root);
    for (const dir of [destDir, this.sidecarDir]) {
      const real = await realpath(dir);
      if (!isInside(realRoot, real)) throw escapes(realRoot, real);
    }
  }
}

/** Write a whole small file so readers see the old content or the new, never half. */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
