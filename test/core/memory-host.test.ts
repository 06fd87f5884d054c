/**
 * A second host needs no copied logic: the core, bundled for a browser, loads and runs the
 * shipped tiny CLIP and VLM through `loadModel` on a host made here from memory — model files
 * from a Map, a stub decoder that takes raw pixels only, a Map store, fixed capabilities — with
 * only ONNX Runtime borrowed (onnxruntime-node; a browser host would hand in onnxruntime-web).
 * Its answers equal the Node host's. A family that exists only in this test (a folder's worth:
 * one descriptor) is registered by listing it, and loads like the built-in ones.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CLIP_MODEL, DEFAULT_VLM_MODEL } from '../../src/cli/paths.js';
import type * as Core from '../../src/index.js';
import { loadClip, loadLlava } from '../../src/node/index.js';
import { ort } from '../../src/node/ort.js';
import { renderShape } from '../../tools/shapes/render.js';

const root = join(import.meta.dirname, '..', '..');
let core: typeof Core;
let bundleDir: string;

beforeAll(async () => {
  bundleDir = await mkdtemp(join(root, '.scratch-core-bundle-'));
  const outfile = join(bundleDir, 'core.mjs');
  await build({
    entryPoints: [join(root, 'src/index.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    outfile,
    logLevel: 'silent',
    external: ['onnxruntime-common', 'onnxruntime-web', '@huggingface/*'],
  });
  core = (await import(pathToFileURL(outfile).href)) as typeof Core;
});
afterAll(async () => {
  await rm(bundleDir, { recursive: true, force: true });
});

/** Every file of a folder, read into memory (what a browser host would fetch). */
async function readFolder(dir: string, edit: Record<string, string> = {}): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else files.set(relative(dir, p).split('\\').join('/'), new Uint8Array(await readFile(p)));
    }
  };
  await walk(dir);
  for (const [k, v] of Object.entries(edit)) files.set(k, new TextEncoder().encode(v));
  return files;
}

function memoryFiles(location: string, files: Map<string, Uint8Array>): Core.ModelFiles {
  const get = (path: string) => {
    const f = files.get(path);
    if (!f)
      throw new core.ModelPackageError('MODEL_FILE_MISSING', `${location} has no ${path}`, { value: path });
    return f;
  };
  return {
    location,
    list: async () => [...files.keys()].sort(),
    exists: async (path) => files.has(path),
    readText: async (path) => new TextDecoder().decode(get(path)),
    readBytes: async (path) => get(path),
    // Pieces of a file in memory are free: the logit scale is scanned from it, as in Node.
    readRange: async (path, offset, length) => get(path).subarray(offset, offset + length),
    size: async (path) => get(path).byteLength,
    fingerprint: async (path) => String(get(path).byteLength),
  };
}

/** A whole host from memory: no file system, no sharp, no hub. */
function memoryHost(models: Record<string, Map<string, Uint8Array>>) {
  const decoded: string[] = [];
  const host: Core.Host = {
    name: 'memory',
    ort,
    openModel: async (ref) => {
      const files = models[ref];
      if (!files)
        throw new core.ModelPackageError('MODEL_NOT_FOUND', `no model "${ref}" in memory`, { value: ref });
      return memoryFiles(`memory:${ref}`, files);
    },
    decodeImage: async (input) => {
      const raw = input as { data: Uint8Array; width: number; height: number; channels: number };
      if (!raw || typeof raw !== 'object' || raw.channels !== 3) {
        throw new core.InputError('IMAGE_DECODE_FAILED', 'the memory host decodes raw RGB pixels only');
      }
      decoded.push(`${raw.width}x${raw.height}`);
      return { data: raw.data, width: raw.width, height: raw.height };
    },
    store: core.memoryStore(),
    detect: async () => ({
      host: 'node',
      os: 'memory',
      arch: 'any',
      runtime: 'test',
      ort: { package: 'onnxruntime-node', version: 'test' },
      cpu: { model: 'test', logicalCores: 1, simd: [] },
      memory: { totalBytes: 0 },
      gpus: [],
      providers: [{ name: 'cpu', bundled: true, usable: true }],
    }),
  };
  return { host, decoded };
}

const raw = (
  seed: number,
  color: Parameters<typeof renderShape>[3],
  shape: Parameters<typeof renderShape>[4],
) => {
  const im = renderShape(seed, 72, 56, color, shape, 'plain');
  return { data: im.rgb, width: im.width, height: im.height, channels: 3 as const };
};
const images = [raw(1, 'red', 'star'), raw(2, 'blue', 'circle'), raw(3, 'green', 'square')];
const labels = ['red star', 'blue circle', 'green square', 'yellow triangle'];

describe('a host from memory, over the bundled core', () => {
  it('runs the tiny CLIP through loadModel, with the same scores as the Node host', async () => {
    const { host, decoded } = memoryHost({ 'shapes-clip': await readFolder(DEFAULT_CLIP_MODEL) });
    const clip = (await core.loadModel(host, { model: 'shapes-clip', platform: 'cpu' })) as Core.ClipModel;
    const node = await loadClip({ model: DEFAULT_CLIP_MODEL, platform: 'cpu' });
    try {
      expect(clip.loader.package.location).toBe('memory:shapes-clip');
      const got = await clip.zeroShot(images, labels);
      const want = await node.zeroShot(images, labels);
      expect(got.map((r) => r[0]!.label)).toEqual(['red star', 'blue circle', 'green square']);
      expect(got).toEqual(want);
      expect(decoded).toHaveLength(3);
      // The learned logit scale was read through the loader and kept in the host's store.
      expect((await clip.logitScale()).scale).toBeCloseTo((await node.logitScale()).scale, 6);
      expect(clip.loader.status('model')).toBe('idle');
    } finally {
      await clip.dispose();
      await node.dispose();
    }
  });

  it('runs the tiny VLM through loadModel, streaming the same answer as the Node host', async () => {
    const { host } = memoryHost({ 'shapes-vlm': await readFolder(DEFAULT_VLM_MODEL) });
    const vlm = (await core.loadModel(host, { model: 'shapes-vlm', platform: 'cpu' })) as Core.LlavaModel;
    const node = await loadLlava({ model: DEFAULT_VLM_MODEL, platform: 'cpu' });
    try {
      const a = await vlm.ask(images[0]!, 'What color is the shape?').result;
      const b = await node.ask(images[0]!, 'What color is the shape?').result;
      expect(a.text.trim()).toBe('red');
      expect(a.tokenIds).toEqual(b.tokenIds);
      expect(a.tokenIds.length).toBeGreaterThan(0);
    } finally {
      await vlm.dispose();
      await node.dispose();
    }
  });

  it('loads a family registered by listing its descriptor, and says which families run a model type it lacks', async () => {
    const config = JSON.parse(await readFile(join(DEFAULT_CLIP_MODEL, 'config.json'), 'utf8'));
    const files = await readFolder(DEFAULT_CLIP_MODEL, {
      'config.json': JSON.stringify({ ...config, model_type: 'toy_clip' }),
    });
    const { host } = memoryHost({ toy: files });
    // The whole of a new family: one descriptor (a folder's index.ts), one entry in the list.
    const toy = core.dualEncoderFamily({ name: 'toy', modelTypes: ['toy_clip'], scoring: 'softmax' });
    const families = [...core.FAMILIES, toy];
    const clip = (await core.loadModel(host, { model: 'toy', platform: 'cpu', families })) as Core.ClipModel;
    try {
      expect(clip.family).toBe('toy');
      expect(clip.loader.placement!.plan.model.family).toBe('toy');
      const [best] = await clip.zeroShot([images[1]!], labels);
      expect(best![0]!.label).toBe('blue circle');
    } finally {
      await clip.dispose();
    }
    await expect(core.loadModel(host, { model: 'toy', platform: 'cpu' })).rejects.toMatchObject({
      code: 'MODEL_CONFIG_INVALID',
      message: expect.stringMatching(/model_type "toy_clip" .* is not a family mmrt runs/),
    });
  });
});
