/**
 * The tiny shapes VLM (LLaVA layout) loads offline in @huggingface/transformers; greedy
 * generation on the reference pixel_values equals PyTorch's tokens, and its own processor
 * path answers the three questions about the committed samples.
 */
import { join } from 'node:path';
import {
  AutoProcessor,
  LlavaForConditionalGeneration,
  RawImage,
  Tensor,
  env,
} from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { float32, MODELS, readJson, type SampleLabels, type VlmReference } from './reference.js';

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = `${MODELS}/`;

const ref = readJson<VlmReference>('shapes-vlm', 'reference.json');
// biome-ignore lint/suspicious/noExplicitAny: transformers.js model/processor types are loose
let model: any;
// biome-ignore lint/suspicious/noExplicitAny: see above
let processor: any;

beforeAll(async () => {
  processor = await AutoProcessor.from_pretrained('shapes-vlm');
  model = await LlavaForConditionalGeneration.from_pretrained('shapes-vlm', {
    dtype: 'fp32',
    session_options: { intraOpNumThreads: 1 },
  });
});
afterAll(async () => {
  await model?.dispose();
});

async function newTokens(inputs: Record<string, unknown>, promptLength: number): Promise<number[]> {
  const out = await model.generate({ ...inputs, max_new_tokens: 16, do_sample: false });
  return (out.tolist()[0] as bigint[]).slice(promptLength).map(Number);
}

describe('shapes-vlm in @huggingface/transformers vs PyTorch', () => {
  it.each(ref.cases.map((c, i) => [i, c.prompt.replace(/\n/g, ' ')] as const))(
    'case %i (%s): greedy tokens equal the reference',
    async (i) => {
      const c = ref.cases[i]!;
      const pv = ref.pixel_values[c.image]!;
      const n = c.input_ids.length;
      const tokens = await newTokens(
        {
          input_ids: new Tensor('int64', BigInt64Array.from(c.input_ids.map(BigInt)), [1, n]),
          attention_mask: new Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
          pixel_values: new Tensor('float32', float32(pv), pv.shape),
        },
        n,
      );
      expect(tokens).toEqual(c.generated_ids);
    },
  );

  it('the processor inserts as many image tokens as the vision encoder gives features', async () => {
    const c = ref.cases[0]!;
    const image = await RawImage.read(join(MODELS, c.image));
    const inputs = await processor(image, c.prompt);
    const ids = (inputs.input_ids.tolist()[0] as bigint[]).map(Number);
    expect(ids.filter((x) => x === ref.image_token_index).length).toBe(ref.num_image_tokens);
    expect(ids).toEqual(c.input_ids);
  });

  it('answers the three questions about the committed samples through its own pipeline', async () => {
    const labels = readJson<SampleLabels>('samples', 'labels.json');
    let correct = 0;
    let total = 0;
    for (const im of labels.images.slice(0, 6)) {
      const image = await RawImage.read(join(MODELS, 'samples', im.file));
      for (const { question, answer } of im.qa) {
        const text = processor.apply_chat_template(
          [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: question }] }],
          { add_generation_prompt: true },
        );
        const inputs = await processor(image, text);
        const tokens = await newTokens(inputs, inputs.input_ids.dims[1]);
        const said = processor.batch_decode([tokens], { skip_special_tokens: true })[0].trim();
        total++;
        if (said === answer) correct++;
      }
    }
    expect(correct / total).toBeGreaterThanOrEqual(0.9);
  });
});
