/**
 * BLIP benchmark on the bench-size models (`make.py --bench --only blip`: BLIP-base shapes,
 * random weights). No peer runs BLIP in JavaScript (transformers.js: "Unsupported model type:
 * blip"), so the comparisons are mmrt against itself, in one process, interleaved:
 *
 *   npx tsx bench/blip.ts [--models models-bench] [--runs 3] [--images 8] [--threads N]
 *                         [--new-tokens 20] [--out bench/results/blip.json]
 *
 * - captions/s at batch 1 (one image per call) and batch 8 (one call for 8 images), each image
 *   new to the model (the feature cache cannot help), a fixed number of new tokens (EOS
 *   suppressed: random weights would stop anywhere), vision model included;
 * - the merged decoder (cross-attention keys/values computed once, reused) against the plain
 *   one (recomputed every step): decode tokens/s and time per caption at batch 1;
 * - BLIP VQA: a first question about an image (vision model + question encoder + decoder)
 *   against a second question about the same image (image embeds from the cache).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { BlipModel } from '../src/kinds/image-to-text/model.js';
import { loadBlip } from '../src/node/index.js';
import { ortVersion } from '../src/node/ort.js';
import { renderShape } from '../tools/shapes/render.js';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'models-bench' },
    runs: { type: 'string', default: '3' },
    images: { type: 'string', default: '8' },
    threads: { type: 'string', default: String(availableParallelism()) },
    'new-tokens': { type: 'string', default: '20' },
    out: { type: 'string', default: 'bench/results/blip.json' },
  },
});
const root = resolve(values.models!);
const runs = Number(values.runs);
const perRun = Number(values.images);
const threads = Number(values.threads);
const newTokens = Number(values['new-tokens']);
const log = (m: string) => process.stderr.write(`${m}\n`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const COLORS = ['blue', 'red', 'green', 'yellow', 'purple', 'orange'] as const;
const SHAPES = ['star', 'circle', 'square', 'triangle'] as const;
let seed = 1000;
/** A picture no model has seen yet (every call renders a new one). */
function freshImage() {
  const k = seed++;
  const im = renderShape(k, 384, 288, COLORS[k % 6]!, SHAPES[k % 4]!, 'plain');
  return { data: im.rgb, width: im.width, height: im.height, channels: 3 as const };
}

const fixed = { maxNewTokens: newTokens, minNewTokens: newTokens };
const load = (name: string, batchSize: number) =>
  loadBlip({
    model: join(root, name),
    platform: 'cpu',
    config: { num_threads: threads, batch_size: batchSize },
  });

log(
  `bench blip: ${root}, ${threads} intra-op threads, ${runs} runs of ${perRun} images, ${newTokens} new tokens`,
);
const merged = await load('blip-base', 8);
const plain = await load('blip-base-plain', 8);
const vqa = await load('blip-vqa-base', 8);
// create every session before timing
for (const m of [merged, plain]) await m.caption(freshImage(), { maxNewTokens: 2 }).result;
await vqa.answer(freshImage(), 'What color is the shape?', { maxNewTokens: 2 }).result;

interface Figures {
  batch1CaptionsPerSecond: number;
  batch8CaptionsPerSecond: number;
  plainBatch1CaptionsPerSecond: number;
  mergedDecodeTokensPerSecond: number;
  plainDecodeTokensPerSecond: number;
  vqaFirstQuestionMs: number;
  vqaSecondQuestionMs: number;
  vqaFirstTimeToFirstTokenMs: number;
  vqaSecondTimeToFirstTokenMs: number;
}

async function batch1(model: BlipModel): Promise<{ perSecond: number; decode: number[] }> {
  const t0 = performance.now();
  const decode: number[] = [];
  for (let i = 0; i < perRun; i++) {
    const r = await model.caption(freshImage(), fixed).result;
    decode.push(r.timings.decodeTokensPerSecond);
  }
  return { perSecond: (perRun * 1000) / (performance.now() - t0), decode };
}

async function batch8(model: BlipModel): Promise<number> {
  const images = Array.from({ length: perRun }, freshImage);
  const t0 = performance.now();
  const results = await model.caption(images, fixed).result;
  if (results.some((r) => r.usage.generatedTokens !== newTokens)) throw new Error('unexpected token count');
  return (perRun * 1000) / (performance.now() - t0);
}

async function secondQuestion(): Promise<Partial<Figures>> {
  const image = freshImage();
  const q = { maxNewTokens: 5, minNewTokens: 5 };
  const t0 = performance.now();
  const first = await vqa.answer(image, 'What color is the shape?', q).result;
  const t1 = performance.now();
  const second = await vqa.answer(image, 'What shape is this?', q).result;
  const t2 = performance.now();
  if (first.image.fromCache || !second.image.fromCache) throw new Error('the feature cache did not behave');
  return {
    vqaFirstQuestionMs: t1 - t0,
    vqaSecondQuestionMs: t2 - t1,
    vqaFirstTimeToFirstTokenMs: first.timings.timeToFirstTokenMs,
    vqaSecondTimeToFirstTokenMs: second.timings.timeToFirstTokenMs,
  };
}

const figures: Figures[] = [];
for (let r = 0; r < runs; r++) {
  // rotate the order so no workload always runs first
  const steps: Array<() => Promise<Partial<Figures>>> = [
    async () => {
      const b = await batch1(merged);
      return { batch1CaptionsPerSecond: b.perSecond, mergedDecodeTokensPerSecond: median(b.decode) };
    },
    async () => ({ batch8CaptionsPerSecond: await batch8(merged) }),
    async () => {
      const b = await batch1(plain);
      return { plainBatch1CaptionsPerSecond: b.perSecond, plainDecodeTokensPerSecond: median(b.decode) };
    },
    secondQuestion,
  ];
  const f: Partial<Figures> = {};
  for (let k = 0; k < steps.length; k++) Object.assign(f, await steps[(r + k) % steps.length]!());
  figures.push(f as Figures);
  log(
    `  run ${r + 1}: ${f.batch1CaptionsPerSecond!.toFixed(2)} captions/s at batch 1, ${f.batch8CaptionsPerSecond!.toFixed(2)} at batch 8; ` +
      `decode ${f.mergedDecodeTokensPerSecond!.toFixed(1)} tok/s merged vs ${f.plainDecodeTokensPerSecond!.toFixed(1)} plain; ` +
      `VQA ${f.vqaFirstQuestionMs!.toFixed(0)} ms first question, ${f.vqaSecondQuestionMs!.toFixed(0)} ms second`,
  );
}
for (const m of [merged, plain, vqa]) await m.dispose();

const pick = (k: keyof Figures) => ({
  median: median(figures.map((f) => f[k])),
  runs: figures.map((f) => f[k]),
});
const m = Object.fromEntries(
  (Object.keys(figures[0]!) as Array<keyof Figures>).map((k) => [k, pick(k)]),
) as Record<keyof Figures, { median: number; runs: number[] }>;
const result = {
  benchmark: 'blip',
  command: `npx tsx bench/blip.ts ${process.argv.slice(2).join(' ')}`,
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, onnxruntime: ortVersion() },
  models: {
    caption: join(root, 'blip-base'),
    plain: join(root, 'blip-base-plain'),
    vqa: join(root, 'blip-vqa-base'),
  },
  settings: {
    runs,
    imagesPerRun: perRun,
    intraOpNumThreads: threads,
    newTokens,
    vqaNewTokens: 5,
    interleaved: true,
  },
  peer: {
    name: '@huggingface/transformers',
    ran: false,
    why: 'it has no BLIP support (Unsupported model type: blip)',
  },
  mmrt: m,
  ratios: {
    batch8VsBatch1: m.batch8CaptionsPerSecond.median / m.batch1CaptionsPerSecond.median,
    crossAttentionReuseCaptionSpeedup:
      m.batch1CaptionsPerSecond.median / m.plainBatch1CaptionsPerSecond.median,
    crossAttentionReuseDecodeSpeedup:
      m.mergedDecodeTokensPerSecond.median / m.plainDecodeTokensPerSecond.median,
    secondQuestionSpeedup: m.vqaFirstQuestionMs.median / m.vqaSecondQuestionMs.median,
    secondQuestionTimeToFirstTokenSpeedup:
      m.vqaFirstTimeToFirstTokenMs.median / m.vqaSecondTimeToFirstTokenMs.median,
  },
};
await mkdir(dirname(resolve(values.out!)), { recursive: true });
await writeFile(resolve(values.out!), `${JSON.stringify(result, null, 2)}\n`);
log(JSON.stringify(result.ratios, null, 2));
log(`written to ${values.out}`);
