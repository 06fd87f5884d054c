import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelPackageError, isMmrtError } from '../../src/errors.js';
import { HubClient, HubModelFiles, LocalModelFiles, openModelFiles } from '../../src/node/hub/index.js';
import { type FakeHub, startFakeHub } from './fake-hub.js';

const REPO = 'test-org/tiny-clip';
const model = randomBytes(1024 * 1024);
const config = JSON.stringify({ model_type: 'clip' });

let tmp: string;
let folder: string;
let hub: FakeHub;

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mmrt-files-'));
  folder = join(tmp, 'model');
  await mkdir(join(folder, 'onnx'), { recursive: true });
  await writeFile(join(folder, 'config.json'), config);
  await writeFile(join(folder, 'tokenizer.json'), '{}');
  await writeFile(join(folder, 'onnx', 'model.onnx'), model);
  hub = await startFakeHub({
    repo: REPO,
    files: {
      'config.json': Buffer.from(config),
      'tokenizer.json': Buffer.from('{}'),
      'onnx/model.onnx': model,
    },
  });
});

afterEach(async () => {
  await hub.close();
  await rm(tmp, { recursive: true, force: true });
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isMmrtError(e)) return e.code;
    throw e;
  }
  return 'resolved';
}

describe('LocalModelFiles', () => {
  it('lists posix paths recursively (following symlinks) and reads files', async () => {
    await symlink(join(folder, 'onnx'), join(folder, 'linked'));
    const files = await LocalModelFiles.open(folder);
    expect(await files.list()).toEqual([
      'config.json',
      'linked/model.onnx',
      'onnx/model.onnx',
      'tokenizer.json',
    ]);
    expect(JSON.parse(await files.readText('config.json'))).toEqual({ model_type: 'clip' });
    expect(Buffer.from(await files.readBytes('onnx/model.onnx')).equals(model)).toBe(true);
    expect(await files.size('onnx/model.onnx')).toBe(model.length);
    expect(await files.localPath('onnx/model.onnx')).toBe(join(folder, 'onnx', 'model.onnx'));
    expect(await files.exists('onnx/model.onnx')).toBe(true);
    expect(await files.exists('onnx')).toBe(false);
  });

  it('reports missing files, missing folders and escaping paths with typed errors', async () => {
    const files = await LocalModelFiles.open(folder);
    try {
      await files.readText('preprocessor_config.json');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ModelPackageError);
      expect((e as ModelPackageError).code).toBe('MODEL_FILE_MISSING');
      expect((e as ModelPackageError).message).toContain('preprocessor_config.json');
    }
    expect(await code(files.size('onnx'))).toBe('MODEL_FILE_MISSING');
    expect(await code(files.localPath('nope.onnx'))).toBe('MODEL_FILE_MISSING');
    expect(await code(files.readText('../model/config.json'))).toBe('MODEL_ID_INVALID');
    expect(await code(files.readBytes('/etc/passwd'))).toBe('MODEL_ID_INVALID');
    expect(await code(LocalModelFiles.open(join(tmp, 'absent')))).toBe('MODEL_NOT_FOUND');
  });
});

describe('openModelFiles', () => {
  it('opens a local folder', async () => {
    const files = await openModelFiles(folder);
    expect(files).toBeInstanceOf(LocalModelFiles);
    expect(await files.readText('config.json')).toBe(config);
    expect(await code(openModelFiles('./definitely/not/here'))).toBe('MODEL_NOT_FOUND');
  });

  it('treats an org/name that exists as a folder here as that folder, not a hub id', async () => {
    const cwd = process.cwd();
    const base = join(tmp, 'cwd-local');
    await mkdir(join(base, 'models', 'clip'), { recursive: true });
    await writeFile(join(base, 'models', 'clip', 'config.json'), config);
    process.chdir(base);
    try {
      const files = await openModelFiles('models/clip', { offline: true, env: {} });
      expect(files).toBeInstanceOf(LocalModelFiles);
      expect(await files.readText('config.json')).toBe(config);
      // With an explicit revision it is a hub id again.
      const hubFiles = await openModelFiles('models/clip@main', {
        offline: true,
        cacheDir: join(base, 'c'),
        env: {},
      });
      expect(hubFiles).toBeInstanceOf(HubModelFiles);
    } finally {
      process.chdir(cwd);
    }
  });

  it('opens a hub id: listing, sizes, lazy downloads into the cache', async () => {
    const cacheDir = join(tmp, 'cache');
    const files = await openModelFiles(`${REPO}@main`, { endpoint: hub.endpoint, cacheDir, env: {} });
    expect(files).toBeInstanceOf(HubModelFiles);
    expect(await files.list()).toEqual(['config.json', 'onnx/model.onnx', 'tokenizer.json']);
    expect(await files.size('onnx/model.onnx')).toBe(model.length);
    expect(hub.log.filter((r) => r.path.includes('/resolve/'))).toHaveLength(0); // sizes came from the listing
    expect(await files.exists('config.json')).toBe(true);
    expect(await files.exists('missing.json')).toBe(false);
    expect(JSON.parse(await files.readText('config.json'))).toEqual({ model_type: 'clip' });
    const local = await files.localPath!('onnx/model.onnx');
    expect(local).toBe(
      join(cacheDir, 'models--test-org--tiny-clip', 'snapshots', hub.commit, 'onnx', 'model.onnx'),
    );
    expect(Buffer.from(await files.readBytes('onnx/model.onnx')).equals(model)).toBe(true);
    expect(await code(files.readText('nope.json'))).toBe('MODEL_FILE_MISSING');

    // The same files, offline, from the cache alone.
    const offline = await openModelFiles(REPO, { cacheDir, offline: true, env: {} });
    expect(await offline.list()).toEqual(['config.json', 'onnx/model.onnx', 'tokenizer.json']);
    expect(await offline.readText('config.json')).toBe(config);
    expect(await code(offline.readText('tokenizer.json'))).toBe('OFFLINE_MISS');
  });

  it('asks the hub (HEAD) for a size the listing lacks', async () => {
    const client = new HubClient({ endpoint: hub.endpoint, cacheDir: join(tmp, 'cache'), env: {} });
    expect(await client.fileSize(REPO, 'main', 'onnx/model.onnx')).toBe(model.length);
    expect(hub.log.map((r) => r.method)).toContain('HEAD');
    expect(hub.log.some((r) => r.method === 'GET')).toBe(false);
  });

  it('rejects a revision given twice differently', async () => {
    expect(await code(openModelFiles(`${REPO}@v1`, { revision: 'v2', env: {} }))).toBe('MODEL_ID_INVALID');
  });
});
