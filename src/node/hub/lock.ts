/**
 * A cross-process lock on one cached file: a lock file created with `wx` (O_EXCL, so exactly
 * one process wins), holding the owner's pid and host. While held, its mtime is touched
 * periodically so that a long download is never mistaken for a dead one. A lock is stale
 * when its owner (same host) is no longer alive, or it has not been touched for `staleMs`.
 *
 * Known limit: two waiters that find the same stale lock at the same instant may both remove
 * it; the second removal can hit the first's fresh lock. Both then download, and both write
 * the same verified bytes by atomic rename, so the cache stays correct, only bandwidth is lost.
 */
import { open, readFile, rm, stat, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { abortError, sleep } from './abort.js';

export interface LockOptions {
  readonly staleMs: number;
  readonly pollMs: number;
  readonly signal?: AbortSignal;
  /** What the wait is for, for messages. */
  readonly what: string;
  /** Polled while another process holds the lock: true ends the wait without the lock. */
  readonly doneElsewhere: () => Promise<boolean>;
}

export interface HeldLock {
  release(): Promise<void>;
}

interface LockRecord {
  pid: number;
  host: string;
  createdAt: string;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function isStale(path: string, staleMs: number): Promise<boolean> {
  let mtimeMs: number;
  try {
    mtimeMs = (await stat(path)).mtimeMs;
  } catch {
    return false; // gone already: the next `wx` attempt decides
  }
  if (Date.now() - mtimeMs > staleMs) return true;
  let rec: Partial<LockRecord> | undefined;
  try {
    rec = JSON.parse(await readFile(path, 'utf8')) as Partial<LockRecord>;
  } catch {
    return false; // being written right now, or foreign: trust the age rule only
  }
  return rec.host === hostname() && typeof rec.pid === 'number' && !pidAlive(rec.pid);
}

/** Take the lock, or return undefined if `doneElsewhere` reports the work finished meanwhile. */
export async function acquireLock(path: string, opts: LockOptions): Promise<HeldLock | undefined> {
  for (;;) {
    if (opts.signal?.aborted) throw abortError(opts.signal, opts.what);
    try {
      const fh = await open(path, 'wx');
      const rec: LockRecord = { pid: process.pid, host: hostname(), createdAt: new Date().toISOString() };
      await fh.writeFile(JSON.stringify(rec));
      await fh.close();
      return holdLock(path, opts.staleMs);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (await opts.doneElsewhere()) return undefined;
    if (await isStale(path, opts.staleMs)) {
      await rm(path, { force: true });
      continue;
    }
    await sleep(opts.pollMs, opts.signal, opts.what);
  }
}

function holdLock(path: string, staleMs: number): HeldLock {
  // Touch well inside the stale window so a slow but live download keeps its lock.
  const beat = setInterval(
    () => {
      const now = new Date();
      utimes(path, now, now).catch(() => {});
    },
    Math.max(1000, Math.floor(staleMs / 3)),
  );
  beat.unref();
  return {
    async release() {
      clearInterval(beat);
      await rm(path, { force: true });
    },
  };
}
