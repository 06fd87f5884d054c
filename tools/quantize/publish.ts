/**
 * Measures the drift of the shipped tiny models' precision variants against fp32 and publishes
 * it: into each package's `onnx/quantization.json` (where `mmrt explain` reads it) and as the
 * tables of `models/quantization.md`.
 *
 *   node --import tsx tools/quantize/publish.ts [modelsDir]
 *
 * CLIP: 480 held-out images (20 per class, seeds never used in training), zero-shot over the 24
 * classes. VLM and LLaVA-Next: 48 held-out images, each with one of the three reference
 * questions, greedy answers to EOS. Every component runs at the precision measured.
 */
import { stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Precision } from '../../src/package/precision.js';
import { clipDrift, heldOutImages, recordDrift, referencePrompts, vlmDrift } from './drift.js';

const models = resolve(process.argv[2] ?? 'models');
const PRECISIONS: Precision[] = ['fp16', 'q8', 'q4', 'q4f16'];
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

interface Entry {
  precision: string;
  bytes: number;
  sourceBytes: number;
}

function sizes(entries: Record<string, Entry>, precision: string): string {
  let v = 0;
  let s = 0;
  for (const e of Object.values(entries)) {
    if (e.precision !== precision) continue;
    v += e.bytes;
    s += e.sourceBytes;
  }
  return `${(v / 1024).toFixed(0)} KiB (${((100 * v) / s).toFixed(0)}% of fp32)`;
}

const lines: string[] = [
  '# Precision variants of the shapes-world models',
  '',
  'Written by `mmrt quantize models/<package> --force` (fp16, q8, q4, q4f16 of every component,',
  'each loaded and run once in ONNX Runtime before it was kept; how each was made is in',
  '`<package>/onnx/quantization.json`) and measured against fp32 by',
  '`node --import tsx tools/quantize/publish.ts`, which also writes these figures into',
  '`quantization.json`, where `mmrt explain` shows them. Every component runs at the precision',
  'measured (onnxruntime-node, CPU). `test/quantize/variants.test.ts` checks that regenerating the',
  'variants gives the same bytes, and the tolerances below.',
  '',
];

async function clip(pkg: string): Promise<void> {
  const set = heldOutImages(20);
  const drift = await clipDrift(join(models, pkg), ['fp32', ...PRECISIONS], set);
  const entries = await recordDrift(join(models, pkg), drift);
  lines.push(`## ${pkg}: zero-shot over 24 classes, ${set.images.length} held-out images`, '');
  lines.push(
    '| precision | files | top-1 agreement with fp32 | accuracy | image embedding cosine (mean / min) | text embedding cosine (mean / min) |',
  );
  lines.push('|---|---|---|---|---|---|');
  for (const d of drift) {
    lines.push(
      `| ${d.precision} | ${d.precision === 'fp32' ? '' : sizes(entries, d.precision)} | ${pct(d.top1Agreement)} | ${pct(d.accuracy!)} | ${d.imageCosine.mean.toFixed(5)} / ${d.imageCosine.min.toFixed(5)} | ${d.textCosine.mean.toFixed(5)} / ${d.textCosine.min.toFixed(5)} |`,
    );
  }
  lines.push('');
}

async function vlm(pkg: string): Promise<void> {
  if (!(await stat(join(models, pkg)).catch(() => undefined))) return;
  const prompts = referencePrompts(16);
  const drift = await vlmDrift(join(models, pkg), ['fp32', ...PRECISIONS], prompts);
  const entries = await recordDrift(join(models, pkg), drift);
  lines.push(
    `## ${pkg}: greedy answers on ${prompts.length} reference prompts (held-out images, the three questions)`,
    '',
  );
  lines.push(
    '| precision | files | answers equal to fp32 | greedy-token disagreement | first-step logits max abs diff |',
  );
  lines.push('|---|---|---|---|---|');
  for (const d of drift) {
    lines.push(
      `| ${d.precision} | ${d.precision === 'fp32' ? '' : sizes(entries, d.precision)} | ${pct(d.answersEqual)} | ${pct(1 - d.tokenAgreement)} | ${d.firstLogitsMaxAbsDiff.toFixed(4)} |`,
    );
  }
  lines.push('');
}

await clip('shapes-clip');
await vlm('shapes-vlm');
await vlm('shapes-llava-next');
await writeFile(join(models, 'quantization.md'), `${lines.join('\n')}`);
process.stdout.write(`${lines.join('\n')}\n`);
