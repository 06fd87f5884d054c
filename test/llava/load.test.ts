/**
 * `loadLlava`: the planned path. The platform plan picks each component's file and session
 * options, the MultimodalLoader creates them, and the language model waits for its first use.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isMmrtError } from '../../src/errors.js';
import type { LoadProgress } from '../../src/loader/types.js';
import type { LlavaModel } from '../../src/kinds/vision-language/model.js';
import { loadLlava } from '../../src/node/index.js';
import { renderShape } from '../../tools/shapes/render.js';
import { VLM_DIR } from './model.js';

const image = () => {
  const im = renderShape(4242, 64, 64, 'green', 'square', 'plain');
  return { data: im.rgb, width: im.width, height: im.height, channels: 3 as const };
};

let loaded: LlavaModel | undefined;
afterEach(async () => {
  await loaded?.dispose();
  loaded = undefined;
});

describe('loadLlava', () => {
  it('loads the vision side eagerly and creates the decoder on the first generation', async () => {
    const events: LoadProgress[] = [];
    loaded = await loadLlava({
      model: VLM_DIR,
      platform: 'cpu',
      loading: { onProgress: (e) => events.push(e) },
    });
    const model = loaded;
    const { loader } = loaded;

    // The language model's two parts (token embeddings and decoder) wait for the first prompt.
    expect(loader.placement!.plan.loading.lazy).toEqual(['embed_tokens', 'decoder_model_merged']);
    expect(loader.status('vision_encoder')).toBe('ready');
    expect(loader.status('decoder_model_merged')).toBe('idle');
    expect(model.stats().decoderCreated).toBe(false);
    expect(events.filter((e) => e.phase === 'ready').map((e) => e.component)).toEqual(['vision_encoder']);

    const r = await model.ask(image(), 'What color is the shape?').result;
    expect(r.text.trim()).toBe('green');
    expect(loader.status('decoder_model_merged')).toBe('ready');
    expect(model.stats().decoderCreated).toBe(true);
  });

  it("takes the plan's KV-cache length as the default limit", async () => {
    // The prompt is 24 tokens: a 24-token cache holds it and stops after one token...
    loaded = await loadLlava({ model: VLM_DIR, platform: 'cpu', config: { kv_cache_max_length: 24 } });
    expect(loaded.loader.placement!.plan.generation?.maxLength).toBe(24);
    const r = await loaded.ask(image(), 'Describe the image.').result;
    expect(r.usage.promptTokens).toBe(24);
    expect(r.finishReason).toBe('context_full');
    expect(r.usage.generatedTokens).toBe(1);
    await loaded.dispose();

    // ...and a 20-token cache cannot take the prompt at all.
    loaded = await loadLlava({ model: VLM_DIR, platform: 'cpu', config: { kvCacheMaxLength: 20 } });
    const err = await loaded.ask(image(), 'Describe the image.').result.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isMmrtError(err) && err.code).toBe('CONTEXT_OVERFLOW');
  });

  it('honours an eager decoder from the config, and rejects an unknown key with a suggestion', async () => {
    loaded = await loadLlava({
      model: VLM_DIR,
      platform: 'cpu',
      config: { language_model: { preload: true } },
    });
    expect(loaded.loader.status('decoder_model_merged')).toBe('ready');

    const err = await loadLlava({
      model: VLM_DIR,
      platform: 'cpu',
      // @ts-expect-error the typo is the point: TypeScript refuses it, JavaScript callers get this error
      config: { kv_cache_max_lenght: 24 },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isMmrtError(err) && err.code).toBe('CONFIG_UNKNOWN_KEY');
    expect(String((err as Error).message)).toContain('kv_cache_max_length');
  });
});

describe("loadLlava's image options", () => {
  it("passes resampleMode 'fast' to the host's decoder as a shrink hint (it had no effect before)", async () => {
    const { nodeHost } = await import('../../src/node/host.js');
    const { loadModel } = await import('../../src/load/load-model.js');
    const photo = join(import.meta.dirname, '..', 'fixtures', 'images', 'photo_1000x750.jpg');
    const answers: Record<string, string> = {};
    for (const mode of ['exact', 'fast'] as const) {
      const base = nodeHost();
      const hints: unknown[] = [];
      const host = {
        ...base,
        decodeImage: (
          input: Parameters<typeof base.decodeImage>[0],
          o?: Parameters<typeof base.decodeImage>[1],
        ) => {
          hints.push(o?.fast);
          return base.decodeImage(input, o);
        },
      };
      const vlm = await loadModel<LlavaModel>(host, {
        model: VLM_DIR,
        platform: 'cpu',
        images: { resampleMode: mode },
      });
      try {
        answers[mode] = (await vlm.ask(photo, 'What color is the shape?').result).text;
        const features = await vlm.imageFeatures(photo);
        expect(features.count).toBeGreaterThan(0);
      } finally {
        await vlm.dispose();
      }
      // The processor resizes the shortest edge to 64: 'fast' lets the decoder shrink to that first.
      expect(hints[0]).toEqual(mode === 'fast' ? { shortestEdge: 64 } : undefined);
    }
    expect(answers.fast).toBe(answers.exact);
  });
});
