/**
 * The browser tests' page (and the web benchmark's): `mmrt/web` loaded from the source, with
 * a few scripted tasks on `window.mmrtTest` that return plain data for Node to compare with
 * its own answers. `nanOnWebgpu` wraps the real onnxruntime-web so that WebGPU sessions return
 * NaN from their runs: the provider that fails at run time, for the fallback test.
 */
import * as ortWeb from 'onnxruntime-web';
import type { OrtModule } from '../../src/host/host.js';
import * as mmrt from '../../src/web/index.js';

type Platform = mmrt.PlatformName | 'auto';

function nanOnWebgpu(): OrtModule {
  const base = ortWeb as unknown as OrtModule;
  return {
    ...base,
    InferenceSession: {
      async create(model, options) {
        const session = await base.InferenceSession.create(model, options);
        const eps = (options?.executionProviders ?? []).map((p) => (typeof p === 'string' ? p : p.name));
        if (!eps.includes('webgpu')) return session;
        return new Proxy(session, {
          get(target, key) {
            if (key === 'run') {
              // Outputs shaped from the session's metadata (symbolic dims 1), every float NaN:
              // what a provider that computes the model wrongly hands back.
              return async () => {
                const meta = (
                  target as unknown as {
                    outputMetadata: Array<{ name: string; type: string; shape: Array<number | string> }>;
                  }
                ).outputMetadata;
                const bad: Record<string, unknown> = {};
                for (const m of meta) {
                  const dims = m.shape.map((d) => (typeof d === 'number' ? d : 1));
                  bad[m.name] = new ortWeb.Tensor(
                    'float32',
                    new Float32Array(dims.reduce((x, y) => x * y, 1)).fill(Number.NaN),
                    dims,
                  );
                }
                return bad;
              };
            }
            const v = Reflect.get(target, key, target);
            return typeof v === 'function' ? v.bind(target) : v;
          },
        });
      },
    },
  };
}

const hosts: Record<string, mmrt.WebHostOptions> = {
  cache: { ortPath: '/ort/' },
  memory: { ortPath: '/ort/', storage: 'memory' },
  nan: { ortPath: '/ort/', storage: 'memory', ort: nanOnWebgpu() },
};

export interface ClipTask {
  readonly platform?: Platform;
  readonly candidates?: mmrt.PlatformName[];
  readonly config?: Record<string, unknown>;
  readonly host?: keyof typeof hosts;
  readonly images?: readonly string[];
  readonly labels?: readonly string[];
  /** Embed one image given as every kind of browser input. */
  readonly inputKinds?: string;
  /** Run zero-shot too (default true; it also opens the combined graph for the logit scale). */
  readonly zeroShot?: boolean;
}

async function inputsOf(url: string): Promise<Record<string, mmrt.ImageInput>> {
  const blob = await (await fetch(url)).blob();
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const bitmap = await createImageBitmap(blob);
  const img = new Image();
  img.src = url;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, 0, 0);
  const imageData = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const reader = new FileReader();
  const dataUrl = await new Promise<string>((ok) => {
    reader.onload = () => ok(reader.result as string);
    reader.readAsDataURL(blob);
  });
  return {
    'URL string': url,
    'URL object': new URL(url, location.href),
    'data: URL': dataUrl,
    Uint8Array: bytes,
    ArrayBuffer: bytes.slice().buffer,
    Blob: blob,
    File: new File([blob], 'x.png', { type: blob.type }),
    ImageBitmap: bitmap,
    ImageData: imageData,
    HTMLImageElement: img,
    HTMLCanvasElement: canvas,
  };
}

async function clip(task: ClipTask) {
  const t0 = performance.now();
  const model = await mmrt.loadClip({
    model: '/models/shapes-clip/',
    platform: task.platform ?? 'auto',
    ...(task.candidates && { candidates: task.candidates }),
    config: task.config ?? {},
    host: hosts[task.host ?? 'cache'],
    loading: { preload: true },
  });
  const loadMs = performance.now() - t0;
  try {
    const images = task.images ?? [];
    const t1 = performance.now();
    const first = images.length > 0 ? await model.embedImages([images[0]!]) : [];
    const firstInferenceMs = performance.now() - t1;
    const imageEmbeds = images.length > 0 ? await model.embedImages(images) : [];
    const textEmbeds = task.labels ? await model.embedTexts(task.labels.map((l) => `a photo of a ${l}`)) : [];
    const top =
      task.labels && images.length > 0 && task.zeroShot !== false
        ? (await model.zeroShot(images, task.labels, { template: 'a photo of a {}' })).map((s) => s[0]!.label)
        : [];
    const kinds: Record<string, number[] | string> = {};
    if (task.inputKinds) {
      for (const [kind, input] of Object.entries(await inputsOf(task.inputKinds))) {
        try {
          kinds[kind] = Array.from((await model.embedImages([input]))[0]!);
        } catch (e) {
          kinds[kind] = `${(e as { code?: string }).code}: ${(e as Error).message}`;
        }
      }
    }
    const placement = model.loader.placement!;
    return {
      platform: placement.platform,
      fallbacks: placement.fallbacks.map((f) => ({
        from: f.from,
        to: f.to,
        code: f.code,
        component: f.component,
      })),
      providers: Object.fromEntries(
        ['text_model', 'vision_model'].map((c) => [c, model.loader.readySession(c)?.providers ?? []]),
      ),
      imageEmbeds: imageEmbeds.map((e) => Array.from(e)),
      textEmbeds: textEmbeds.map((e) => Array.from(e)),
      firstEmbed: first.map((e) => Array.from(e)),
      top,
      kinds,
      loadMs,
      firstInferenceMs,
      timings: model.loader.timings(),
      warnings: model.loader.warnings,
    };
  } finally {
    await model.dispose();
  }
}

export interface VlmTask {
  readonly platform?: Platform;
  readonly config?: Record<string, unknown>;
  readonly host?: keyof typeof hosts;
  readonly asks: ReadonlyArray<{ image: string; question: string }>;
  /** Two turns about this image ("What shape is this?", then "What color is the shape?"). */
  readonly conversationImage?: string;
}

async function vlm(task: VlmTask) {
  const t0 = performance.now();
  const model = await mmrt.loadLlava({
    model: '/models/shapes-vlm/',
    platform: task.platform ?? 'auto',
    config: task.config ?? {},
    host: hosts[task.host ?? 'cache'],
    loading: { preload: true },
  });
  const loadMs = performance.now() - t0;
  try {
    const answers: string[] = [];
    let firstInferenceMs = 0;
    for (const a of task.asks) {
      const t1 = performance.now();
      answers.push(await model.ask(a.image, a.question).text());
      if (answers.length === 1) firstInferenceMs = performance.now() - t1;
    }
    const turns: string[] = [];
    if (task.conversationImage) {
      const conversation = model.conversation();
      turns.push(await conversation.send('What shape is this?', { images: [task.conversationImage] }).text());
      turns.push(await conversation.send('What color is the shape?').text());
      conversation.reset();
    }
    const placement = model.loader.placement!;
    const decoder = placement.plan.components.find((c) => c.name === 'decoder_model_merged')!;
    return {
      platform: placement.platform,
      providers: Object.fromEntries(
        placement.plan.components.map((c) => [c.name, model.loader.readySession(c.name)?.providers ?? []]),
      ),
      gpuOutputs: Object.keys(decoder.session.preferredOutputLocation ?? {}),
      answers,
      conversation: turns,
      loadMs,
      firstInferenceMs,
      timings: model.loader.timings(),
    };
  } finally {
    await model.dispose();
  }
}

/** The runtime in a dedicated worker: a load with progress, classify, a streamed answer, and how long the page's own timer was kept waiting meanwhile. */
async function inWorker(task: { image: string; labels: string[]; platform?: Platform }) {
  let last = performance.now();
  let worstGapMs = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    worstGapMs = Math.max(worstGapMs, now - last);
    last = now;
  }, 10);
  try {
    const runtime = await mmrt.createMmrtWorker({ worker: '/mmrt-worker.js', host: { ortPath: '/ort/' } });
    const progress: Array<{ component: string; percent: number; phase: string }> = [];
    const clip = await runtime.load(
      { model: '/models/shapes-clip/', kind: 'clip', platform: task.platform ?? 'wasm', preload: true },
      { onProgress: (p) => progress.push({ component: p.component, percent: p.percent, phase: p.phase }) },
    );
    const blob = await (await fetch(task.image)).blob();
    const [scores] = await clip.classify([blob], task.labels, { template: 'a photo of a {}' });
    const vlm = await runtime.load({
      model: '/models/shapes-vlm/',
      kind: 'llava',
      platform: task.platform ?? 'wasm',
    });
    const stream = vlm.ask({ image: await createImageBitmap(blob), question: 'Describe the image.' });
    const deltas: string[] = [];
    for await (const d of stream) deltas.push(d);
    const controller = new AbortController();
    const long = vlm.ask(
      { image: blob, question: 'Describe the image.' },
      { signal: controller.signal, generation: { maxNewTokens: 100, minNewTokens: 100 } },
    );
    setTimeout(() => controller.abort(), 0);
    const aborted = await long.result.then(
      () => 'finished',
      (e: { code?: string }) => e.code ?? 'error',
    );
    await clip.dispose();
    await vlm.dispose();
    await runtime.close();
    return {
      top: scores![0]!.label,
      components: clip.info.components.map((c) => [c.name, c.providers.join(',')]),
      progress,
      deltas,
      answer: (await stream.result).text,
      aborted,
      worstGapMs,
    };
  } finally {
    clearInterval(ticker);
  }
}

async function detect() {
  return mmrt.webHost({ ortPath: '/ort/', storage: 'memory' }).detect();
}

/**
 * Start onnxruntime-web (fetch or read its 28 MB binary, compile it, start its threads) and
 * the provider, on a 170-byte probe graph: what any first model load on a page pays once.
 */
async function runtime(task: { platform: 'wasm' | 'webgpu' | 'webnn' }) {
  const t0 = performance.now();
  const host = mmrt.webHost(hosts.cache);
  const threads = globalThis.crossOriginIsolated ? navigator.hardwareConcurrency : 1;
  await host.runtime.prepare({ wasm: { numThreads: threads, simd: true } });
  const probe = await mmrt.probeProvider(host.ort, task.platform, true);
  return { ms: performance.now() - t0, usable: probe.usable, reason: probe.reason };
}

/** The plan `auto` makes here, without loading anything. */
async function plan(task: { model: string }) {
  const placement = await mmrt.createPlacement({ model: task.model, host: hosts.memory });
  return { platform: placement.platform, candidates: placement.plan.candidates.map((c) => c.platform) };
}

/** The two stores behave as a store should: values come back, deletes hold, keys stay apart. */
async function stores() {
  const out: Record<string, unknown> = {};
  for (const [name, store] of [
    ['cache', mmrt.cacheStore('mmrt-test')],
    ['opfs', mmrt.opfsStore('mmrt-test')],
  ] as const) {
    await store.put('a', new Uint8Array([1, 2, 3]));
    await store.put('b/c?d', new Uint8Array([4]));
    const a = await store.get('a');
    const b = await store.get('b/c?d');
    await store.delete('a');
    out[name] = { a: a && Array.from(a), b: b && Array.from(b), afterDelete: (await store.get('a')) ?? null };
  }
  return out;
}

(globalThis as Record<string, unknown>).mmrtTest = { clip, vlm, inWorker, detect, plan, stores, runtime };
(globalThis as Record<string, unknown>).mmrt = mmrt;
document.body.dataset.ready = 'true';
