/**
 * Parity of the shipped tiny VLM through mmrt with PyTorch (models/shapes-vlm/reference.json,
 * written by tools/shapes beside the model) and with @huggingface/transformers on the same
 * folder.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLlavaConfig } from '../../src/kinds/vision-language/config.js';
import { LlavaImagePreparer } from '../../src/kinds/vision-language/images.js';
import type { ChatMessage } from '../../src/kinds/vision-language/messages.js';
import type { LlavaModel } from '../../src/kinds/vision-language/model.js';
import { ImageProcessor } from '../../src/media/processor.js';
import { decodeImage } from '../../src/node/media/decode.js';
import { disposeModels, tinyVlm } from '../helpers/models.js';
import { heldOutSet } from '../../tools/shapes/render.js';
import { VLM_DIR } from './model.js';
import { type B64Tensor, float32, maxAbsDiff } from '../shapes/reference.js';

type RefContent = string | Array<{ type: 'image' } | { type: 'text'; text: string }>;
interface RefCase {
  image: string;
  messages: Array<{ role: 'user' | 'assistant'; content: RefContent }>;
  prompt: string;
  input_ids: number[];
  first_logits: number[];
  generated_ids: number[];
  generated_text: string;
}
const ref = JSON.parse(readFileSync(join(VLM_DIR, 'reference.json'), 'utf8')) as {
  cases: RefCase[];
  pixel_values: Record<string, B64Tensor>;
};
/** Paths in reference.json are relative to the models folder. */
const imagePath = (p: string) => join(dirname(VLM_DIR), p);
/** The reference's HF-style messages with the image marker bound to the case's image file. */
function toMessages(c: RefCase): ChatMessage[] {
  return c.messages.map((m) =>
    typeof m.content === 'string'
      ? { role: m.role, content: m.content }
      : {
          role: 'user' as const,
          content: m.content.map((p) =>
            p.type === 'image'
              ? { type: 'image' as const, image: imagePath(c.image) }
              : { type: 'text' as const, text: p.text },
          ),
        },
  );
}

let model: LlavaModel;
beforeAll(async () => {
  model = await tinyVlm({ model: VLM_DIR });
});
afterAll(disposeModels);

describe('parity with PyTorch (reference.json)', () => {
  it('preprocesses the sample images to the same pixel values (Pillow-exact)', async () => {
    const pkg = model.loader.package;
    const config = readLlavaConfig(pkg, (id) => model.tokenizer.tokenizer.id_to_token(id), {
      anyResolution: pkg.family === 'llava_next',
    });
    const preparer = new LlavaImagePreparer(config, ImageProcessor.fromConfig(pkg.preprocessorConfig));
    for (const [file, want] of Object.entries(ref.pixel_values)) {
      const prepared = preparer.prepare(await decodeImage(imagePath(file)));
      expect([...prepared.pixels.dims]).toEqual(want.shape);
      expect(maxAbsDiff(prepared.pixels.data, float32(want))).toBe(0);
    }
  });

  it.each(ref.cases.map((c, i) => [i, c.generated_text, c] as const))(
    'case %i ("%s"): same prompt and ids, first-step logits within 1e-4, same greedy continuation',
    async (_i, _text, c) => {
      const messages = toMessages(c);
      expect(model.renderPrompt(messages)).toBe(c.prompt);
      expect((await model.promptIds(messages)).ids).toEqual(c.input_ids);
      let first: Float32Array | undefined;
      const r = await model.chat(messages, {
        onLogits: (l, step) => {
          if (step === 0) first = l.slice();
        },
      }).result;
      const diff = maxAbsDiff(first!, c.first_logits);
      expect(diff).toBeLessThan(1e-4);
      expect(r.tokenIds).toEqual(c.generated_ids);
      expect(r.text).toBe(c.generated_text);
      console.info(
        `case ${_i}: max |logit diff| vs PyTorch ${diff.toExponential(2)}, greedy "${r.text}" equal`,
      );
    },
  );
});

describe('parity with @huggingface/transformers on the same folder', () => {
  it('gives the same greedy tokens for the same pixels; through its own preprocessing it agrees on >= 90% of fresh images', async () => {
    const tf = await import('@huggingface/transformers');
    tf.env.allowRemoteModels = false;
    tf.env.localModelPath = `${dirname(VLM_DIR)}/`;
    const name = basename(VLM_DIR);
    const processor = await tf.AutoProcessor.from_pretrained(name);
    const peer = await tf.LlavaForConditionalGeneration.from_pretrained(name, {
      dtype: 'fp32',
      device: 'cpu',
      session_options: { intraOpNumThreads: 1 },
    });
    const peerGenerate = async (
      messages: unknown[],
      image: InstanceType<typeof tf.RawImage>,
      pixels?: Float32Array,
    ) => {
      const text = processor.apply_chat_template(messages as never, {
        add_generation_prompt: true,
      }) as string;
      const inputs = await processor(image, text);
      if (pixels) inputs.pixel_values = new tf.Tensor('float32', pixels, inputs.pixel_values.dims);
      // biome-ignore lint/suspicious/noExplicitAny: generate returns a union
      const out: any = await peer.generate({ ...inputs, max_new_tokens: 16, do_sample: false });
      const n = inputs.input_ids.dims.at(-1);
      return { text, ids: (out.tolist()[0] as bigint[]).slice(n).map(Number) };
    };
    // 1. the reference cases, through the peer's whole pipeline and with mmrt's exact pixels
    for (const c of ref.cases) {
      const image = await tf.RawImage.read(imagePath(c.image));
      const own = await peerGenerate(c.messages, image);
      expect(own.text).toBe(c.prompt);
      const ours = await model.chat(toMessages(c)).result;
      expect(own.ids).toEqual([...ours.tokenIds]);
      const exact = await peerGenerate(c.messages, image, float32(ref.pixel_values[c.image]!));
      expect(exact.ids).toEqual([...ours.tokenIds]);
    }
    // 2. freshly rendered images: with mmrt's pixels the peer must give the same tokens; through
    // its own resize (not Pillow's, DESIGN.md) small images may drift, so agreement is measured
    const pkg = model.loader.package;
    const config = readLlavaConfig(pkg, (id) => model.tokenizer.tokenizer.id_to_token(id), {
      anyResolution: pkg.family === 'llava_next',
    });
    const preparer = new LlavaImagePreparer(config, ImageProcessor.fromConfig(pkg.preprocessorConfig));
    const question = 'Describe the image.';
    const images = heldOutSet(77, 1);
    let agree = 0;
    let mineRight = 0;
    let theirsRight = 0;
    for (const im of images) {
      const raw = { data: im.rgb, width: im.width, height: im.height, channels: 3 as const };
      const mine = await model.ask(raw, question).result;
      const peerImage = new tf.RawImage(new Uint8ClampedArray(im.rgb), im.width, im.height, 3);
      const messages = [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: question }] }];
      const pixels = preparer.prepare(await decodeImage(raw)).pixels.data;
      expect((await peerGenerate(messages, peerImage, pixels)).ids).toEqual([...mine.tokenIds]);
      const own = model.tokenizer.decode((await peerGenerate(messages, peerImage)).ids);
      agree += Number(own === mine.text);
      mineRight += Number(mine.text.endsWith(`${im.color} ${im.shape}`));
      theirsRight += Number(own.endsWith(`${im.color} ${im.shape}`));
    }
    console.info(
      `fresh images: mmrt = peer (same pixels) ${images.length}/${images.length}; peer's own pipeline agrees on ${agree}/${images.length}; correct: mmrt ${mineRight}, peer ${theirsRight}`,
    );
    expect(agree / images.length).toBeGreaterThanOrEqual(0.9);
    expect(mineRight).toBeGreaterThanOrEqual(theirsRight);
    await peer.dispose();
  });
});
