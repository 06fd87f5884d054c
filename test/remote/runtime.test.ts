/**
 * The runtime-in-a-worker protocol, specified over an in-process channel with structured
 * cloning (what postMessage does) and the real Node host: the same requests a page sends to
 * its worker, the same events back.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CLIP_MODEL, DEFAULT_VLM_MODEL } from '../../src/cli/paths.js';
import { MmrtError } from '../../src/errors.js';
import {
  detectNode,
  loadBlip,
  loadClip,
  loadXclip,
  loadLlava,
  loadModel,
  createLoader,
  createPlacement,
} from '../../src/node/index.js';
import { RuntimeClient } from '../../src/remote/client.js';
import { serveRuntime } from '../../src/remote/server.js';
import type { MessageChannelEnd } from '../../src/runtime/remote-ort.js';
import type { LoadProgress } from '../../src/loader/types.js';

function channelPair(): [MessageChannelEnd, MessageChannelEnd] {
  const listeners: [Array<(m: unknown) => void>, Array<(m: unknown) => void>] = [[], []];
  const end = (me: 0 | 1): MessageChannelEnd => ({
    send: (m) => {
      const copy = structuredClone(m);
      queueMicrotask(() => {
        for (const l of listeners[1 - me]!) l(copy);
      });
    },
    onMessage: (l) => listeners[me]!.push(l),
    onClose: () => undefined,
    close: async () => undefined,
  });
  return [end(0), end(1)];
}

const samples = join(import.meta.dirname, '..', '..', 'models', 'samples');
let client: RuntimeClient;

beforeAll(() => {
  const [page, worker] = channelPair();
  serveRuntime(
    worker,
    { loadClip, loadLlava, loadBlip, loadXclip, loadModel, createLoader, createPlacement },
    { detect: detectNode },
  );
  client = new RuntimeClient(page);
});

describe('the runtime behind a channel', () => {
  const models: Array<{ dispose(): Promise<void> }> = [];
  afterAll(async () => {
    await Promise.all(models.map((m) => m.dispose()));
  });

  it('loads CLIP with per-component progress and names where each component runs', async () => {
    const events: LoadProgress[] = [];
    const clip = await client.load(
      { model: DEFAULT_CLIP_MODEL, kind: 'clip', platform: 'cpu', preload: true, config: { numThreads: 1 } },
      { onProgress: (p) => events.push(p) },
    );
    models.push(clip);
    expect(clip.info.family).toBe('clip');
    expect(clip.info.platform).toBe('cpu');
    const towers = clip.info.components.filter((c) => c.name !== 'model');
    expect(towers.map((c) => [c.name, c.created, c.providers])).toEqual([
      ['text_model', true, ['cpu']],
      ['vision_model', true, ['cpu']],
    ]);
    expect(new Set(events.map((e) => e.component))).toEqual(new Set(['text_model', 'vision_model']));
    expect(events.at(-1)?.overallPercent).toBe(100);

    const [scores] = await clip.classify(
      [join(samples, '00_red_star.png')],
      ['a red star', 'a blue circle'],
      {
        template: '{}',
      },
    );
    expect(scores![0]!.label).toBe('a red star');
    const { images, texts } = await clip.embed({
      images: [join(samples, '00_red_star.png')],
      texts: ['a red star'],
    });
    expect(images[0]).toBeInstanceOf(Float32Array);
    expect(images[0]!.length).toBe(64);
    expect(texts[0]!.length).toBe(64);
  });

  it('streams the VLM answer token by token and can hold a conversation', async () => {
    const vlm = await client.load({
      model: DEFAULT_VLM_MODEL,
      kind: 'llava',
      platform: 'cpu',
      config: { numThreads: 1 },
    });
    models.push(vlm);
    const stream = vlm.ask({ image: join(samples, '00_red_star.png'), question: 'What color is the shape?' });
    const deltas: string[] = [];
    for await (const d of stream) deltas.push(d);
    const result = await stream.result;
    expect(result.text.toLowerCase()).toContain('red');
    expect(deltas.join('')).toBe(result.text);

    const first = await vlm.chat('c1', 'What shape is this?', { images: [join(samples, '00_red_star.png')] })
      .result;
    expect(first.text.toLowerCase()).toContain('star');
    const second = await vlm.chat('c1', 'What color is the shape?').result;
    expect(second.text.toLowerCase()).toContain('red');
    await vlm.endChat('c1');
  });

  it('rethrows the worker errors as MmrtError with their code', async () => {
    const err = await client
      .load({ model: join(samples, 'nowhere'), kind: 'clip', platform: 'cpu' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MmrtError);
    expect((err as MmrtError).code).toMatch(/MODEL_/);
    const clip = models[0] as Awaited<ReturnType<RuntimeClient['load']>>;
    const bad = await clip.classify([join(samples, 'missing.png')], ['a']).catch((e: unknown) => e);
    expect((bad as MmrtError).code).toBe('INPUT_NOT_FOUND');
  });

  it('aborts a running generation when the caller aborts', async () => {
    const vlm = models[1] as Awaited<ReturnType<RuntimeClient['load']>>;
    const controller = new AbortController();
    const stream = vlm.ask(
      { image: join(samples, '00_red_star.png'), question: 'Describe the image.' },
      { signal: controller.signal, generation: { maxNewTokens: 200, minNewTokens: 200 } },
    );
    for await (const _ of stream) {
      controller.abort();
      break;
    }
    const err = await stream.result.catch((e: unknown) => e);
    expect((err as MmrtError).code).toBe('ABORTED');
  });
});
