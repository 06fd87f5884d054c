/**
 * CLIP workloads (random-weight ViT-B/32, models-bench/clip-vit-b32): zero-shot streams, image
 * and text embeddings, 12-megapixel photos, initialisation. mmrt runs through `loadClip` with
 * its CPU plan; the peer through @huggingface/transformers's own pipeline or model classes on
 * the same folder, at its defaults and at mmrt's thread count.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { peerLibrary, peerOptions, sessionClock, type PeerThreads } from '../suite/peer.js';
import type { ChildContext, Comparison, Measured, NodeContender, Workload } from '../suite/types.js';
import { roofNow } from './roof.js';
import {
  LABELS,
  PEER_THREADS,
  loadMmrtClip,
  peerThreads,
  template,
  textFlops,
  visionFlops,
} from './common.js';

const ms = (key = 'ms', label = 'ms per image') => ({ key, label, unit: 'ms', better: 'lower' }) as const;

const vsPeer = (metric = 'ms', mmrt = 'mmrt'): Comparison[] => [
  { mmrt, other: 'peer-default', metric, label: 'vs transformers.js defaults' },
  { mmrt, other: 'peer-equal', metric, label: 'vs transformers.js at equal threads' },
];

const peerLabel = (t: PeerThreads | 'equal') =>
  t === 'default' ? 'transformers.js (defaults)' : 'transformers.js (equal threads)';

/** mmrt and the two peer settings, from one measurement function each. */
function contenders(
  mmrt: (ctx: ChildContext) => Promise<Measured>,
  peer: (ctx: ChildContext, threads: PeerThreads) => Promise<Measured>,
): Record<string, NodeContender> {
  const out: Record<string, NodeContender> = { mmrt: { label: 'mmrt', side: 'mmrt', measure: mmrt } };
  for (const [key, t] of Object.entries(PEER_THREADS)) {
    out[key] = { label: peerLabel(t), side: 'peer', measure: (ctx) => peer(ctx, peerThreads(ctx, t)) };
  }
  return out;
}

/** Runs `warmup` untimed then `iterations` timed calls of `step(i)`, each giving ms per item. */
async function iterate(
  ctx: ChildContext,
  step: (iteration: number, timed: boolean) => Promise<number>,
): Promise<number[]> {
  for (let w = 0; w < ctx.warmup; w++) await step(1000 + w, false);
  const out: number[] = [];
  for (let i = 0; i < ctx.iterations; i++) out.push(await step(i, true));
  return out;
}

// ---------------------------------------------------------------------------- zero-shot

function zeroShot(perCall: number, streamLength: number) {
  const images = (ctx: ChildContext) => ctx.fixtures.jpeg640.slice(0, streamLength);
  const calls = (files: readonly string[]) =>
    Array.from({ length: Math.ceil(files.length / perCall) }, (_, i) =>
      files.slice(i * perCall, (i + 1) * perCall),
    );
  return contenders(
    async (ctx) => {
      const clip = await loadMmrtClip(ctx);
      const files = images(ctx);
      const samples = await iterate(ctx, async (i, timed) => {
        // Warm-up calls use their own labels, so a timed iteration's first call pays for its own.
        const labels = timed ? LABELS : LABELS.map((l) => `${l} warm`);
        const work = timed ? files : files.slice(0, perCall);
        const t0 = performance.now();
        for (const batch of calls(work)) await clip.zeroShot(batch, labels, { template: template(i) });
        return (performance.now() - t0) / work.length;
      });
      const timings = { ...clip.timings };
      await clip.dispose();
      return { samples: { ms: samples }, details: { timings } };
    },
    async (ctx, threads) => {
      const { tf, id } = await peerLibrary(ctx.fixtures.clipModel);
      const classifier = await tf.pipeline('zero-shot-image-classification', id, peerOptions(threads));
      const files = images(ctx);
      const samples = await iterate(ctx, async (i, timed) => {
        const labels = timed ? LABELS : LABELS.map((l) => `${l} warm`);
        const work = timed ? files : files.slice(0, perCall);
        const t0 = performance.now();
        for (const batch of calls(work)) {
          await classifier(perCall === 1 ? batch[0]! : [...batch], labels, {
            hypothesis_template: template(i),
          });
        }
        return (performance.now() - t0) / work.length;
      });
      await classifier.dispose();
      return { samples: { ms: samples } };
    },
  );
}

// ---------------------------------------------------------------------------- image embeddings

interface EmbedSetup {
  readonly files: (ctx: ChildContext) => readonly string[];
  readonly perCall: number;
}

function imageEmbeddings({ files, perCall }: EmbedSetup, mmrtOptions: Record<string, unknown> = {}) {
  const calls = (all: readonly string[]) =>
    Array.from({ length: Math.ceil(all.length / perCall) }, (_, i) =>
      all.slice(i * perCall, (i + 1) * perCall),
    );
  const mmrt = async (ctx: ChildContext): Promise<Measured> => {
    const clip = await loadMmrtClip(ctx, mmrtOptions, false);
    const all = files(ctx);
    const cores: number[] = [];
    let encoderMs = 0;
    let encoded = 0;
    const samples = await iterate(ctx, async (_i, timed) => {
      const work = timed ? all : all.slice(0, perCall);
      const before = clip.timings.visionMs;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (const batch of calls(work)) await clip.embedImages(batch);
      const wall = performance.now() - t0;
      if (timed) {
        const cpu = process.cpuUsage(c0);
        cores.push((cpu.user + cpu.system) / 1000 / wall);
        encoderMs += clip.timings.visionMs - before;
        encoded += work.length;
      }
      return wall / work.length;
    });
    const timings = { ...clip.timings };
    await clip.dispose();
    return {
      samples: { ms: samples, cores },
      details: {
        timings,
        encoderMsPerImage: encoderMs / encoded,
        flopsPerImage: visionFlops(ctx.fixtures.clipModel),
        roofGflops: await roofNow(ctx.threads),
      },
    };
  };
  const peer = async (ctx: ChildContext, threads: PeerThreads): Promise<Measured> => {
    const { tf, id } = await peerLibrary(ctx.fixtures.clipModel);
    const processor = await tf.AutoProcessor.from_pretrained(id);
    const model = await tf.CLIPVisionModelWithProjection.from_pretrained(id, peerOptions(threads));
    const clock = sessionClock(model as never);
    const all = files(ctx);
    const cores: number[] = [];
    let encoderMs = 0;
    let encoded = 0;
    const samples = await iterate(ctx, async (_i, timed) => {
      const work = timed ? all : all.slice(0, perCall);
      const before = clock.ms;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (const batch of calls(work)) {
        const images = await Promise.all(batch.map((f) => tf.RawImage.read(f)));
        const inputs = await processor(images);
        const { image_embeds } = await model(inputs);
        image_embeds.normalize(2, -1); // unit length, as mmrt returns by default
      }
      const wall = performance.now() - t0;
      if (timed) {
        const cpu = process.cpuUsage(c0);
        cores.push((cpu.user + cpu.system) / 1000 / wall);
        encoderMs += clock.ms - before;
        encoded += work.length;
      }
      return wall / work.length;
    });
    await model.dispose();
    return {
      samples: { ms: samples, cores },
      details: {
        encoderMsPerImage: encoderMs / encoded,
        flopsPerImage: visionFlops(ctx.fixtures.clipModel),
        roofGflops: await roofNow(ctx.threads),
      },
    };
  };
  return { mmrt, peer };
}

const CORES = { key: 'cores', label: 'cores busy', unit: 'cores', better: 'higher' } as const;

function embedWorkload(name: string, title: string, description: string, setup: EmbedSetup): Workload {
  const { mmrt, peer } = imageEmbeddings(setup);
  return {
    name,
    title,
    description,
    metrics: [ms(), CORES],
    contenders: contenders(mmrt, peer),
    comparisons: vsPeer(),
    warmup: 1,
    iterations: 2,
  };
}

// ---------------------------------------------------------------------------- 12 MP photos

const twelve = (ctx: ChildContext) => ctx.fixtures.jpeg12mp;

function photoContenders(): Record<string, NodeContender> {
  const exact = imageEmbeddings({ files: twelve, perCall: 1 }, { images: { resampleMode: 'exact' } });
  const fast = imageEmbeddings({ files: twelve, perCall: 1 }, { images: { resampleMode: 'fast' } });
  return {
    'mmrt-exact': { label: 'mmrt exact (Pillow-identical)', side: 'mmrt', measure: exact.mmrt },
    'mmrt-fast': { label: 'mmrt fast (shrink on load)', side: 'mmrt', measure: fast.mmrt },
    ...Object.fromEntries(
      Object.entries(PEER_THREADS).map(([key, t]) => [
        key,
        {
          label: peerLabel(t),
          side: 'peer',
          measure: (ctx: ChildContext) => exact.peer(ctx, peerThreads(ctx, t)),
        } satisfies NodeContender,
      ]),
    ),
  };
}

/** Decode + resize + normalise alone, against Pillow's own decode + resize of the same files. */
function preprocessContenders(): Workload['contenders'] {
  const mmrt =
    (mode: 'exact' | 'fast') =>
    async (ctx: ChildContext): Promise<Measured> => {
      const { decodeImage } = await import('../../src/node/media/decode.js');
      const { ImageProcessor } = await import('../../src/media/processor.js');
      const { imageDecoder } = await import('../../src/media/input.js');
      const cfg = JSON.parse(readFileSync(join(ctx.fixtures.clipModel, 'preprocessor_config.json'), 'utf8'));
      const processor = ImageProcessor.fromConfig(cfg, { resampleMode: mode });
      const decode = imageDecoder({ decodeImage }, {}, processor.decodeHint());
      const files = twelve(ctx);
      const decodeMs: number[] = [];
      const resizeMs: number[] = [];
      const cpuMs: number[] = [];
      const samples = await iterate(ctx, async (_i, timed) => {
        let d = 0;
        let r = 0;
        const c0 = process.cpuUsage();
        for (const f of files) {
          const t0 = performance.now();
          const rgb = await decode(f);
          const t1 = performance.now();
          processor.preprocess(rgb);
          const t2 = performance.now();
          d += t1 - t0;
          r += t2 - t1;
        }
        if (timed) {
          const c = process.cpuUsage(c0);
          cpuMs.push((c.user + c.system) / 1000 / files.length);
          decodeMs.push(d / files.length);
          resizeMs.push(r / files.length);
        }
        return (d + r) / files.length;
      });
      return { samples: { ms: samples, cpu: cpuMs, decodeMs, resizeMs } };
    };
  return {
    'mmrt-exact': { label: 'mmrt exact (Pillow-identical)', side: 'mmrt', measure: mmrt('exact') },
    'mmrt-fast': { label: 'mmrt fast (shrink on load)', side: 'mmrt', measure: mmrt('fast') },
    peer: {
      label: 'transformers.js',
      side: 'peer',
      measure: async (ctx) => {
        const { tf, id } = await peerLibrary(ctx.fixtures.clipModel);
        const processor = await tf.AutoProcessor.from_pretrained(id);
        const files = twelve(ctx);
        const cpu: number[] = [];
        const samples = await iterate(ctx, async (_i, timed) => {
          const c0 = process.cpuUsage();
          const t0 = performance.now();
          for (const f of files) await processor(await tf.RawImage.read(f));
          const c = process.cpuUsage(c0);
          if (timed) cpu.push((c.user + c.system) / 1000 / files.length);
          return (performance.now() - t0) / files.length;
        });
        return { samples: { ms: samples, cpu } };
      },
    },
    pillow: {
      label: 'Pillow (Python) decode + resize',
      side: 'anchor',
      python: {
        script: 'bench/suite/pillow.py',
        args: (ctx) => [
          '--warmup',
          String(ctx.warmup),
          '--iterations',
          String(ctx.iterations),
          '--shortest-edge',
          '224',
          ...twelve(ctx),
        ],
      },
    },
  };
}

// ---------------------------------------------------------------------------- text

const TEXTS_PER_CALL = 64;
const textBatch = (i: number) =>
  Array.from(
    { length: TEXTS_PER_CALL },
    (_, j) => `${template(i).replace('{}', LABELS[j % 10]!)} number ${j}`,
  );

const textContenders = contenders(
  async (ctx) => {
    // No text cache: every iteration's texts are new anyway, and nothing is served from memory.
    const clip = await loadMmrtClip(ctx, { clip: { textCacheBytes: 0 } }, false);
    const samples = await iterate(ctx, async (i) => {
      const t0 = performance.now();
      await clip.embedTexts(textBatch(i));
      return (performance.now() - t0) / TEXTS_PER_CALL;
    });
    const tokens = clip.tokenizer.encodeBatch(textBatch(0)).dims[1];
    await clip.dispose();
    return {
      samples: { ms: samples },
      details: { tokens, flopsPerText: textFlops(ctx.fixtures.clipModel, tokens) },
    };
  },
  async (ctx, threads) => {
    const { tf, id } = await peerLibrary(ctx.fixtures.clipModel);
    const tokenizer = await tf.AutoTokenizer.from_pretrained(id);
    const model = await tf.CLIPTextModelWithProjection.from_pretrained(id, peerOptions(threads));
    const samples = await iterate(ctx, async (i) => {
      const t0 = performance.now();
      const inputs = tokenizer(textBatch(i), { padding: true, truncation: true });
      const { text_embeds } = await model(inputs);
      text_embeds.normalize(2, -1);
      return (performance.now() - t0) / TEXTS_PER_CALL;
    });
    await model.dispose();
    return { samples: { ms: samples } };
  },
);

// ---------------------------------------------------------------------------- initialisation

/** Until the model can answer a zero-shot call: mmrt loads both towers and its logit scale. */
async function mmrtInit(ctx: ChildContext, cacheDir: string): Promise<number> {
  const t0 = performance.now();
  const clip = await loadMmrtClip({ ...ctx, cacheDir });
  await clip.logitScale();
  const t = performance.now() - t0;
  await clip.dispose();
  return t;
}

const initContenders: Record<string, NodeContender> = {
  'mmrt-first': {
    label: 'mmrt first-ever start (empty cache)',
    side: 'mmrt',
    measure: async (ctx) => ({ samples: { ms: [await mmrtInit(ctx, join(ctx.scratch, 'fresh-cache'))] } }),
  },
  'mmrt-cold': {
    label: 'mmrt cold (new process)',
    side: 'mmrt',
    // The suite's shared cache holds the logit scale from an earlier start (see `prime`).
    measure: async (ctx) => ({ samples: { ms: [await mmrtInit(ctx, ctx.cacheDir)] } }),
  },
  'mmrt-warm': {
    label: 'mmrt warm (loaded before in this process)',
    side: 'mmrt',
    measure: async (ctx) => {
      await mmrtInit(ctx, ctx.cacheDir);
      const samples: number[] = [];
      for (let i = 0; i < ctx.iterations; i++) samples.push(await mmrtInit(ctx, ctx.cacheDir));
      return { samples: { ms: samples } };
    },
  },
  'peer-cold': {
    label: 'transformers.js cold (new process)',
    side: 'peer',
    measure: async (ctx) => {
      const t0 = performance.now();
      const { tf, id } = await peerLibrary(ctx.fixtures.clipModel);
      const p = await tf.pipeline('zero-shot-image-classification', id, peerOptions('default'));
      const t = performance.now() - t0;
      await p.dispose();
      return { samples: { ms: [t] } };
    },
  },
  'peer-warm': {
    label: 'transformers.js warm (loaded before in this process)',
    side: 'peer',
    measure: async (ctx) => {
      const { tf, id } = await peerLibrary(ctx.fixtures.clipModel);
      await (await tf.pipeline('zero-shot-image-classification', id, peerOptions('default'))).dispose();
      const samples: number[] = [];
      for (let i = 0; i < ctx.iterations; i++) {
        const t0 = performance.now();
        const p = await tf.pipeline('zero-shot-image-classification', id, peerOptions('default'));
        samples.push(performance.now() - t0);
        await p.dispose();
      }
      return { samples: { ms: samples } };
    },
  },
};

// ---------------------------------------------------------------------------- the workloads

export const CLIP_WORKLOADS: readonly Workload[] = [
  {
    name: 'zero-shot-1',
    title: 'Zero-shot, one image per call',
    description:
      'A stream of 16 JPEGs (640x480), one call each, 10 labels; a new prompt template per iteration, so its first call encodes the labels. ms per image.',
    metrics: [ms()],
    contenders: zeroShot(1, 16),
    comparisons: vsPeer(),
    warmup: 2,
    iterations: 2,
  },
  {
    name: 'zero-shot-64',
    title: 'Zero-shot, 64 images per call',
    description: '64 JPEGs (640x480) in one call, 10 labels. ms per image.',
    metrics: [ms()],
    contenders: zeroShot(64, 64),
    comparisons: vsPeer(),
    warmup: 1,
    iterations: 1,
  },
  embedWorkload(
    'embed-1',
    'Image embeddings, batch 1',
    '16 PNGs (640x480), one per call: decode, preprocess, vision tower, unit-length embedding. ms per image.',
    { files: (ctx) => ctx.fixtures.png640.slice(0, 16), perCall: 1 },
  ),
  embedWorkload('embed-32', 'Image embeddings, batch 32', '32 PNGs (640x480) in one call. ms per image.', {
    files: (ctx) => ctx.fixtures.png640.slice(0, 32),
    perCall: 32,
  }),
  {
    name: 'embed-12mp',
    title: 'Image embeddings of 12 MP photos',
    description:
      '4 JPEGs of 4000x3000, one per call. mmrt exact = Pillow-identical pixels; fast = libvips shrinks while decoding. ms per image.',
    metrics: [ms(), CORES],
    contenders: photoContenders(),
    comparisons: [
      { mmrt: 'mmrt-exact', other: 'peer-default', metric: 'ms', label: 'exact vs transformers.js defaults' },
      { mmrt: 'mmrt-fast', other: 'peer-default', metric: 'ms', label: 'fast vs transformers.js defaults' },
      {
        mmrt: 'mmrt-fast',
        other: 'peer-equal',
        metric: 'ms',
        label: 'fast vs transformers.js at equal threads',
      },
    ],
    warmup: 1,
    iterations: 2,
  },
  {
    name: 'preprocess-12mp',
    title: '12 MP photo: decode + resize',
    description:
      'The same 4 JPEGs of 4000x3000 decoded and resized to 224 px (shortest edge), no model: mmrt exact and fast, transformers.js, and Pillow in Python as the anchor. ms per image.',
    // CPU time beside wall time: on a shared machine it is what the work costs, whatever the load.
    metrics: [ms(), { key: 'cpu', label: 'CPU ms per image', unit: 'ms', better: 'lower' }],
    contenders: preprocessContenders(),
    comparisons: [
      { mmrt: 'mmrt-exact', other: 'pillow', metric: 'ms', label: 'exact vs Pillow (target >= 0.77)' },
      { mmrt: 'mmrt-exact', other: 'pillow', metric: 'cpu', label: 'exact vs Pillow, CPU time' },
      { mmrt: 'mmrt-exact', other: 'peer', metric: 'ms', label: 'exact vs transformers.js' },
      { mmrt: 'mmrt-fast', other: 'peer', metric: 'ms', label: 'fast vs transformers.js' },
    ],
    warmup: 1,
    iterations: 3,
  },
  {
    name: 'text',
    title: 'Text embeddings',
    description: `${TEXTS_PER_CALL} new prompts per call (no cache hits). ms per text.`,
    metrics: [ms('ms', 'ms per text')],
    contenders: textContenders,
    comparisons: vsPeer(),
    warmup: 1,
    iterations: 3,
  },
  {
    name: 'init',
    title: 'Initialisation',
    description:
      'Until a zero-shot call can run: mmrt loads both towers and the learned logit scale (first-ever: read from the combined graph; then from its cache); the peer builds its zero-shot pipeline. Cold = a new process, warm = loaded before in the same process. ms.',
    metrics: [ms('ms', 'ms to ready')],
    contenders: initContenders,
    comparisons: [
      { mmrt: 'mmrt-cold', other: 'peer-cold', metric: 'ms', label: 'cold vs transformers.js cold' },
      { mmrt: 'mmrt-warm', other: 'peer-warm', metric: 'ms', label: 'warm vs transformers.js warm' },
      { mmrt: 'mmrt-first', other: 'peer-cold', metric: 'ms', label: 'first-ever vs transformers.js cold' },
    ],
    warmup: 0,
    iterations: 1,
    // The cold start reads the logit scale from the cache an earlier start left (not timed).
    prime: async (ctx) => {
      await mmrtInit(ctx, ctx.cacheDir);
    },
  },
];
