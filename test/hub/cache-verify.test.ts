/**
 * A cache that can be trusted and repaired: a hub that sends a short file and says nothing
 * about its size leaves nothing at a final path (the listing's size is held against it); a
 * cached file damaged on disk is found by `mmrt cache verify`, named in errors by its cache
 * path, removed by `--repair`, and downloaded again on the next load.
 */
import { execFile } from 'node:child_process';
import { readFile, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isMmrtError } from '../../src/errors.js';
import { HubClient, openModelFiles } from '../../src/node/hub/index.js';
import { readPackage } from '../../src/package/describe.js';
import { FAMILIES } from '../../src/families/registry.js';
import { tmpDir } from '../loader/fixtures.js';
import { type FakeHub, startFakeHub } from './fake-hub.js';

const REPO = 'test-org/tiny';
const config = Buffer.from(
  JSON.stringify({ model_type: 'clip', projection_dim: 8, padding: 'x'.repeat(200) }),
);
let hub: FakeHub;
let cacheDir: string;
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'mmrt.js');

beforeEach(async () => {
  cacheDir = await tmpDir('mmrt-verify-');
  hub = await startFakeHub({
    repo: REPO,
    files: { 'config.json': config, 'onnx/model.onnx': Buffer.alloc(300_000, 3) },
  });
});
afterEach(() => hub.close());

const client = () =>
  new HubClient({ endpoint: hub.endpoint, cacheDir, env: {}, retries: 1, retryDelayMs: 1 });

describe('the download cache', () => {
  it('a short file with no size or checksum from the hub never reaches its final path', async () => {
    hub.faults.bareShort = new Map([['config.json', 40]]);
    const c = client();
    await c.listFiles(REPO, 'main'); // the listing knows the true size
    const err = await c.downloadFile(REPO, 'main', 'config.json').catch((e: unknown) => e);
    expect(isMmrtError(err) && err.code).toBe('DOWNLOAD_FAILED');
    expect((err as Error).message).toMatch(/sent 40 of \d+ bytes/);
    expect(await c.cachedPath(REPO, 'main', 'config.json')).toBeUndefined();
  });

  it('verify finds a damaged cached file, errors name its cache path, --repair removes it, the next load refetches', async () => {
    const c = client();
    const path = await c.downloadFile(REPO, 'main', 'config.json');
    await c.downloadFile(REPO, 'main', 'onnx/model.onnx');
    await writeFile(await realpath(path), '{"model_type": "cl'); // damaged on disk
    const env = { ...process.env, MMRT_FROM_SOURCE: '1', HF_HUB_CACHE: cacheDir };
    const run = (...args: string[]): Promise<{ code: number; stdout: string }> =>
      promisify(execFile)('node', [BIN, 'cache', ...args], { env }).then(
        (r) => ({ code: 0, stdout: r.stdout }),
        (e: { code: number; stdout: string }) => e,
      );
    const report = await run('verify', '--json');
    expect(report.code).toBe(1);
    const [repo] = (
      JSON.parse(report.stdout) as { repos: Array<{ verified: number; damaged: Array<{ files: string[] }> }> }
    ).repos;
    expect(repo!.verified).toBe(1);
    expect(repo!.damaged.map((d) => d.files)).toEqual([[`snapshots/${hub.commit}/config.json`]]);

    // Reading it names the cached copy, not the hub URL.
    const files = await openModelFiles(REPO, { endpoint: hub.endpoint, cacheDir, env: {} });
    const err = await readPackage(files, FAMILIES).catch((e: unknown) => e);
    expect((err as Error).message).toContain(`snapshots/${hub.commit}/config.json`);
    expect((err as Error).message).toMatch(/is not valid JSON/);

    const repaired = await run('verify', REPO, '--repair');
    expect(repaired.stdout).toMatch(/removed: snapshots\/.*\/config\.json/);
    expect(await c.cachedPath(REPO, 'main', 'config.json')).toBeUndefined();
    const again = await client().downloadFile(REPO, 'main', 'config.json');
    expect(await readFile(again)).toEqual(config);

    const cleaned = await run('clean', REPO);
    expect(cleaned.stdout).toMatch(/removed models--test-org--tiny/);
    expect(await c.cachedPath(REPO, 'main', 'onnx/model.onnx')).toBeUndefined();
  });
});
