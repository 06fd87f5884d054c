/**
 * CPU choices follow what `npm run bench -- quantize` measured (src/platform/measured.ts), not
 * "fewer bits is faster": a plan running a variant measured no faster than fp32 says so and
 * names the faster ones, and a memory budget steps a ViT from fp32 to q8, skipping fp16 (twice
 * q8's size, a third of its speed).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPlacement } from '../../src/node/index.js';
import { orderByMeasuredSpeed } from '../../src/platform/measured.js';
import { MODELS } from '../shapes/reference.js';

const CLIP = join(MODELS, 'shapes-clip');

describe('measured CPU speeds in the planner', () => {
  it('warns when a vision encoder runs q4 on cpu, naming the faster variants', async () => {
    const p = await createPlacement({
      model: join(MODELS, 'shapes-vlm'),
      platform: 'cpu',
      config: { vision_precision: 'q4' },
    });
    expect(p.plan.warnings).toContainEqual(
      expect.stringMatching(
        /"vision_encoder" runs q4 on cpu, measured at 0\.98x fp32's images\/s .*faster there: q8 3\.1x/,
      ),
    );
    // The decoder's q4 was measured fast: no such warning for it.
    const d = await createPlacement({
      model: join(MODELS, 'shapes-vlm'),
      platform: 'cpu',
      config: { llm_precision: 'q4' },
    });
    expect(d.plan.warnings.some((w) => w.includes('"decoder_model_merged" runs q4'))).toBe(false);
  });

  it('orders substitutes by measured speed per role, fp32 first', () => {
    const order = ['fp32', 'q8', 'int8', 'uint8', 'q4', 'bnb4', 'fp16', 'q4f16'] as const;
    // bnb4 was not measured: it keeps its place.
    expect(orderByMeasuredSpeed(order, 'cpu', 'llm')).toEqual([
      'fp32',
      'q4',
      'q4f16',
      'q8',
      'int8',
      'bnb4',
      'uint8',
      'fp16',
    ]);
    expect(orderByMeasuredSpeed(order, 'cpu', 'vision').slice(0, 2)).toEqual(['fp32', 'q8']);
    expect(orderByMeasuredSpeed(order, 'webgpu', 'vision')).toEqual([...order]);
  });

  it('under a memory budget, steps a ViT from fp32 to q8, not to the larger, slower fp16', async () => {
    const free = await createPlacement({ model: CLIP, platform: 'cpu' });
    const vision = free.plan.components.find((c) => c.name === 'vision_model')!;
    const budget = free.plan.memory.totalBytes - vision.memory.weightsBytes / 3;
    const p = await createPlacement({
      model: CLIP,
      platform: 'cpu',
      config: { memoryBudget: Math.floor(budget) },
    });
    const v = p.plan.components.find((c) => c.name === 'vision_model')!;
    expect([v.precision, v.precisionChoice.how]).toEqual(['q8', 'budget']);
  });
});
