/**
 * The tiny shapes CLIP loads offline in @huggingface/transformers and reproduces the PyTorch
 * reference outputs on the same inputs; its zero-shot pipeline labels the committed samples.
 */
import { join } from 'node:path';
import {
  AutoTokenizer,
  CLIPModel,
  CLIPTextModelWithProjection,
  CLIPVisionModelWithProjection,
  Tensor,
  env,
  pipeline,
} from '@huggingface/transformers';
import { describe, expect, it } from 'vitest';
import {
  type ClipReference,
  cosine,
  float32,
  MODELS,
  maxAbsDiff,
  readJson,
  type SampleLabels,
} from './reference.js';

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = `${MODELS}/`;

const ref = readJson<ClipReference>('shapes-clip', 'reference.json');
const i64 = (rows: number[][]) =>
  new Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0]!.length]);
const pixels = () => new Tensor('float32', float32(ref.pixel_values), ref.pixel_values.shape);
const opts = { dtype: 'fp32', session_options: { intraOpNumThreads: 1 } } as const;

describe('shapes-clip in @huggingface/transformers vs PyTorch', () => {
  it('vision_model: image_embeds on the reference pixel_values, cosine >= 0.9999', async () => {
    const model = await CLIPVisionModelWithProjection.from_pretrained('shapes-clip', opts);
    const { image_embeds } = await model({ pixel_values: pixels() });
    const got = image_embeds.tolist() as number[][];
    ref.image_embeds.forEach((want, i) => {
      expect(cosine(got[i]!, want)).toBeGreaterThanOrEqual(0.9999);
      expect(maxAbsDiff(got[i]!, want)).toBeLessThanOrEqual(1e-4);
    });
    await model.dispose();
  });

  it('text_model: text_embeds for the reference ids (and for its own tokenization), cosine >= 0.9999', async () => {
    const model = await CLIPTextModelWithProjection.from_pretrained('shapes-clip', opts);
    const tok = await AutoTokenizer.from_pretrained('shapes-clip');
    const { text_embeds } = await model(tok(ref.texts, { padding: true, truncation: true }));
    const got = text_embeds.tolist() as number[][];
    ref.text_embeds.forEach((want, i) => {
      expect(cosine(got[i]!, want)).toBeGreaterThanOrEqual(0.9999);
      expect(maxAbsDiff(got[i]!, want)).toBeLessThanOrEqual(1e-4);
    });
    await model.dispose();
  });

  it('model.onnx: logits_per_image for the reference texts and pixels', async () => {
    const model = await CLIPModel.from_pretrained('shapes-clip', opts);
    const out = await model({
      input_ids: i64(ref.input_ids),
      attention_mask: i64(ref.attention_mask),
      pixel_values: pixels(),
    });
    expect(
      maxAbsDiff((out.logits_per_image.tolist() as number[][]).flat(), ref.logits_per_image.flat()),
    ).toBeLessThan(1e-3);
    await model.dispose();
  });

  it('zero-shot pipeline labels the committed sample images (its own sharp preprocessing)', async () => {
    const labels = readJson<SampleLabels>('samples', 'labels.json');
    const classes = ['red', 'green', 'blue', 'yellow', 'purple', 'orange'].flatMap((c) =>
      ['circle', 'square', 'triangle', 'star'].map((s) => `${c} ${s}`),
    );
    const clf = await pipeline('zero-shot-image-classification', 'shapes-clip', opts);
    let correct = 0;
    for (const im of labels.images) {
      const [top] = (await clf(join(MODELS, 'samples', im.file), classes)) as Array<{ label: string }>;
      if (top!.label === `${im.color} ${im.shape}`) correct++;
    }
    expect(correct / labels.images.length).toBeGreaterThanOrEqual(0.9);
    await clf.dispose();
  });
});
