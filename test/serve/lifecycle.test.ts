/**
 * The server under pressure and at its end: a full queue answers 429 with Retry-After, a
 * request past its timeout is cancelled (504), a client that disconnects has its generation
 * stopped, and a shutdown drains — /ready false, new work refused, in-flight work finished —
 * or cancels what is left at its deadline. Long generations come from `min_tokens` (vLLM's
 * field): the tiny VLM would otherwise stop after a few tokens.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CLIP_MODEL, PACKAGE_ROOT } from '../../src/cli/paths.js';
import { disposeModels } from '../helpers/models.js';
import {
  RED_STAR,
  type TinyModels,
  ask,
  client,
  metric,
  serveTiny,
  stopServers,
  tinyModels,
} from './helpers.js';

type ApiError = InstanceType<typeof OpenAI.APIError>;

let models: TinyModels;

beforeAll(async () => {
  models = await tinyModels();
});
afterAll(async () => {
  await stopServers();
  await disposeModels();
});

/** About 200 decode steps: long enough to act on while it runs. */
const long = (tokens = 200) => ({
  model: 'shapes-vlm',
  messages: [ask(RED_STAR, 'Describe the image.')],
  max_tokens: tokens,
  min_tokens: tokens,
});

const until = async (what: () => Promise<boolean>, ms = 5_000) => {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('overload, timeouts, disconnects', () => {
  it('a full queue answers 429 with Retry-After; the admitted requests finish', async () => {
    const server = await serveTiny(models, { batching: { chat: { maxQueue: 1, maxBatchSize: 1 } } });
    const openai = client(server);
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () => openai.chat.completions.create(long(150) as never)),
    );
    const refused = results.filter((r) => r.status === 'rejected').map((r) => r.reason as ApiError);
    const served = results.filter((r) => r.status === 'fulfilled');
    expect(refused.length).toBeGreaterThan(0);
    expect(served.length).toBeGreaterThanOrEqual(2); // one running, one queued
    for (const e of refused) {
      expect(e).toBeInstanceOf(OpenAI.RateLimitError);
      expect(e.code).toBe('SERVER_OVERLOADED');
      expect(Number(e.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    expect(await metric(server, 'mmrt_requests_rejected_total', { task: 'chat' })).toBe(refused.length);
  });

  it('cancels a request past its timeout with 504 REQUEST_TIMEOUT', async () => {
    const server = await serveTiny(models, { limits: { requestTimeoutMs: 40 } });
    const e = (await client(server)
      .chat.completions.create(long(220) as never)
      .catch((x: unknown) => x)) as ApiError;
    expect(e.status).toBe(504);
    expect(e.code).toBe('REQUEST_TIMEOUT');
    await until(
      async () => (await metric(server, 'mmrt_requests_cancelled_total', { reason: 'timeout' })) === 1,
    );
    // The generation stopped early: far fewer tokens than asked for were made.
    expect(await metric(server, 'mmrt_completion_tokens_total')).toBe(0);
  });

  it('stops generating when a streaming client disconnects', async () => {
    const server = await serveTiny(models);
    const stream = await client(server).chat.completions.create({ ...long(220), stream: true } as never);
    let chunks = 0;
    // Leaving the loop makes the SDK abort the request: the connection closes mid-stream.
    for await (const _ of stream as unknown as AsyncIterable<unknown>) if (++chunks === 3) break;
    await until(
      async () => (await metric(server, 'mmrt_requests_cancelled_total', { reason: 'disconnect' })) === 1,
    );
    // Nothing was counted as generated: the request ended in ABORTED, not with 220 tokens.
    expect(await metric(server, 'mmrt_completion_tokens_total')).toBe(0);
    // The queue is free again: the next request runs at once.
    const next = await client(server).chat.completions.create({
      model: 'shapes-vlm',
      messages: [ask(RED_STAR, 'What color is the shape?')],
    });
    expect(next.choices[0]!.message.content).toBe('red');
  });

  it('drops a queued request whose client went away without running it', async () => {
    const server = await serveTiny(models, { batching: { chat: { maxBatchSize: 1 } } });
    const openai = client(server);
    const first = openai.chat.completions.create(long(200) as never);
    await until(async () => (await metric(server, 'mmrt_requests_in_flight')) === 1);
    const controller = new AbortController();
    const second = openai.chat.completions
      .create(long(200) as never, { signal: controller.signal })
      .catch((e: unknown) => e);
    await until(async () => (await metric(server, 'mmrt_queue_depth', { task: 'chat' })) === 1);
    controller.abort();
    await until(async () => (await metric(server, 'mmrt_queue_depth', { task: 'chat' })) === 0);
    expect(await second).toBeInstanceOf(OpenAI.APIUserAbortError);
    await first;
    await until(async () => (await metric(server, 'mmrt_requests_in_flight')) === 0);
    expect(await metric(server, 'mmrt_batch_size_count', { task: 'chat' })).toBe(1);
  });
});

describe('graceful shutdown', () => {
  it('drains: /ready false, new work 503, the in-flight stream finishes, then the port closes', async () => {
    const server = await serveTiny(models);
    const openai = client(server);
    const stream = await openai.chat.completions.create({
      ...long(200),
      stream: true,
      stream_options: { include_usage: true },
    } as never);
    const reading = (async () => {
      let usage: OpenAI.CompletionUsage | undefined;
      let finish: string | null = null;
      for await (const c of stream as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>) {
        usage = c.usage ?? usage;
        finish = c.choices[0]?.finish_reason ?? finish;
      }
      return { usage, finish };
    })();
    await until(async () => (await metric(server, 'mmrt_requests_in_flight')) === 1);
    const stopped = server.shutdown(10_000);
    const ready = await fetch(`${server.url}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ready: false, state: 'draining' });
    const refused = (await openai.embeddings
      .create({ model: 'shapes-clip', input: 'x' })
      .catch((e: unknown) => e)) as ApiError;
    expect(refused.status).toBe(503);
    expect(refused.code).toBe('SERVER_UNAVAILABLE');
    const { usage, finish } = await reading;
    expect(finish).toBe('length');
    expect(usage!.completion_tokens).toBe(200);
    expect(await stopped).toEqual({ finished: true });
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
  });

  it('cancels what is still running at the deadline', async () => {
    const server = await serveTiny(models);
    const openai = client(server);
    const pending = openai.chat.completions.create(long(220) as never).catch((e: unknown) => e as ApiError);
    await until(async () => (await metric(server, 'mmrt_requests_in_flight')) === 1);
    expect(await server.shutdown(1)).toEqual({ finished: false });
    const e = (await pending) as ApiError;
    expect(e.status).toBe(503);
    expect(e.message).toMatch(/shut down before the request finished/);
  });

  it('mmrt serve exits 0 on SIGTERM after draining', async () => {
    const child = spawn(
      process.execPath,
      [
        join(PACKAGE_ROOT, 'bin/mmrt.js'),
        'serve',
        '--model',
        DEFAULT_CLIP_MODEL,
        '--port',
        '0',
        '--platform',
        'cpu',
        '--threads',
        '1',
      ],
      { env: { ...process.env, MMRT_FROM_SOURCE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    const { url, models: names } = JSON.parse(line) as { url: string; models: string[] };
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(names).toEqual(['shapes-clip']);
    expect((await fetch(`${url}/ready`)).status).toBe(200);
    const r = await new OpenAI({ baseURL: `${url}/v1`, apiKey: 'x', maxRetries: 0 }).embeddings.create({
      model: 'shapes-clip',
      input: 'a red star',
    });
    expect(r.data[0]!.embedding).toHaveLength(64);
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
    expect(stderr).toMatch(/SIGTERM: shutting down/);
    expect(stderr).toMatch(/stopped: every request finished/);
  }, 60_000);
});
