/**
 * What a server on a network must refuse: remote image URLs off the allowlist, host names that
 * resolve into loopback or private ranges, redirects there, oversized downloads, bodies and
 * pixel bombs, and requests without the right API key. Every refusal is OpenAI's error shape
 * with mmrt's code. The image host here is a loopback server of the test's own.
 */
import { type Server, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSpecialAddress } from '../../src/serve/node/fetch-image.js';
import type { RunningServer } from '../../src/serve/node/index.js';
import { disposeModels } from '../helpers/models.js';
import { maxAbsDiff } from '../shapes/reference.js';
import {
  RED_STAR,
  type TinyModels,
  client,
  dataUri,
  imagePart,
  pngBomb,
  serveTiny,
  stopServers,
  tinyModels,
} from './helpers.js';

type ApiError = InstanceType<typeof OpenAI.APIError>;

let models: TinyModels;
let images: Server;
let port: number;
const hits: string[] = [];

beforeAll(async () => {
  models = await tinyModels();
  images = createServer((req, res) => {
    hits.push(req.url ?? '');
    const to = (location: string) => res.writeHead(302, { location }).end();
    if (req.url === '/red.png')
      res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.from(RED_STAR));
    else if (req.url === '/to-red') to('/red.png');
    else if (req.url === '/to-localhost') to(`http://localhost:${port}/red.png`);
    else if (req.url === '/to-metadata') to('http://169.254.169.254/latest/meta-data/');
    else if (req.url === '/loop') to('/loop');
    else if (req.url === '/huge')
      res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.alloc(300_000));
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => images.listen(0, '127.0.0.1', r));
  port = (images.address() as AddressInfo).port;
});
afterAll(async () => {
  await stopServers();
  await new Promise<void>((r) => images.close(() => r()));
  await disposeModels();
});

const fail = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as ApiError,
  );
const embedUrl = (openai: OpenAI, url: string) =>
  openai.embeddings.create({
    model: 'shapes-clip',
    input: [url],
    modality: 'image',
    encoding_format: 'float',
  } as never);

describe('remote image URLs', () => {
  let open: RunningServer;
  let closed: RunningServer;
  beforeAll(async () => {
    // 127.0.0.1 listed as a literal (the operator named it); localhost only as a name.
    open = await serveTiny(models, {
      imageUrls: { allowHosts: ['127.0.0.1', 'localhost'], maxBytes: 200_000 },
    });
    closed = await serveTiny(models);
  });

  it('are refused when no host is allowed', async () => {
    const e = (await fail(embedUrl(client(closed), `http://127.0.0.1:${port}/red.png`)))!;
    expect(e.status).toBe(400);
    expect(e.code).toBe('INPUT_URL_REFUSED');
    expect(e.message).toMatch(/not allowed on this server/);
  });

  it('are fetched from an allowed host (redirects followed), giving the library embedding', async () => {
    const [expected] = await models.clip.embedImages([RED_STAR]);
    for (const path of ['/red.png', '/to-red']) {
      const r = await embedUrl(client(open), `http://127.0.0.1:${port}${path}`);
      expect(maxAbsDiff(Float32Array.from(r.data[0]!.embedding), expected!)).toBeLessThan(1e-6);
    }
  });

  it('are refused off the allowlist, before any connection', async () => {
    const e = (await fail(embedUrl(client(open), 'http://images.example.com/cat.png')))!;
    expect(e.code).toBe('INPUT_URL_REFUSED');
    expect(e.message).toMatch(/not on the image host allowlist/);
  });

  it('are refused when an allowed name resolves to loopback, directly or by redirect', async () => {
    const before = hits.length;
    const direct = (await fail(embedUrl(client(open), `http://localhost:${port}/red.png`)))!;
    expect(direct.code).toBe('INPUT_URL_REFUSED');
    expect(direct.message).toMatch(/resolves to (127\.0\.0\.1|::1), a loopback, private or reserved address/);
    expect(hits.length).toBe(before); // the check ran in the lookup: no request reached the server
    const redirected = (await fail(embedUrl(client(open), `http://127.0.0.1:${port}/to-localhost`)))!;
    expect(redirected.code).toBe('INPUT_URL_REFUSED');
    expect(hits.slice(before)).toEqual(['/to-localhost']);
  });

  it('refuse redirects to the metadata address and redirect loops', async () => {
    const metadata = (await fail(embedUrl(client(open), `http://127.0.0.1:${port}/to-metadata`)))!;
    expect(metadata.code).toBe('INPUT_URL_REFUSED');
    expect(metadata.message).toMatch(/169\.254\.169\.254 is not on the image host allowlist/);
    const loop = (await fail(embedUrl(client(open), `http://127.0.0.1:${port}/loop`)))!;
    expect(loop.message).toMatch(/more than 3 redirects/);
  });

  it('refuse downloads over the byte cap, and say when a fetch fails', async () => {
    const huge = (await fail(embedUrl(client(open), `http://127.0.0.1:${port}/huge`)))!;
    expect(huge.status).toBe(413);
    expect(huge.code).toBe('IMAGE_TOO_LARGE');
    const missing = (await fail(embedUrl(client(open), `http://127.0.0.1:${port}/missing.png`)))!;
    expect(missing.code).toBe('INPUT_FETCH_FAILED');
    expect(missing.message).toMatch(/HTTP 404/);
  });

  it('classify every special range, and no public address', () => {
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '224.0.0.1',
    ])
      expect(isSpecialAddress(a), a).toBe(true);
    for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])
      expect(isSpecialAddress(a), a).toBe(false);
  });
});

describe('size limits', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await serveTiny(models, {
      limits: {
        maxBodyBytes: 64 * 1024,
        maxImagePixels: 1_000_000,
        maxImageBytes: 20_000,
        maxImagesPerRequest: 4,
      },
    });
  });

  it('refuse more images in one request than allowed', async () => {
    const e = (await fail(
      client(server).chat.completions.create({
        model: 'shapes-vlm',
        messages: [
          {
            role: 'user',
            content: [...Array(5).fill(imagePart(RED_STAR)), { type: 'text', text: 'Describe the image.' }],
          },
        ],
      }),
    ))!;
    expect(e.status).toBe(413);
    expect(e.code).toBe('REQUEST_TOO_LARGE');
    expect(e.message).toMatch(/5 images in one request; this server takes at most 4/);
  });

  it('refuse a body over the limit with 413', async () => {
    const big = new Uint8Array(100 * 1024).fill(7);
    const e = (await fail(
      client(server).embeddings.create({ model: 'shapes-clip', input: [imagePart(big)] as never }),
    ))!;
    expect(e.status).toBe(413);
    expect(e.code).toBe('REQUEST_TOO_LARGE');
  });

  /** A POST whose body has no declared length (Transfer-Encoding: chunked), sent in `parts`. */
  const chunked = (path: string, parts: string[]) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      for (const p of parts) req.write(p);
      req.end();
    });

  it('count a chunked body as it arrives and refuse it with 413 past the limit', async () => {
    const text = 'x'.repeat(16 * 1024);
    const body = JSON.stringify({ model: 'shapes-clip', input: [text, text, text, text, text] });
    const parts = body.match(/[\s\S]{1,8192}/g)!;
    const r = await chunked('/v1/embeddings', parts);
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body).error.code).toBe('REQUEST_TOO_LARGE');
  });

  it('serve a chunked body within the limit like any other', async () => {
    const body = JSON.stringify({ model: 'shapes-clip', input: ['a red star'] });
    const r = await chunked('/v1/embeddings', [body.slice(0, 10), body.slice(10)]);
    expect(r.status, r.body).toBe(200);
    const got = JSON.parse(r.body).data[0].embedding as number[];
    const [want] = await models.clip.embedTexts(['a red star']);
    expect(maxAbsDiff(Float32Array.from(got), want!)).toBeLessThan(1e-6);
  });

  it('refuse an image over the byte limit', async () => {
    const e = (await fail(
      client(server).embeddings.create({
        model: 'shapes-clip',
        input: [imagePart(new Uint8Array(30_000))] as never,
      }),
    ))!;
    expect(e.code).toBe('IMAGE_TOO_LARGE');
    expect(e.message).toMatch(/over the 20000-byte limit/);
  });

  it('refuse a pixel bomb from its header, in every endpoint', async () => {
    const bomb = pngBomb(40_000, 40_000); // 1.6 gigapixels in a few hundred bytes
    expect(bomb.length).toBeLessThan(1000);
    const openai = client(server);
    const embed = (await fail(
      openai.embeddings.create({ model: 'shapes-clip', input: [imagePart(bomb)] as never }),
    ))!;
    expect(embed.status).toBe(413);
    expect(embed.code).toBe('IMAGE_TOO_LARGE');
    expect(embed.message).toMatch(/40000x40000 = 1600000000 pixels, over the limit of 1000000/);
    const chat = (await fail(
      openai.chat.completions.create({
        model: 'shapes-vlm',
        messages: [
          { role: 'user', content: [imagePart(bomb), { type: 'text', text: 'What color is the shape?' }] },
        ],
      }),
    ))!;
    expect(chat.code).toBe('IMAGE_TOO_LARGE');
    expect((chat.error as { param?: string }).param).toBe('messages[0].content[0]');
  });
});

describe('API key', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await serveTiny(models, { auth: { apiKey: 'sk-right' } });
  });

  it('refuses a wrong or missing key with 401, and serves the right one', async () => {
    const wrong = (await fail(client(server, 'sk-wrong').models.list()))!;
    expect(wrong).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(wrong.code).toBe('REQUEST_UNAUTHORIZED');
    const none = await fetch(`${server.url}/v1/models`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { message: string } }).error.message).toMatch(/needs an API key/);
    const right = await client(server, 'sk-right').embeddings.create({
      model: 'shapes-clip',
      input: 'a red star',
    });
    expect(right.data).toHaveLength(1);
  });

  it('leaves health, readiness and metrics open to probes', async () => {
    for (const path of ['/health', '/ready', '/metrics'])
      expect((await fetch(`${server.url}${path}`)).status).toBe(200);
  });

  it('binds to loopback unless told otherwise', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe('inline images', () => {
  it('data URIs work with no URL policy at all', async () => {
    const server = await serveTiny(models);
    const r = await client(server).embeddings.create({
      model: 'shapes-clip',
      input: [dataUri(RED_STAR)],
      modality: 'image',
    } as never);
    expect(r.data[0]!.embedding).toHaveLength(64);
  });
});
