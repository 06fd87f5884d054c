/**
 * Where hub files live on disk: the Hugging Face cache layout, so that a model downloaded by
 * Python's `huggingface_hub`, `@huggingface/hub` or mmrt is found by the others.
 *
 *   {cache}/models--{org}--{name}/refs/{revision}            the commit the revision points at
 *   {cache}/models--{org}--{name}/blobs/{etag}               file contents, named by the hub's
 *                                                           ETag: sha256 (LFS) or git blob sha1
 *   {cache}/models--{org}--{name}/snapshots/{commit}/{path}  relative symlink to ../../blobs/{etag}
 *                                                           (a copy where symlinks are refused)
 *   {cache}/.locks/models--{org}--{name}/mmrt/{key}.*        mmrt's bookkeeping: .incomplete
 *                                                           (resumable partial), .incomplete.json,
 *                                                           .lock; listing-{rev}.json
 *
 * mmrt's bookkeeping sits under `.locks`, which Hugging Face tools already keep for their own
 * lock files and skip when they scan the cache, named by a hash of (revision, path) so no repo
 * file can collide with another's. Snapshot entries only ever appear by atomic rename, pointing
 * at a complete, verified blob.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  copyFile,
  mkdir,
  readFile,
  readdir,
  realpath,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { DownloadError } from '../../errors.js';
import { validateRepoFilePath, validateRepoId, validateRevision } from '../../hub/reference.js';

export interface FileCachePaths {
  /** Bytes downloaded so far; survives an abort or crash for a later resume. */
  readonly partial: string;
  /** Validator (ETag) of the partial's bytes, for `If-Range` when resuming. */
  readonly partialState: string;
  /** Exclusive lock a process holds while it downloads this file. */
  readonly lock: string;
}

const COMMIT = /^[0-9a-f]{40}$/;
/** A blob name we accept from a header: what ETags of the hub look like, nothing path-like. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

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

/** `org/name` -> `models--org--name`, as every Hugging Face library names the repo's folder. */
export function repoFolderName(repo: string): string {
  return `models--${repo.split('/').join('--')}`;
}

/** A blob name for an ETag: the ETag itself when it is a plain token, else its sha256. */
export function blobName(etag: string): string {
  return SAFE_NAME.test(etag) ? etag : createHash('sha256').update(etag).digest('hex');
}

export function isCommit(v: string | undefined): v is string {
  return v !== undefined && COMMIT.test(v);
}

export class RepoCacheLayout {
  readonly root: string;
  readonly repoDir: string;
  readonly stateDir: string;

  constructor(
    cacheDir: string,
    readonly repo: string,
    readonly revision: string,
  ) {
    validateRepoId(repo);
    validateRevision(revision);
    this.root = resolve(cacheDir);
    const folder = repoFolderName(repo);
    this.repoDir = join(this.root, folder);
    this.stateDir = join(this.root, '.locks', folder, 'mmrt');
    // Validation above already rules out `..`; this is the belt to its braces.
    if (!isInside(this.root, this.repoDir)) throw escapes(this.root, this.repoDir);
  }

  /** `refs/{revision}`: git ref names may hold "/", as Python's cache keeps them (validated). */
  get refPath(): string {
    return join(this.repoDir, 'refs', ...this.revision.split('/'));
  }

  blobPath(etag: string): string {
    return join(this.repoDir, 'blobs', blobName(etag));
  }

  /** The folder of a snapshot; its name must be one path segment. */
  snapshotDir(commit: string): string {
    if (!SAFE_NAME.test(commit)) throw escapes(this.repoDir, commit);
    return join(this.repoDir, 'snapshots', commit);
  }

  snapshotPath(commit: string, path: string): string {
    validateRepoFilePath(path);
    const dest = resolve(this.snapshotDir(commit), ...path.split('/'));
    if (!isInside(this.snapshotDir(commit), dest)) throw escapes(this.repoDir, dest);
    return dest;
  }

  /** The listing of this revision, kept by mmrt (Hugging Face's layout has no place for it). */
  get listing(): string {
    return join(this.stateDir, `listing-${hash(this.revision)}.json`);
  }

  file(path: string): FileCachePaths {
    validateRepoFilePath(path);
    const base = join(this.stateDir, hash(`${this.revision}\u0000${path}`));
    return { partial: `${base}.incomplete`, partialState: `${base}.incomplete.json`, lock: `${base}.lock` };
  }

  /**
   * The commit this revision points at in the cache: the revision itself when it is a commit,
   * else `refs/{revision}`. With no ref (a cache written by `@huggingface/hub`, which keeps
   * none) and exactly one snapshot, that snapshot.
   */
  async commit(): Promise<string | undefined> {
    if (isCommit(this.revision)) return this.revision;
    const ref = await readFile(this.refPath, 'utf8').catch(() => undefined);
    const value = ref?.trim();
    if (value && SAFE_NAME.test(value)) return value;
    const snapshots = await readdir(join(this.repoDir, 'snapshots')).catch(() => [] as string[]);
    return snapshots.length === 1 && SAFE_NAME.test(snapshots[0]!) ? snapshots[0] : undefined;
  }

  /**
   * Create the folders a download writes to and prove, on the real file system (symlinks
   * followed), that they are inside the cache.
   */
  async prepare(): Promise<void> {
    await mkdir(join(this.repoDir, 'blobs'), { recursive: true });
    await mkdir(this.stateDir, { recursive: true });
    const realRoot = await realpath(this.root);
    for (const dir of [join(this.repoDir, 'blobs'), this.stateDir]) {
      const real = await realpath(dir);
      if (!isInside(realRoot, real)) throw escapes(realRoot, real);
    }
  }

  /** Point `refs/{revision}` at `commit` (nothing to write when the revision is the commit). */
  async writeRef(commit: string): Promise<void> {
    if (this.revision === commit) return;
    await writeFileAtomic(this.refPath, commit);
  }

  /**
   * Make `snapshots/{commit}/{path}` the blob: a relative symlink as Hugging Face writes it,
   * replaced atomically; a copy where the file system refuses symlinks.
   */
  async link(commit: string, path: string, blob: string): Promise<string> {
    const dest = this.snapshotPath(commit, path);
    await mkdir(dirname(dest), { recursive: true });
    const real = await realpath(dirname(dest));
    if (!isInside(await realpath(this.root), real)) throw escapes(this.root, real);
    const tmp = `${dest}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await symlink(relative(dirname(dest), blob), tmp);
    } catch {
      await copyFile(blob, tmp);
    }
    try {
      await rename(tmp, dest);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    return dest;
  }

  /** The blob a snapshot entry points at, when it is a regular file there. */
  async resolveSnapshot(commit: string, path: string): Promise<{ dest: string; size: number } | undefined> {
    let dest: string;
    try {
      dest = this.snapshotPath(commit, path);
    } catch {
      return undefined;
    }
    const st = await stat(dest).catch(() => undefined);
    return st?.isFile() ? { dest, size: st.size } : undefined;
  }
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
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
