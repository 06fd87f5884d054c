/**
 * A real HTTP server on 127.0.0.1 that behaves like the Hugging Face hub where it matters:
 * `/{repo}/resolve/{rev}/{path}` with Range / If-Range, ETag = sha256 (LFS files) or git blob
 * sha1 (small files), X-Linked-Etag / X-Linked-Size / X-Repo-Commit, LFS redirects to a CDN on
 * another origin, and `/api/models/{repo}/revision/{rev}` listings. Faults (dropped
 * connections, corrupt bytes, 5xx, slow bodies) are switched on per test.
 */
import { createHash } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RequestLog {
  readonly server: 'hub' | 'cdn';
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  /** Status sent. */
  status: number;
  /** Body bytes actually written to the socket. */
  bytes: number;
}

export interface Faults {
  /** Destroy the socket after this many body bytes, for the first `dropTimes` GETs of `dropPath`. */
  dropPath?: string;
  dropAfter?: number;
  dropTimes?: number;
  /** Serve these files with one byte flipped (headers still promise the true content). */
  corrupt?: Set<string>;
  /** Answer the first N GETs with this status. */
  failStatus?: number;
  failTimes?: number;
  /** Milliseconds between 64 KiB chunks (slow body, for abort and concurrency tests). */
  chunkDelayMs?: number;
  /** Ignore Range headers (answer 200 with the whole file). */
  ignoreRange?: boolean;
  /** Require `Authorization: Bearer <token>` on the hub (not the CDN). */
  token?: string;
  /**
   * Serve these (small) files as a hub that says nothing about them: no ETag, no size headers,
   * a chunked body cut after the given number of bytes, ending cleanly.
   */
  bareShort?: Map<string, number>;
}

export interface FakeHub {
  readonly endpoint: string;
  readonly cdnEndpoint: string;
  readonly log: RequestLog[];
  readonly faults: Faults;
  readonly commit: string;
  /** Replace a file's content (as if a new commit were pushed). */
  setFile(path: string, data: Buffer): void;
  close(): Promise<void>;
}

export interface FakeHubOptions {
  repo: string;
  revision?: string;
  files: Record<string, Buffer>;
  /** Files at least this large are "LFS": sha256 ETag, served by redirect to the CDN. */
  lfsThreshold?: number;
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
export const gitSha1 = (b: Buffer) =>
  createHash('sha1')
    .update(Buffer.concat([Buffer.from(`blob ${b.length}\0`), b]))
    .digest('hex');

const CHUNK = 64 * 1024;
/** The pointer file git stores for an LFS file (its git blob id is the hub's `blobId`). */
const lfsPointer = (b: Buffer) =>
  Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(b)}\nsize ${b.length}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function startFakeHub(opts: FakeHubOptions): Promise<FakeHub> {
  const revision = opts.revision ?? 'main';
  const lfsThreshold = opts.lfsThreshold ?? 100 * 1024;
  const commit = 'c0ffee'.padEnd(40, '0');
  const files = new Map(Object.entries(opts.files));
  const log: RequestLog[] = [];
  const faults: Faults = {};
  let getCount = 0;
  let dropped = 0;
  const isLfs = (b: Buffer) => b.length >= lfsThreshold;

  /** Stream `body` (or its range) honoring faults; records bytes written. */
  async function sendBody(
    req: IncomingMessage,
    res: ServerResponse,
    entry: RequestLog,
    body: Buffer,
    etag: string,
    file: string,
  ) {
    const range = req.headers.range?.match(/^bytes=(\d+)-(\d*)$/);
    const ifRange = req.headers['if-range'];
    const honourRange = range && !faults.ignoreRange && (ifRange === undefined || ifRange === etag);
    const start = honourRange ? Number(range![1]) : 0;
    // `bytes=a-b` (inclusive end), as @huggingface/hub asks for `bytes=0-0` to learn the size.
    const end = honourRange && range![2] ? Math.min(Number(range![2]) + 1, body.length) : body.length;
    const headers: Record<string, string | number> = { ETag: etag, 'Accept-Ranges': 'bytes' };
    if (honourRange && start >= body.length) {
      entry.status = 416;
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${body.length}` });
      return res.end();
    }
    const part = body.subarray(start, end);
    headers['Content-Length'] = part.length;
    if (honourRange) headers['Content-Range'] = `bytes ${start}-${end - 1}/${body.length}`;
    entry.status = honourRange ? 206 : 200;
    res.writeHead(entry.status, headers);
    if (req.method === 'HEAD') return res.end();
    const drop = faults.dropPath === file && dropped < (faults.dropTimes ?? 1) ? faults.dropAfter : undefined;
    if (drop !== undefined) dropped++;
    for (let off = 0; off < part.length; off += CHUNK) {
      let chunk = part.subarray(off, off + CHUNK);
      if (drop !== undefined && entry.bytes + chunk.length > drop) {
        chunk = chunk.subarray(0, drop - entry.bytes);
        await new Promise<void>((r) => res.write(chunk, () => r()));
        entry.bytes += chunk.length;
        await sleep(20); // let the bytes leave before the reset
        req.socket.destroy();
        return;
      }
      if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
      entry.bytes += chunk.length;
      if (res.destroyed) return;
      if (faults.chunkDelayMs) await sleep(faults.chunkDelayMs);
      if (res.destroyed) return;
    }
    res.end();
  }

  function content(file: string): Buffer {
    const b = files.get(file)!;
    if (!faults.corrupt?.has(file)) return b;
    const bad = Buffer.from(b);
    bad[bad.length >> 1] = bad[bad.length >> 1]! ^ 0xff;
    return bad;
  }

  const hub = createServer(async (req, res) => {
    const url = new URL(req.url!, 'http://x');
    const entry: RequestLog = {
      server: 'hub',
      method: req.method!,
      path: url.pathname,
      headers: req.headers,
      status: 0,
      bytes: 0,
    };
    log.push(entry);
    const reply = (status: number, headers: Record<string, string> = {}, body = '') => {
      entry.status = status;
      res.writeHead(status, headers).end(body);
    };
    if (faults.token && req.headers.authorization !== `Bearer ${faults.token}`) return reply(401);
    if (req.method === 'GET' && faults.failStatus && getCount++ < (faults.failTimes ?? 1)) {
      return reply(faults.failStatus);
    }
    const listing = `/api/models/${opts.repo}/revision/${encodeURIComponent(revision)}`;
    if (url.pathname === listing) {
      // As the hub's API (blobs=true): git blob id, size, and for LFS files their sha256.
      const siblings = [...files.keys()].map((rfilename) => {
        const b = files.get(rfilename)!;
        return {
          rfilename,
          size: b.length,
          blobId: gitSha1(isLfs(b) ? lfsPointer(b) : b),
          ...(isLfs(b) && { lfs: { sha256: sha256(b), size: b.length, pointerSize: lfsPointer(b).length } }),
        };
      });
      return reply(200, { 'Content-Type': 'application/json' }, JSON.stringify({ sha: commit, siblings }));
    }
    // paths-info, which @huggingface/hub's downloadFileToCacheDir asks before downloading.
    if (
      req.method === 'POST' &&
      url.pathname === `/api/models/${opts.repo}/paths-info/${encodeURIComponent(revision)}`
    ) {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const asked =
        (JSON.parse(Buffer.concat(chunks).toString() || '{}') as { paths?: string[] }).paths ?? [];
      const info = asked
        .filter((p) => files.has(p))
        .map((path) => {
          const b = files.get(path)!;
          return {
            type: 'file',
            path,
            size: b.length,
            oid: gitSha1(isLfs(b) ? lfsPointer(b) : b),
            ...(isLfs(b) && { lfs: { oid: sha256(b), size: b.length, pointerSize: lfsPointer(b).length } }),
            lastCommit: { id: commit, title: 'fake commit', date: '2026-01-01T00:00:00.000Z' },
          };
        });
      return reply(200, { 'Content-Type': 'application/json' }, JSON.stringify(info));
    }
    const prefix = `/${opts.repo}/resolve/${encodeURIComponent(revision)}/`;
    if (!url.pathname.startsWith(prefix)) {
      return reply(404, { 'X-Error-Code': 'RepoNotFound', 'X-Error-Message': 'Repository not found' });
    }
    const file = url.pathname.slice(prefix.length).split('/').map(decodeURIComponent).join('/');
    const body = files.get(file);
    if (!body) return reply(404, { 'X-Error-Code': 'EntryNotFound', 'X-Error-Message': 'Entry not found' });
    const hubHeaders = { 'X-Repo-Commit': commit, 'X-Linked-Size': String(body.length) };
    if (isLfs(body)) {
      const sha = sha256(body);
      entry.status = 302;
      res.writeHead(302, {
        ...hubHeaders,
        'X-Linked-Etag': `"${sha}"`,
        ETag: `"${sha}"`,
        Location: `${cdnEndpoint}/cdn/${sha}?file=${encodeURIComponent(file)}`,
      });
      return res.end();
    }
    const cut = faults.bareShort?.get(file);
    if (cut !== undefined) {
      entry.status = 200;
      res.writeHead(200, { 'Transfer-Encoding': 'chunked' });
      if (req.method === 'HEAD') return res.end();
      entry.bytes = Math.min(cut, body.length);
      return res.end(body.subarray(0, cut));
    }
    for (const [k, v] of Object.entries(hubHeaders)) res.setHeader(k, v);
    await sendBody(req, res, entry, content(file), `"${gitSha1(body)}"`, file);
  });

  const cdn = createServer(async (req, res) => {
    const url = new URL(req.url!, 'http://x');
    const entry: RequestLog = {
      server: 'cdn',
      method: req.method!,
      path: url.pathname,
      headers: req.headers,
      status: 0,
      bytes: 0,
    };
    log.push(entry);
    const file = url.searchParams.get('file') ?? '';
    const body = files.get(file);
    if (!body || url.pathname !== `/cdn/${sha256(body)}`) {
      entry.status = 404;
      return res.writeHead(404).end();
    }
    // A CDN's own ETag: an md5-like tag that is NOT the content's sha256.
    const cdnEtag = `"${createHash('md5').update(body).digest('hex')}-1"`;
    await sendBody(req, res, entry, content(file), cdnEtag, file);
  });

  const endpoint = await listen(hub);
  const cdnEndpoint = await listen(cdn);
  return {
    endpoint,
    cdnEndpoint,
    log,
    faults,
    commit,
    setFile(path, data) {
      files.set(path, data);
    },
    async close() {
      hub.closeAllConnections();
      cdn.closeAllConnections();
      await Promise.all([new Promise((r) => hub.close(r)), new Promise((r) => cdn.close(r))]);
    },
  };
}
