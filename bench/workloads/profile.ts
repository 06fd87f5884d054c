/**
 * Where mmrt's time goes per image on the image-embedding path, at batch 1, 8, 32 and 64:
 * each stage timed alone on the same PNGs (decode, resize + normalise, tensor build, session
 * run, result handling), the cores the process kept busy during each, ONNX Runtime's own
 * profile of the session run (time per operator type), and the end-to-end `embedImages` time at
 * that batch size (where decode of the next batch overlaps the current run), so the gap between
 * the stage sum and the end-to-end time shows what overlap buys.
 */
import { readFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { timed } from '../suite/stats.js';
import type { ChildContext, Measured, Workload } from '../suite/types.js';
import { loadMmrtClip, visionFlops } from './common.js';

const BATCHES = [1, 8, 32, 64] as const;

interface Stage {
  readonly msPerImage: number;
  readonly cores: number;
}

/** ORT's profile (Chrome trace): kernel time per operator type, as a share of the run. */
async function opProfile(
  ctx: ChildContext,
  model: string,
  options: Record<string, unknown>,
  pixels: Float32Array,
  dims: number[],
): Promise<Record<string, { ms: number; share: number }>> {
  const { ort } = await import('../../src/node/ort.js');
  const prefix = join(ctx.scratch, 'ort-profile');
  const s = await ort.InferenceSession.create(model, {
    ...options,
    enableProfiling: true,
    profileFilePrefix: prefix,
  } as never);
  const feeds = { pixel_values: new ort.Tensor('float32', pixels, dims) };
  await s.run(feeds);
  await s.run(feeds);
  s.endProfiling();
  await s.release();
  const file = (await readdir(ctx.scratch)).find((f) => f.startsWith('ort-profile'));
  if (!file) return {};
  const events = JSON.parse(readFileSync(join(ctx.scratch, file), 'utf8')) as Array<{
    cat?: string;
    name?: string;
    dur?: number;
    args?: { op_name?: string };
  }>;
  await rm(join(ctx.scratch, file), { force: true });
  const byOp = new Map<string, number>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || !e.args?.op_name) continue;
    byOp.set(e.args.op_name, (byOp.get(e.args.op_name) ?? 0) + (e.dur ?? 0));
  }
  // Two runs were profiled (the first includes allocation): halve, per run, per image.
  const total = [...byOp.values()].reduce((a, b) => a + b, 0);
  return Object.fromEntries(
    [...byOp.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([op, us]) => [op, { ms: us / 1000 / 2 / dims[0]!, share: us / total }]),
  );
}

async function breakdown(ctx: ChildContext): Promise<Measured> {
  const { decodeImage } = await import('../../src/node/media/decode.js');
  const { ImageProcessor } = await import('../../src/media/processor.js');
  const { ort } = await import('../../src/node/ort.js');
  const files = ctx.fixtures.png640.slice(0, 64);
  const cfg = JSON.parse(readFileSync(join(ctx.fixtures.clipModel, 'preprocessor_config.json'), 'utf8'));
  const processor = ImageProcessor.fromConfig(cfg);
  const flops = visionFlops(ctx.fixtures.clipModel);
  const samples: Record<string, number[]> = {};
  const stages: Record<string, Record<string, Stage>> = {};
  const ops: Record<string, unknown> = {};
  for (const batch of BATCHES) {
    const clip = await loadMmrtClip(ctx, { config: { batch_size: batch } }, false);
    const vision = await clip.loader.session('vision_model');
    const plan = clip.loader.placement?.plan.components.find((c) => c.name === 'vision_model');
    // Warm-up: one end-to-end call (page cache, ORT arenas at this batch size).
    await clip.embedImages(files.slice(0, Math.max(batch, 8)));
    // Each stage alone, over all 64 images in chunks of `batch`: ms and CPU time summed.
    const acc = new Map<string, { ms: number; cpu: number }>();
    const stage = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      const r = await timed(fn);
      const a = acc.get(name) ?? { ms: 0, cpu: 0 };
      acc.set(name, { ms: a.ms + r.ms, cpu: a.cpu + r.ms * r.cores });
      return r.value;
    };
    let lastTensor: InstanceType<typeof ort.Tensor> | undefined;
    for (let start = 0; start < files.length; start += batch) {
      const chunk = files.slice(start, start + batch);
      const rgb = await stage('decode', () => Promise.all(chunk.map((f) => decodeImage(f))));
      const planes = await stage('resize+normalise', async () =>
        rgb.map((im) => processor.preprocess(im).data),
      );
      const tensor = await stage('tensor build', async () => {
        const data = new Float32Array(planes.length * planes[0]!.length);
        for (const [i, p] of planes.entries()) data.set(p, i * p.length);
        return new ort.Tensor('float32', data, [chunk.length, 3, 224, 224]);
      });
      lastTensor = tensor;
      const out = await stage('session run', () => vision.run({ pixel_values: tensor }));
      await stage('result handling', async () => {
        const data = out.image_embeds!.data as Float32Array;
        const d = data.length / chunk.length;
        return Array.from({ length: chunk.length }, (_, i) => {
          const v = data.slice(i * d, (i + 1) * d);
          let n = 0;
          for (const x of v) n += x * x;
          n = Math.sqrt(n);
          for (let j = 0; j < v.length; j++) v[j]! /= n;
          return v;
        });
      });
    }
    const per = (name: string): Stage => {
      const a = acc.get(name)!;
      return { msPerImage: a.ms / files.length, cores: a.cpu / a.ms };
    };
    const runMsPerImage = acc.get('session run')!.ms / files.length;
    // End to end: one call of 64 images, which mmrt chunks at `batch` (decode overlapping runs).
    const e2e: number[] = [];
    const e2eCores: number[] = [];
    for (let i = 0; i < ctx.iterations; i++) {
      const r = await timed(() => clip.embedImages(files));
      e2e.push(r.ms / files.length);
      e2eCores.push(r.cores);
    }
    samples[`b${batch}`] = e2e;
    const stageTable = Object.fromEntries(
      ['decode', 'resize+normalise', 'tensor build', 'session run', 'result handling'].map((n) => [
        n,
        per(n),
      ]),
    );
    const sum = Object.values(stageTable).reduce((a, s) => a + s.msPerImage, 0);
    stages[`b${batch}`] = {
      ...stageTable,
      'stage sum': { msPerImage: sum, cores: Number.NaN },
      'end to end (64 images)': {
        msPerImage: e2e.reduce((a, b) => a + b, 0) / e2e.length,
        cores: e2eCores.reduce((a, b) => a + b, 0) / e2eCores.length,
      },
    };
    ops[`b${batch}`] = {
      encoderGflops: flops / runMsPerImage / 1e6,
      ...(plan && (batch === 1 || batch === 32)
        ? {
            operators: await opProfile(
              ctx,
              join(ctx.fixtures.clipModel, 'onnx', 'vision_model.onnx'),
              ortOptions(plan.session as unknown as Record<string, unknown>),
              lastTensor!.data as Float32Array,
              [...lastTensor!.dims],
            ),
          }
        : {}),
    };
    await clip.dispose();
  }
  return { samples, details: { stages, ops, threads: ctx.threads } };
}

/** The plan's session options as ORT reads them (threads, spinning, graph level). */
function ortOptions(s: Record<string, unknown>): Record<string, unknown> {
  const keys = ['intraOpNumThreads', 'interOpNumThreads', 'graphOptimizationLevel', 'executionMode', 'extra'];
  return Object.fromEntries(keys.filter((k) => s[k] !== undefined).map((k) => [k, s[k]]));
}

export const PROFILE_WORKLOADS: readonly Workload[] = [
  {
    name: 'profile',
    title: 'Where the time goes (mmrt image embeddings)',
    description:
      'PNGs (640x480): each stage timed alone per batch size, ONNX Runtime operator profile, and 64 images end to end at that batch size. ms per image.',
    metrics: BATCHES.map((b) => ({
      key: `b${b}`,
      label: `batch ${b}, end to end`,
      unit: 'ms',
      better: 'lower' as const,
    })),
    contenders: { mmrt: { label: 'mmrt', side: 'mmrt', measure: breakdown } },
    comparisons: [],
    warmup: 0,
    iterations: 1,
    rounds: 1,
  },
];
