/**
 * A hub package's `transformers.js_config` is honoured: `dtype` per file picks the variants,
 * `device_config.<device>` wins on its platform, `free_dimension_overrides` reach the session
 * options, and `use_external_data_format` names the external data chunks to load (a missing
 * one is a typed error, not a half-loaded model).
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPlacement, loadClip } from '../../src/node/index.js';
import { quantizeModel } from '../../src/node/quantize.js';
import { MODELS } from '../shapes/reference.js';

let dir: string;
let baseConfig: Record<string, unknown>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mmrt-tjs-config-'));
  await cp(join(MODELS, 'shapes-clip'), dir, {
    recursive: true,
    filter: (s) => !s.endsWith('quantization.json'),
  });
  // Re-made with external data in two chunks, as hub exports of big models are.
  await quantizeModel({
    model: dir,
    precisions: ['q4'],
    components: ['vision_model'],
    force: true,
    externalData: true,
    maxChunkBytes: 250_000,
  });
  baseConfig = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function withConfig(tjs: Record<string, unknown>) {
  const prior = (baseConfig['transformers.js_config'] as Record<string, unknown> | undefined) ?? {};
  await writeFile(
    join(dir, 'config.json'),
    JSON.stringify({ ...baseConfig, 'transformers.js_config': { ...prior, ...tjs } }),
  );
}

const comp = (p: Awaited<ReturnType<typeof createPlacement>>, name: string) =>
  p.plan.components.find((c) => c.name === name)!;

describe('transformers.js_config', () => {
  it('dtype per file picks the variants, and device_config wins on its platform', async () => {
    await withConfig({ dtype: { vision_model: 'q4', text_model: 'q8' } });
    let p = await createPlacement({ model: dir, platform: 'cpu' });
    expect(comp(p, 'vision_model')).toMatchObject({
      file: 'onnx/vision_model_q4.onnx',
      precisionChoice: { source: 'model', key: 'transformers.js_config.dtype.vision_model' },
    });
    expect(comp(p, 'text_model').file).toBe('onnx/text_model_quantized.onnx');
    await withConfig({
      dtype: 'q8',
      device_config: { cpu: { dtype: { text_model: 'fp16' } }, webgpu: { dtype: 'q4f16' } },
    });
    p = await createPlacement({ model: dir, platform: 'cpu' });
    expect(comp(p, 'text_model')).toMatchObject({
      file: 'onnx/text_model_fp16.onnx',
      precisionChoice: { key: 'transformers.js_config.device_config.cpu.dtype.text_model' },
    });
    expect(comp(p, 'vision_model').file).toBe('onnx/vision_model_quantized.onnx');
    // The user still has the last word.
    p = await createPlacement({ model: dir, platform: 'cpu', config: { precision: 'fp32' } });
    expect(comp(p, 'text_model').file).toBe('onnx/text_model.onnx');
  });

  it('free_dimension_overrides reach every session (and the plan says onnxruntime-node ignores them)', async () => {
    await withConfig({
      free_dimension_overrides: { batch_size: 1 },
      device_config: { cpu: { free_dimension_overrides: { sequence_length: 16 } } },
    });
    const p = await createPlacement({ model: dir, platform: 'cpu' });
    for (const c of p.plan.components)
      expect(c.session.freeDimensionOverrides).toEqual({ batch_size: 1, sequence_length: 16 });
    expect(
      p.plan.warnings.some((w) => /free_dimension_overrides .* onnxruntime-node does not apply them/.test(w)),
    ).toBe(true);
  });

  it('use_external_data_format names the chunks that load with a variant; a missing chunk is a typed error', async () => {
    const tjs = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'))['transformers.js_config'];
    // quantizeModel recorded the chunk count it wrote.
    expect(tjs.use_external_data_format).toEqual({ 'vision_model_q4.onnx': 2 });
    await withConfig({ dtype: { vision_model: 'q4' } });
    const clip = await loadClip({ model: dir, platform: 'cpu', config: { numThreads: 1 } });
    expect(comp(clip.loader.placement!, 'vision_model').externalData).toEqual([
      'onnx/vision_model_q4.onnx_data',
      'onnx/vision_model_q4.onnx_data_1',
    ]);
    const [scores] = await clip.zeroShot(
      [join(MODELS, 'samples', '00_red_star.png')],
      ['a red star', 'a blue circle'],
    );
    expect(scores![0]!.label).toBe('a red star');
    await clip.dispose();
    await withConfig({ use_external_data_format: { 'vision_model_q4.onnx': 3 } });
    await expect(createPlacement({ model: dir, platform: 'cpu' })).rejects.toMatchObject({
      code: 'MODEL_FILE_MISSING',
      message: expect.stringContaining('vision_model_q4.onnx_data_2'),
    });
  });
});
