/**
 * mmrt in headless Chromium (Debian's, driven by playwright-core): the web host, on WASM,
 * WebGPU (SwiftShader) and WebNN where the browser has it, against the Node host on the same
 * images; the fallback chain with WebGPU absent and with a provider whose first run returns
 * NaN; a second visit that loads with the network cut off; the runtime in a worker; and the
 * demo page, used as a person would (drop an image, read the label and the streamed answer).
 *
 * One browser per flag set for the whole file; tiny models; SwiftShader work kept small.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDemo, ROOT } from '../../demo/build.js';
import { type StaticServer, serveStatic } from '../../demo/serve.js';
import type { ClipModel } from '../../src/kinds/dual-encoder/model.js';
import { disposeModels, tinyClip, tinyVlm } from '../helpers/models.js';
import { WEBGPU_FLAGS, WEBNN_FLAGS, haveChromium, launch } from './browser.js';

const COLORS = ['red', 'green', 'blue', 'yellow', 'purple', 'orange'];
const SHAPES = ['circle', 'square', 'triangle', 'star'];
const LABELS = COLORS.flatMap((c) => SHAPES.map((s) => `${c} ${s}`));
const SAMPLES = JSON.parse(await readFile(join(ROOT, 'models/samples/labels.json'), 'utf8')) as {
  images: Array<{ file: string; color: string; shape: string }>;
};
const FILES = SAMPLES.images.map((i) => i.file);
/** SwiftShader compiles a shader per new shape, slowly: a few images there. */
const GPU_FILES = FILES.slice(0, 4);
/** The VLM answers compared (every question). */
const VLM_FILES = FILES.slice(0, 6);
const QUESTIONS = ['What color is the shape?', 'What shape is this?', 'Describe the image.'];
export const SCREENSHOT = join(ROOT, 'test-results', 'web-demo.png');

let out: string;
let server: StaticServer;
let gpuBrowser: Browser;
let plainBrowser: Browser;
/** One page per browser for the harness tests: onnxruntime-web starts once in each. */
let gpuPage: Page;
let plainPage: Page;
let node: {
  images: Float32Array[];
  texts: Float32Array[];
  top: string[];
  answers: Map<string, string>;
  conversation: string[];
};

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function worst(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  expect(a.length).toBe(b.length);
  return Math.max(...a.map((x, i) => maxAbsDiff(x, b[i]!)));
}

async function harness(browser: Browser): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`${server.url}harness.html`);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  return page;
}

type Task = Record<string, unknown>;
// biome-ignore lint/suspicious/noExplicitAny: page results are plain JSON checked by the tests.
const run = (page: Page, fn: string, task: Task = {}): Promise<any> =>
  page.evaluate(
    ([f, t]) =>
      (globalThis as unknown as Record<string, Record<string, (t: unknown) => unknown>>).mmrtTest![f!]!(t),
    [fn, task] as const,
  );

const urls = (files: readonly string[]) => files.map((f) => `/samples/${f}`);
const key = (file: string, q: string) => `${file}\u0000${q}`;

describe.skipIf(!haveChromium)('mmrt in Chromium', () => {
  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'mmrt-web-'));
    await buildDemo({ outDir: out, harness: true });
    server = await serveStatic({ root: out });
    [gpuBrowser, plainBrowser] = await Promise.all([launch([...WEBGPU_FLAGS, ...WEBNN_FLAGS]), launch([])]);
    // The Node host's answers on the same files: the reference for every browser provider.
    const clip: ClipModel = await tinyClip();
    const paths = FILES.map((f) => join(ROOT, 'models/samples', f));
    const images = await clip.embedImages(paths);
    const texts = await clip.embedTexts(LABELS.map((l) => `a photo of a ${l}`));
    const top = (await clip.zeroShot(paths, LABELS, { template: 'a photo of a {}' })).map((s) => s[0]!.label);
    const vlm = await tinyVlm();
    const answers = new Map<string, string>();
    for (const f of VLM_FILES)
      for (const q of QUESTIONS)
        answers.set(key(f, q), await vlm.ask(join(ROOT, 'models/samples', f), q).text());
    const conversation = vlm.conversation();
    const c1 = await conversation.send('What shape is this?', { images: [paths[0]!] }).text();
    const c2 = await conversation.send('What color is the shape?').text();
    node = { images, texts, top, answers, conversation: [c1, c2] };
    [gpuPage, plainPage] = await Promise.all([harness(gpuBrowser), harness(plainBrowser)]);
  }, 180_000);

  afterAll(async () => {
    await Promise.all([gpuBrowser?.close(), plainBrowser?.close()]);
    await server?.close();
    await disposeModels();
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('WASM: CLIP embeddings within 1e-4 of Node, the same labels, from every kind of browser image', async () => {
    const page = gpuPage;
    const r = await run(page, 'clip', {
      platform: 'wasm',
      images: urls(FILES),
      labels: LABELS,
      inputKinds: `/samples/${FILES[0]}`,
      // Node's reference runs fp32; WASM's default is q8 (a quarter of the download).
      config: { precision: 'fp32' },
    });
    expect(r.platform).toBe('wasm');
    expect(r.providers).toEqual({ text_model: ['wasm'], vision_model: ['wasm'] });
    const imageDiff = worst(r.imageEmbeds, node.images);
    const textDiff = worst(r.textEmbeds, node.texts);
    console.log(
      `WASM vs Node: image embeddings max |diff| ${imageDiff.toExponential(2)}, text ${textDiff.toExponential(2)}`,
    );
    expect(imageDiff).toBeLessThanOrEqual(1e-4);
    expect(textDiff).toBeLessThanOrEqual(1e-4);
    expect(r.top).toEqual(node.top);
    expect(r.top).toEqual(SAMPLES.images.map((i) => `${i.color} ${i.shape}`));
    const kinds = Object.entries(r.kinds as Record<string, number[] | string>);
    expect(kinds.map(([k]) => k)).toEqual([
      'URL string',
      'URL object',
      'data: URL',
      'Uint8Array',
      'ArrayBuffer',
      'Blob',
      'File',
      'ImageBitmap',
      'ImageData',
      'HTMLImageElement',
      'HTMLCanvasElement',
    ]);
    for (const [kind, embed] of kinds) {
      expect(typeof embed, `${kind}: ${embed}`).not.toBe('string');
      expect(maxAbsDiff(embed as number[], node.images[0]!), kind).toBeLessThanOrEqual(1e-4);
    }
  }, 120_000);

  it('WASM: the VLM gives the same answers as Node, and a conversation reuses its cache', async () => {
    const page = gpuPage;
    const asks = VLM_FILES.flatMap((f) => QUESTIONS.map((q) => ({ image: `/samples/${f}`, question: q })));
    const r = await run(page, 'vlm', {
      platform: 'wasm',
      asks,
      conversationImage: `/samples/${FILES[0]}`,
      config: { precision: 'fp32' },
    });
    expect(r.platform).toBe('wasm');
    expect(r.answers).toEqual(asks.map((a) => node.answers.get(key(a.image.slice(9), a.question))));
    expect(r.conversation).toEqual(node.conversation);
  }, 120_000);

  it('WebGPU (SwiftShader): same labels and answers as Node; the KV cache stays on the GPU', async () => {
    const page = gpuPage;
    const c = await run(page, 'clip', {
      platform: 'webgpu',
      images: urls(GPU_FILES),
      labels: LABELS,
      // SwiftShader compiles every new graph slowly: the labels come from the embeddings here
      // (zero-shot itself, and its combined graph, are checked on WASM).
      zeroShot: false,
      config: { shaderPrecompile: false, batchSize: GPU_FILES.length, precision: 'fp32' },
    });
    expect(c.platform).toBe('webgpu');
    expect(c.providers).toEqual({ text_model: ['webgpu'], vision_model: ['webgpu'] });
    const imageDiff = worst(c.imageEmbeds, node.images.slice(0, GPU_FILES.length));
    const textDiff = worst(c.textEmbeds, node.texts);
    console.log(
      `WebGPU vs Node: image embeddings max |diff| ${imageDiff.toExponential(2)}, text ${textDiff.toExponential(2)}`,
    );
    expect(imageDiff).toBeLessThan(1e-3);
    expect(textDiff).toBeLessThan(1e-3);
    const best = (image: number[]) =>
      LABELS[
        c.textEmbeds.reduce(
          (b: number, t: number[], i: number) => (dot(image, t) > dot(image, c.textEmbeds[b]) ? i : b),
          0,
        )
      ];
    expect(c.imageEmbeds.map(best)).toEqual(node.top.slice(0, GPU_FILES.length));
    // One two-turn conversation: generation with the cache on the GPU, then a second turn that
    // reads it back to reuse its prefix.
    const v = await run(page, 'vlm', {
      platform: 'webgpu',
      asks: [],
      conversationImage: `/samples/${FILES[0]}`,
      config: { shaderPrecompile: false, precision: 'fp32' },
    });
    expect(v.platform).toBe('webgpu');
    expect(v.providers.decoder_model_merged).toEqual(['webgpu']);
    expect(v.gpuOutputs).toEqual(['present.0.key', 'present.0.value', 'present.1.key', 'present.1.value']);
    expect(v.conversation).toEqual(node.conversation);
  }, 180_000);

  it('WebNN: used where the browser can create an MLContext, and said why not where it cannot', async () => {
    const page = gpuPage;
    const caps = await run(page, 'detect');
    const webnn = caps.providers.find((p: { name: string }) => p.name === 'webnn');
    if (!webnn.usable) {
      // Chromium on Linux exposes navigator.ml behind the flag but has no WebNN backend there.
      expect(webnn.reason).toMatch(/createContext failed for every device type/);
      const r = await run(page, 'plan', { model: '/models/shapes-clip/' });
      expect(r).toEqual({ platform: 'webgpu', candidates: ['webgpu', 'wasm'] });
      console.log(`WebNN not available in this Chromium: ${webnn.reason}`);
    } else {
      const r = await run(page, 'clip', { platform: 'webnn', images: urls(FILES), labels: LABELS });
      expect(r.platform).toBe('webnn');
      const diff = worst(r.imageEmbeds, node.images);
      console.log(`WebNN vs Node: image embeddings max |diff| ${diff.toExponential(2)}`);
      expect(r.top).toEqual(node.top);
    }
  }, 120_000);

  it('falls back WebGPU -> WebNN -> WASM when WebGPU is absent, and says so', async () => {
    const page = plainPage;
    const caps = await run(page, 'detect');
    expect(caps.web.webgpu).toBe(false);
    const r = await run(page, 'clip', {
      platform: 'auto',
      candidates: ['webgpu', 'webnn', 'wasm'],
      host: 'memory',
      images: urls(FILES.slice(0, 3)),
      labels: LABELS,
    });
    expect(r.platform).toBe('wasm');
    expect(r.fallbacks.map((f: { from: string; to: string }) => `${f.from}->${f.to}`)).toEqual([
      'webgpu->webnn',
      'webnn->wasm',
    ]);
    expect(r.fallbacks[0].code).toBe('PROVIDER_UNAVAILABLE');
    expect(r.top).toEqual(node.top.slice(0, 3));
  }, 120_000);

  it('moves a component to the next platform when its first run returns NaN', async () => {
    const page = gpuPage;
    const r = await run(page, 'clip', {
      platform: 'auto',
      candidates: ['webgpu', 'wasm'],
      host: 'nan',
      images: urls(FILES.slice(0, 3)),
      labels: LABELS,
      config: { precision: 'fp32' },
    });
    expect(r.fallbacks[0]).toMatchObject({ from: 'webgpu', to: 'wasm', code: 'SESSION_OUTPUT_INVALID' });
    expect(r.platform).toBe('wasm');
    expect(r.providers).toEqual({ text_model: ['wasm'], vision_model: ['wasm'] });
    // Both towers follow the move at the precision asked (none is swapped for another variant).
    // The towers warm up concurrently, so the order of their warnings is not part of the contract.
    const moves = r.warnings.filter((w: string) => /now runs/.test(w)).sort();
    expect(moves).toEqual([
      expect.stringMatching(/"text_model" .* now runs fp32, onnx\/text_model\.onnx on wasm/),
      expect.stringMatching(/"vision_model" .* now runs fp32, onnx\/vision_model\.onnx on wasm/),
    ]);
    expect(worst(r.imageEmbeds, node.images.slice(0, 3))).toBeLessThanOrEqual(1e-4);
    expect(r.top).toEqual(node.top.slice(0, 3));
  }, 120_000);

  it('loads a second visit from the Cache API with the network to models and runtime cut off', async () => {
    // The first visit: the page the WASM tests used (they stored the files), run once more here.
    const context = plainPage.context();
    const a = await run(plainPage, 'clip', { platform: 'wasm', images: urls(FILES.slice(0, 1)) });
    const second = await context.newPage();
    const blocked: string[] = [];
    await second.route(/\/(models|ort)\//, (route) => {
      blocked.push(new URL(route.request().url()).pathname);
      return route.abort('internetdisconnected');
    });
    await second.goto(`${server.url}harness.html`);
    const b = await run(second, 'clip', { platform: 'wasm', images: urls(FILES.slice(0, 1)) });
    // Only the listing was asked for (network first, then the copy from the last visit).
    expect(blocked).toEqual(['/models/shapes-clip/mmrt-listing.json']);
    expect(maxAbsDiff(b.imageEmbeds[0], a.imageEmbeds[0])).toBe(0);
    console.log(
      `CLIP on WASM: first visit loaded in ${Math.round(a.loadMs)} ms, cached visit in ${Math.round(b.loadMs)} ms`,
    );
    const stores = await run(second, 'stores');
    expect(stores).toEqual({
      cache: { a: [1, 2, 3], b: [4], afterDelete: null },
      opfs: { a: [1, 2, 3], b: [4], afterDelete: null },
    });
    await second.close();
  }, 120_000);

  it('runs the whole runtime in a worker: progress, classify, streamed tokens, abort, a responsive page', async () => {
    const page = plainPage;
    const r = await run(page, 'inWorker', { image: `/samples/${FILES[0]}`, labels: LABELS });
    expect(r.top).toBe(node.top[0]);
    expect(r.components.slice(0, 2)).toEqual([
      ['text_model', 'wasm'],
      ['vision_model', 'wasm'],
    ]);
    const done = r.progress
      .filter((p: { phase: string }) => p.phase === 'ready')
      .map((p: { component: string }) => p.component);
    expect(done.sort()).toEqual(['text_model', 'vision_model']);
    expect(r.deltas.length).toBeGreaterThan(1);
    expect(r.deltas.join('')).toBe(r.answer);
    expect(r.answer).toBe(node.answers.get(key(FILES[0]!, 'Describe the image.')));
    expect(r.aborted).toBe('ABORTED');
    console.log(
      `worker: the page's 10 ms timer waited at most ${Math.round(r.worstGapMs)} ms while the worker loaded and ran`,
    );
    expect(r.worstGapMs).toBeLessThan(1000);
  }, 120_000);

  it('the demo: a dropped image gets its label and a streamed answer; WebGPU absent is said', async () => {
    const page = await plainBrowser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 90_000 });
    expect(await page.textContent('#fallback')).toMatch(/WebGPU is not available here .*WebAssembly/);
    const badges = await page.$$eval('.badge', (bs) => bs.map((b) => `${b.textContent}`));
    // WASM's default precision is q8 (the shipped models carry q8 variants).
    expect(badges).toContain('clip · vision_model (q8)wasm');
    expect(badges).toContain('llava · decoder_model_merged (q8)wasm');
    const bars = await page.$$eval('.bar progress', (ps) => ps.map((p) => (p as HTMLProgressElement).value));
    expect(bars.length).toBe(6);
    expect(bars.every((v) => v === 100)).toBe(true);
    const file = FILES[3]!;
    const bytes = await readFile(join(ROOT, 'models/samples', file));
    const dataTransfer = await page.evaluateHandle(
      ([b64, name]) => {
        const bin = atob(b64!);
        const u8 = Uint8Array.from(bin, (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([u8], name!, { type: name!.endsWith('.jpg') ? 'image/jpeg' : 'image/png' }));
        return dt;
      },
      [bytes.toString('base64'), file] as const,
    );
    await page.dispatchEvent('#drop', 'drop', { dataTransfer });
    await page.waitForSelector('body[data-answers="1"]', { timeout: 60_000 });
    const label = await page.textContent('#label');
    const answer = await page.textContent('#answer');
    const expected = SAMPLES.images[3]!;
    expect(label).toBe(`${expected.color} ${expected.shape}`);
    expect(answer).toBe(node.answers.get(key(file, 'Describe the image.')));
    // Streamed: the answer reached the page in pieces, not at once.
    expect(
      await page.evaluate(() => (globalThis as unknown as { mmrtDemo: { deltas: number } }).mmrtDemo.deltas),
    ).toBeGreaterThan(1);
    await mkdir(join(ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  }, 120_000);
});
