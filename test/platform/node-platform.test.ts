/**
 * Placements on Node with real ONNX Runtime sessions (the probe graph, y = 2x, under each
 * component's file name), created by the loader. The fallback tests force cuda before cpu on
 * this CPU-only machine: the CUDA session really fails to create and the cpu one really runs.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostCapabilities } from '../../src/platform/capabilities.js';
import { detectNode } from '../../src/node/detect.js';
import type { Host } from '../../src/host/host.js';
import { createLoader as createLoaderFor } from '../../src/load/load-model.js';
import { createLoader, createPlacement, nodeHost } from '../../src/node/index.js';
import { ort } from '../../src/node/ort.js';
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

/** The Node host with every session creation recorded: which component, on which providers. */
function recordingHost() {
  const base = nodeHost();
  const created: Array<{ component: string; providers: string[]; file: string }> = [];
  const host: Host = {
    ...base,
    async createSession(spec, context) {
      created.push({
        component: spec.name,
        providers: (spec.providers ?? ['cpu']).map((p) => (typeof p === 'string' ? p : p.name)),
        file: typeof spec.model === 'string' ? spec.model.split('/').pop()! : 'bytes',
      });
      return base.createSession!(spec, context);
    },
  };
  return { host, created };
}

describe('placements and the loader (Node)', () => {
  it.skipIf(hasCuda)(
    "falls back from cuda to cpu under 'auto' when the CUDA session fails, recording why",
    async () => {
      const loader = await createLoader({
        model: clipDir,
        platform: 'auto',
        candidates: ['cuda', 'cpu'],
        capabilities: caps,
      });
      const placement = loader.placement!;
      expect(placement.plan.platform).toBe('cuda');
      try {
        const session = await loader.session('vision_model');
        expect(session.providers).toEqual(['cpu']);
        expect(await runProbe(session as never)).toEqual([2, 4, 6, 8]);
        expect(placement.fallbacks).toHaveLength(1);
        expect(placement.fallbacks[0]).toMatchObject({
          from: 'cuda',
          to: 'cpu',
          component: 'vision_model',
          code: 'PROVIDER_UNAVAILABLE',
        });
        expect(placement.fallbacks[0]!.reason).toMatch(/execution provider "cuda" cannot be used here/);
        // The placement now plans (and explains) cpu, and says what happened.
        expect(placement.plan.platform).toBe('cpu');
        expect(placement.explain()).toMatch(
          /Fallbacks:\n {2}- cuda -> cpu: "vision_model" PROVIDER_UNAVAILABLE/,
        );
        expect(placement.warnings.join('\n')).toMatch(/cuda -> cpu after "vision_model" failed/);
        const text = await loader.session('text_model');
        expect(text.providers).toEqual(['cpu']);
        expect(placement.fallbacks).toHaveLength(1);
      } finally {
        await loader.dispose();
      }
    },
  );

  it.skipIf(hasCuda)(
    'after one fallback, later components do not retry the provider that failed, and their files follow the new plan',
    async () => {
      const { host, created } = recordingHost();
      // cuda's plan picks the fp16 files, cpu's the fp32 ones: the files must follow the move.
      const twoPrecisions = await writeProbePackage(join(dir, 'clip-fp16'), 'clip', ['fp32', 'fp16']);
      const placement = await createPlacement({
        model: twoPrecisions,
        platform: 'auto',
        candidates: ['cuda', 'cpu'],
        capabilities: caps,
      });
      expect(placement.plan.components.map((c) => c.precision)).toEqual(['fp16', 'fp16']);
      const loader = createLoaderFor(host, placement);
      try {
        await loader.session('vision_model');
        await loader.session('text_model');
        expect(created.map((c) => `${c.component}:${c.providers.join('>')}:${c.file}`)).toEqual([
          'vision_model:cuda:vision_model_fp16.onnx',
          'vision_model:cpu:vision_model.onnx',
          'text_model:cpu:text_model.onnx',
        ]);
        expect(loader.spec.components.find((c) => c.name === 'text_model')).toMatchObject({
          platform: 'cpu',
          file: placement.plan.components.find((c) => c.name === 'text_model')!.file,
        });
        expect(placement.explainJson().runsOn).toMatchObject({ vision_model: 'cpu', text_model: 'cpu' });
      } finally {
        await loader.dispose();
      }
    },
  );

  it.skipIf(hasCuda)(
    'does not fall back when the platform was named: the provider error is the answer',
    async () => {
      const loader = await createLoader({ model: clipDir, platform: 'cuda', capabilities: caps });
      await expect(loader.session('vision_model')).rejects.toMatchObject({
        code: 'PROVIDER_UNAVAILABLE',
      });
      expect(loader.placement!.fallbacks).toEqual([]);
      await loader.dispose();
    },
  );

  it('creates cpu sessions from the plan: the planned file and the machine cores', async () => {
    const loader = await createLoader({
      model: clipDir,
      modelType: 'multimodal',
      platform: 'cpu',
      config: { precision: 'int8' },
      capabilities: caps,
    });
    const placement = loader.placement!;
    expect(placement.package.family).toBe('clip');
    const c = placement.plan.components.find((x) => x.name === 'text_model')!;
    expect(c.file).toBe('onnx/text_model_quantized.onnx');
    expect(c.session.intraOpNumThreads).toBe(caps.cpu.logicalCores);
    const session = await loader.session('text_model');
    expect(await runProbe(session as never)).toEqual([2, 4, 6, 8]);
    await expect(loader.session('decoder')).rejects.toMatchObject({
      code: 'MODEL_COMPONENT_MISSING',
    });
    await loader.dispose();
  });

  it('stores and reuses optimized graphs when graph_cache is on', async () => {
    const cacheDir = join(dir, 'cache');
    const loader = await createLoader({
      model: clipDir,
      platform: 'cpu',
      config: { graph_cache: true },
      host: { cacheDir },
      capabilities: caps,
    });
    expect(loader.placement!.plan.graphCache).toBe(true);
    await loader.session('vision_model');
    await loader.dispose();
    // The memory-mapped, pre-packed format (src/node/weight-cache.ts).
    expect(
      (await readdir(join(cacheDir, 'graphs-external'))).some((f) => f.startsWith('vision_model-')),
    ).toBe(true);
  });

  it('checks modelType against the package', async () => {
    await expect(
      createPlacement({ model: clipDir, modelType: 'llava', capabilities: caps }),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID_VALUE',
      message: expect.stringMatching(/modelType "llava" does not match .*model_type "clip"/),
    });
    await expect(
      createPlacement({ model: clipDir, modelType: 'multimodel', capabilities: caps }),
    ).rejects.toThrow(/did you mean "multimodal"/);
  });
});
