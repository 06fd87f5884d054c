/**
 * The Node platform with real ONNX Runtime sessions (the probe graph, y = 2x, under each
 * component's file name). The fallback test forces cuda before cpu on this CPU-only machine:
 * the CUDA session really fails to create and the cpu one really runs.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostCapabilities } from '../../src/platform/capabilities.js';
import { detectNode } from '../../src/node/detect.js';
import { ort } from '../../src/node/ort.js';
import { createPlatform } from '../../src/node/platform.js';
import { writeProbePackage } from './fixtures.js';

let dir: string;
let clipDir: string;
const caps: HostCapabilities = await detectNode();
/** On a CUDA machine there is nothing to fall back from. */
const hasCuda = caps.providers.some((p) => p.name === 'cuda' && p.usable);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mmrt-platform-'));
  clipDir = await writeProbePackage(join(dir, 'clip'), 'clip', ['fp32', 'q8']);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function runProbe(session: {
  run: (f: Record<string, unknown>) => Promise<Record<string, { data: unknown }>>;
}) {
  const x = new ort.Tensor('float32', new Float32Array([1, 2, 3, 4]), [1, 4]);
  const out = await session.run({ x });
  return Array.from(out.y!.data as Float32Array);
}

describe('createPlatform (Node)', () => {
  it.skipIf(hasCuda)(
    "falls back from cuda to cpu under 'auto' when the CUDA session fails, recording why",
    async () => {
      const platform = await createPlatform({
        model: clipDir,
        platform: 'auto',
        candidates: ['cuda', 'cpu'],
        capabilities: caps,
      });
      expect(platform.plan.platform).toBe('cuda');
      const session = await platform.createSession('vision_model');
      try {
        expect(session.providers).toEqual(['cpu']);
        expect(await runProbe(session as never)).toEqual([2, 4, 6, 8]);
      } finally {
        await session.release();
      }
      expect(platform.fallbacks).toHaveLength(1);
      expect(platform.fallbacks[0]).toMatchObject({
        from: 'cuda',
        to: 'cpu',
        component: 'vision_model',
        code: 'PROVIDER_UNAVAILABLE',
      });
      expect(platform.fallbacks[0]!.reason).toMatch(/execution provider "cuda" cannot be used here/);
      // The platform now plans (and explains) cpu, and says what happened.
      expect(platform.plan.platform).toBe('cpu');
      expect(platform.explain()).toMatch(
        /Fallbacks:\n {2}- cuda -> cpu: "vision_model" PROVIDER_UNAVAILABLE/,
      );
      expect(platform.warnings.join('\n')).toMatch(/cuda -> cpu after "vision_model" failed/);
      const text = await platform.createSession('text_model');
      expect(text.providers).toEqual(['cpu']);
      await text.release();
      expect(platform.fallbacks).toHaveLength(1);
    },
  );

  it.skipIf(hasCuda)(
    'does not fall back when the platform was named: the provider error is the answer',
    async () => {
      const platform = await createPlatform({ model: clipDir, platform: 'cuda', capabilities: caps });
      await expect(platform.createSession('vision_model')).rejects.toMatchObject({
        code: 'PROVIDER_UNAVAILABLE',
      });
      expect(platform.fallbacks).toEqual([]);
    },
  );

  it('creates cpu sessions from the plan: the planned file and the machine cores', async () => {
    const platform = await createPlatform({
      model: clipDir,
      modelType: 'multimodal',
      platform: 'cpu',
      config: { precision: 'int8' },
      capabilities: caps,
    });
    expect(platform.package.family).toBe('clip');
    const c = platform.plan.components.find((x) => x.name === 'text_model')!;
    expect(c.file).toBe('onnx/text_model_quantized.onnx');
    expect(c.session.intraOpNumThreads).toBe(caps.cpu.logicalCores);
    const session = await platform.createSession('text_model');
    expect(await runProbe(session as never)).toEqual([2, 4, 6, 8]);
    await session.release();
    await expect(platform.createSession('decoder')).rejects.toMatchObject({
      code: 'MODEL_COMPONENT_MISSING',
    });
  });

  it('stores and reuses optimized graphs when graph_cache is on', async () => {
    const cacheDir = join(dir, 'cache');
    const platform = await createPlatform({
      model: clipDir,
      platform: 'cpu',
      config: { graph_cache: true },
      cacheDir,
      capabilities: caps,
    });
    expect(platform.plan.graphCache).toBe(true);
    const s = await platform.createSession('vision_model');
    await s.release();
    // The memory-mapped, pre-packed format (src/node/weight-cache.ts), as the loader uses.
    expect(
      (await readdir(join(cacheDir, 'graphs-external'))).some((f) => f.startsWith('vision_model-')),
    ).toBe(true);
  });

  it('checks modelType against the package', async () => {
    await expect(
      createPlatform({ model: clipDir, modelType: 'llava', capabilities: caps }),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID_VALUE',
      message: expect.stringMatching(/modelType "llava" does not match .*model_type "clip"/),
    });
    await expect(
      createPlatform({ model: clipDir, modelType: 'multimodel' as never, capabilities: caps }),
    ).rejects.toThrow(/did you mean "multimodal"/);
  });
});
