/**
 * Parity of the shipped tiny BLIP captioning, BLIP VQA and BLIP-2 models through mmrt with
 * PyTorch (reference.json, written by tools/shapes/blip_build.py beside each model): the same
 * pixels (Pillow-exact), image features and first-step logits within 1e-4, identical greedy
 * tokens — one request at a time and batched, on the merged decoder (cross-attention keys and
 * values reused) and on the plain one (recomputed every step).
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlipModel } from '../../src/kinds/image-to-text/model.js';
import { ImageProcessor } from '../../src/media/processor.js';
import { decodeImage } from '../../src/node/media/decode.js';
import { disposeModels, tinyBlip } from '../helpers/models.js';
import { float32, maxAbsDiff } from '../shapes/reference.js';
import {
  BLIP2_DIR,
  BLIP_DIR,
  BLIP_VQA_DIR,
  type Blip2Ref,
  type CaptionRef,
  imagePath,
  PLAIN_DECODER,
  reference,
  type VqaRef,
} from './models.js';

const captionRef = reference<CaptionRef>(BLIP_DIR);
const vqaRef = reference<VqaRef>(BLIP_VQA_DIR);
const blip2Ref = reference<Blip2Ref>(BLIP2_DIR);
const TOL = 1e-4;

let caption: BlipModel;
let vqa: BlipModel;
let blip2: BlipModel;
let plain: BlipModel;
let plainDir: string;
beforeAll(async () => {
  // The captioning package with its decoder exported the plain way.
  plainDir = await mkdtemp(join(tmpdir(), 'mmrt-blip-plain-'));
  await cp(BLIP_DIR, plainDir, { recursive: true });
  await cp(PLAIN_DECODER, join(plainDir, 'onnx', 'text_decoder_model_merged.onnx'));
  [caption, vqa, blip2, plain] = await Promise.all([
    tinyBlip({ model: BLIP_DIR }),
    tinyBlip({ model: BLIP_VQA_DIR }),
    tinyBlip({ model: BLIP2_DIR }),
    tinyBlip({ model: plainDir }),
  ]);
});
afterAll(async () => {
  await disposeModels();
  await rm(plainDir, { recursive: true, force: true });
});

/** Runs `fn` capturing the first step's logits of row 0. */
function firstLogits() {
  let first: Float32Array | undefined;
  return {
    onLogits: (l: Float32Array, step: number, vocab: number) => {
      if (step === 0) first ??= l.slice(0, vocab);
    },
    get value() {
      return first!;
    },
  };
}

describe('BLIP captioning vs PyTorch', () => {
  it('preprocesses the samples to the same pixels and image embeds (BlipImageProcessor, 64x64 squash)', async () => {
    const processor = ImageProcessor.fromConfig(caption.loader.package.preprocessorConfig);
    for (const [file, want] of Object.entries(captionRef.pixel_values)) {
      const px = processor.preprocess(await decodeImage(imagePath(file)));
      expect([...px.dims]).toEqual(want.shape);
      expect(maxAbsDiff(px.data, float32(want))).toBe(0);
      const embeds = await caption.imageFeatures(imagePath(file));
      expect(maxAbsDiff(embeds.data, float32(captionRef.image_embeds[file]!))).toBeLessThan(TOL);
    }
  });

  it.each(captionRef.cases.map((c, i) => [i, c.caption, c] as const))(
    'case %i ("%s"): first-step logits within 1e-4, same greedy tokens and caption',
    async (_i, _text, c) => {
      const logits = firstLogits();
      const r = await caption.caption(imagePath(c.image), {
        ...(c.prompt ? { prompt: c.prompt } : {}),
        onLogits: logits.onLogits,
      }).result;
      const diff = maxAbsDiff(logits.value, c.first_logits);
      expect(diff).toBeLessThan(TOL);
      expect([...r.tokenIds]).toEqual(c.generated_ids);
      expect(r.text).toBe(c.caption);
      expect(r.prompt).toBe(c.prompt ?? '');
      expect(r.finishReason).toBe('eos');
      console.info(`caption case ${_i}: max |logit diff| ${diff.toExponential(2)}, "${r.text}"`);
    },
  );

  it('a batch of every case (prompted and not, so rows are left-padded) gives each its own tokens', async () => {
    for (const prompt of [undefined, 'a picture of']) {
      const cases = captionRef.cases.filter((c) => (c.prompt ?? undefined) === prompt);
      const results = await caption.caption(
        cases.map((c) => imagePath(c.image)),
        prompt ? { prompt } : {},
      ).result;
      for (const [i, r] of results.entries()) expect([...r.tokenIds]).toEqual(cases[i]!.generated_ids);
    }
  });

  it('reuses the first step’s cross-attention keys/values; the plain decoder recomputes them and agrees', async () => {
    expect(await caption.reusesCrossAttention()).toBe(true);
    expect(await plain.reusesCrossAttention()).toBe(false);
    for (const c of captionRef.cases) {
      const logits = firstLogits();
      const r = await plain.caption(imagePath(c.image), {
        ...(c.prompt ? { prompt: c.prompt } : {}),
        onLogits: logits.onLogits,
      }).result;
      expect(maxAbsDiff(logits.value, c.first_logits)).toBeLessThan(TOL);
      expect([...r.tokenIds]).toEqual(c.generated_ids);
    }
  });
});

describe('BLIP VQA vs PyTorch', () => {
  it('gives the reference image embeds', async () => {
    for (const [file, want] of Object.entries(vqaRef.image_embeds)) {
      const embeds = await vqa.imageFeatures(imagePath(file));
      expect(maxAbsDiff(embeds.data, float32(want))).toBeLessThan(TOL);
    }
  });

  it.each(vqaRef.cases.map((c, i) => [i, c.question, c.generated_text, c] as const))(
    'case %i ("%s" -> "%s"): first-step logits within 1e-4, same greedy tokens',
    async (_i, _q, _a, c) => {
      const logits = firstLogits();
      const r = await vqa.answer(imagePath(c.image), c.question, { onLogits: logits.onLogits }).result;
      expect(maxAbsDiff(logits.value, c.first_logits)).toBeLessThan(TOL);
      expect([...r.tokenIds]).toEqual(c.generated_ids);
      expect(r.text).toBe(c.generated_text);
      expect(r.question).toBe(c.question);
    },
  );

  it('batches questions of different lengths (padded, and masked) to the same answers', async () => {
    const results = await vqa.answer(
      vqaRef.cases.map((c) => ({ image: imagePath(c.image), question: c.question })),
    ).result;
    for (const [i, r] of results.entries()) expect([...r.tokenIds]).toEqual(vqaRef.cases[i]!.generated_ids);
  });
});

describe('BLIP-2 vs PyTorch', () => {
  const template = (q: string) => blip2Ref.question_template.replace('{}', q);
  const questionOf = (prompt: string) => /^Question: (.*) Answer:$/.exec(prompt)?.[1];

  it('gives the reference Q-Former outputs (projected query tokens)', async () => {
    for (const [file, want] of Object.entries(blip2Ref.language_model_inputs)) {
      const f = await blip2.imageFeatures(imagePath(file));
      expect(f.count).toBe(blip2Ref.num_query_tokens);
      expect(maxAbsDiff(f.data, float32(want))).toBeLessThan(TOL);
    }
  });

  it.each(blip2Ref.cases.map((c, i) => [i, c.prompt, c.generated_text, c] as const))(
    'case %i (prompt "%s" -> "%s"): first-step logits within 1e-4, same greedy tokens',
    async (_i, _p, _a, c) => {
      const logits = firstLogits();
      const question = questionOf(c.prompt);
      const r = question
        ? await blip2.answer(imagePath(c.image), question, { onLogits: logits.onLogits }).result
        : await blip2.caption(imagePath(c.image), { prompt: c.prompt, onLogits: logits.onLogits }).result;
      expect(question === undefined || template(question) === c.prompt).toBe(true);
      expect(maxAbsDiff(logits.value, c.first_logits)).toBeLessThan(TOL);
      expect([...r.tokenIds]).toEqual(c.generated_ids);
      // A caption reads as its prompt followed by the continuation (WordPiece joins with a space).
      expect(r.text).toBe(
        question ? c.generated_text : [c.prompt, c.generated_text].filter(Boolean).join(' '),
      );
    },
  );

  it('batches questions (left-padded prompts of different lengths) to the same answers', async () => {
    const cases = blip2Ref.cases.filter((c) => questionOf(c.prompt));
    const results = await blip2.answer(
      cases.map((c) => ({ image: imagePath(c.image), question: questionOf(c.prompt)! })),
    ).result;
    for (const [i, r] of results.entries()) expect([...r.tokenIds]).toEqual(cases[i]!.generated_ids);
  });
});
