import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  readlink,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DownloadError, type MmrtError, ModelPackageError, isMmrtError } from '../../src/errors.js';
import { type DownloadProgress, HubClient, type HubOptions } from '../../src/node/hub/index.js';
import { type FakeHub, gitSha1, sha256, startFakeHub } from './fake-hub.js';

const REPO = 'test-org/tiny-clip';
const MODEL = 'onnx/model.onnx';
const model = randomBytes(2 * 1024 * 1024 + 123);
const config = Buffer.from(JSON.stringify({ model_type: 'clip', projection_dim: 8 }));
const tokenizer = Buffer.from(JSON.stringify({ model: { type: 'BPE', vocab: {} }, added_tokens: [] }));

let hub: FakeHub;
let cacheDir: string;

beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'mmrt-hub-'));
  hub = await startFakeHub({
    repo: REPO,
    files: { 'config.json': config, 'tokenizer.json': tokenizer, [MODEL]: model },
  });
});

afterEach(async () => {
  await hub.close();
  await rm(cacheDir, { recursive: true, force: true });
});

function client(extra: HubOptions = {}): HubClient {
  return new HubClient({
    endpoint: hub.endpoint,
    cacheDir,
    env: {},
    retryDelayMs: 5,
    lockPollMs: 20,
    ...extra,
  });
}

async function failure(p: Promise<unknown>): Promise<MmrtError> {
  try {
    await p;
  } catch (e) {
    if (!isMmrtError(e)) throw e;
    return e;
  }
  throw new Error('expected the promise to reject');
}

const cdnGets = () => hub.log.filter((r) => r.server === 'cdn' && r.method === 'GET');
const hubGets = (file: string) =>
  hub.log.filter((r) => r.server === 'hub' && r.method === 'GET' && r.path.endsWith(file));
const sidecars = (c: HubClient, path = MODEL) => c.layout(REPO, 'main').file(path);
/** The Hugging Face cache layout of the test repo. */
const repoDir = () => join(cacheDir, 'models--test-org--tiny-clip');
const snapshot = (path: string, commit = hub.commit) =>
  join(repoDir(), 'snapshots', commit, ...path.split('/'));
const blob = (etag: string) => join(repoDir(), 'blobs', etag);

describe('downloadFile', () => {
  it('downloads into the Hugging Face layout (blob by ETag, ref, snapshot symlink), then hits the cache with no request', async () => {
    const c = client();
    const p = await c.downloadFile(REPO, 'main', MODEL);
    expect(p).toBe(snapshot(MODEL));
    expect((await readFile(p)).equals(model)).toBe(true);
    // LFS path: hub redirect (302) carrying X-Linked-Etag, bytes from the CDN.
    expect(hubGets(MODEL).map((r) => r.status)).toEqual([302]);
    expect(cdnGets().map((r) => r.status)).toEqual([200]);
    // The blob is named by the sha256 the hub promised (and that was verified).
    expect((await lstat(p)).isSymbolicLink()).toBe(true);
    expect(await readlink(p)).toBe(join('..', '..', '..', 'blobs', sha256(model)));
    expect((await readFile(blob(sha256(model)))).equals(model)).toBe(true);
    expect(await readFile(join(repoDir(), 'refs', 'main'), 'utf8')).toBe(hub.commit);

    const small = await c.downloadFile(REPO, 'main', 'config.json');
    expect(small).toBe(snapshot('config.json'));
    expect(await readlink(small)).toBe(join('..', '..', 'blobs', gitSha1(config)));
    expect(await readFile(small, 'utf8')).toBe(config.toString());

    const before = hub.log.length;
    expect(await c.downloadFile(REPO, 'main', MODEL)).toBe(p);
    expect(await client().downloadFile(REPO, 'main', 'config.json')).toBe(small);
    expect(hub.log.length).toBe(before);
    // Only Hugging Face's three folders in the repo's folder; mmrt's bookkeeping is under .locks.
    expect((await readdir(repoDir())).sort()).toEqual(['blobs', 'refs', 'snapshots']);
    expect((await readdir(cacheDir)).sort()).toEqual(['.locks', 'models--test-org--tiny-clip']);
  });

  it('keeps a slash revision as a nested ref, as Python does', async () => {
    await hub.close();
    hub = await startFakeHub({ repo: REPO, revision: 'refs/pr/1', files: { 'config.json': config } });
    const p = await client().downloadFile(REPO, 'refs/pr/1', 'config.json');
    expect(p).toBe(snapshot('config.json'));
    expect(await readFile(join(repoDir(), 'refs', 'refs', 'pr', '1'), 'utf8')).toBe(hub.commit);
    expect(hub.log[0]!.path).toBe(`/${REPO}/resolve/refs%2Fpr%2F1/config.json`);
  });

  it('serves offline from the cache and fails offline on a miss, saying so', async () => {
    await client().downloadFile(REPO, 'main', 'config.json');
    const n = hub.log.length;
    const offline = client({ endpoint: 'http://127.0.0.1:9', offline: true });
    expect(await readFile(await offline.downloadFile(REPO, 'main', 'config.json'), 'utf8')).toBe(
      config.toString(),
    );
    const viaEnv = new HubClient({ cacheDir, env: { HF_HUB_OFFLINE: '1' } });
    const err = await failure(viaEnv.downloadFile(REPO, 'main', 'tokenizer.json'));
    expect(err).toBeInstanceOf(DownloadError);
    expect(err.code).toBe('OFFLINE_MISS');
    expect(err.message).toMatch(/Offline mode is on/);
    expect(err.message).toContain('tokenizer.json');
    expect(hub.log.length).toBe(n);
  });

  it('resumes with Range after the connection drops, transferring about one file', async () => {
    Object.assign(hub.faults, { dropPath: MODEL, dropAfter: 800_000 });
    const p = await client().downloadFile(REPO, 'main', MODEL);
    expect((await readFile(p)).equals(model)).toBe(true);
    const [first, second] = cdnGets();
    expect(cdnGets()).toHaveLength(2);
    expect(first!.headers.range).toBeUndefined();
    const resumedAt = Number(second!.headers.range?.match(/^bytes=(\d+)-$/)?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(800_000);
    expect(second!.headers['if-range']).toMatch(/-1"$/); // the CDN's ETag, from the first response
    expect(second!.status).toBe(206);
    const sent = first!.bytes + second!.bytes;
    expect(sent).toBeGreaterThanOrEqual(model.length);
    expect(sent).toBeLessThan(model.length * 1.05);
  });

  it('starts over when the server answers a range request with 200, progress still monotonic', async () => {
    Object.assign(hub.faults, { dropPath: MODEL, dropAfter: 500_000, ignoreRange: true });
    const events: DownloadProgress[] = [];
    const p = await client().downloadFile(REPO, 'main', MODEL, { onProgress: (e) => events.push(e) });
    expect((await readFile(p)).equals(model)).toBe(true);
    expect(cdnGets().map((r) => r.status)).toEqual([200, 200]);
    for (let i = 1; i < events.length; i++) expect(events[i]!.loaded).toBeGreaterThan(events[i - 1]!.loaded);
    expect(events.at(-1)).toEqual({ file: MODEL, loaded: model.length, total: model.length });
  });

  it('finishes a complete partial that was never renamed (416 on resume)', async () => {
    const c = client();
    const paths = sidecars(c);
    await mkdir(join(paths.partial, '..'), { recursive: true });
    await writeFile(paths.partial, model);
    const p = await c.downloadFile(REPO, 'main', MODEL);
    expect((await readFile(p)).equals(model)).toBe(true);
    expect(cdnGets().map((r) => r.status)).toEqual([416]);
    expect(existsSync(paths.partial)).toBe(false);
  });

  it('rejects corrupt bytes (sha256 and git sha1), deleting the partial, leaving no final file', async () => {
    hub.faults.corrupt = new Set([MODEL, 'config.json']);
    const c = client();
    const err = await failure(c.downloadFile(REPO, 'main', MODEL));
    expect(err).toBeInstanceOf(DownloadError);
    expect(err.code).toBe('DOWNLOAD_INTEGRITY');
    expect(err.details).toMatchObject({ check: 'sha256', expected: sha256(model) });
    expect(err.details['actual']).not.toBe(sha256(model));
    expect(existsSync(sidecars(c).partial)).toBe(false);
    expect(existsSync(snapshot(MODEL))).toBe(false);
    expect(existsSync(blob(sha256(model)))).toBe(false);
    expect(cdnGets()).toHaveLength(1); // integrity failures are not retried

    const small = await failure(c.downloadFile(REPO, 'main', 'config.json'));
    expect(small.code).toBe('DOWNLOAD_INTEGRITY');
    expect(small.details).toMatchObject({ check: 'git-sha1', expected: gitSha1(config) });
    expect(existsSync(snapshot('config.json'))).toBe(false);
  });

  it('maps 404 to MODEL_FILE_MISSING / MODEL_NOT_FOUND naming repo, revision and path', async () => {
    const err = await failure(client().downloadFile(REPO, 'main', 'onnx/missing.onnx'));
    expect(err).toBeInstanceOf(ModelPackageError);
    expect(err.code).toBe('MODEL_FILE_MISSING');
    expect(err.message).toContain('onnx/missing.onnx');
    expect(err.message).toContain(REPO);
    expect(err.message).toContain('"main"');
    const repoErr = await failure(client().downloadFile('nobody/nothing', 'main', 'config.json'));
    expect(repoErr.code).toBe('MODEL_NOT_FOUND');
  });

  it('explains 401 with a token hint, and sends the token to the hub only', async () => {
    hub.faults.token = 'sekrit';
    const err = await failure(client().downloadFile(REPO, 'main', MODEL));
    expect(err.code).toBe('DOWNLOAD_UNAUTHORIZED');
    expect(String(err.details.hint)).toMatch(/MMRT_HUB_TOKEN or HF_TOKEN/);
    const p = await client({ env: { HF_TOKEN: 'sekrit' } }).downloadFile(REPO, 'main', MODEL);
    expect((await readFile(p)).equals(model)).toBe(true);
    const ok = hub.log.filter((r) => r.status !== 401);
    expect(ok.find((r) => r.server === 'hub')!.headers.authorization).toBe('Bearer sekrit');
    expect(ok.find((r) => r.server === 'cdn')!.headers.authorization).toBeUndefined();
  });

  it('retries 5xx with backoff, then gives up with DOWNLOAD_FAILED', async () => {
    Object.assign(hub.faults, { failStatus: 503, failTimes: 2 });
    await client().downloadFile(REPO, 'main', 'config.json');
    expect(hubGets('config.json').map((r) => r.status)).toEqual([503, 503, 200]);

    Object.assign(hub.faults, { failStatus: 502, failTimes: 100 });
    const err = await failure(client({ retries: 2 }).downloadFile(REPO, 'main', 'tokenizer.json'));
    expect(err.code).toBe('DOWNLOAD_FAILED');
    expect(err.details).toMatchObject({ status: 502, retryable: true });
    expect(hubGets('tokenizer.json')).toHaveLength(3);
  });

  it('reports a refused connection as DOWNLOAD_FAILED', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise((r) => dead.close(r));
    const err = await failure(
      client({ endpoint: `http://127.0.0.1:${port}`, retries: 1 }).downloadFile(REPO, 'main', MODEL),
    );
    expect(err.code).toBe('DOWNLOAD_FAILED');
    expect(err.message).toMatch(/Connection to the hub failed/);
  });

  it('downloads once for concurrent requests, even from two clients', async () => {
    hub.faults.chunkDelayMs = 2;
    const [a, b, c] = await Promise.all([
      client().downloadFile(REPO, 'main', MODEL),
      client().downloadFile(REPO, 'main', MODEL),
      client().downloadFile(REPO, 'main', MODEL),
    ]);
    expect(a).toBe(b);
    expect(b).toBe(c);
    expect(hubGets(MODEL)).toHaveLength(1);
    expect(cdnGets()).toHaveLength(1);
    expect((await readFile(a)).equals(model)).toBe(true);
  });

  it('lets one of two concurrent callers abort without cancelling the other', async () => {
    hub.faults.chunkDelayMs = 3;
    const ac = new AbortController();
    const quitter = client().downloadFile(REPO, 'main', MODEL, {
      signal: ac.signal,
      onProgress: (e) => e.loaded > 100_000 && ac.abort(),
    });
    const stayer = client().downloadFile(REPO, 'main', MODEL);
    expect((await failure(quitter)).code).toBe('DOWNLOAD_ABORTED');
    expect((await readFile(await stayer)).equals(model)).toBe(true);
    expect(cdnGets()).toHaveLength(1);
  });

  it('aborts promptly, keeps only the partial, and resumes from it later', async () => {
    hub.faults.chunkDelayMs = 5;
    const c = client();
    const ac = new AbortController();
    let abortedAt = 0;
    const err = await failure(
      c.downloadFile(REPO, 'main', MODEL, {
        signal: ac.signal,
        onProgress: (e) => {
          if (e.loaded > 600_000 && !ac.signal.aborted) {
            abortedAt = Date.now();
            ac.abort(new Error('user cancelled'));
          }
        },
      }),
    );
    expect(Date.now() - abortedAt).toBeLessThan(500);
    expect(err).toBeInstanceOf(DownloadError);
    expect(err.code).toBe('DOWNLOAD_ABORTED');
    expect(existsSync(snapshot(MODEL))).toBe(false);
    const kept = (await stat(sidecars(c).partial)).size;
    expect(kept).toBeGreaterThan(600_000);
    expect(kept).toBeLessThan(model.length);
    expect(existsSync(sidecars(c).lock)).toBe(false);

    hub.faults.chunkDelayMs = 0;
    const p = await c.downloadFile(REPO, 'main', MODEL);
    expect((await readFile(p)).equals(model)).toBe(true);
    expect(cdnGets().at(-1)!.headers.range).toBe(`bytes=${kept}-`);
    expect(cdnGets().at(-1)!.bytes).toBe(model.length - kept);
  });

  it('reports progress in bytes, strictly increasing, ending at total; a hit reports once', async () => {
    const events: DownloadProgress[] = [];
    await client().downloadFile(REPO, 'main', MODEL, { onProgress: (e) => events.push(e) });
    expect(events.length).toBeGreaterThan(3);
    for (let i = 1; i < events.length; i++) expect(events[i]!.loaded).toBeGreaterThan(events[i - 1]!.loaded);
    expect(events.every((e) => e.file === MODEL && e.total === model.length)).toBe(true);
    expect(events.at(-1)!.loaded).toBe(model.length);
    const hit: DownloadProgress[] = [];
    await client().downloadFile(REPO, 'main', MODEL, { onProgress: (e) => hit.push(e) });
    expect(hit).toEqual([{ file: MODEL, loaded: model.length, total: model.length }]);
  });

  it('rejects paths that could escape the cache before any request', async () => {
    for (const bad of ['../x', '/etc/passwd', 'org/../../x', 'onnx\\..\\..\\x', 'a//b', '']) {
      const err = await failure(client().downloadFile(REPO, 'main', bad));
      expect(err.code, bad).toBe('MODEL_ID_INVALID');
    }
    for (const [repo, rev] of [
      ['../evil', 'main'],
      ['org/..', 'main'],
      [REPO, '../../x'],
    ] as const) {
      expect((await failure(client().downloadFile(repo, rev, 'config.json'))).code).toBe('MODEL_ID_INVALID');
    }
    expect(hub.log).toHaveLength(0);
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('revalidates on request: HEAD only when unchanged, refetch when the hub changed', async () => {
    const c = client();
    await c.downloadFile(REPO, 'main', MODEL);
    const n = cdnGets().length;
    await c.downloadFile(REPO, 'main', MODEL, { forceRevalidate: true });
    expect(cdnGets()).toHaveLength(n);
    expect(hub.log.at(-1)!.method).toBe('HEAD');

    const updated = randomBytes(300_000);
    hub.setFile(MODEL, updated);
    const p = await c.downloadFile(REPO, 'main', MODEL, { forceRevalidate: true });
    expect((await readFile(p)).equals(updated)).toBe(true);
    expect(cdnGets()).toHaveLength(n + 1);
  });
});

describe('cross-process lock', () => {
  it('two processes downloading one file fetch it once', async () => {
    hub.faults.chunkDelayMs = 20; // ~0.7 s of body, so the second process arrives mid-download
    const child = join(import.meta.dirname, 'child-download.ts');
    const run = () =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', child, hub.endpoint, cacheDir, REPO, MODEL]);
    const [a, b] = await Promise.all([run(), run()]);
    expect(a.stdout).toBe(snapshot(MODEL));
    expect(b.stdout).toBe(a.stdout);
    expect(cdnGets()).toHaveLength(1);
    expect((await readFile(a.stdout)).equals(model)).toBe(true);
  });

  it('waits for a live lock holder and uses its result without downloading', async () => {
    const c = client();
    const paths = sidecars(c, 'config.json');
    await mkdir(join(paths.lock, '..'), { recursive: true });
    await writeFile(
      paths.lock,
      JSON.stringify({ pid: process.pid, host: hostname(), createdAt: new Date().toISOString() }),
    );
    const pending = c.downloadFile(REPO, 'main', 'config.json');
    await new Promise((r) => setTimeout(r, 150));
    expect(hub.log).toHaveLength(0);
    // The "other process" finishes: blob, ref and snapshot link in place, lock gone.
    await mkdir(join(repoDir(), 'blobs'), { recursive: true });
    await writeFile(blob(gitSha1(config)), config);
    await mkdir(join(repoDir(), 'refs'), { recursive: true });
    await writeFile(join(repoDir(), 'refs', 'main'), hub.commit);
    await mkdir(join(snapshot('config.json'), '..'), { recursive: true });
    await symlink(join('..', '..', 'blobs', gitSha1(config)), snapshot('config.json'));
    await rm(paths.lock);
    expect(await pending).toBe(snapshot('config.json'));
    expect(hub.log).toHaveLength(0);
  });

  it('breaks a lock whose owner is dead, or that has gone untouched too long', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const c = client();
    const paths = sidecars(c, 'config.json');
    await mkdir(join(paths.lock, '..'), { recursive: true });
    await writeFile(
      paths.lock,
      JSON.stringify({ pid: dead, host: hostname(), createdAt: '2020-01-01T00:00:00Z' }),
    );
    expect(await readFile(await c.downloadFile(REPO, 'main', 'config.json'))).toEqual(config);
    expect(existsSync(paths.lock)).toBe(false);

    const tok = sidecars(c, 'tokenizer.json');
    await writeFile(
      tok.lock,
      JSON.stringify({ pid: process.pid, host: hostname(), createdAt: '2020-01-01T00:00:00Z' }),
    );
    const old = new Date(Date.now() - 60_000);
    await utimes(tok.lock, old, old);
    const quick = client({ staleLockMs: 30_000 });
    expect(await readFile(await quick.downloadFile(REPO, 'main', 'tokenizer.json'))).toEqual(tokenizer);
  });
});

describe('listFiles', () => {
  it('lists from the hub API, caches the listing, and lists offline from the cache', async () => {
    const files = await client().listFiles(REPO, 'main');
    expect(files).toEqual(['config.json', MODEL, 'tokenizer.json']);
    const req = hub.log.find((r) => r.path.startsWith('/api/'))!;
    expect(req.path).toBe(`/api/models/${REPO}/revision/main`);
    const listing = await client().getListing(REPO, 'main');
    expect(listing.sha).toBe(hub.commit);
    expect(listing.files.find((f) => f.path === MODEL)?.size).toBe(model.length);
    expect(hub.log.filter((r) => r.path.startsWith('/api/'))).toHaveLength(1);

    const offline = client({ offline: true });
    expect(await offline.listFiles(REPO, 'main')).toEqual(files);
    const miss = await failure(offline.listFiles(REPO, 'v2'));
    expect(miss.code).toBe('OFFLINE_MISS');
    expect((await failure(client().listFiles('nobody/nothing', 'main'))).code).toBe('MODEL_NOT_FOUND');
  });
});
