import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeError } from '../../src/errors.js';
import { createSessionWithWeightCache } from '../../src/node/weight-cache.js';
import { ort, ortVersion } from '../../src/node/ort.js';
import { probeModelBytes } from '../../src/runtime/probe-model.js';
import { createSession } from '../../src/runtime/session.js';

let dir: string;
let modelPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mmrt-session-'));
  modelPath = join(dir, 'probe.onnx');
  await writeFile(modelPath, probeModelBytes());
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function input(n = 1): import('onnxruntime-common').Tensor {
  const data = new Float32Array(4 * n).map((_, i) => i + 1);
  return new ort.Tensor('float32', data, [n, 4]);
}

describe('session factory', () => {
  it('creates a real session from a file path and runs it', async () => {
    const s = await createSession(ort, {
      name: 'probe',
      model: modelPath,
      providers: ['cpu'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: 2,
      interOpNumThreads: 1,
    });
    expect(s.inputNames).toEqual(['x']);
    expect(s.inputs[0]).toMatchObject({ name: 'x', type: 'float32', shape: ['n', 4] });
    const out = await s.run({ x: input(2) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([2, 4, 6, 8, 10, 12, 14, 16]);
    expect(s.createMs).toBeGreaterThan(0);
    await s.release();
    await expect(s.run({ x: input() })).rejects.toMatchObject({ code: 'SESSION_RUN_FAILED' });
  });

  it('warns that onnxruntime-node does not apply free-dimension overrides', async () => {
    const s = await createSession(ort, {
      name: 'probe',
      model: probeModelBytes(),
      freeDimensionOverrides: { n: 1 },
    });
    expect(s.warnings.join()).toMatch(/freeDimensionOverrides \(n\) are not applied/);
    // Proof that the warning is true: a batch of 3 still runs through the "pinned" dim.
    await expect(s.run({ x: input(3) })).resolves.toBeDefined();
    await s.release();
  });

  it('names missing feeds instead of passing ORT an incomplete map', async () => {
    const s = await createSession(ort, { name: 'probe', model: probeModelBytes() });
    await expect(s.run({})).rejects.toThrow(/needs inputs it was not given: x/);
    await s.release();
  });

  it('rejects an unknown execution provider with a did-you-mean', async () => {
    const err = await createSession(ort, {
      name: 'probe',
      model: modelPath,
      providers: ['cdua' as never],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err).toMatchObject({ code: 'PROVIDER_UNKNOWN' });
    expect((err as Error).message).toMatch(/did you mean "cuda"/);
  });

  it('says how to get a provider this build does not carry', async () => {
    const err = await createSession(ort, { name: 'probe', model: modelPath, providers: ['openvino'] }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({
      code: 'PROVIDER_UNAVAILABLE',
      details: { value: 'openvino', platform: 'openvino' },
    });
    expect((err as Error).message).toMatch(/build ONNX Runtime from source with --use_openvino/);
  });

  it.skipIf(process.env.MMRT_HAS_CUDA === '1')(
    'reports CUDA as unavailable on a machine without it',
    async () => {
      const err = await createSession(ort, { name: 'probe', model: modelPath, providers: ['cuda'] }).catch(
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', details: { value: 'cuda' } });
      expect((err as Error).message).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
    },
  );

  it('gives a typed error for a corrupt ONNX file', async () => {
    const bad = join(dir, 'corrupt.onnx');
    await writeFile(bad, Buffer.from('this is not a protobuf at all'));
    const err = await createSession(ort, { name: 'vision_model', model: bad }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err).toMatchObject({ code: 'MODEL_CORRUPT', details: { value: bad } });
    expect((err as Error).message).toMatch(/"vision_model" is not a readable ONNX model/);
  });

  it('gives a typed error for a truncated ONNX file', async () => {
    const bad = join(dir, 'truncated.onnx');
    await writeFile(bad, probeModelBytes().subarray(0, 90));
    await expect(createSession(ort, { name: 'probe', model: bad })).rejects.toMatchObject({
      code: 'MODEL_CORRUPT',
    });
  });

  it('gives a typed error for a missing file', async () => {
    await expect(createSession(ort, { name: 'probe', model: join(dir, 'nope.onnx') })).rejects.toMatchObject({
      code: 'MODEL_FILE_MISSING',
    });
  });

  it('honours an abort signal given before creation', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(
      createSession(ort, { name: 'probe', model: modelPath, signal: ac.signal }),
    ).rejects.toMatchObject({
      code: 'ABORTED',
    });
  });
});

describe('optimized-graph cache', () => {
  it('stores the optimized graph on first start and loads it on the second', async () => {
    const cacheDir = join(dir, 'cache');
    const first = await createSessionWithWeightCache(
      ort,
      { name: 'probe', model: modelPath },
      cacheDir,
      ortVersion(),
    );
    expect(first.cache).toBe('stored');
    await first.session.release();
    const entries = await readdir(join(cacheDir, 'graphs-external'));
    expect(entries).toHaveLength(1);
    expect(entries.some((f) => f.endsWith('.tmp'))).toBe(false);

    const second = await createSessionWithWeightCache(
      ort,
      { name: 'probe', model: modelPath },
      cacheDir,
      ortVersion(),
    );
    expect(second.cache).toBe('hit');
    const out = await second.session.run({ x: input() });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([2, 4, 6, 8]);
    await second.session.release();
  });

  it('rebuilds a damaged cache entry instead of failing', async () => {
    const cacheDir = join(dir, 'cache2');
    const first = await createSessionWithWeightCache(
      ort,
      { name: 'probe', model: modelPath },
      cacheDir,
      ortVersion(),
    );
    await first.session.release();
    const [entry] = await readdir(join(cacheDir, 'graphs-external'));
    await writeFile(join(cacheDir, 'graphs-external', entry!, 'model.onnx'), 'garbage');
    const again = await createSessionWithWeightCache(
      ort,
      { name: 'probe', model: modelPath },
      cacheDir,
      ortVersion(),
    );
    expect(again.cache).toBe('stored');
    await again.session.release();
  });

  it('keys the cache on providers and optimization level', async () => {
    const cacheDir = join(dir, 'cache3');
    const a = await createSessionWithWeightCache(
      ort,
      { name: 'probe', model: modelPath },
      cacheDir,
      ortVersion(),
    );
    const b = await createSessionWithWeightCache(
      ort,
      { name: 'probe', model: modelPath, graphOptimizationLevel: 'basic' },
      cacheDir,
      ortVersion(),
    );
    expect(b.cache).toBe('stored');
    await a.session.release();
    await b.session.release();
  });
});
