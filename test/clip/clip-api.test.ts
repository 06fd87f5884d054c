/**
 * CLIP through the public API on the shipped tiny model: semantics on freshly rendered
 * images, each optimization switchable without changing results, and bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import type { ClipModel } from '../../src/kinds/dual-encoder/model.js';
import { CLASSES, encode, heldOutSet } from '../../tools/shapes/render.js';
import { type ImageServer, startImageServer } from '../helpers/http.js';
import { disposeModels, tinyClip } from '../helpers/models.js';

const LABELS = CLASSES.map(([c, s]) => `${c} ${s}`);

let clip: ClipModel;
const warnings: string[] = [];

beforeAll(async () => {
  clip = await tinyClip({ onWarning: (m) => warnings.push(m) });
});
afterAll(disposeModels);

describe('tiny CLIP semantics', () => {
  it('classifies freshly rendered held-out images into the 24 colour-shape classes (>= 95%)', async () => {
    const images = heldOutSet(4242, 2); // 48 images, sizes and backgrounds the training never saw together
    const encoded = await Promise.all(images.map((im, i) => encode(im, i % 3 === 0 ? 'jpeg' : 'png')));
    const results = await clip.zeroShot(encoded, LABELS);
    const correct = results.filter(
      (r, i) => r[0]!.label === `${images[i]!.color} ${images[i]!.shape}`,
    ).length;
    expect(correct / images.length).toBeGreaterThanOrEqual(0.95);
  });

  it('scores sum to one per image (softmax) and come best first', async () => {
    const [img] = heldOutSet(7, 1);
    const [r] = await clip.zeroShot([await encode(img!)], LABELS.slice(0, 5));
    expect(r!.reduce((s, x) => s + x.score, 0)).toBeCloseTo(1, 5);
    for (let i = 1; i < r!.length; i++) expect(r![i - 1]!.score).toBeGreaterThanOrEqual(r![i]!.score);
  });

  it('embeds texts and images into one normalized space', async () => {
    const [t] = await clip.embedTexts(['a photo of a red circle']);
    expect(Math.hypot(...t!)).toBeCloseTo(1, 5);
    const [raw] = await clip.embedTexts(['a photo of a red circle'], { normalize: false });
    expect(clip.similarity(t!, raw!)).toBeCloseTo(1, 5);
  });
});

describe('optimizations are switchable and do not change results', () => {
  it('gives the same embeddings for any batch size, with or without decode overlap', async () => {
    const imgs = await Promise.all(
      heldOutSet(99, 1)
        .slice(0, 7)
        .map((im) => encode(im)),
    );
    const a = await clip.embedImages(imgs);
    const one = await tinyClip({ config: { batch_size: 1 }, clip: { overlapDecode: false } });
    const b = await one.embedImages(imgs);
    const three = await tinyClip({ config: { batch_size: 3 } });
    const c = await three.embedImages(imgs);
    for (let i = 0; i < imgs.length; i++) {
      expect(Math.max(...a[i]!.map((v, j) => Math.abs(v - b[i]![j]!)))).toBeLessThan(1e-5);
      expect(Math.max(...a[i]!.map((v, j) => Math.abs(v - c[i]![j]!)))).toBeLessThan(1e-5);
    }
  });

  it('gives the same text embeddings for any text batch size (padding to the longest is masked out)', async () => {
    const texts = [
      'a red circle',
      'a photo of a small blue star on a plain background',
      'green',
      'a purple square',
    ];
    const a = await (await tinyClip({ clip: { textCacheBytes: 0 } })).embedTexts(texts);
    const one = await (await tinyClip({ clip: { textCacheBytes: 0, textBatchSize: 1 } })).embedTexts(texts);
    for (let i = 0; i < texts.length; i++) {
      expect(Math.max(...a[i]!.map((v, j) => Math.abs(v - one[i]![j]!)))).toBeLessThan(1e-5);
    }
    await expect(tinyClip({ clip: { textBatchSize: 0 } })).rejects.toThrow(
      /textBatchSize must be a positive integer/,
    );
  });

  it('encodes each label once across a stream of zero-shot calls when the text cache is on', async () => {
    const cached = await tinyClip();
    const imgs = await Promise.all(
      heldOutSet(5, 1)
        .slice(0, 3)
        .map((im) => encode(im)),
    );
    for (const img of imgs) await cached.zeroShot([img], LABELS);
    expect(cached.textCacheStats()).toMatchObject({
      misses: LABELS.length,
      hits: 2 * LABELS.length,
      entries: LABELS.length,
    });
    const uncached = await tinyClip({ clip: { textCacheBytes: 0 } });
    expect(uncached.textCacheStats()).toBeUndefined();
    const [x] = await uncached.zeroShot([imgs[0]!], LABELS);
    const [y] = await cached.zeroShot([imgs[0]!], LABELS);
    expect(x!.map((l) => l.label)).toEqual(y!.map((l) => l.label));
  });

  it('runs sequentially when parallel encoders are off, with equal scores', async () => {
    const img = await encode(heldOutSet(11, 1)[0]!);
    const seq = await tinyClip({ config: { parallel_encoder_execution: false } });
    const par = await tinyClip({ config: { parallel_encoder_execution: true } });
    const [a] = await seq.zeroShot([img], LABELS);
    const [b] = await par.zeroShot([img], LABELS);
    expect(a![0]!.label).toBe(b![0]!.label);
    expect(a![0]!.score).toBeCloseTo(b![0]!.score, 5);
  });
});

describe('bad input', () => {
  it('rejects an empty label list and blank labels', async () => {
    const img = await encode(heldOutSet(1, 1)[0]!);
    await expect(clip.zeroShot([img], [])).rejects.toBeInstanceOf(InputError);
    await expect(clip.zeroShot([img], ['cat', ' '])).rejects.toMatchObject({ code: 'INPUT_INVALID' });
  });

  it('names the one bad image in a batch', async () => {
    const good = await encode(heldOutSet(2, 1)[0]!);
    const err = await clip
      .embedImages([good, good, new Uint8Array([1, 2, 3, 4]), good])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err).toMatchObject({ code: 'IMAGE_DECODE_FAILED', details: { index: 2 } });
    expect((err as Error).message).toMatch(/image 2 \(<4 bytes>\)/);
  });

  it('gives typed errors for zero-byte, truncated and oversized images and a missing file', async () => {
    const good = await encode(heldOutSet(3, 1)[0]!);
    await expect(clip.embedImages([new Uint8Array(0)])).rejects.toMatchObject({
      code: 'IMAGE_DECODE_FAILED',
    });
    await expect(clip.embedImages([good.subarray(0, good.length / 3)])).rejects.toMatchObject({
      code: 'IMAGE_DECODE_FAILED',
    });
    const small = await tinyClip({ images: { maxPixels: 100 } });
    await expect(small.embedImages([good])).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
    await expect(clip.embedImages(['/no/such/image.png'])).rejects.toBeInstanceOf(InputError);
  });

  it('truncates a text far over the maximum length with a warning, keeping EOS', async () => {
    warnings.length = 0;
    const long = Array.from({ length: 200 }, () => 'red').join(' ');
    const [e] = await clip.embedTexts([long]);
    expect(e!.length).toBeGreaterThan(0);
    expect(warnings.join('\n')).toMatch(/truncated to the model's maximum/);
    const ids = clip.tokenizer.encodeBatch([long]);
    expect(Number(ids.inputIds[ids.dims[1] - 1])).toBe(clip.tokenizer.eosId);
  });
});

describe('image URLs', () => {
  let server: ImageServer;
  let png: Buffer;
  const image = heldOutSet(21, 1).find((im) => im.color === 'green' && im.shape === 'star')!;

  beforeAll(async () => {
    png = await encode(image);
    server = await startImageServer({ '/ok.png': png });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('embeds http: and data: URLs exactly as the same bytes given directly', async () => {
    const dataUrl = `data:image/png;base64,${png.toString('base64')}`;
    const [fromBytes, fromHttp, fromData] = await clip.embedImages([png, `${server.base}/ok.png`, dataUrl]);
    for (const e of [fromHttp!, fromData!]) {
      expect(Math.max(...e.map((v, j) => Math.abs(v - fromBytes![j]!)))).toBeLessThan(1e-6);
    }
    const [r] = await clip.zeroShot([dataUrl], LABELS);
    expect(r![0]!.label).toBe('green star');
  });

  it('an http URL that answers 404 is a typed fetch error naming the URL and its index', async () => {
    const good = await encode(heldOutSet(4, 1)[0]!);
    const url = `${server.base}/missing.png`;
    const err = await clip.embedImages([good, url]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err).toMatchObject({ code: 'INPUT_FETCH_FAILED', details: { index: 1, value: url } });
    expect((err as Error).message).toContain(url);
    expect((err as Error).message).toMatch(/404/);
  });

  it('a URL whose server refuses the connection is a typed fetch error naming the URL', async () => {
    const url = `http://127.0.0.1:${server.closedPort}/x.png`;
    const err = await clip.zeroShot([url], LABELS).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err).toMatchObject({ code: 'INPUT_FETCH_FAILED', details: { index: 0, value: url } });
    expect((err as Error).message).toContain(url);
  });
});
