/**
 * LLaVA-Next any-resolution end to end on a tiny random-weight fixture
 * (fixtures/make_llava_next.py): tiles through Pillow, feature packing written with torch
 * view/permute as Hugging Face does, token counts, logits and greedy tokens. No trained
 * shapes LLaVA-Next is shipped, so this checks mechanics, not answers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLlavaConfig } from '../../src/kinds/vision-language/config.js';
import { LlavaImagePreparer } from '../../src/kinds/vision-language/images.js';
import type { LlavaModel } from '../../src/kinds/vision-language/model.js';
import { ImageProcessor } from '../../src/media/processor.js';
import { decodeImage } from '../../src/node/media/decode.js';
import { disposeModels, tinyVlm } from '../helpers/models.js';
import { type B64Tensor, float32, maxAbsDiff } from '../shapes/reference.js';

const DIR = join(import.meta.dirname, 'fixtures', 'tiny-llava-next');
interface Case {
  image: string;
  height: number;
  width: number;
  num_image_tokens: number;
  prompt_ids: number[];
  pixel_values: B64Tensor;
  image_features: B64Tensor;
  first_logits: number[];
  greedy: number[];
}
const ref = JSON.parse(readFileSync(join(DIR, 'reference.json'), 'utf8')) as { cases: Case[] };

let model: LlavaModel;
beforeAll(async () => {
  model = await tinyVlm({ model: DIR });
});
afterAll(disposeModels);

describe.each(ref.cases)('LLaVA-Next $image ($width x $height)', (c) => {
  const image = join(DIR, c.image);
  const messages = [
    {
      role: 'user' as const,
      content: [
        { type: 'image' as const, image },
        { type: 'text' as const, text: 'Describe the image.' },
      ],
    },
  ];

  it('tiles the image exactly as Pillow + HF Python do', async () => {
    const pkg = model.loader.package;
    const config = readLlavaConfig(pkg, (id) => model.tokenizer.tokenizer.id_to_token(id), {
      anyResolution: pkg.family === 'llava_next',
    });
    expect(config.family).toBe('llava_next');
    const preparer = new LlavaImagePreparer(config, ImageProcessor.fromConfig(pkg.preprocessorConfig));
    const prepared = preparer.prepare(await decodeImage(image));
    expect([...prepared.pixels.dims]).toEqual(c.pixel_values.shape);
    expect(maxAbsDiff(prepared.pixels.data, float32(c.pixel_values))).toBe(0);
    expect(prepared.featureCount).toBe(c.num_image_tokens);
  });

  it('packs features, builds the prompt and generates as the PyTorch reference', async () => {
    const feats = await model.imageFeatures(image);
    expect(feats.count).toBe(c.num_image_tokens);
    expect(maxAbsDiff(feats.data, float32(c.image_features))).toBeLessThan(1e-4);
    expect((await model.promptIds(messages)).ids).toEqual(c.prompt_ids);
    let first: Float32Array | undefined;
    const r = await model.chat(messages, {
      maxNewTokens: 6,
      onLogits: (l, step) => {
        if (step === 0) first = l.slice();
      },
    }).result;
    expect(maxAbsDiff(first!, c.first_logits)).toBeLessThan(1e-4);
    expect(r.tokenIds).toEqual(c.greedy);
  });
});
