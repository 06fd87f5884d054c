/**
 * `npm start`: the main job on the shipped tiny models — zero-shot classification of the
 * sample images with the shapes CLIP, with labels, scores and timings; then questions about
 * two of them to the shapes VLM, answers streamed; then captions of four with the shapes BLIP.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadBlip, loadClip, loadLlava } from '../../node/index.js';
import { DEFAULT_BLIP_MODEL, DEFAULT_CLIP_MODEL, DEFAULT_VLM_MODEL, MODELS_DIR } from '../paths.js';

const COLORS = ['red', 'green', 'blue', 'yellow', 'purple', 'orange'];
const SHAPES = ['circle', 'square', 'triangle', 'star'];

interface SampleLabels {
  images: Array<{ file: string; color: string; shape: string }>;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'the main job on the shipped tiny models: classify the sample images with the tiny CLIP, then ask the tiny VLM about two of them (what `npm start` runs)',
    )
    .option('-m, --model <path>', 'CLIP model folder', DEFAULT_CLIP_MODEL)
    .option('--vlm <path>', 'LLaVA-family model folder for the questions', DEFAULT_VLM_MODEL)
    .option('--no-vlm', 'skip the questions')
    .option('--blip <path>', 'BLIP captioning model folder for the captions', DEFAULT_BLIP_MODEL)
    .option('--no-blip', 'skip the captions')
    .action(async (opts: { model: string; vlm: string | false; blip: string | false }) => {
      const samplesDir = join(MODELS_DIR, 'samples');
      if (!existsSync(join(samplesDir, 'labels.json'))) {
        process.stdout.write(`no sample images in ${samplesDir}; showing the platform report instead\n\n`);
        await program.parseAsync(['node', 'mmrt', 'doctor']);
        return;
      }
      const samples = JSON.parse(await readFile(join(samplesDir, 'labels.json'), 'utf8')) as SampleLabels;
      const labels = COLORS.flatMap((c) => SHAPES.map((s) => `${c} ${s}`));
      const t0 = performance.now();
      const clip = await loadClip({
        model: opts.model,
        platform: 'auto',
        onWarning: (m) => process.stderr.write(`warning: ${m}\n`),
      });
      try {
        const files = samples.images.map((s) => join(samplesDir, s.file));
        // Create both sessions first, so load time is reported apart from classification.
        await Promise.all([clip.embedTexts(['warm-up']), clip.embedImages([files[0]!])]);
        const loadMs = performance.now() - t0;
        const t1 = performance.now();
        const results = await clip.zeroShot(files, labels, { template: 'a photo of a {}' });
        const runMs = performance.now() - t1;
        process.stdout.write(`mmrt demo — zero-shot classification with ${opts.model}\n`);
        process.stdout.write(`${labels.length} labels: ${COLORS.join('/')} x ${SHAPES.join('/')}\n\n`);
        let correct = 0;
        samples.images.forEach((s, i) => {
          const [best, second] = results[i]!;
          const truth = `${s.color} ${s.shape}`;
          const ok = best!.label === truth;
          if (ok) correct++;
          process.stdout.write(
            `${ok ? '✓' : '✗'} ${s.file.padEnd(28)} ${best!.label.padEnd(16)} ${(best!.score * 100).toFixed(1).padStart(5)}%` +
              `   (next: ${second!.label} ${(second!.score * 100).toFixed(1)}%)${ok ? '' : `   truth: ${truth}`}\n`,
          );
        });
        const stats = clip.textCacheStats();
        process.stdout.write(
          `\n${correct}/${samples.images.length} correct. load ${loadMs.toFixed(0)} ms, classify ${runMs.toFixed(0)} ms ` +
            `(${(runMs / samples.images.length || 0).toFixed(1)} ms/image; decode ${clip.timings.decodeMs.toFixed(0)} ms, ` +
            `vision ${clip.timings.visionMs.toFixed(0)} ms, text ${clip.timings.textMs.toFixed(0)} ms; ` +
            `label cache ${stats?.entries ?? 0} entries)\n`,
        );
      } finally {
        await clip.dispose();
      }
      if (opts.vlm !== false) await askDemo(opts.vlm, samplesDir, samples.images.slice(0, 2));
      if (opts.blip !== false && existsSync(opts.blip))
        await captionDemo(opts.blip, samplesDir, samples.images.slice(0, 4));
    });
}

/** A colour and a shape question about each image, answers streamed as they are generated. */
async function askDemo(model: string, samplesDir: string, images: SampleLabels['images']): Promise<void> {
  const t0 = performance.now();
  const vlm = await loadLlava({
    model,
    platform: 'auto',
    onWarning: (m) => process.stderr.write(`warning: ${m}\n`),
  });
  process.stdout.write(
    `\nmmrt demo — questions to ${model} (loaded in ${(performance.now() - t0).toFixed(0)} ms)\n`,
  );
  try {
    for (const s of images) {
      const file = join(samplesDir, s.file);
      for (const question of ['What color is the shape?', 'What shape is this?']) {
        process.stdout.write(`${s.file}: ${question} `);
        const stream = vlm.ask(file, question, { maxNewTokens: 16 });
        for await (const delta of stream) process.stdout.write(delta);
        const r = await stream.result;
        const t = r.timings;
        process.stdout.write(
          `   (${r.usage.generatedTokens} tokens, first after ${t.timeToFirstTokenMs.toFixed(0)} ms, ` +
            `image ${r.images.fromCache ? 'from the feature cache' : `encoded in ${t.visionMs.toFixed(1)} ms`})\n`,
        );
      }
    }
  } finally {
    await vlm.dispose();
  }
}

/** A caption of each image, streamed as it is generated. */
async function captionDemo(model: string, samplesDir: string, images: SampleLabels['images']): Promise<void> {
  const t0 = performance.now();
  const blip = await loadBlip({
    model,
    platform: 'auto',
    onWarning: (m) => process.stderr.write(`warning: ${m}\n`),
  });
  process.stdout.write(
    `\nmmrt demo — captions by ${model} (loaded in ${(performance.now() - t0).toFixed(0)} ms)\n`,
  );
  try {
    for (const s of images) {
      process.stdout.write(`${s.file}: `);
      const stream = blip.caption(join(samplesDir, s.file));
      for await (const delta of stream) process.stdout.write(delta);
      const r = await stream.result;
      const ok = r.text.includes(`${s.color} ${s.shape}`);
      process.stdout.write(
        `   ${ok ? '✓' : `✗ truth: ${s.color} ${s.shape}`} (${r.usage.generatedTokens} tokens in ${r.timings.totalMs.toFixed(0)} ms)\n`,
      );
    }
  } finally {
    await blip.dispose();
  }
}
