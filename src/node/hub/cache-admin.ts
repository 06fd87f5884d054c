/**
 * The download cache checked and cleaned: every blob whose name is a checksum (the hub's
 * sha256 for LFS files, git's blob sha1 for the rest) is hashed and compared, so a file damaged
 * on disk (or truncated by a tool that did not verify) is found; `repair` removes what is
 * damaged, and the next load downloads it again. Works on any Hugging Face-layout cache.
 */
import { lstat, readdir, readlink, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { hashFile } from './verify.js';

export interface BlobProblem {
  readonly blob: string;
  readonly size: number;
  readonly expected: string;
  readonly actual: string;
  /** Snapshot entries that point at it (repo-relative). */
  readonly files: readonly string[];
}

export interface RepoReport {
  /** `models--org--name` */
  readonly folder: string;
  readonly blobs: number;
  readonly bytes: number;
  readonly verified: number;
  /** Blobs not named by a checksum (a hub that sent another kind of ETag): only their presence is known. */
  readonly unverifiable: number;
  readonly damaged: readonly BlobProblem[];
  /** Snapshot entries whose blob is missing. */
  readonly dangling: readonly string[];
  /** What `repair` removed. */
  readonly removed: readonly string[];
}

const SHA256 = /^[0-9a-f]{64}$/;
const SHA1 = /^[0-9a-f]{40}$/;

async function repoFolders(cacheDir: string, repo?: string): Promise<string[]> {
  if (repo) return [`models--${repo.split('/').join('--')}`];
  const entries = await readdir(cacheDir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory() && e.name.startsWith('models--'))
    .map((e) => e.name)
    .sort();
}

/** Snapshot entries (symlinks or copies) of a repo folder, with the blob each points at. */
async function snapshotEntries(repoDir: string): Promise<Array<{ path: string; blob?: string }>> {
  const out: Array<{ path: string; blob?: string }> = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const full = join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isSymbolicLink()) {
        const target = resolve(dirname(full), await readlink(full));
        out.push({ path: full, blob: target });
      } else out.push({ path: full });
    }
  };
  await walk(join(repoDir, 'snapshots'));
  return out;
}

export async function verifyCache(
  cacheDir: string,
  options: { repo?: string; repair?: boolean } = {},
): Promise<RepoReport[]> {
  const reports: RepoReport[] = [];
  for (const folder of await repoFolders(cacheDir, options.repo)) {
    const repoDir = join(cacheDir, folder);
    const blobsDir = join(repoDir, 'blobs');
    const names = (await readdir(blobsDir).catch(() => [] as string[])).filter(
      (n) => !n.endsWith('.incomplete'),
    );
    const entries = await snapshotEntries(repoDir);
    const damaged: BlobProblem[] = [];
    let bytes = 0;
    let verified = 0;
    let unverifiable = 0;
    for (const name of names) {
      const blob = join(blobsDir, name);
      const st = await stat(blob).catch(() => undefined);
      if (!st?.isFile()) continue;
      bytes += st.size;
      const algorithm = SHA256.test(name) ? 'sha256' : SHA1.test(name) ? 'git-sha1' : undefined;
      if (!algorithm) {
        unverifiable++;
        continue;
      }
      const actual = await hashFile(blob, algorithm, st.size);
      if (actual === name) verified++;
      else {
        damaged.push({
          blob,
          size: st.size,
          expected: name,
          actual,
          files: entries.filter((e) => e.blob === blob).map((e) => e.path.slice(repoDir.length + 1)),
        });
      }
    }
    const dangling: string[] = [];
    for (const e of entries) {
      if (e.blob && !(await stat(e.blob).catch(() => undefined)))
        dangling.push(e.path.slice(repoDir.length + 1));
    }
    const removed: string[] = [];
    if (options.repair) {
      for (const d of damaged) {
        for (const f of d.files) {
          await rm(join(repoDir, f), { force: true });
          removed.push(f);
        }
        await rm(d.blob, { force: true });
        removed.push(d.blob.slice(repoDir.length + 1));
      }
      for (const f of dangling) {
        if ((await lstat(join(repoDir, f)).catch(() => undefined))?.isSymbolicLink()) {
          await rm(join(repoDir, f), { force: true });
          removed.push(f);
        }
      }
    }
    reports.push({ folder, blobs: names.length, bytes, verified, unverifiable, damaged, dangling, removed });
  }
  return reports;
}

/** Remove a repo's cached files (or every repo's), and mmrt's bookkeeping for them. */
export async function cleanCache(cacheDir: string, options: { repo?: string } = {}): Promise<string[]> {
  const removed: string[] = [];
  for (const folder of await repoFolders(cacheDir, options.repo)) {
    const repoDir = join(cacheDir, folder);
    if (!(await stat(repoDir).catch(() => undefined))) continue;
    await rm(repoDir, { recursive: true, force: true });
    await rm(join(cacheDir, '.locks', folder, 'mmrt'), { recursive: true, force: true });
    removed.push(folder);
  }
  return removed;
}
