/**
 * Bad input, grouped like the hardening rules: each case must end, within its deadline, in a
 * typed MmrtError with the expected code (or the documented behaviour), never a crash, a hang
 * or a silently wrong answer. CLI cases are in test/cli/conventions.test.ts and long-inputs.
 */
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CLIP_MODEL, DEFAULT_VLM_MODEL, SAMPLES_DIR } from '../../src/cli/paths.js';
import { isMmrtError } from '../../src/errors.js';
import type { ClipModel } from '../../src/kinds/dual-encoder/model.js';
import { ChatTemplate } from '../../src/kinds/vision-language/chat-template.js';
import type { LlavaModel } from '../../src/kinds/vision-language/model.js';
import {
  HubClient,
  createPlacement,
  decodeImage,
  detectNode,
  loadClip,
  loadLlava,
} from '../../src/node/index.js';
import { disposeModels, tinyClip, tinyVlm } from '../helpers/models.js';
import { DT, buildModel } from '../loader/onnx-build.js';

const DEADLINE = 10_000;
const IMG = join(SAMPLES_DIR, '03_red_circle.jpg');
let dir: string;
let clip: ClipModel;
let vlm: LlavaModel;
const capabilities = await detectNode();

async function codeOf(f: () => unknown): Promise<string> {
  try {
    await f();
  } catch (e) {
    if (isMmrtError(e)) return e.code;
    throw new Error(`not a typed error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  }
  return 'OK';
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mmrt-bad-'));
  clip = await tinyClip();
  vlm = await tinyVlm();
});
afterAll(async () => {
  await disposeModels();
  await rm(dir, { recursive: true, force: true });
});

/** A copy of a shipped model with one file replaced (or removed with `null`). */
async function broken(model: string, name: string, files: Record<string, string | null>): Promise<string> {
  const to = join(dir, name);
  await cp(model, to, { recursive: true });
  for (const [f, text] of Object.entries(files)) {
    if (text === null) await rm(join(to, f), { force: true });
    else await writeFile(join(to, f), text);
  }
  return to;
}

describe('rule 1: inputs are validated where they enter (images)', () => {
  const cases: Array<[string, () => unknown, string]> = [
    ['a missing file', () => decodeImage('/no/such/photo.jpg'), 'INPUT_NOT_FOUND'],
    ['a folder', () => decodeImage(SAMPLES_DIR), 'INPUT_INVALID'],
    ['empty bytes', () => decodeImage(new Uint8Array(0)), 'IMAGE_DECODE_FAILED'],
    ['random bytes', () => decodeImage(new Uint8Array(1000).fill(7)), 'IMAGE_DECODE_FAILED'],
    [
      'a truncated PNG',
      async () => decodeImage((await readFile(join(SAMPLES_DIR, '01_blue_triangle.png'))).subarray(0, 100)),
      'IMAGE_DECODE_FAILED',
    ],
    [
      'text named .png',
      async () => {
        const p = join(dir, 'x.png');
        await writeFile(p, 'hello');
        return decodeImage(p);
      },
      'IMAGE_DECODE_FAILED',
    ],
    ['an ftp: URL', () => decodeImage('ftp://example.com/x.png'), 'INPUT_INVALID'],
    ['an s3: URL', () => decodeImage('s3://bucket/x.png'), 'INPUT_INVALID'],
    ['a javascript: URL', () => decodeImage('javascript:alert(1)'), 'INPUT_INVALID'],
    ['file://host/', () => decodeImage('file://otherhost/etc/passwd'), 'INPUT_INVALID'],
    ['a file: URL to nothing', () => decodeImage('file:///no/such.png'), 'INPUT_NOT_FOUND'],
    ['a malformed data: URL', () => decodeImage('data:image/png;base64'), 'INPUT_INVALID'],
    ['bad base64', () => decodeImage('data:image/png;base64,@@@@'), 'INPUT_INVALID'],
    [
      'a long percent-escaped data: URL',
      () => decodeImage(`data:image/png;base64,${'%41'.repeat(400_000)}`),
      'IMAGE_DECODE_FAILED',
    ],
    [
      'a data: URL over maxBytes',
      () => decodeImage(`data:,${'a'.repeat(2000)}`, { maxBytes: 100 }),
      'IMAGE_TOO_LARGE',
    ],
    ['maxBytes -1', () => decodeImage('http://127.0.0.1:9/x.png', { maxBytes: -1 }), 'INPUT_INVALID'],
    ['timeoutMs -5', () => decodeImage('http://127.0.0.1:9/x.png', { timeoutMs: -5 }), 'INPUT_INVALID'],
    [
      'timeoutMs NaN',
      () => decodeImage('http://127.0.0.1:9/x.png', { timeoutMs: Number.NaN }),
      'INPUT_INVALID',
    ],
    ['maxPixels 0', () => decodeImage(IMG, { maxPixels: 0 }), 'INPUT_INVALID'],
    ['over maxPixels', () => decodeImage(IMG, { maxPixels: 100 }), 'IMAGE_TOO_LARGE'],
    ['a refused connection', () => decodeImage('http://127.0.0.1:9/x.png'), 'INPUT_FETCH_FAILED'],
    [
      'an SVG (off by design)',
      () =>
        decodeImage(
          new TextEncoder().encode(
            '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><image href="/etc/passwd"/></svg>',
          ),
        ),
      'IMAGE_DECODE_FAILED',
    ],
    [
      'an SVG file',
      async () => {
        const p = join(dir, 'a.svg');
        await writeFile(p, '<?xml version="1.0"?><svg width="4" height="4"></svg>');
        return decodeImage(p);
      },
      'IMAGE_DECODE_FAILED',
    ],
    [
      'raw pixels of the wrong size',
      () => decodeImage({ data: new Uint8Array(5), width: 4, height: 4, channels: 3 }),
      'INPUT_INVALID',
    ],
    [
      'raw pixels with 7 channels',
      () => decodeImage({ data: new Uint8Array(7 * 4), width: 2, height: 2, channels: 7 }),
      'INPUT_INVALID',
    ],
    ['a number', () => decodeImage(42 as never), 'INPUT_INVALID'],
    ['an empty string', () => decodeImage(''), 'INPUT_INVALID'],
  ];
  it.each(cases)('%s', async (_name, f, code) => expect(await codeOf(f)).toBe(code), DEADLINE);
});

describe('rule 1: inputs are validated where they enter (labels, texts, prompts, options)', () => {
  const cases: Array<[string, () => unknown, string]> = [
    ['no labels', () => clip.zeroShot([IMG], []), 'INPUT_INVALID'],
    ['an empty label', () => clip.zeroShot([IMG], ['red', '  ']), 'INPUT_INVALID'],
    ['a label that is a number', () => clip.zeroShot([IMG], [42 as never]), 'INPUT_INVALID'],
    ['labels not a list', () => clip.zeroShot([IMG], 'red' as never), 'INPUT_INVALID'],
    ['template 42', () => clip.zeroShot([IMG], ['red'], { template: 42 as never }), 'INPUT_INVALID'],
    ['a template without {}', () => clip.zeroShot([IMG], ['red'], { template: 'a photo' }), 'INPUT_INVALID'],
    ['topK -1', () => clip.zeroShot([IMG], ['red'], { topK: -1 }), 'INPUT_INVALID'],
    ['topK 1.5', () => clip.zeroShot([IMG], ['red'], { topK: 1.5 }), 'INPUT_INVALID'],
    ['no images', () => clip.embedImages([]), 'INPUT_INVALID'],
    ['no texts', () => clip.embedTexts([]), 'INPUT_INVALID'],
    ['a text that is a number', () => clip.embedTexts([7 as never]), 'INPUT_INVALID'],
    ['a bad image among good ones', () => clip.embedImages([IMG, '/no/such.png']), 'INPUT_NOT_FOUND'],
    ['ask without an image', () => vlm.ask('' as never, 'hi').result, 'INPUT_INVALID'],
    ['ask without a question', () => vlm.ask(IMG, '   ').result, 'INPUT_INVALID'],
    ['a chat with no messages', () => vlm.chat([]).result, 'INPUT_INVALID'],
    [
      'a message with a bad role',
      () => vlm.chat([{ role: 'robot', content: 'x' } as never]).result,
      'INPUT_INVALID',
    ],
    [
      'an image part without an image',
      () => vlm.chat([{ role: 'user', content: [{ type: 'image' } as never] }]).result,
      'INPUT_INVALID',
    ],
    ['maxNewTokens 0', () => vlm.ask(IMG, 'hi', { maxNewTokens: 0 }).result, 'INPUT_INVALID'],
    ['maxNewTokens -1', () => vlm.ask(IMG, 'hi', { maxNewTokens: -1 }).result, 'INPUT_INVALID'],
    ['maxNewTokens 1.5', () => vlm.ask(IMG, 'hi', { maxNewTokens: 1.5 }).result, 'INPUT_INVALID'],
    ['temperature -1', () => vlm.ask(IMG, 'hi', { sampling: { temperature: -1 } }).result, 'INPUT_INVALID'],
    [
      'temperature NaN',
      () => vlm.ask(IMG, 'hi', { sampling: { temperature: Number.NaN } }).result,
      'INPUT_INVALID',
    ],
    ['topP 0', () => vlm.ask(IMG, 'hi', { sampling: { topP: 0 } }).result, 'INPUT_INVALID'],
    ['topP 2', () => vlm.ask(IMG, 'hi', { sampling: { topP: 2 } }).result, 'INPUT_INVALID'],
    ['sampling topK -1', () => vlm.ask(IMG, 'hi', { sampling: { topK: -1 } }).result, 'INPUT_INVALID'],
    ['a non-integer seed', () => vlm.ask(IMG, 'hi', { sampling: { seed: 1.5 } }).result, 'INPUT_INVALID'],
    ['repetitionPenalty 0', () => vlm.ask(IMG, 'hi', { repetitionPenalty: 0 }).result, 'INPUT_INVALID'],
    ['an empty stop string', () => vlm.ask(IMG, 'hi', { stopStrings: [''] }).result, 'INPUT_INVALID'],
    [
      'kvCacheMaxLength over the model',
      () => vlm.ask(IMG, 'hi', { kvCacheMaxLength: 1e9 }).result,
      'INPUT_INVALID',
    ],
    [
      'a question longer than the context',
      () => vlm.ask(IMG, 'why '.repeat(2000)).result,
      'CONTEXT_OVERFLOW',
    ],
  ];
  it.each(cases)('%s', async (_name, f, code) => expect(await codeOf(f)).toBe(code), DEADLINE);

  it('labels are data: "$&" and "{{x}}" in a label are kept as written', async () => {
    const [scores] = await clip.zeroShot([IMG], ['red circle $&', 'blue {{x}} star'], {
      template: 'a photo of a {}',
    });
    expect(scores!.map((s) => s.label).sort()).toEqual(['blue {{x}} star', 'red circle $&']);
  });
});

describe('rule 1: model packages and configs are validated, naming the file', () => {
  const cases: Array<[string, () => Promise<unknown>, string]> = [
    [
      'no config.json',
      async () => loadClip({ model: await broken(DEFAULT_CLIP_MODEL, 'nocfg', { 'config.json': null }) }),
      'MODEL_FILE_MISSING',
    ],
    [
      'config.json not JSON',
      async () => loadClip({ model: await broken(DEFAULT_CLIP_MODEL, 'badcfg', { 'config.json': '{' }) }),
      'MODEL_CONFIG_INVALID',
    ],
    [
      'config.json an array',
      async () => loadClip({ model: await broken(DEFAULT_CLIP_MODEL, 'arrcfg', { 'config.json': '[]' }) }),
      'MODEL_CONFIG_INVALID',
    ],
    [
      'no model_type',
      async () => loadClip({ model: await broken(DEFAULT_CLIP_MODEL, 'notype', { 'config.json': '{}' }) }),
      'MODEL_CONFIG_INVALID',
    ],
    [
      'an unknown model_type',
      async () =>
        loadClip({
          model: await broken(DEFAULT_CLIP_MODEL, 'gpt', { 'config.json': '{"model_type":"gpt2"}' }),
        }),
      'MODEL_CONFIG_INVALID',
    ],
    [
      'tokenizer.json of {}',
      async () => loadClip({ model: await broken(DEFAULT_CLIP_MODEL, 'tok0', { 'tokenizer.json': '{}' }) }),
      'MODEL_CONFIG_INVALID',
    ],
    [
      'tokenizer.json with model null',
      async () =>
        loadClip({ model: await broken(DEFAULT_CLIP_MODEL, 'tok1', { 'tokenizer.json': '{"model":null}' }) }),
      'MODEL_CONFIG_INVALID',
    ],
    [
      'tokenizer.json not JSON',
      async () => loadClip({ model: await broken(DEFAULT_CLIP_MODEL, 'tok2', { 'tokenizer.json': 'nope' }) }),
      'MODEL_CONFIG_INVALID',
    ],
    [
      'no tokenizer.json',
      async () => loadClip({ model: await broken(DEFAULT_CLIP_MODEL, 'tok3', { 'tokenizer.json': null }) }),
      'MODEL_FILE_MISSING',
    ],
    [
      'no ONNX files',
      async () =>
        loadClip({
          model: await broken(
            DEFAULT_CLIP_MODEL,
            'noonnx',
            Object.fromEntries(
              (await readdir(join(DEFAULT_CLIP_MODEL, 'onnx'))).map((f) => [`onnx/${f}`, null]),
            ),
          ),
        }),
      'MODEL_COMPONENT_MISSING',
    ],
    [
      'a CLIP given to loadLlava-only code',
      async () => loadClip({ model: DEFAULT_VLM_MODEL }),
      'INPUT_INVALID',
    ],
    ['a model folder that does not exist', () => loadClip({ model: './no/such/model' }), 'MODEL_NOT_FOUND'],
    ['an empty model reference', () => loadClip({ model: '' }), 'MODEL_ID_INVALID'],
    ['a URL as model', () => loadClip({ model: 'https://huggingface.co/org/name' }), 'MODEL_ID_INVALID'],
    ['a shipped name that does not exist', () => loadClip({ model: 'mmrt:shapes-gpt' }), 'MODEL_ID_INVALID'],
    [
      'a hub id with spaces',
      () => loadClip({ model: 'org/na me', host: { hub: { offline: true } } }),
      'MODEL_ID_INVALID',
    ],
    [
      'a revision with ..',
      () => loadClip({ model: 'org/name@../x', host: { hub: { offline: true } } }),
      'MODEL_ID_INVALID',
    ],
    [
      'an unknown config key',
      () =>
        createPlacement({ model: 'mmrt:shapes-clip', capabilities, config: { precison: 'fp16' } as never }),
      'CONFIG_UNKNOWN_KEY',
    ],
    [
      'batch_size 0',
      () => createPlacement({ model: 'mmrt:shapes-clip', capabilities, config: { batch_size: 0 } }),
      'CONFIG_INVALID_VALUE',
    ],
    [
      'batch_size "8"',
      () =>
        createPlacement({ model: 'mmrt:shapes-clip', capabilities, config: { batch_size: '8' } as never }),
      'CONFIG_INVALID_VALUE',
    ],
    [
      'precision fp64',
      () =>
        createPlacement({ model: 'mmrt:shapes-clip', capabilities, config: { precision: 'fp64' } as never }),
      'CONFIG_INVALID_VALUE',
    ],
    [
      'memory_budget "lots"',
      () => createPlacement({ model: 'mmrt:shapes-clip', capabilities, config: { memory_budget: 'lots' } }),
      'CONFIG_INVALID_VALUE',
    ],
    [
      'num_threads 0',
      () => createPlacement({ model: 'mmrt:shapes-clip', capabilities, config: { num_threads: 0 } }),
      'CONFIG_INVALID_VALUE',
    ],
    [
      'kv_cache_max_length over the model',
      () => createPlacement({ model: 'mmrt:shapes-vlm', capabilities, config: { kv_cache_max_length: 512 } }),
      'CONFIG_INVALID_VALUE',
    ],
    [
      'a component section that is not an object',
      () =>
        createPlacement({
          model: 'mmrt:shapes-clip',
          capabilities,
          config: { components: { text_model: 5 } } as never,
        }),
      'CONFIG_INVALID_VALUE',
    ],
    [
      'an unknown platform',
      () => createPlacement({ model: 'mmrt:shapes-clip', capabilities, platform: 'tpu' as never }),
      'CONFIG_INVALID_VALUE',
    ],
    [
      'an unknown candidate',
      () => createPlacement({ model: 'mmrt:shapes-clip', capabilities, candidates: ['cpu', 'gpu' as never] }),
      'CONFIG_INVALID_VALUE',
    ],
    [
      'an unknown modelType',
      () => createPlacement({ model: 'mmrt:shapes-clip', capabilities, modelType: 'gpt' }),
      'CONFIG_INVALID_VALUE',
    ],
    [
      'a mismatching modelType',
      () => createPlacement({ model: 'mmrt:shapes-clip', capabilities, modelType: 'llava' }),
      'CONFIG_INVALID_VALUE',
    ],
  ];
  it.each(cases)('%s', async (_name, f, code) => expect(await codeOf(f)).toBe(code), DEADLINE);
});

describe('rule 1 and 8: package values and image limits, named by their file', () => {
  const cases: Array<[string, () => Promise<unknown>, string]> = [
    [
      'an absurd preprocessor size',
      async () => {
        const pp = JSON.parse(await readFile(join(DEFAULT_CLIP_MODEL, 'preprocessor_config.json'), 'utf8'));
        const model = await broken(DEFAULT_CLIP_MODEL, 'pp', {
          'preprocessor_config.json': JSON.stringify({ ...pp, size: { shortest_edge: 1e9 } }),
        });
        return loadClip({ model });
      },
      'CONFIG_INVALID_VALUE',
    ],
    [
      'max_new_tokens -5 in generation_config.json',
      async () =>
        loadLlava({
          model: await broken(DEFAULT_VLM_MODEL, 'gen', {
            'generation_config.json': '{"max_new_tokens": -5}',
          }),
        }),
      'MODEL_CONFIG_INVALID',
    ],
    [
      'top_p 7 in generation_config.json',
      async () =>
        loadLlava({
          model: await broken(DEFAULT_VLM_MODEL, 'gen2', {
            'generation_config.json': '{"do_sample": true, "top_p": 7}',
          }),
        }),
      'MODEL_CONFIG_INVALID',
    ],
    [
      'images.maxPixelsInFlight -1',
      () => loadClip({ model: DEFAULT_CLIP_MODEL, images: { maxPixelsInFlight: -1 } }),
      'INPUT_INVALID',
    ],
    [
      'images.decodeTimeoutMs -1',
      async () => (await tinyClip({ images: { decodeTimeoutMs: -1 } })).embedImages([IMG]),
      'INPUT_INVALID',
    ],
  ];
  it.each(cases)('%s', async (_name, f, code) => expect(await codeOf(f)).toBe(code), DEADLINE);

  it('a bad generation_config.json value names the file', async () => {
    const model = await broken(DEFAULT_VLM_MODEL, 'gen3', {
      'generation_config.json': '{"max_new_tokens": 0}',
    });
    await expect(loadLlava({ model })).rejects.toThrow(
      /gen3\/generation_config\.json: "max_new_tokens" is 0/,
    );
  });
});

describe('rule 5: chat templates run in a sandbox', () => {
  const render = (src: string) => () => new ChatTemplate(src, {}).render([{ role: 'user', content: 'hi' }]);
  const cases: Array<[string, string, string]> = [
    ['range(10**9)', '{% for i in range(10**9) %}x{% endfor %}', 'MODEL_CONFIG_INVALID'],
    ['range(1e8) with output', '{% for i in range(100000000) %}{{ i }}{% endfor %}', 'MODEL_CONFIG_INVALID'],
    [
      'nested ranges',
      '{% for i in range(1000) %}{% for j in range(1000) %}x{% endfor %}{% endfor %}',
      'MODEL_CONFIG_INVALID',
    ],
    ['raise_exception()', "{{ raise_exception('System role not supported') }}", 'INPUT_INVALID'],
    ['a self-recursive macro', '{% macro f(x) %}{{ f(x) }}{% endmacro %}{{ f(1) }}', 'MODEL_CONFIG_INVALID'],
    ['range with step 0', '{% for i in range(0, 10, 0) %}x{% endfor %}', 'MODEL_CONFIG_INVALID'],
    ['an unknown filter', '{{ messages | explode }}', 'MODEL_CONFIG_INVALID'],
  ];
  it.each(cases)('%s', async (_name, src, code) => expect(await codeOf(render(src))).toBe(code), DEADLINE);

  it('a normal template still renders, and raise_exception carries its message', async () => {
    expect(render('{% for m in messages %}{{ m.content }}{% endfor %}')()).toBe('hi');
    expect(() => render("{{ raise_exception('no system role') }}")()).toThrow(/no system role/);
  });
});

describe('rule 2: network reads are bounded in time (hub)', () => {
  let server: ReturnType<typeof createServer>;
  let base: string;
  let hits = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits++;
      if (req.url?.startsWith('/api/models/stall/listing')) return; // never answers
      if (req.url?.startsWith('/api/models/slow/body')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"sha":"x",'); // headers, then silence
        return;
      }
      if (req.url?.startsWith('/api/models/busy/')) {
        res.writeHead(429, { 'retry-after': '1' }).end();
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  const client = (extra = {}) =>
    new HubClient({
      endpoint: base,
      cacheDir: join(dir, 'hub'),
      env: {},
      retries: 0,
      connectTimeoutMs: 300,
      idleTimeoutMs: 300,
      ...extra,
    });

  it(
    'a listing that never answers times out',
    async () => {
      const t0 = Date.now();
      const err = await client()
        .listFiles('stall/listing', 'main')
        .catch((e: unknown) => e);
      expect(isMmrtError(err) && err.code).toBe('DOWNLOAD_FAILED');
      expect((err as Error).message).toMatch(/timed out: no answer/);
      expect(Date.now() - t0).toBeLessThan(3000);
    },
    DEADLINE,
  );

  it(
    'a body that stalls after the headers times out',
    async () => {
      const err = await client()
        .listFiles('slow/body', 'main')
        .catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/stalled: no data for 300 ms/);
    },
    DEADLINE,
  );

  it(
    '429 with Retry-After is waited out before the retry',
    async () => {
      const before = hits;
      const t0 = Date.now();
      const err = await client({ retries: 1, retryDelayMs: 1 })
        .listFiles('busy/x', 'main')
        .catch((e: unknown) => e);
      expect(isMmrtError(err) && err.code).toBe('DOWNLOAD_FAILED');
      expect(hits - before).toBe(2);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    },
    DEADLINE,
  );

  it('hub timeouts must be positive', () => {
    expect(() => client({ connectTimeoutMs: -1 })).toThrow(/connectTimeoutMs must be a positive number/);
  });
});

describe('rule 2: directory walks stay in the model folder', () => {
  it(
    'a symlink cycle and a link out of the folder are not followed; linked files still are',
    async () => {
      const { symlink, mkdir } = await import('node:fs/promises');
      const { LocalModelFiles } = await import('../../src/node/files.js');
      const root = join(dir, 'walk');
      await mkdir(join(root, 'onnx'), { recursive: true });
      await writeFile(join(root, 'config.json'), '{}');
      await writeFile(join(dir, 'outside.onnx'), 'x');
      await symlink(root, join(root, 'onnx', 'loop')); // a cycle back to the root
      await symlink('/etc', join(root, 'etc')); // a folder outside
      await symlink(join(dir, 'outside.onnx'), join(root, 'onnx', 'weights.onnx')); // a linked file: kept
      const files = await LocalModelFiles.open(root);
      expect(await files.list()).toEqual(['config.json', 'onnx/weights.onnx']);
    },
    DEADLINE,
  );
});

describe('rule 3: model outputs are checked before they are trusted', () => {
  /** shapes-clip with its text tower replaced by `text` (and no combined graph). */
  async function clipWithText(name: string, text: Uint8Array): Promise<ClipModel> {
    // The broken tower is the only text model: no other precision variant to fall back to.
    const variants = (await readdir(join(DEFAULT_CLIP_MODEL, 'onnx'))).filter((f) =>
      f.startsWith('text_model_'),
    );
    const model = await broken(DEFAULT_CLIP_MODEL, name, {
      'onnx/model.onnx': null,
      ...Object.fromEntries(variants.map((f) => [`onnx/${f}`, null])),
    });
    await writeFile(join(model, 'onnx', 'text_model.onnx'), text);
    return tinyClip({ model, clip: { logitScale: 100 } });
  }
  const text = (hidden: number, fill: number, out: 'float' | 'int64' = 'float') =>
    buildModel({
      inputs: [
        { name: 'input_ids', type: 'int64', shape: ['batch', 'seq'] },
        { name: 'attention_mask', type: 'int64', shape: ['batch', 'seq'] },
      ],
      outputs: [{ name: 'text_embeds', type: out, shape: ['batch', hidden] }],
      nodes: [
        { op: 'Gather', inputs: ['table', 'input_ids'], outputs: ['e'] },
        {
          op: 'ReduceMean',
          inputs: ['e'],
          outputs: out === 'float' ? ['text_embeds'] : ['m'],
          attrs: { axes: [1], keepdims: 0 },
        },
        ...(out === 'int64'
          ? [{ op: 'Cast', inputs: ['m'], outputs: ['text_embeds'], attrs: { to: DT.int64 } }]
          : []),
      ],
      initializers: [
        {
          name: 'table',
          type: 'float',
          dims: [1000, hidden],
          data: new Float32Array(1000 * hidden).fill(fill),
        },
      ],
    });

  it.each([
    ['a text tower that returns NaN', 'nan', text(64, Number.NaN), /holds NaN/],
    ['a text tower that returns int64', 'int', text(64, 1, 'int64'), /output is int64, not float32/],
    [
      'text and image embeddings of different widths',
      'width',
      text(32, 0.5),
      /text embeddings are 32-d but image embeddings 64-d/,
    ],
  ])(
    '%s is a typed error, not "NaN%"',
    async (_name, dirName, graph, message) => {
      const c = await clipWithText(dirName, graph);
      const err = await c.zeroShot([IMG], ['red circle', 'blue star']).catch((e: unknown) => e);
      expect(isMmrtError(err) && err.code).toBe('SESSION_RUN_FAILED');
      expect((err as Error).message).toMatch(message);
    },
    DEADLINE,
  );
});
