/**
 * The trained shapes LLaVA-Next (models/shapes-llava-next, written by tools/shapes/llava_next.py:
 * the shapes VLM adapted to any-resolution tiling with a learned image_newline) through mmrt's
 * planned path (`loadLlava`):
 * - parity with the PyTorch references beside the model, one case per image size / grid;
 * - answers about freshly rendered non-square images (other sizes and seeds than training).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLlavaConfig } from '../../src/kinds/vision-language/config.js';
import { LlavaImagePreparer } from '../../src/kinds/vision-language/images.js';
import type { ChatMessage } from '../../src/kinds/vision-language/messages.js';
import type { LlavaModel } from '../../src/kinds/vision-language/model.js';
import type { ImageInput } from '../../src/media/input.js';
import { ImageProcessor } from '../../src/media/processor.js';
import { decodeImage } from '../../src/node/media/decode.js';
import { loadLlava } from '../../src/node/index.js';
import { CLASSES, renderShape } from '../../tools/shapes/render.js';
import { type B64Tensor, float32, maxAbsDiff } from '../shapes/reference.js';

const DIR = join(import.meta.dirname, '..', '..', 'models', 'shapes-llava-next');

interface Case {
  /** Relative to the model folder. */
  image: string;
  height: number;
  width: number;
  best_resolution: [number, number];
  num_tiles: number;
  num_image_tokens: number;
  prompt: string;
  prompt_ids: number[];
  pixel_values: B64Tensor;
  image_features: B64Tensor;
  first_logits: number[];
  greedy: number[];
  greedy_text: string;
  label: string;
}
const ref = JSON.parse(readFileSync(join(DIR, 'reference.json'), 'utf8')) as {
  image_token_index: number;
  cases: Case[];
};
const userTurn = (image: ImageInput, text: string): ChatMessage[] => [
  {
    role: 'user',
    content: [
      { type: 'image', image },
      { type: 'text', text },
    ],
  },
];

let loaded: LlavaModel;
beforeAll(async () => {
  loaded = await loadLlava({ model: DIR, platform: 'cpu' });
});
afterAll(() => loaded?.dispose());

describe('shapes-llava-next: parity with PyTorch (reference.json)', () => {
  it('covers several grids', () => {
    const grids = new Set(ref.cases.map((c) => c.best_resolution.join('x')));
    expect(grids.size).toBeGreaterThanOrEqual(3);
  });

  it.each(ref.cases.map((c) => [c.image, c.width, c.height, c.best_resolution.join('x'), c] as const))(
    '%s (%i x %i, grid %s): pixels, packed features, prompt ids, first-step logits, greedy answer',
    async (_name, _w, _h, _grid, c) => {
      const model = loaded;
      const { loader } = loaded;
      const image = join(DIR, c.image);
      // tiles, exactly as Pillow + HF Python cut them
      const pkg = loader.package;
      const config = readLlavaConfig(pkg, (id) => model.tokenizer.tokenizer.id_to_token(id), {
        anyResolution: pkg.family === 'llava_next',
      });
      expect(config.family).toBe('llava_next');
      const prepared = new LlavaImagePreparer(
        config,
        ImageProcessor.fromConfig(pkg.preprocessorConfig),
      ).prepare(await decodeImage(image));
      expect([...prepared.pixels.dims]).toEqual(c.pixel_values.shape);
      const pixelDiff = maxAbsDiff(prepared.pixels.data, float32(c.pixel_values));
      expect(prepared.featureCount).toBe(c.num_image_tokens);

      // features packed as pack_image_features does (unpad + image_newline per row)
      const feats = await model.imageFeatures(image);
      expect(feats.count).toBe(c.num_image_tokens);
      const featDiff = maxAbsDiff(feats.data, float32(c.image_features));
      expect(featDiff).toBeLessThan(1e-4);

      // prompt: one image token per packed feature
      const messages = userTurn(image, 'Describe the image.');
      expect(model.renderPrompt(messages)).toBe(c.prompt);
      const plan = await model.promptIds(messages);
      expect(plan.ids).toEqual(c.prompt_ids);
      expect(plan.ids.filter((id) => id === ref.image_token_index).length).toBe(c.num_image_tokens);

      let first: Float32Array | undefined;
      const r = await model.chat(messages, {
        onLogits: (l, step) => {
          if (step === 0) first = l.slice();
        },
      }).result;
      const logitDiff = maxAbsDiff(first!, c.first_logits);
      console.log(
        `[llava-next] ${c.image} ${c.width}x${c.height} grid ${c.best_resolution.join('x')}: ${c.num_tiles} tiles, ` +
          `${c.num_image_tokens} image tokens; max |diff| pixels ${pixelDiff.toExponential(2)}, ` +
          `features ${featDiff.toExponential(2)}, first-step logits ${logitDiff.toExponential(2)}; greedy "${r.text}"`,
      );
      expect(logitDiff).toBeLessThan(1e-4);
      expect([...r.tokenIds]).toEqual(c.greedy);
      expect(r.text).toBe(c.greedy_text);
      expect(r.text).toBe(c.label);
    },
  );
});

describe('shapes-llava-next: answers about fresh non-square images', () => {
  it('names the colour and the shape of >= 95% of 48 images (every class twice, five aspect ratios)', async () => {
    const model = loaded;
    const sizes: Array<[number, number]> = [
      [96, 64],
      [64, 128],
      [128, 96],
      [160, 80],
      [72, 120],
    ];
    const backgrounds = ['plain', 'noise', 'gradient'] as const;
    let colour = 0;
    let shape = 0;
    let n = 0;
    const wrong: string[] = [];
    for (let round = 0; round < 2; round++) {
      for (const [k, [c, s]] of CLASSES.entries()) {
        const i = round * CLASSES.length + k;
        const [w, h] = sizes[i % sizes.length]!;
        const im = renderShape(52_000 + 37 * i, w, h, c, s, backgrounds[Math.floor(i / 5) % 3]!);
        const raw = { data: im.rgb, width: im.width, height: im.height, channels: 3 as const };
        const a = (await model.ask(raw, 'What color is the shape?').result).text.trim();
        const b = (await model.ask(raw, 'What shape is this?').result).text.trim();
        n++;
        colour += Number(a === c);
        shape += Number(b === s);
        if (a !== c || b !== s) wrong.push(`${w}x${h} ${im.background} ${c} ${s}: "${a}" / "${b}"`);
      }
    }
    console.log(
      `[llava-next] fresh non-square images: colour ${colour}/${n} (${((100 * colour) / n).toFixed(1)}%), ` +
        `shape ${shape}/${n} (${((100 * shape) / n).toFixed(1)}%)${wrong.length ? `; wrong: ${wrong.join('; ')}` : ''}`,
    );
    expect(n).toBeGreaterThanOrEqual(24);
    expect(colour / n).toBeGreaterThanOrEqual(0.95);
    expect(shape / n).toBeGreaterThanOrEqual(0.95);
  });
});
