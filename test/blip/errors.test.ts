/**
 * Bad input to the BLIP family is a typed MmrtError that says what was wrong and what would be
 * valid: a package missing a component, a task the model was not made for, an image that does
 * not decode (named by its place in the request), malformed arguments, the wrong load function.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MmrtError } from '../../src/errors.js';
import type { BlipModel } from '../../src/kinds/image-to-text/model.js';
import { loadBlip, loadLlava } from '../../src/node/index.js';
import { heldOutSet } from '../../tools/shapes/render.js';
import { disposeModels, tinyBlip } from '../helpers/models.js';
import { MODELS } from '../shapes/reference.js';
import { BLIP2_DIR, BLIP_DIR, BLIP_VQA_DIR } from './models.js';

const image = (() => {
  const im = heldOutSet(99, 1)[0]!;
  return { data: im.rgb, width: im.width, height: im.height, channels: 3 as const };
})();
let dir: string;
let caption: BlipModel;
let vqa: BlipModel;

/** A copy of `src` without the files named. */
async function without(src: string, name: string, ...files: string[]): Promise<string> {
  const out = join(dir, name);
  await cp(src, out, { recursive: true, filter: (p) => !files.some((f) => p.endsWith(f)) });
  return out;
}

async function rejection(p: Promise<unknown> | (() => unknown)): Promise<MmrtError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(MmrtError);
    return e as MmrtError;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mmrt-blip-errors-'));
  [caption, vqa] = await Promise.all([tinyBlip({ model: BLIP_DIR }), tinyBlip({ model: BLIP_VQA_DIR })]);
});
afterAll(async () => {
  await disposeModels();
  await rm(dir, { recursive: true, force: true });
});

describe('a package missing a component', () => {
  it('a BLIP package without its text decoder names the layouts it needs', async () => {
    const e = await rejection(
      loadBlip({ model: await without(BLIP_DIR, 'no-decoder', 'text_decoder_model_merged.onnx') }),
    );
    expect(e.code).toBe('MODEL_COMPONENT_MISSING');
    expect(e.message).toMatch(/onnx\/vision_model\.onnx \+ onnx\/text_decoder_model_merged\.onnx/);
  });

  it('a BLIP VQA package (BlipForQuestionAnswering) without its question encoder says so', async () => {
    const e = await rejection(
      loadBlip({ model: await without(BLIP_VQA_DIR, 'no-encoder', 'text_encoder.onnx') }),
    );
    expect(e.code).toBe('MODEL_COMPONENT_MISSING');
    expect(e.message).toMatch(/BlipForQuestionAnswering.*no onnx\/text_encoder\.onnx/);
  });

  it('a BLIP-2 package without its Q-Former', async () => {
    const e = await rejection(loadBlip({ model: await without(BLIP2_DIR, 'no-qformer', 'qformer.onnx') }));
    expect(e.code).toBe('MODEL_COMPONENT_MISSING');
    expect(e.message).toMatch(/qformer/);
  });
});

describe('a task the model was not made for', () => {
  it('a question to a captioning model, a caption from a VQA model', async () => {
    const q = await rejection(() => caption.answer(image, 'What color is the shape?'));
    expect(q.code).toBe('TASK_UNSUPPORTED');
    expect(q.message).toMatch(/captioning model: it cannot answer questions .*BLIP VQA package .* or BLIP-2/);
    expect(q.details.valid).toEqual(['caption']);
    const c = await rejection(() => vqa.caption(image));
    expect(c.code).toBe('TASK_UNSUPPORTED');
    expect(caption.tasks).toEqual(['caption']);
    expect(vqa.tasks).toEqual(['answer']);
  });
});

describe('an image that fails to decode', () => {
  it('is IMAGE_DECODE_FAILED naming its index in the request, in a later batch too', async () => {
    const bad = join(dir, 'broken.jpg');
    await writeFile(bad, 'not a jpeg');
    const one = await rejection(vqa.answer(bad, 'What shape is this?').result);
    expect(one).toMatchObject({ code: 'IMAGE_DECODE_FAILED', details: { index: 0 } });
    expect(one.message).toMatch(/image 0 \(.*broken\.jpg\) could not be used/);
    const images = [...new Array(9).fill(image), bad]; // index 9: the second batch of 8
    const later = await rejection(caption.caption(images).result);
    expect(later).toMatchObject({ code: 'IMAGE_DECODE_FAILED', details: { index: 9 } });
    expect(later.message).toMatch(/^image 9 /);
    const missing = await rejection(caption.caption(join(dir, 'nope.png')).result);
    expect(missing.code).toBe('INPUT_NOT_FOUND');
  });
});

describe('malformed arguments and the wrong load function', () => {
  it('refuses empty questions, missing images and empty lists', async () => {
    expect((await rejection(() => vqa.answer(image, '  '))).code).toBe('INPUT_INVALID');
    expect((await rejection(() => vqa.answer([{ image, question: '' }]))).details.index).toBe(0);
    expect((await rejection(() => caption.caption(''))).code).toBe('INPUT_INVALID');
    expect((await rejection(() => caption.caption([]))).code).toBe('INPUT_INVALID');
    expect((await rejection(caption.caption(image, { maxNewTokens: 0 }).result)).code).toBe('INPUT_INVALID');
  });

  it('an aborted signal stops a request with ABORTED', async () => {
    const ac = new AbortController();
    ac.abort();
    expect((await rejection(caption.caption(image, { signal: ac.signal }).result)).code).toBe('ABORTED');
  });

  it('loadBlip on a CLIP folder and loadLlava on a BLIP folder say what the folder is', async () => {
    const clip = await rejection(loadBlip({ model: join(MODELS, 'shapes-clip') }));
    expect(clip).toMatchObject({ code: 'INPUT_INVALID', details: { valid: ['blip', 'blip2'] } });
    expect(clip.message).toMatch(/is a clip model, not BLIP or BLIP-2/);
    const llava = await rejection(loadLlava({ model: BLIP_DIR }));
    expect(llava.message).toMatch(/is a blip model, not LLaVA or LLaVA-Next/);
    const template = await rejection(tinyBlip({ model: BLIP2_DIR, blip: { questionTemplate: 'Q: A:' } }));
    expect(template.message).toMatch(/questionTemplate must contain \{question\}/);
  });
});
