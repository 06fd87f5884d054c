/**
 * Prompting: the package's own chat template rendered by @huggingface/jinja (checked against
 * tools/shapes/tok.py's render_chat, its hand-written Python twin), image-token expansion by
 * HF Python's count rule, and which cached prefix a conversation may reuse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { llavaFeatureCount, readLlavaConfig } from '../../src/kinds/vision-language/config.js';
import { reusablePrefix } from '../../src/kinds/vision-language/conversation.js';
import type { PreparedImage } from '../../src/kinds/vision-language/images.js';
import type { ChatMessage } from '../../src/kinds/vision-language/messages.js';
import type { LlavaModel } from '../../src/kinds/vision-language/model.js';
import { planPrompt } from '../../src/kinds/vision-language/prompt.js';
import type { KvCache } from '../../src/generation/kv-cache.js';
import type { ModelPackage } from '../../src/package/describe.js';
import { disposeModels, tinyVlm } from '../helpers/models.js';
import { VLM_DIR } from './model.js';

let model: LlavaModel;
let pkg: ModelPackage;

beforeAll(async () => {
  // Every component on first use: nothing runs here, so no session is created.
  model = await tinyVlm({ model: VLM_DIR, config: { vision_encoder: { load_strategy: 'lazy' } } });
  pkg = model.loader.package;
});
afterAll(disposeModels);

const img = (k: string, n = 3): PreparedImage => ({
  key: k,
  pixels: { data: new Float32Array(0), dims: [1, 3, 0, 0] },
  featureCount: n,
  originalHeight: 1,
  originalWidth: 1,
});

describe('chat template', () => {
  it('renders as the Python twin does (render_chat in tools/shapes/tok.py)', () => {
    const messages: ChatMessage[] = [
      {
        role: 'user',
        content: [
          { type: 'image', image: 'x.png' },
          { type: 'text', text: 'What color is the shape?' },
        ],
      },
      { role: 'assistant', content: 'The shape is red.' },
      { role: 'user', content: 'What shape is this?' },
    ];
    expect(model.renderPrompt(messages)).toBe(
      '<s><|user|>\n<image>\nWhat color is the shape?\n<|assistant|>\nThe shape is red.</s>\n<|user|>\nWhat shape is this?\n<|assistant|>\n',
    );
  });

  it('counts image features by Hugging Face Python\'s rule ("full" keeps CLS, "default" drops it)', () => {
    const config = readLlavaConfig(pkg, (id) => model.tokenizer.tokenizer.id_to_token(id), {
      anyResolution: pkg.family === 'llava_next',
    });
    expect(config.imageToken).toBe('<image>');
    const side = Number((pkg.config.vision_config as { image_size: number }).image_size);
    const patches = (side / config.patchSize) ** 2;
    expect(llavaFeatureCount(config, side, side)).toBe(
      patches +
        (config.selectStrategy === 'full'
          ? config.numAdditionalImageTokens
          : config.numAdditionalImageTokens - 1),
    );
    expect(
      llavaFeatureCount(
        { ...config, patchSize: 14, selectStrategy: 'default', numAdditionalImageTokens: 1 },
        336,
        336,
      ),
    ).toBe(576);
    expect(
      llavaFeatureCount(
        { ...config, patchSize: 14, selectStrategy: 'full', numAdditionalImageTokens: 1 },
        336,
        336,
      ),
    ).toBe(577);
  });
});

describe('image token expansion', () => {
  it("expands each image token to its image's feature count, in prompt order", () => {
    const tok = model.tokenizer;
    const id = model.config.imageTokenId;
    const plan = planPrompt('<s><|user|>\n<image>\n<image>\nwhat is this?', tok, id, [2, 3]);
    const at = plan.ids.flatMap((x, i) => (x === id ? [i] : []));
    expect(at).toHaveLength(5);
    expect(plan.spans).toEqual([
      { start: at[0], length: 2, image: 0 },
      { start: at[2], length: 3, image: 1 },
    ]);
  });

  it('refuses a mismatch between image tokens and images', () => {
    const tok = model.tokenizer;
    const id = model.config.imageTokenId;
    expect(() => planPrompt('<image> <image>', tok, id, [3])).toThrow(InputError);
    expect(() => planPrompt('no image here', tok, id, [3])).toThrow(
      /1 image\(s\) were given but the prompt has 0/,
    );
  });
});

describe('reusable cache prefix', () => {
  const cache = { length: 10 } as KvCache;
  const plan = (ids: number[], spans: Array<{ start: number; length: number; image: number }> = []) => ({
    text: '',
    ids,
    spans,
  });

  it('reuses up to the first differing token, keeping one position to run', () => {
    const state = { ids: [1, 2, 3, 4, 5], images: [], cache };
    expect(reusablePrefix(undefined, plan([1, 2, 3]), [])).toBe(0);
    expect(reusablePrefix(state, plan([1, 2, 3, 4, 5, 6, 7]), [])).toBe(5);
    expect(reusablePrefix(state, plan([1, 2, 9, 4, 5, 6]), [])).toBe(2);
    expect(reusablePrefix(state, plan([1, 2, 3]), [])).toBe(2); // a prefix of the cache: still run the last
  });

  it('stops at an image whose picture changed even when the token ids are equal', () => {
    const state = { ids: [1, 7, 7, 7, 2, 3], images: [{ start: 1, length: 3, key: 'a' }], cache };
    const spans = [{ start: 1, length: 3, image: 0 }];
    expect(reusablePrefix(state, plan([1, 7, 7, 7, 2, 3, 4], spans), [img('a')])).toBe(6);
    expect(reusablePrefix(state, plan([1, 7, 7, 7, 2, 3, 4], spans), [img('b')])).toBe(1);
  });
});
