/**
 * caption() and answer() as a user meets them: right on freshly rendered images (other seeds,
 * sizes and backgrounds than training, drawn by the TypeScript renderer), streamed and batched
 * with deltas that add up to the text, the image side cached by content, generation options
 * honoured.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlipModel } from '../../src/kinds/image-to-text/model.js';
import { disposeModels, tinyBlip } from '../helpers/models.js';
import { encode, heldOutSet, type RenderedShape } from '../../tools/shapes/render.js';
import { BLIP2_DIR, BLIP_DIR, BLIP_VQA_DIR } from './models.js';

const raw = (im: RenderedShape) => ({
  data: im.rgb,
  width: im.width,
  height: im.height,
  channels: 3 as const,
});
const names = (text: string, im: RenderedShape) => {
  const words = text.toLowerCase().split(/\W+/);
  return words.includes(im.color) && words.includes(im.shape);
};

let caption: BlipModel;
let vqa: BlipModel;
let blip2: BlipModel;
// 48 images: every class twice, six sizes (square and not), plain, noisy and gradient backgrounds
const fresh = heldOutSet(4242, 2);
beforeAll(async () => {
  [caption, vqa, blip2] = await Promise.all([
    tinyBlip({ model: BLIP_DIR }),
    tinyBlip({ model: BLIP_VQA_DIR }),
    tinyBlip({ model: BLIP2_DIR }),
  ]);
});
afterAll(disposeModels);

describe('semantics on freshly rendered images', () => {
  it('BLIP captions name the colour and the shape (>= 95%), batched', async () => {
    const results = await caption.caption(fresh.map(raw)).result;
    const right = results.filter((r, i) => names(r.text, fresh[i]!)).length;
    console.info(`BLIP captions: ${right}/${fresh.length} name colour and shape`);
    expect(right / fresh.length).toBeGreaterThanOrEqual(0.95);
  });

  it('BLIP VQA answers the colour and shape questions (>= 95%)', async () => {
    const questions = fresh.flatMap((im) => [
      { image: raw(im), question: 'What color is the shape?', want: im.color },
      { image: raw(im), question: 'What shape is this?', want: im.shape },
    ]);
    const results = await vqa.answer(questions).result;
    const right = results.filter((r, i) => r.text === questions[i]!.want).length;
    console.info(`BLIP VQA: ${right}/${questions.length} answers right`);
    expect(right / questions.length).toBeGreaterThanOrEqual(0.95);
  });

  it('BLIP-2 captions and answers (>= 95% each)', async () => {
    const captions = await blip2.caption(fresh.map(raw)).result;
    const named = captions.filter((r, i) => names(r.text, fresh[i]!)).length;
    const questions = fresh.flatMap((im) => [
      { image: raw(im), question: 'What color is the shape?', want: im.color },
      { image: raw(im), question: 'What shape is this?', want: im.shape },
    ]);
    const answers = await blip2.answer(questions).result;
    const right = answers.filter((r, i) => r.text === questions[i]!.want).length;
    console.info(`BLIP-2: captions ${named}/${fresh.length}, answers ${right}/${questions.length}`);
    expect(named / fresh.length).toBeGreaterThanOrEqual(0.95);
    expect(right / questions.length).toBeGreaterThanOrEqual(0.95);
  });
});

describe('streaming and batches', () => {
  it('streams one caption; a prompt comes first and the deltas add up to the caption', async () => {
    const stream = caption.caption(raw(fresh[0]!), { prompt: 'a picture of' });
    const deltas: string[] = [];
    for await (const d of stream) deltas.push(d);
    const r = await stream.result;
    expect(deltas[0]).toBe('a picture of');
    expect(deltas.join('')).toBe(r.text);
    expect(r.text).toBe(r.prompt + r.generatedText);
    expect(r.text.startsWith('a picture of ')).toBe(true);
    expect(r.usage.generatedTokens).toBe(r.tokenIds.length);
    expect(r.timings.timeToFirstTokenMs).toBeGreaterThan(0);
  });

  it('tags a batch’s deltas with each image’s index, in batches of the plan’s size', async () => {
    const images = fresh.slice(0, 11).map(raw); // more than one batch of 8
    const stream = caption.caption(images);
    const texts = images.map(() => '');
    for await (const { index, delta } of stream) texts[index] += delta;
    const results = await stream.result;
    expect(results).toHaveLength(11);
    expect(texts).toEqual(results.map((r) => r.text));
    // the same captions one at a time
    for (const [i, im] of images.entries()) expect((await caption.caption(im).result).text).toBe(texts[i]);
  });

  it('streams answers too, with the question echoed in the result', async () => {
    const stream = vqa.answer(raw(fresh[1]!), 'What shape is this?');
    let text = '';
    for await (const d of stream) text += d;
    const r = await stream.result;
    expect(text).toBe(r.text);
    expect(r.question).toBe('What shape is this?');
  });
});

describe('the image side is cached by content', () => {
  it('a second question about the same picture (here: as PNG bytes, then pixels) skips the vision model', async () => {
    const model = await tinyBlip({ model: BLIP_VQA_DIR });
    const im = fresh[5]!;
    const png = await encode(im);
    const first = await model.answer(png, 'What color is the shape?').result;
    const second = await model.answer(raw(im), 'What shape is this?').result;
    expect(first.image.fromCache).toBe(false);
    expect(second.image.fromCache).toBe(true);
    expect(model.stats().images).toMatchObject({ runs: 1, imagesEncoded: 1 });
    expect(model.stats().questionEncoderRuns).toBe(2);
    expect([first.text, second.text]).toEqual([im.color, im.shape]);
  });

  it('BLIP-2 caches its Q-Former outputs; a repeated caption runs no encoder at all', async () => {
    const model = await tinyBlip({ model: BLIP2_DIR });
    const a = await model.caption(raw(fresh[7]!)).result;
    const b = await model.caption(raw(fresh[7]!)).result;
    expect(b.text).toBe(a.text);
    expect(b.image.fromCache).toBe(true);
    expect(b.timings.encoderMs).toBe(0);
    expect(model.stats().images.runs).toBe(1);
  });

  it('a picture twice in one batch is encoded once; featureCacheBytes 0 turns the cache off', async () => {
    const model = await tinyBlip({ model: BLIP_DIR, blip: { featureCacheBytes: 0 } });
    await model.caption([raw(fresh[2]!), raw(fresh[2]!), raw(fresh[3]!)]).result;
    expect(model.stats().images.imagesEncoded).toBe(2);
    await model.caption(raw(fresh[2]!)).result;
    expect(model.stats().images.imagesEncoded).toBe(3);
    expect(model.stats().images.cache).toBeUndefined();
  });
});

describe('generation options', () => {
  it('honours maxNewTokens, stop strings and seeded sampling', async () => {
    const im = raw(fresh[9]!);
    const one = await caption.caption(im, { maxNewTokens: 1 }).result;
    expect(one).toMatchObject({ finishReason: 'max_new_tokens', usage: { generatedTokens: 1 } });
    const full = await caption.caption(im).result;
    const stopAt = full.text.split(' ').at(-1)!;
    const stopped = await caption.caption(im, { stopStrings: [stopAt] }).result;
    expect(stopped.finishReason).toBe('stop_string');
    expect(stopped.text).toBe(full.text.slice(0, full.text.lastIndexOf(stopAt)));
    const sample = () => caption.caption(im, { sampling: { temperature: 1.5, seed: 7 } }).result;
    const [s1, s2] = [await sample(), await sample()];
    expect(s1.tokenIds).toEqual(s2.tokenIds);
    expect(s1.seed).toBe(7);
  });
});

describe('planning', () => {
  it('plans a BLIP VQA package: its question encoder follows text_precision, eight images a batch', async () => {
    const { createPlacement } = await import('../../src/node/index.js');
    const p = await createPlacement({
      model: BLIP_VQA_DIR,
      platform: 'cpu',
      config: { text_precision: 'fp32' },
    });
    expect(p.plan.model.layout).toEqual(['vision_model', 'text_encoder', 'text_decoder_model_merged']);
    for (const name of ['text_encoder', 'text_decoder_model_merged']) {
      const c = p.plan.components.find((x) => x.name === name)!;
      expect(c.precisionChoice).toMatchObject({ source: 'user', key: 'text_precision' });
    }
    expect(p.plan.family.batchSize).toBe(8);
    expect(p.explain()).toMatch(/text_encoder/);
  });
});
