/**
 * Zero-shot CLIP throughput: a stream of N images x L labels, one image per call (as a
 * server or a folder watcher sees them), mmrt with the text cache on and off, against
 * @huggingface/transformers's zero-shot pipeline on the same model folder, in one run.
 *
 *   npx tsx bench/clip.ts --model models-bench/clip-vit-b32 [--images 64] [--labels 10] [--repeats 3]
 *
 * Writes bench/results/clip.json. mmrt runs through `loadClip({ platform: 'cpu' })`, i.e.
 * with the plan's session options (all cores, thread spinning off for the two towers); the peer
 * is run with its default session options and with intraOpNumThreads set to the same count.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadClip } from '../src/node/index.js';
import { ortVersion } from '../src/node/ort.js';
import { CLASSES, encode, renderShape } from '../tools/shapes/render.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'models-bench/clip-vit-b32' },
    images: { type: 'string', default: '64' },
    labels: { type: 'string', default: '10' },
    repeats: { type: 'string', default: '3' },
    'skip-peer': { type: 'boolean', default: false },
  },
});
const model = values.model!;
const nImages = Number(values.images);
const nLabels = Number(values.labels);
const repeats = Number(values.repeats);
const threads = os.availableParallelism();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(os.tmpdir(), 'mmrt-bench-clip-'));
  // Photo-sized JPEGs (640x480), so decode and resize cost what they cost in real use.
  const files: string[] = [];
  for (let i = 0; i < nImages; i++) {
    const [color, shape] = CLASSES[i % CLASSES.length]!;
    const img = renderShape(1000 + i, 640, 480, color, shape, i % 2 ? 'noise' : 'plain');
    const f = join(dir, `${i}.jpg`);
    await writeFile(f, await encode(img, 'jpeg'));
    files.push(f);
  }
  const labels = CLASSES.slice(0, nLabels).map(([c, s]) => `${c} ${s}`);
  const template = 'a photo of a {}';
  const rows: Record<string, { medianMs: number; runsMs: number[]; imagesPerSec: number }> = {};

  const record = (name: string, runs: number[]) => {
    const m = median(runs);
    rows[name] = { medianMs: m, runsMs: runs, imagesPerSec: (nImages / m) * 1000 };
    process.stdout.write(
      `${name.padEnd(44)} ${m.toFixed(0).padStart(7)} ms  ${((nImages / m) * 1000).toFixed(2).padStart(7)} img/s\n`,
    );
  };

  // ---- mmrt, through the public path: the platform plan (cpu) and its loader
  const fresh = async (opts: { textCacheBytes?: number; batchSize?: number }) => {
    const clip = await loadClip({
      model,
      platform: 'cpu',
      loading: { preload: true },
      ...(opts.batchSize !== undefined && { config: { batch_size: opts.batchSize } }),
      clip: { ...(opts.textCacheBytes !== undefined && { textCacheBytes: opts.textCacheBytes }) },
    });
    await clip.logitScale(); // read once from the combined graph, outside the timed region
    return clip;
  };
  for (const [name, opts] of [
    ['mmrt stream, text cache on', { textCacheBytes: 16 << 20 }],
    ['mmrt stream, text cache off', { textCacheBytes: 0 }],
  ] as const) {
    const runs: number[] = [];
    for (let r = 0; r < repeats + 1; r++) {
      const clip = await fresh(opts); // fresh cache per run: the first image pays for the labels
      const t0 = performance.now();
      for (const f of files) await clip.zeroShot([f], labels, { template });
      if (r > 0) runs.push(performance.now() - t0); // run 0 warms the page cache and ORT's arenas
      await clip.dispose();
    }
    record(name, runs);
  }
  {
    const runs: number[] = [];
    for (let r = 0; r < repeats + 1; r++) {
      const clip = await fresh({ batchSize: 16 });
      const t0 = performance.now();
      await clip.zeroShot(files, labels, { template });
      if (r > 0) runs.push(performance.now() - t0);
      await clip.dispose();
    }
    record('mmrt batched (16/call), text cache on', runs);
  }

  // ---- peer: @huggingface/transformers zero-shot pipeline on the same folder
  if (!values['skip-peer']) {
    const tf = await import('@huggingface/transformers');
    tf.env.allowRemoteModels = false;
    tf.env.allowLocalModels = true;
    // transformers.js joins localModelPath and the id with '/': hand it the parent folder and the name.
    tf.env.localModelPath = `${dirname(resolve(model))}/`;
    for (const [name, sessionOptions] of [
      ['transformers.js pipeline (default threads)', {}],
      [`transformers.js pipeline (intraOpNumThreads=${threads})`, { intraOpNumThreads: threads }],
    ] as const) {
      const classifier = await tf.pipeline('zero-shot-image-classification', basename(resolve(model)), {
        device: 'cpu',
        dtype: 'fp32',
        session_options: sessionOptions,
      });
      const runs: number[] = [];
      for (let r = 0; r < repeats + 1; r++) {
        const t0 = performance.now();
        for (const f of files) await classifier(f, labels, { hypothesis_template: template });
        if (r > 0) runs.push(performance.now() - t0);
      }
      record(name, runs);
      await classifier.dispose();
    }
  }

  const base = rows['transformers.js pipeline (default threads)'];
  const tuned = rows[`transformers.js pipeline (intraOpNumThreads=${threads})`];
  const ratios: Record<string, number> = {};
  for (const [k, v] of Object.entries(rows)) {
    if (!k.startsWith('mmrt')) continue;
    if (base) ratios[`${k} vs peer default`] = base.medianMs / v.medianMs;
    if (tuned) ratios[`${k} vs peer tuned`] = tuned.medianMs / v.medianMs;
  }
  for (const [k, v] of Object.entries(ratios)) process.stdout.write(`${k.padEnd(70)} ${v.toFixed(2)}x\n`);
  await mkdir('bench/results', { recursive: true });
  await writeFile(
    'bench/results/clip.json',
    `${JSON.stringify(
      {
        benchmark: 'clip-zero-shot-stream',
        date: new Date().toISOString(),
        machine: { cpus: os.cpus()[0]?.model, cores: threads, node: process.version, ort: ortVersion() },
        workload: { model, images: nImages, imageSize: '640x480 jpeg', labels: nLabels, template, repeats },
        results: rows,
        ratios,
      },
      null,
      2,
    )}\n`,
  );
  await rm(dir, { recursive: true, force: true });
}

await main();
