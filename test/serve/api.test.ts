/**
 * `mmrt serve` through the official `openai` client on a loopback port: embeddings equal the
 * library's (float and base64, text and images in both spellings), zero-shot classification
 * equals `zeroShot`, streaming chat equals non-streaming, turn 2 reuses turn 1's KV prefix and
 * answers as the library's conversation does, concurrent requests are batched, and every
 * endpoint answers bad requests in OpenAI's error shape with mmrt's code.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/kinds/vision-language/messages.js';
import type { RunningServer } from '../../src/serve/node/index.js';
import { startServer } from '../../src/serve/node/index.js';
import { disposeModels, tinyBlip } from '../helpers/models.js';
import { maxAbsDiff } from '../shapes/reference.js';
import {
  BLUE_TRIANGLE,
  GREEN_CIRCLE,
  RED_STAR,
  type TinyModels,
  ask,
  client,
  dataUri,
  imagePart,
  metric,
  serveTiny,
  stopServers,
  tinyModels,
} from './helpers.js';

let models: TinyModels;
let server: RunningServer;
let openai: OpenAI;

beforeAll(async () => {
  models = await tinyModels();
  server = await serveTiny(models);
  openai = client(server);
});
afterAll(async () => {
  await stopServers();
  await disposeModels();
});

const floats = (v: unknown) => Float32Array.from(v as number[]);
const fromBase64 = (s: string) => {
  const b = Buffer.from(s, 'base64');
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};

describe('POST /v1/embeddings', () => {
  it('text embeddings equal the library, as floats and as base64', async () => {
    const texts = ['a red star', 'a photo of a blue triangle'];
    const expected = await models.clip.embedTexts(texts);
    const asFloat = await openai.embeddings.create({
      model: 'shapes-clip',
      input: texts,
      encoding_format: 'float',
    });
    expect(asFloat.object).toBe('list');
    expect(asFloat.model).toBe('shapes-clip');
    expect(asFloat.data.map((d) => d.index)).toEqual([0, 1]);
    asFloat.data.forEach((d, i) => {
      expect(maxAbsDiff(floats(d.embedding), expected[i]!)).toBeLessThan(1e-6);
    });
    expect(asFloat.usage.prompt_tokens).toBe(
      texts.reduce((n, t) => n + models.clip.tokenizer.encode(t).length, 0),
    );
    // The SDK asks for base64 by default and decodes it: the same numbers come out.
    const byDefault = await openai.embeddings.create({ model: 'shapes-clip', input: texts });
    byDefault.data.forEach((d, i) => {
      expect(floats(d.embedding)).toEqual(floats(asFloat.data[i]!.embedding));
    });
    const raw = await openai.embeddings.create({
      model: 'shapes-clip',
      input: texts,
      encoding_format: 'base64',
    });
    expect(typeof raw.data[0]!.embedding).toBe('string');
    raw.data.forEach((d, i) => {
      expect(fromBase64(d.embedding as unknown as string)).toEqual(floats(asFloat.data[i]!.embedding));
    });
  });

  it('image embeddings equal the library: image_url content parts, and infinity modality "image"', async () => {
    const expected = await models.clip.embedImages([RED_STAR, GREEN_CIRCLE]);
    const parts = await openai.embeddings.create({
      model: 'shapes-clip',
      input: [
        imagePart(RED_STAR),
        { type: 'image_url', image_url: { url: dataUri(GREEN_CIRCLE, 'image/jpeg') } },
      ] as never,
      encoding_format: 'float',
    });
    parts.data.forEach((d, i) => {
      expect(maxAbsDiff(floats(d.embedding), expected[i]!)).toBeLessThan(1e-6);
    });
    // infinity: strings are images; data URIs and raw base64 both work; base64 output too.
    const infinity = await openai.embeddings.create({
      model: 'shapes-clip',
      input: [dataUri(RED_STAR), Buffer.from(GREEN_CIRCLE).toString('base64')],
      modality: 'image',
      encoding_format: 'base64',
    } as never);
    infinity.data.forEach((d, i) => {
      expect(maxAbsDiff(fromBase64(d.embedding as unknown as string), expected[i]!)).toBeLessThan(1e-6);
    });
  });

  it('mixes texts and images in one request, in input order', async () => {
    const [text] = await models.clip.embedTexts(['a blue triangle']);
    const [image] = await models.clip.embedImages([BLUE_TRIANGLE]);
    const r = await openai.embeddings.create({
      model: 'shapes-clip',
      input: [imagePart(BLUE_TRIANGLE), { type: 'text', text: 'a blue triangle' }] as never,
      encoding_format: 'float',
    });
    expect(maxAbsDiff(floats(r.data[0]!.embedding), image!)).toBeLessThan(1e-6);
    expect(maxAbsDiff(floats(r.data[1]!.embedding), text!)).toBeLessThan(1e-6);
  });

  it('batches concurrent requests into shared model runs, with the same answers', async () => {
    // A wide window: twelve requests arriving over a loaded machine still meet in it.
    const windowed = await serveTiny(models, { batching: { maxWaitMs: 400 } });
    const images = [RED_STAR, BLUE_TRIANGLE, GREEN_CIRCLE];
    const expected = await models.clip.embedImages(images);
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        client(windowed).embeddings.create({
          model: 'shapes-clip',
          input: [imagePart(images[i % 3]!)] as never,
          encoding_format: 'float',
        }),
      ),
    );
    answers.forEach((a, i) => {
      expect(maxAbsDiff(floats(a.data[0]!.embedding), expected[i % 3]!)).toBeLessThan(1e-5);
    });
    const batches = await metric(windowed, 'mmrt_batch_size_count', { task: 'image_embeddings' });
    expect(batches).toBeGreaterThan(0);
    expect(batches).toBeLessThan(12);
  });

  it('refuses what it cannot serve, in the OpenAI error shape with mmrt codes', async () => {
    const fail = (body: object) =>
      openai.embeddings.create(body as never).then(
        () => undefined,
        (e: unknown) => e,
      );
    // A string image is never read as a file: a path is refused, or (when it happens to be
    // valid base64) decoded as base64 and refused as no image.
    const notFile = (await fail({ input: ['/etc/hostname'], modality: 'image' })) as InstanceType<
      typeof OpenAI.APIError
    >;
    expect(notFile.status).toBe(400);
    expect(notFile.code).toBe('INPUT_INVALID');
    expect((notFile.error as { param?: string }).param).toBe('input[0]');
    const asBase64 = (await fail({ input: ['/etc/passwd'], modality: 'image' })) as InstanceType<
      typeof OpenAI.APIError
    >;
    expect(asBase64.code).toBe('IMAGE_DECODE_FAILED');
    const path = (await fail({
      input: ['models/samples/00_red_star.png'],
      modality: 'image',
    })) as InstanceType<typeof OpenAI.APIError>;
    expect(path.code).toBe('INPUT_INVALID');
    expect(path.message).toMatch(/does not read file paths/);
    const tokens = (await fail({ input: [[1, 2, 3]] })) as InstanceType<typeof OpenAI.APIError>;
    expect(tokens.message).toMatch(/token-id inputs are not supported/);
    const unknown = (await fail({ model: 'nope', input: 'x' })) as InstanceType<typeof OpenAI.APIError>;
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect(unknown.code).toBe('MODEL_NOT_FOUND');
    const wrongKind = (await fail({ model: 'shapes-vlm', input: 'x' })) as InstanceType<
      typeof OpenAI.APIError
    >;
    expect(wrongKind.code).toBe('TASK_UNSUPPORTED');
    expect(wrongKind.message).toMatch(/vision-language model: it serves \/v1\/chat\/completions/);
    const dims = (await fail({ input: 'x', dimensions: 7 })) as InstanceType<typeof OpenAI.APIError>;
    expect(dims.message).toMatch(/64-d embeddings/);
  });
});

describe('POST /v1/classify and /v1/captions', () => {
  it('zero-shot scores equal the library', async () => {
    const labels = ['red star', 'blue triangle', 'green circle'];
    const expected = await models.clip.zeroShot([RED_STAR, GREEN_CIRCLE], labels);
    const r = (await openai.post('/classify', {
      body: { input: [dataUri(RED_STAR), imagePart(GREEN_CIRCLE)], labels },
    })) as { data: Array<{ index: number; labels: Array<{ label: string; score: number }> }> };
    expect(r.data.map((d) => d.labels[0]!.label)).toEqual(['red star', 'green circle']);
    r.data.forEach((d, i) => {
      expect(d.labels.map((l) => l.label)).toEqual(expected[i]!.map((l) => l.label));
      d.labels.forEach((l, j) => {
        expect(Math.abs(l.score - expected[i]![j]!.score)).toBeLessThan(1e-6);
      });
    });
  });

  it('captions from a BLIP model equal the library, concurrent requests batched into shared runs', async () => {
    const blip = await tinyBlip();
    const captioning = await startServer({
      models: [{ name: 'shapes-blip', instance: blip }],
      listen: { port: 0 },
      batching: { captions: { maxWaitMs: 400 } },
    });
    try {
      const images = [RED_STAR, BLUE_TRIANGLE, GREEN_CIRCLE];
      const expected = (await blip.caption(images).result).map((c) => c.text);
      expect(expected).toEqual(['a red star', 'a blue triangle', 'a green circle']);
      const api = client(captioning);
      const answers = (await Promise.all(
        images.map((im) => api.post('/captions', { body: { model: 'shapes-blip', input: dataUri(im) } })),
      )) as Array<{ data: Array<{ text: string }>; usage: { completion_tokens: number } }>;
      expect(answers.map((a) => a.data[0]!.text)).toEqual(expected);
      expect(answers.every((a) => a.usage.completion_tokens > 0)).toBe(true);
      const both = (await api.post('/captions', {
        body: { input: [dataUri(RED_STAR), dataUri(GREEN_CIRCLE)], prompt: 'a picture of' },
      })) as { data: Array<{ index: number; text: string }> };
      const library = (await blip.caption([RED_STAR, GREEN_CIRCLE], { prompt: 'a picture of' }).result).map(
        (c) => c.text,
      );
      expect(both.data.map((d) => d.text)).toEqual(library);
      const batches = await metric(captioning, 'mmrt_batch_size_count', { task: 'captions' });
      expect(batches).toBeGreaterThan(0);
      expect(batches).toBeLessThan(4);
    } finally {
      await captioning.shutdown(1_000);
    }
  });

  it('captions route by model kind: without an image-to-text model it says none serves it', async () => {
    const e = (await openai
      .post('/captions', { body: { input: dataUri(RED_STAR) } })
      .catch((x) => x)) as InstanceType<typeof OpenAI.APIError>;
    expect(e.status).toBe(400);
    expect(e.message).toMatch(/no loaded model serves \/v1\/captions/);
  });
});

describe('POST /v1/chat/completions', () => {
  it('answers about an image; streaming gives the same text, finish_reason and usage', async () => {
    const messages = [ask(RED_STAR, 'What color is the shape?')];
    const whole = await openai.chat.completions.create({ model: 'shapes-vlm', messages });
    expect(whole.object).toBe('chat.completion');
    expect(whole.choices[0]!.message).toMatchObject({ role: 'assistant', content: 'red' });
    expect(whole.choices[0]!.finish_reason).toBe('stop');
    expect(whole.usage!.completion_tokens).toBeGreaterThan(0);
    const stream = await openai.chat.completions.create({
      model: 'shapes-vlm',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    let chunks = 0;
    for await (const c of stream) {
      chunks++;
      expect(c.object).toBe('chat.completion.chunk');
      text += c.choices[0]?.delta.content ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
      usage = c.usage ?? usage;
    }
    expect(chunks).toBeGreaterThan(2);
    expect(text).toBe(whole.choices[0]!.message.content);
    expect(finish).toBe('stop');
    expect(usage!.completion_tokens).toBe(whole.usage!.completion_tokens);
    expect(usage!.prompt_tokens).toBe(whole.usage!.prompt_tokens);
  });

  it('max_tokens ends with finish_reason "length"; stop strings end with "stop"', async () => {
    const short = await openai.chat.completions.create({
      model: 'shapes-vlm',
      messages: [ask(BLUE_TRIANGLE, 'Describe the image.')],
      max_tokens: 1,
    });
    expect(short.choices[0]!.finish_reason).toBe('length');
    expect(short.usage!.completion_tokens).toBe(1);
    const stopped = await openai.chat.completions.create({
      model: 'shapes-vlm',
      messages: [ask(BLUE_TRIANGLE, 'Describe the image.')],
      stop: [' triangle'],
    });
    expect(stopped.choices[0]!.message.content).toBe('a blue');
    expect(stopped.choices[0]!.finish_reason).toBe('stop');
  });

  it('sampling with a seed repeats; temperature 0 is greedy', async () => {
    const body = {
      model: 'shapes-vlm',
      messages: [ask(GREEN_CIRCLE, 'Describe the image.')],
      temperature: 1.5,
      top_p: 0.95,
      seed: 7,
    };
    const a = await openai.chat.completions.create(body);
    const b = await openai.chat.completions.create(body);
    expect(a.choices[0]!.message.content).toBe(b.choices[0]!.message.content);
    const greedy = await openai.chat.completions.create({ ...body, temperature: 0 });
    expect(greedy.choices[0]!.message.content).toBe('a green circle');
  });

  it('turn 2 reuses the KV prefix of turn 1 (usage and metrics) and answers as the library does', async () => {
    const first = [ask(BLUE_TRIANGLE, 'What color is the shape?')];
    const t1 = await openai.chat.completions.create({ model: 'shapes-vlm', messages: first });
    expect(t1.usage!.prompt_tokens_details!.cached_tokens).toBe(0);
    const hitsBefore = await metric(server, 'mmrt_cache_hits_total', { cache: 'kv_prefix' });
    const second = [
      ...first,
      { role: 'assistant' as const, content: t1.choices[0]!.message.content! },
      { role: 'user' as const, content: 'What shape is this?' },
    ];
    const t2 = await openai.chat.completions.create({ model: 'shapes-vlm', messages: second });
    const cached = t2.usage!.prompt_tokens_details!.cached_tokens!;
    expect(cached).toBeGreaterThan(t1.usage!.prompt_tokens - 2);
    expect(cached).toBeLessThan(t2.usage!.prompt_tokens);
    expect(await metric(server, 'mmrt_cache_hits_total', { cache: 'kv_prefix' })).toBe(hitsBefore + 1);
    // The library's own multi-turn conversation gives the same answers and counts.
    const conversation = models.vlm.conversation();
    const l1 = await conversation.send('What color is the shape?', { images: [BLUE_TRIANGLE] }).result;
    const l2 = await conversation.send('What shape is this?').result;
    expect(t1.choices[0]!.message.content).toBe(l1.text);
    expect(t2.choices[0]!.message.content).toBe(l2.text);
    expect(t2.choices[0]!.message.content).toBe('triangle');
    expect(cached).toBe(l2.usage.cachedTokens);
  });

  it('batches concurrent fresh chats in a window, each answer as when alone', async () => {
    const images = [RED_STAR, BLUE_TRIANGLE, GREEN_CIRCLE];
    const alone: string[] = [];
    for (const im of images) {
      const chat: ChatMessage[] = [
        {
          role: 'user',
          content: [
            { type: 'image', image: im },
            { type: 'text', text: 'Describe the image.' },
          ],
        },
      ];
      alone.push((await models.vlm.chat(chat).result).text);
    }
    // A wide window: six requests arriving over a loaded machine still meet in it.
    const windowed = await serveTiny(models, { batching: { chat: { maxWaitMs: 400 } } });
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        client(windowed).chat.completions.create({
          model: 'shapes-vlm',
          messages: [ask(images[i % 3]!, 'Describe the image.')],
        }),
      ),
    );
    answers.forEach((a, i) => {
      expect(a.choices[0]!.message.content).toBe(alone[i % 3]);
    });
    const rows = await metric(windowed, 'mmrt_batch_size_sum', { task: 'chat' });
    const batches = await metric(windowed, 'mmrt_batch_size_count', { task: 'chat' });
    expect(rows).toBe(6);
    expect(batches).toBeLessThan(6);
  });

  it('a failure after the stream began arrives as an error event the SDK raises', async () => {
    const stream = await openai.chat.completions.create({
      model: 'shapes-vlm',
      messages: [{ role: 'user', content: 'word '.repeat(400) }],
      stream: true,
    });
    const error = await (async () => {
      try {
        for await (const _ of stream) {
        }
      } catch (e) {
        return e as InstanceType<typeof OpenAI.APIError>;
      }
    })();
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error!.message).toMatch(/over kvCacheMaxLength/);
  });

  it('refuses bad chats with the field that was wrong', async () => {
    const fail = (body: object) =>
      openai.chat.completions.create(body as never).then(
        () => undefined,
        (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
      );
    expect((await fail({ model: 'shapes-vlm', messages: [] }))!.message).toMatch(
      /"messages" must be a non-empty list/,
    );
    const role = (await fail({ model: 'shapes-vlm', messages: [{ role: 'tool', content: 'x' }] }))!;
    expect((role.error as { param?: string }).param).toBe('messages[0].role');
    const last = (await fail({ model: 'shapes-vlm', messages: [{ role: 'assistant', content: 'x' }] }))!;
    expect(last.message).toMatch(/last message must be from the user/);
    expect(
      (await fail({ model: 'shapes-vlm', messages: [{ role: 'user', content: 'x' }], n: 2 }))!.status,
    ).toBe(400);
    expect(
      (await fail({ model: 'shapes-vlm', messages: [{ role: 'user', content: 'x' }], temperature: 5 }))!
        .message,
    ).toMatch(/temperature/);
    const bad = (await fail({
      model: 'shapes-vlm',
      messages: [
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] },
      ],
    }))!;
    expect(bad.code).toBe('IMAGE_DECODE_FAILED');
    expect((bad.error as { param?: string }).param).toBe('messages[0].content[0]');
    const overflow = (await fail({
      model: 'shapes-vlm',
      messages: [{ role: 'user', content: 'word '.repeat(400) }],
    }))!;
    expect(overflow.code).toBe('CONTEXT_OVERFLOW');
  });
});

describe('GET /v1/models, /health, /ready, /metrics', () => {
  it('lists each model with its kind and endpoints', async () => {
    const list = await openai.models.list();
    const byId = Object.fromEntries(list.data.map((m) => [m.id, m as unknown as Record<string, unknown>]));
    expect(byId['shapes-clip']).toMatchObject({
      object: 'model',
      owned_by: 'mmrt',
      kind: 'dual-encoder',
      endpoints: ['embeddings', 'classify'],
    });
    expect(byId['shapes-vlm']).toMatchObject({ kind: 'vision-language', endpoints: ['chat'] });
    expect((await openai.models.retrieve('shapes-vlm')).id).toBe('shapes-vlm');
    const missing = (await openai.models.retrieve('nope').catch((e: unknown) => e)) as InstanceType<
      typeof OpenAI.APIError
    >;
    expect(missing.code).toBe('MODEL_NOT_FOUND');
    const route = await fetch(`${server.url}/v1/nothing`, { method: 'POST' });
    expect(route.status).toBe(404);
    expect(((await route.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  });

  it('is healthy and ready, and exports Prometheus metrics', async () => {
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    const ready = await fetch(`${server.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, models: ['shapes-clip', 'shapes-vlm'] });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    for (const name of [
      'mmrt_queue_depth',
      'mmrt_batch_size_bucket',
      'mmrt_request_duration_seconds_bucket',
      'mmrt_decode_tokens_per_second_bucket',
      'mmrt_cache_queries_total{model="shapes-clip",cache="text_embeddings"}',
      'mmrt_cache_queries_total{model="shapes-vlm",cache="image_features"}',
      'mmrt_cache_queries_total{model="shapes-vlm",cache="kv_prefix"}',
      'process_resident_memory_bytes',
    ])
      expect(text).toContain(name);
    expect(await metric(server, 'mmrt_cache_hits_total', { cache: 'text_embeddings' })).toBeGreaterThan(0);
  });
});
