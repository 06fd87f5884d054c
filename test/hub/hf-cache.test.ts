/**
 * The download cache is Hugging Face's: a model that another tool put in it is used without a
 * download, and what mmrt downloads is found by the others. The other tool here is
 * `@huggingface/hub` itself, writing its layout from the same fake hub.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { downloadFileToCacheDir } from '@huggingface/hub';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_CLIP_MODEL } from '../../src/cli/paths.js';
import { HubClient, loadClip } from '../../src/node/index.js';
import { tmpDir } from '../loader/fixtures.js';
import { type FakeHub, startFakeHub } from './fake-hub.js';

const REPO = 'Xenova/shapes-clip';
let hub: FakeHub;
let files: Record<string, Buffer>;

async function folderFiles(root: string, prefix = ''): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  for (const e of await readdir(join(root, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) Object.assign(out, await folderFiles(root, rel));
    else if (!rel.endsWith('reference.json')) out[rel] = await readFile(join(root, rel));
  }
  return out;
}

const resolveGets = () => hub.log.filter((r) => r.method === 'GET' && r.path.includes('/resolve/'));
const cdnGets = () => hub.log.filter((r) => r.server === 'cdn' && r.method === 'GET');

beforeAll(async () => {
  vi.spyOn(console, 'debug').mockImplementation(() => undefined); // @huggingface/hub's "Downloading ..."
  files = await folderFiles(DEFAULT_CLIP_MODEL);
  hub = await startFakeHub({ repo: REPO, files });
});
afterAll(() => hub.close());

describe('the Hugging Face cache layout, shared with @huggingface/hub', () => {
  it('loads a model that @huggingface/hub downloaded, downloading nothing', async () => {
    const cacheDir = await tmpDir('mmrt-hf-cache-');
    for (const path of Object.keys(files)) {
      await downloadFileToCacheDir({ repo: REPO, path, cacheDir, hubUrl: hub.endpoint });
    }
    const before = { resolve: resolveGets().length, cdn: cdnGets().length };
    const clip = await loadClip({
      model: REPO,
      platform: 'cpu',
      config: { numThreads: 1 },
      host: { hub: { endpoint: hub.endpoint, cacheDir, env: {} } },
      loading: { preload: true },
    });
    const [scores] = await clip.zeroShot(
      [join(DEFAULT_CLIP_MODEL, '..', 'samples', '03_red_circle.jpg')],
      ['red circle', 'blue star'],
    );
    expect(scores![0]!.label).toBe('red circle');
    await clip.dispose();
    // The listing is an API call; no file was fetched again.
    expect(resolveGets().length).toBe(before.resolve);
    expect(cdnGets().length).toBe(before.cdn);

    // Offline (HF_HUB_OFFLINE), with no listing kept by anyone: the snapshot is the listing.
    const offline = await loadClip({
      model: REPO,
      platform: 'cpu',
      config: { numThreads: 1 },
      host: {
        hub: {
          endpoint: 'http://127.0.0.1:9',
          cacheDir: await copyOf(cacheDir),
          env: { HF_HUB_OFFLINE: '1' },
        },
      },
    });
    expect(offline.loader.package.layout).toEqual(['text_model', 'vision_model']);
    await offline.dispose();
  });

  it('what mmrt downloads, @huggingface/hub finds in place without fetching it', async () => {
    const cacheDir = await tmpDir('mmrt-hf-cache-');
    const client = new HubClient({ endpoint: hub.endpoint, cacheDir, env: {} });
    const ours = await client.downloadFile(REPO, 'main', 'onnx/text_model.onnx');
    const before = resolveGets().length;
    const theirs = await downloadFileToCacheDir({
      repo: REPO,
      path: 'onnx/text_model.onnx',
      cacheDir,
      hubUrl: hub.endpoint,
    });
    expect(theirs).toBe(ours);
    expect(resolveGets().length).toBe(before);
    // By commit, as Python asks offline: the pointer path, no request at all.
    const n = hub.log.length;
    expect(
      await downloadFileToCacheDir({
        repo: REPO,
        path: 'onnx/text_model.onnx',
        revision: hub.commit,
        cacheDir,
        hubUrl: hub.endpoint,
      }),
    ).toBe(ours);
    expect(hub.log.length).toBe(n);
  });
});

/** A copy of a cache without mmrt's bookkeeping (as another tool leaves it). */
async function copyOf(cacheDir: string): Promise<string> {
  const { cp, rm } = await import('node:fs/promises');
  const to = await tmpDir('mmrt-hf-cache-copy-');
  await cp(cacheDir, to, { recursive: true, verbatimSymlinks: true });
  await rm(join(to, '.locks'), { recursive: true, force: true });
  return to;
}
