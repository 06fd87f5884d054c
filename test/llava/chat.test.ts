/**
 * LLaVA through the public API on the shipped tiny VLM: answers about freshly rendered images,
 * streaming, the vision-feature cache, lazy decoder creation, multi-turn KV reuse (and its
 * invalidation on edits), batches, stop strings, sampling seeds, the cache bound, bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GenerationError, InputError, type MmrtError } from '../../src/errors.js';
import type { ChatMessage } from '../../src/kinds/vision-language/messages.js';
import type { LlavaModel } from '../../src/kinds/vision-language/model.js';
import { disposeModels, tinyVlm } from '../helpers/models.js';
import { encode, heldOutSet, type RenderedShape, renderShape } from '../../tools/shapes/render.js';
import { VLM_DIR } from './model.js';

const COLOR_Q = 'What color is the shape?';
const SHAPE_Q = 'What shape is this?';
const DESCRIBE_Q = 'Describe the image.';

let model: LlavaModel;

const raw = (im: RenderedShape) => ({
  data: im.rgb,
  width: im.width,
  height: im.height,
  channels: 3 as const,
});
const user = (text: string, ...images: unknown[]): ChatMessage => ({
  role: 'user',
  content: [
    ...images.map((image) => ({ type: 'image' as const, image: image as never })),
    { type: 'text' as const, text },
  ],
});

beforeAll(async () => {
  model = await tinyVlm({ model: VLM_DIR });
});
afterAll(disposeModels);

describe('lazy components and the vision-feature cache', () => {
  it('computes vision features before the decoder exists', async () => {
    const f = await model.imageFeatures(raw(renderShape(1, 64, 64, 'red', 'circle')));
    expect(f.count).toBe(model.config.patchSize > 0 ? f.count : 0);
    expect(f.data.length).toBe(f.count * f.hidden);
    expect(model.loader.status('vision_encoder')).toBe('ready');
    // The language model is lazy: nothing has asked for it yet.
    expect(model.loader.status('decoder_model_merged')).toBe('idle');
    expect(model.stats().decoderCreated).toBe(false);
  });

  it('a second question about the same image skips the vision encoder', async () => {
    const png = await encode(renderShape(2, 90, 70, 'blue', 'star'));
    const before = model.stats().vision.encoderRuns;
    const a = await model.ask(png, COLOR_Q).result;
    expect(model.stats().vision.encoderRuns).toBe(before + 1);
    expect(a.images).toEqual({ encoded: 1, fromCache: 0, notNeeded: 0 });
    const b = await model.ask(png, SHAPE_Q).result;
    expect(model.stats().vision.encoderRuns).toBe(before + 1);
    expect(b.images).toEqual({ encoded: 0, fromCache: 1, notNeeded: 0 });
    expect(b.timings.visionMs).toBe(0);
    // the key is the preprocessed tensor: the same picture as other bytes (raw pixels) also hits
    const c = await model.ask(raw(renderShape(2, 90, 70, 'blue', 'star')), DESCRIBE_Q).result;
    expect(c.images.fromCache).toBe(1);
    expect(model.stats().vision.encoderRuns).toBe(before + 1);
  });

  it('with the cache off, every question runs the encoder', async () => {
    const nocache = await tinyVlm({ model: VLM_DIR, llava: { featureCacheBytes: 0 } });
    const png = await encode(renderShape(3, 64, 64, 'green', 'square'));
    await nocache.ask(png, COLOR_Q).result;
    await nocache.ask(png, SHAPE_Q).result;
    expect(nocache.stats().vision.encoderRuns).toBe(2);
    expect(nocache.stats().vision.cache).toBeUndefined();
  });
});

describe('streaming', () => {
  it('streams deltas that add up to the answer, with token counts and timings', async () => {
    const s = model.ask(raw(renderShape(4, 80, 80, 'yellow', 'triangle')), DESCRIBE_Q);
    const deltas: string[] = [];
    for await (const d of s) deltas.push(d);
    const r = await s.result;
    expect(deltas.join('')).toBe(r.text);
    expect(r.text.length).toBeGreaterThan(0);
    expect(r.finishReason).toBe('eos');
    expect(r.usage.generatedTokens).toBe(r.tokenIds.length);
    expect(r.usage.promptTokens).toBe(r.usage.prefillTokens);
    expect(r.timings.timeToFirstTokenMs).toBeGreaterThan(0);
    expect(r.timings.prefillMs).toBeGreaterThan(0);
    expect(r.timings.decodeTokensPerSecond).toBeGreaterThan(0);
  });
});

describe('multi-turn KV reuse', () => {
  it('turn 2 prefills only new tokens and answers exactly as a fresh full prefill', async () => {
    const img = raw(renderShape(5, 100, 80, 'purple', 'circle'));
    const conv = model.conversation();
    const t1 = await conv.send(COLOR_Q, { images: [img] }).result;
    const t2 = await conv.send(SHAPE_Q).result;
    // the whole first prompt (image included) and the answer come from the cache
    expect(t2.usage.cachedTokens).toBeGreaterThanOrEqual(t1.usage.promptTokens);
    expect(t2.usage.prefillTokens).toBeLessThan(t2.usage.promptTokens - t1.usage.promptTokens + 2);
    expect(t2.images.notNeeded).toBe(1); // the image's positions were all cached
    const fresh = await model.chat(conv.messages.slice(0, 3)).result;
    expect(fresh.usage.cachedTokens).toBe(0);
    expect(t2.tokenIds).toEqual(fresh.tokenIds);
    expect(t2.text).toBe(fresh.text);
    expect(conv.messages).toHaveLength(4);
    expect(conv.messages[3]).toEqual({ role: 'assistant', content: t2.text });
  });

  it('editing an earlier message recomputes from the first changed token, and still matches a fresh prefill', async () => {
    const img = raw(renderShape(6, 72, 72, 'orange', 'star'));
    const conv = model.conversation();
    const t1 = await conv.send(COLOR_Q, { images: [img] }).result;
    await conv.send(SHAPE_Q).result;
    // change the first question: the image stays cached, everything after the question is redone
    conv.edit(0, user(DESCRIBE_Q, img));
    conv.truncate(1);
    const t3 = await conv.send(COLOR_Q).result;
    const imageEnd = t1.usage.promptTokens - 10;
    expect(t3.usage.cachedTokens).toBeGreaterThan(imageEnd - 20);
    expect(t3.usage.cachedTokens).toBeLessThan(t1.usage.promptTokens);
    const fresh = await model.chat([user(DESCRIBE_Q, img), { role: 'user', content: COLOR_Q }]).result;
    expect(t3.tokenIds).toEqual(fresh.tokenIds);
  });

  it('a different image at the same position invalidates the cache from that image on', async () => {
    const a = raw(renderShape(7, 64, 64, 'red', 'square'));
    const b = raw(renderShape(8, 64, 64, 'green', 'triangle'));
    const conv = model.conversation();
    await conv.send(COLOR_Q, { images: [a] }).result;
    conv.reset();
    const r = await conv.send(COLOR_Q, { images: [b] }).result;
    expect(r.usage.cachedTokens).toBe(0);
    const conv2 = model.conversation();
    await conv2.send(COLOR_Q, { images: [a] }).result;
    conv2.edit(0, user(COLOR_Q, b));
    conv2.truncate(1);
    conv2.remove(0);
    const r2 = await conv2.send(COLOR_Q, { images: [b] }).result;
    const fresh = await model.ask(b, COLOR_Q).result;
    expect(r2.usage.cachedTokens).toBeLessThan(10); // only the template's opening tokens survive
    expect(r2.tokenIds).toEqual(fresh.tokenIds);
  });

  it('refuses a second turn while one is generating, and keeps history intact', async () => {
    const conv = model.conversation();
    const first = conv.send(COLOR_Q, { images: [raw(renderShape(17, 64, 64, 'red', 'circle'))] });
    const second = conv.send(SHAPE_Q);
    await expect(second.result).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    await first.result;
    expect(conv.messages).toHaveLength(2);
  });

  it('several images in one conversation: each keeps its own features', async () => {
    const conv = model.conversation();
    const before = model.stats().vision.encoderRuns;
    const r = await conv.send(COLOR_Q, {
      images: [raw(renderShape(9, 64, 64, 'blue', 'circle')), raw(renderShape(10, 64, 64, 'red', 'star'))],
    }).result;
    expect(r.images.encoded).toBe(2);
    expect(model.stats().vision.encoderRuns).toBe(before + 1); // one batched encoder run
    const r2 = await conv.send(SHAPE_Q, { images: [raw(renderShape(11, 64, 64, 'green', 'square'))] }).result;
    expect(r2.images).toEqual({ encoded: 1, fromCache: 0, notNeeded: 2 });
  });
});

describe('generation controls', () => {
  const img = renderShape(12, 96, 96, 'red', 'star');

  it('stop strings end the answer early and are trimmed', async () => {
    const full = await model.ask(raw(img), DESCRIBE_Q).result;
    const words = full.text.split(' ');
    expect(words.length).toBeGreaterThan(1);
    const stop = ` ${words[1]}`;
    const s = model.ask(raw(img), DESCRIBE_Q, { stopStrings: [stop] });
    let streamed = '';
    for await (const d of s) streamed += d;
    const r = await s.result;
    expect(r.finishReason).toBe('stop_string');
    expect(r.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
    expect(streamed).toBe(r.text);
  });

  it('maxNewTokens caps the answer', async () => {
    const r = await model.ask(raw(img), DESCRIBE_Q, { maxNewTokens: 2 }).result;
    expect(r.tokenIds).toHaveLength(2);
    expect(r.finishReason).toBe('max_new_tokens');
  });

  it('sampling is reproducible with a seed and differs with other seeds', async () => {
    const run = async (seed: number) =>
      (
        await model.ask(raw(img), DESCRIBE_Q, {
          sampling: { temperature: 3, seed },
          maxNewTokens: 8,
          minNewTokens: 8,
        }).result
      ).tokenIds.join();
    const a = await run(11);
    expect(await run(11)).toBe(a);
    const others = await Promise.all([12, 13, 14].map(run));
    expect(others.some((o) => o !== a)).toBe(true);
    const r = await model.ask(raw(img), DESCRIBE_Q, { sampling: { temperature: 0.5 } }).result;
    expect(Number.isInteger(r.seed)).toBe(true);
  });

  it('kvCacheMaxLength: a prompt that does not fit is refused before the vision encoder runs; a full cache stops', async () => {
    const prompt = (await model.ask(raw(img), COLOR_Q).result).usage.promptTokens;
    const fresh = raw(renderShape(13, 50, 50, 'yellow', 'circle'));
    const runs = model.stats().vision.encoderRuns;
    const err = await model.ask(fresh, COLOR_Q, { kvCacheMaxLength: prompt - 1 }).result.catch((e) => e);
    expect(err).toBeInstanceOf(GenerationError);
    expect((err as MmrtError).code).toBe('CONTEXT_OVERFLOW');
    expect(model.stats().vision.encoderRuns).toBe(runs);
    const r = await model.ask(raw(img), COLOR_Q, { kvCacheMaxLength: prompt + 2, minNewTokens: 5 }).result;
    expect(r.finishReason).toBe('context_full');
    expect(r.tokenIds).toHaveLength(3);
    // a conversation that has filled its cache refuses the next turn with the same error
    const conv = model.conversation({ generation: { kvCacheMaxLength: prompt + 6 } });
    await conv.send(COLOR_Q, { images: [raw(img)] }).result;
    await expect(conv.send(SHAPE_Q).result).rejects.toMatchObject({ code: 'CONTEXT_OVERFLOW' });
    expect(conv.messages).toHaveLength(2); // the failed turn left no trace
  });

  it('a batch of chats (left-padded) gives each chat its own answer', async () => {
    const chats: ChatMessage[][] = [
      [user(COLOR_Q, raw(img))],
      [user(SHAPE_Q, raw(renderShape(14, 60, 120, 'green', 'triangle')))],
      [
        { role: 'system', content: 'Be brief.' },
        user(DESCRIBE_Q, raw(renderShape(15, 70, 70, 'blue', 'square'))),
      ],
    ];
    const batch = await model.generateBatch(chats);
    for (const [i, chat] of chats.entries()) {
      const solo = await model.chat(chat).result;
      expect(batch[i]!.tokenIds).toEqual(solo.tokenIds);
    }
  });
});

describe('bad input gets typed errors', () => {
  const img = raw(renderShape(16, 64, 64, 'red', 'circle'));
  const code = (e: unknown) => (e as MmrtError).code;

  it('no image where one is needed', async () => {
    expect(() => model.ask(undefined as never, COLOR_Q)).toThrow(InputError);
    const e = await model
      .chat([{ role: 'user', content: [{ type: 'image' } as never, { type: 'text', text: COLOR_Q }] }])
      .result.catch((x) => x);
    expect(e).toBeInstanceOf(InputError);
    expect(code(e)).toBe('INPUT_INVALID');
    expect((e as Error).message).toMatch(/image part without an image/);
  });

  it('more image tokens than images', async () => {
    const e = await model
      .chat([{ role: 'user', content: `${model.config.imageToken}\n${COLOR_Q}` }])
      .result.catch((x) => x);
    expect(e).toBeInstanceOf(InputError);
    expect(code(e)).toBe('IMAGE_TOKEN_MISMATCH');
    expect((e as Error).message).toMatch(/1 image token\(s\) but only 0 image/);
    const e2 = await model.chat([user(`${model.config.imageToken} ${COLOR_Q}`, img)]).result.catch((x) => x);
    expect(code(e2)).toBe('IMAGE_TOKEN_MISMATCH');
  });

  it('an image that fails to decode, or does not exist', async () => {
    const e = await model
      .ask(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]), COLOR_Q)
      .result.catch((x) => x);
    expect(e).toBeInstanceOf(InputError);
    expect(code(e)).toBe('IMAGE_DECODE_FAILED');
    expect((e as Error).message).toMatch(/image 0/);
    const missing = await model.ask('/nonexistent/picture.png', COLOR_Q).result.catch((x) => x);
    expect(missing).toBeInstanceOf(InputError);
    expect(code(missing)).toBe('INPUT_NOT_FOUND');
  });

  it('malformed messages and options', async () => {
    await expect(model.chat([]).result).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    await expect(model.chat([{ role: 'robot', content: 'hi' } as never]).result).rejects.toMatchObject({
      code: 'INPUT_INVALID',
    });
    await expect(model.ask(img, COLOR_Q, { maxNewTokens: -1 }).result).rejects.toMatchObject({
      code: 'INPUT_INVALID',
    });
    const conv = model.conversation();
    expect(() => conv.edit(3, user('x'))).toThrow(InputError);
  });
});

describe('semantics on freshly rendered images', () => {
  it('answers colour, shape and describe questions correctly (>= 95%)', async () => {
    const images = heldOutSet(2024, 2); // 48 images, every class twice; sizes and backgrounds vary
    const article = (c: string) => ('aeiou'.includes(c[0]!) ? 'an' : 'a');
    const expected = {
      [COLOR_Q]: (im: RenderedShape) => im.color,
      [SHAPE_Q]: (im: RenderedShape) => im.shape,
      [DESCRIBE_Q]: (im: RenderedShape) => `${article(im.color)} ${im.color} ${im.shape}`,
    };
    let correct = 0;
    let total = 0;
    const wrong: string[] = [];
    for (const [question, want] of Object.entries(expected)) {
      // one question over all images as a left-padded batch (batch = solo is tested above)
      const answers = await model.generateBatch(images.map((im) => [user(question, raw(im))]));
      images.forEach((im, i) => {
        total++;
        if (answers[i]!.text === want(im)) correct++;
        else
          wrong.push(
            `${im.width}x${im.height} ${im.background} ${question} -> "${answers[i]!.text}", want "${want(im)}"`,
          );
      });
    }
    console.info(
      `semantic accuracy: ${correct}/${total} = ${((100 * correct) / total).toFixed(1)}%${wrong.length ? `; wrong: ${wrong.join('; ')}` : ''}`,
    );
    expect(correct / total).toBeGreaterThanOrEqual(0.95);
  });
});
