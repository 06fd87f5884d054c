/**
 * The same transformers.js program (program.ts) runs on @huggingface/transformers and on mmrt
 * and gives the same answers on the shipped models: zero-shot labels and scores (single and
 * batched shapes), image features, and a LLaVA-style chat. transformers.js 4.3 has no
 * image-text-to-text pipeline, so the chat's reference comes from its LLaVA classes on the
 * same folder and image (what that pipeline would run).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as transformers from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODELS_DIR } from '../../src/cli/paths.js';
import * as mmrt from '../../src/node/index.js';
import { encode, renderShape } from '../../tools/shapes/render.js';
import { chatProgram, clipProgram } from './program.js';

let dir: string;
let images: string[];
const LABELS = ['red circle', 'blue star', 'green square', 'yellow triangle'];
const modelsDir = `${MODELS_DIR}/`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mmrt-program-'));
  // 64x64: the models' input size, so neither library resizes (their resize filters differ).
  const shapes = [
    renderShape(11, 64, 64, 'red', 'circle'),
    renderShape(12, 64, 64, 'blue', 'star'),
    renderShape(13, 64, 64, 'green', 'square'),
  ];
  images = await Promise.all(
    shapes.map(async (s, i) => {
      const p = join(dir, `${i}-${s.color}-${s.shape}.png`);
      await writeFile(p, await encode(s, 'png'));
      return p;
    }),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  mmrt.env.localModelPath = MODELS_DIR;
  mmrt.env.allowRemoteModels = true;
});

describe('a transformers.js program, import swapped to mmrt', () => {
  it('zero-shot classification and image features: same shapes, same labels, same numbers', async () => {
    const theirs = await clipProgram(transformers, modelsDir, images, LABELS);
    const ours = await clipProgram(mmrt, modelsDir, images, LABELS);
    // Shapes: one image -> a list of {score, label}; a batch -> one such list per image.
    expect(ours.single.map((r) => Object.keys(r))).toEqual(theirs.single.map((r) => Object.keys(r)));
    expect(ours.batch).toHaveLength(images.length);
    expect(ours.single.map((r) => r.label)).toEqual(theirs.single.map((r) => r.label));
    expect(ours.batch.map((row) => row.map((r) => r.label))).toEqual(
      theirs.batch.map((row) => row.map((r) => r.label)),
    );
    expect(ours.batch.map((row) => row[0]!.label)).toEqual(['red circle', 'blue star', 'green square']);
    for (const [i, row] of ours.batch.entries()) {
      for (const [j, r] of row.entries())
        expect(Math.abs(r.score - theirs.batch[i]![j]!.score)).toBeLessThan(1e-5);
    }
    expect(ours.features.dims).toEqual(theirs.features.dims);
    const diff = Math.max(...ours.features.data.map((v, i) => Math.abs(v - theirs.features.data[i]!)));
    expect(diff).toBeLessThan(1e-4);
  });

  it('LLaVA-style chat: the same answer as transformers.js gives on the same model and image', async () => {
    const question = 'What color is the shape?';
    const ours = await chatProgram(mmrt, modelsDir, images[1]!, question);
    transformers.env.allowRemoteModels = false;
    transformers.env.localModelPath = modelsDir;
    const processor = await transformers.AutoProcessor.from_pretrained('shapes-vlm');
    const model = await transformers.LlavaForConditionalGeneration.from_pretrained('shapes-vlm', {
      dtype: 'fp32',
      device: 'cpu',
    });
    const messages = [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: question }] }];
    const text = processor.apply_chat_template(messages as never, { add_generation_prompt: true }) as string;
    const inputs = await processor(await transformers.RawImage.read(images[1]!), text);
    // biome-ignore lint/suspicious/noExplicitAny: generate returns a union
    const out: any = await model.generate({ ...inputs, max_new_tokens: 16, do_sample: false });
    const n = inputs.input_ids.dims.at(-1);
    const theirs = processor.batch_decode(out.slice(null, [n, null]), {
      skip_special_tokens: true,
    })[0] as string;
    await model.dispose();
    expect(ours).toBe(theirs.trim());
    expect(ours).toContain('blue');
  });
});
