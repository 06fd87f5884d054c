/**
 * The first run of every session is checked: a variant whose first run gives NaN/Inf or throws
 * is replaced by the next precision of its fallback chain, in place (the Session object callers
 * hold keeps working), with a warning, and the placement says so.
 */
import type { RequestedPrecision } from '../../src/platform/precision-map.js';
import { afterAll, describe, expect, it } from 'vitest';
import { createLoader } from '../../src/node/index.js';
import { firstRunFallbacks } from '../../src/platform/precision-map.js';
import { ort } from '../../src/node/ort.js';
import { clipFiles, cleanupTmp, tmpDir, writePackage } from './fixtures.js';
import { buildModel, weights } from './onnx-build.js';

afterAll(cleanupTmp);

const SIZE = 8;
const HIDDEN = 16;

/** A vision encoder: Flatten -> MatMul -> Add. */
function goodVision(): Uint8Array {
  const inFeatures = 3 * SIZE * SIZE;
  return buildModel({
    name: 'vision',
    inputs: [{ name: 'pixel_values', type: 'float', shape: ['batch_size', 3, SIZE, SIZE] }],
    outputs: [{ name: 'image_embeds', type: 'float', shape: ['batch_size', HIDDEN] }],
    nodes: [
      { op: 'Flatten', inputs: ['pixel_values'], outputs: ['f'], attrs: { axis: 1 } },
      { op: 'MatMul', inputs: ['f', 'w'], outputs: ['m'] },
      { op: 'Add', inputs: ['m', 'one'], outputs: ['image_embeds'] },
    ],
    initializers: [
      { name: 'w', type: 'float', dims: [inFeatures, HIDDEN], data: weights(inFeatures * HIDDEN, 5) },
      { name: 'one', type: 'float', dims: [], data: Float32Array.of(1) },
    ],
  });
}

/**
 * A variant whose every output is NaN (the square root of a negative number), standing in for
 * the q4f16 that overflows on the WebGPU adapters of onnxruntime#26367: ORT's CPU provider runs
 * fp16 element-wise ops through fp32 casts, so a real fp16 overflow does not happen on a CPU.
 */
function nanVision(): Uint8Array {
  const inFeatures = 3 * SIZE * SIZE;
  return buildModel({
    name: 'vision',
    inputs: [{ name: 'pixel_values', type: 'float', shape: ['batch_size', 3, SIZE, SIZE] }],
    outputs: [{ name: 'image_embeds', type: 'float', shape: ['batch_size', HIDDEN] }],
    nodes: [
      { op: 'Flatten', inputs: ['pixel_values'], outputs: ['f'], attrs: { axis: 1 } },
      { op: 'MatMul', inputs: ['f', 'w'], outputs: ['m'] },
      { op: 'Abs', inputs: ['m'], outputs: ['a'] },
      { op: 'Sub', inputs: ['minus_one', 'a'], outputs: ['neg'] },
      { op: 'Sqrt', inputs: ['neg'], outputs: ['image_embeds'] },
    ],
    initializers: [
      { name: 'w', type: 'float', dims: [inFeatures, HIDDEN], data: weights(inFeatures * HIDDEN, 5) },
      { name: 'minus_one', type: 'float', dims: [], data: Float32Array.of(-1) },
    ],
  });
}

/** A variant that loads but cannot run: it reshapes to a size no input has. */
function failingVision(): Uint8Array {
  return buildModel({
    name: 'vision',
    inputs: [{ name: 'pixel_values', type: 'float', shape: ['batch_size', 3, SIZE, SIZE] }],
    outputs: [{ name: 'image_embeds', type: 'float', shape: ['batch_size', HIDDEN] }],
    nodes: [{ op: 'Reshape', inputs: ['pixel_values', 'shape'], outputs: ['image_embeds'] }],
    initializers: [{ name: 'shape', type: 'int64', dims: [2], data: BigInt64Array.from([7n, 13n]) }],
  });
}

async function packageWithVariants(variants: { fp16Nan?: boolean; q8Fails?: boolean }): Promise<string> {
  return writePackage({
    ...clipFiles({ override: { vision_model: goodVision() } }),
    ...(variants.fp16Nan && { 'onnx/vision_model_fp16.onnx': nanVision() }),
    ...(variants.q8Fails && { 'onnx/vision_model_quantized.onnx': failingVision() }),
  });
}

const pixels = () =>
  new ort.Tensor(
    'float32',
    Float32Array.from({ length: 3 * SIZE * SIZE }, (_, i) => (i % 7) / 7),
    [1, 3, SIZE, SIZE],
  );

async function embedWith(dir: string, precision: RequestedPrecision) {
  const warnings: string[] = [];
  const loader = await createLoader({
    model: dir,
    platform: 'cpu',
    config: { vision_precision: precision, numThreads: 1 },
    host: { cacheDir: await tmpDir() },
    onWarning: (w) => warnings.push(w),
  });
  await loader.load();
  const session = await loader.session('vision_model');
  const first = (await session.run({ pixel_values: pixels() })).image_embeds!;
  const second = (await session.run({ pixel_values: pixels() })).image_embeds!;
  return { loader, session, first, second, warnings };
}

describe('first-run output check', () => {
  it('replaces an fp16 variant whose first run gives NaN with fp32, in place, with a warning', async () => {
    const dir = await packageWithVariants({ fp16Nan: true });
    const reference = await embedWith(dir, 'fp32');
    expect(reference.warnings).toEqual([]);
    const ref = [...(reference.first.data as Float32Array)];
    expect(ref.every(Number.isFinite)).toBe(true);
    await reference.loader.dispose();

    const { loader, first, second, warnings } = await embedWith(dir, 'fp16');
    // The first run's answer already comes from the replacement.
    expect([...(first.data as Float32Array)]).toEqual(ref);
    expect([...(second.data as Float32Array)]).toEqual(ref);
    expect(
      warnings.some((w) => /first run of "vision_model" \(fp16.*non-finite.*now runs fp32/.test(w)),
    ).toBe(true);
    const p = loader.placement!;
    expect(p.precisionFallbacks.map((f) => [f.component, f.from, f.to])).toEqual([
      ['vision_model', 'fp16', 'fp32'],
    ]);
    const plan = p.plan.components.find((c) => c.name === 'vision_model')!;
    expect([plan.precision, plan.file, plan.precisionChoice.how]).toEqual([
      'fp32',
      'onnx/vision_model.onnx',
      'first-run',
    ]);
    expect(p.explain()).toContain('First-run fallbacks:');
    await loader.dispose();
  });

  it('walks the chain: a q8 that fails to run, then an fp16 that gives NaN, then fp32', async () => {
    const dir = await packageWithVariants({ fp16Nan: true, q8Fails: true });
    const { loader, first, warnings } = await embedWith(dir, 'int8');
    expect((first.data as Float32Array).every(Number.isFinite)).toBe(true);
    expect(loader.placement!.precisionFallbacks.map((f) => [f.from, f.to])).toEqual([
      ['q8', 'fp16'],
      ['fp16', 'fp32'],
    ]);
    expect(warnings.filter((w) => w.includes('first run')).length).toBe(2);
    await loader.dispose();
  });

  it('warns and keeps the outputs when nothing is left to fall back to', async () => {
    const dir = await writePackage(clipFiles({ override: { vision_model: nanVision() } }));
    const { loader, first, warnings } = await embedWith(dir, 'fp32');
    expect((first.data as Float32Array).some((v) => !Number.isFinite(v))).toBe(true);
    expect(warnings.some((w) => w.includes('no other variant or platform'))).toBe(true);
    await loader.dispose();
  });
});

describe('what the check does not blame on the variant', () => {
  it("a missing input is the caller's error: no fallback, and the next run is still checked", async () => {
    const dir = await packageWithVariants({ fp16Nan: true });
    const loader = await createLoader({
      model: dir,
      platform: 'cpu',
      config: { vision_precision: 'fp16', numThreads: 1 },
      host: { cacheDir: await tmpDir() },
    });
    await loader.load();
    const session = await loader.session('vision_model');
    await expect(session.run({})).rejects.toMatchObject({ code: 'SESSION_RUN_FAILED' });
    expect(loader.placement!.precisionFallbacks).toEqual([]);
    const out = (await session.run({ pixel_values: pixels() })).image_embeds!;
    expect((out.data as Float32Array).every(Number.isFinite)).toBe(true);
    expect(loader.placement!.precisionFallbacks.map((f) => f.to)).toEqual(['fp32']);
    await loader.dispose();
  });
});

describe('firstRunFallbacks', () => {
  it('after an fp16 overflow, tries the fp32-activation twin first and no other half-precision variant', () => {
    expect(firstRunFallbacks('int4', 'q4f16', 'non-finite')).toEqual([
      'q4',
      'bnb4',
      'q8',
      'int8',
      'uint8',
      'fp32',
    ]);
    expect(firstRunFallbacks('fp16', 'fp16', 'non-finite')).toEqual(['fp32']);
    // A run that throws says nothing about fp16's range: the declared order, fp32 last.
    expect(firstRunFallbacks('int4', 'q4f16', 'run-error')).toEqual([
      'bnb4',
      'q8',
      'int8',
      'uint8',
      'fp16',
      'q4',
      'fp32',
    ]);
    expect(firstRunFallbacks('fp32', 'fp32', 'non-finite')).toEqual(['fp16']);
  });
});
