/**
 * The web host's model files, run in Node (which has fetch, Request, Response and WebCrypto):
 * a folder served over HTTP with its listing, byte progress, reads from the store on a second
 * visit, integrity checks, the listing kept for offline visits, and a stalled server bounded.
 */
import { createServer } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, copyModel } from '../../demo/build.js';
import { type StaticServer, serveStatic } from '../../demo/serve.js';
import { MmrtError } from '../../src/errors.js';
import { memoryStore } from '../../src/host/host.js';
import { fetchBytes } from '../../src/web/fetch.js';
import { openWebModel } from '../../src/web/files.js';

let dir: string;
let server: StaticServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mmrt-web-files-'));
  await copyModel(join(ROOT, 'models/shapes-clip'), join(dir, 'clip'));
  server = await serveStatic({ root: dir });
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const fetched = () => server.requests.filter((p) => p.endsWith('.onnx'));

describe('model folders over HTTP', () => {
  it('lists a folder from its mmrt-listing.json, fetches with progress, and reads the store on a second visit', async () => {
    const store = memoryStore();
    const files = await openWebModel(`${server.url}clip/`, { store });
    expect(await files.list()).toContain('onnx/vision_model.onnx');
    expect(JSON.parse(await files.readText('config.json')).model_type).toBe('clip');
    const size = await files.size('onnx/vision_model.onnx');
    const events: Array<[number, number | undefined]> = [];
    const before = fetched().length;
    await files.prefetch('onnx/vision_model.onnx', { onProgress: (l, t) => events.push([l, t]) });
    expect(fetched().length).toBe(before + 1);
    expect(events.at(-1)).toEqual([size, size]);
    expect(events.every(([l], i) => i === 0 || l >= events[i - 1]![0])).toBe(true);
    expect((await files.readBytes('onnx/vision_model.onnx')).byteLength).toBe(size);

    const again = await openWebModel(`${server.url}clip/`, { store });
    expect((await again.readBytes('onnx/vision_model.onnx')).byteLength).toBe(size);
    expect(fetched().length).toBe(before + 1);
    expect(await again.fingerprint('onnx/vision_model.onnx')).toMatch(/^local:\d+:[0-9a-f]{64}$/);
  });

  it('refuses a file whose bytes do not match the SHA-256 of its listing', async () => {
    const listing = JSON.parse(await (await fetch(`${server.url}clip/mmrt-listing.json`)).text());
    const entry = listing.siblings.find((s: { rfilename: string }) => s.rfilename === 'onnx/text_model.onnx');
    entry.lfs.sha256 = '0'.repeat(64);
    await writeFile(join(dir, 'clip', 'mmrt-listing.json'), JSON.stringify(listing));
    try {
      const files = await openWebModel(`${server.url}clip/`, { store: memoryStore() });
      const err = await files.readBytes('onnx/text_model.onnx').catch((e: unknown) => e);
      expect((err as MmrtError).code).toBe('DOWNLOAD_INTEGRITY');
    } finally {
      await copyModel(join(ROOT, 'models/shapes-clip'), join(dir, 'clip'));
    }
  });

  it('says what a folder without a listing needs', async () => {
    const err = await openWebModel(`${server.url}nowhere/`, { store: memoryStore() }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MmrtError);
    expect((err as MmrtError).code).toBe('MODEL_NOT_FOUND');
    expect((err as MmrtError).details.hint).toMatch(/mmrt-listing\.json/);
  });

  it('uses the listing of the last visit when the server cannot be reached', async () => {
    const store = memoryStore();
    const other = await serveStatic({ root: dir });
    const url = `${other.url}clip/`;
    const first = await openWebModel(url, { store });
    await first.readText('config.json');
    await other.close();
    const offline = await openWebModel(url, { store });
    expect(JSON.parse(await offline.readText('config.json')).model_type).toBe('clip');
    expect((await offline.list()).length).toBe((await first.list()).length);
  });

  it('fails a fetch that stalls after the idle timeout instead of hanging', async () => {
    const stall = createServer((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('x');
    });
    await new Promise<void>((ok) => stall.listen(0, '127.0.0.1', () => ok()));
    const port = (stall.address() as { port: number }).port;
    try {
      const err = await fetchBytes(`http://127.0.0.1:${port}/x`, { idleTimeoutMs: 200 }).catch(
        (e: unknown) => e,
      );
      expect((err as MmrtError).code).toBe('DOWNLOAD_FAILED');
      expect((err as Error).message).toMatch(/no data for 200 ms/);
    } finally {
      stall.closeAllConnections();
      stall.close();
    }
  });
});
