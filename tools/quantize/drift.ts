/**
 * Drift of a model's precision variants against its fp32 files, measured the way a user would
 * notice it, through mmrt's own load path (loadClip / loadLlava with `precision` set):
 * - CLIP: cosine of image and text embeddings to fp32's, and zero-shot top-1 agreement with
 *   fp32 on held-out images (and accuracy, where the images have a true label);
 * - VLM: first-step logits max |diff| to fp32, greedy answers equal to fp32's, and greedy-token
 *   agreement (fp32's answer tokens reproduced before the first divergence, over all prompts).
 * Used by the tests (tolerances), `npm run bench -- quantize` (bench-size models) and
 * `tools/quantize/publish.ts` (the committed models' figures).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageInput } from '../../src/media/input.js';
import { loadClip, loadLlava } from '../../src/node/index.js';
import type { Precision } from '../../src/package/precision.js';
import { CLASSES, type RenderedShape, heldOutSet } from '../shapes/render.js';

export interface CosineStats {
  readonly mean: number;
  readonly min: number;
}

export interface ClipDrift {
  readonly precision: Precision;
  readonly images: number;
  /** Share of images whose zero-shot top-1 label is fp32's. */
  readonly top1Agreement: number;
  /** Share of images labelled right (when true labels are known). */
  readonly accuracy?: number;
  readonly imageCosine: CosineStats;
  readonly textCosine: CosineStats;
}

export interface VlmPrompt {
  readonly image: ImageInput;
  readonly question: string;
}

export interface VlmDrift {
  readonly precision: Precision;
  readonly prompts: number;
  /** Largest |logit - fp32 logit| at the first generated position, over all prompts. */
  readonly firstLogitsMaxAbsDiff: number;
  /** Share of prompts whose greedy answer is fp32's, token for token. */
  readonly answersEqual: number;
  /** fp32's greedy tokens reproduced before the first divergence, over all its tokens. */
  readonly tokenAgreement: number;
  /** The greedy answers themselves (tests compare them; reports do not print them). */
  readonly answers: readonly string[];
}

export const pixelsOf = (img: RenderedShape): ImageInput => ({
  data: img.rgb,
  width: img.width,
  height: img.height,
  channels: 3,
});

/** 24 classes x `perClass` rendered images from seeds never used in training. */
export function heldOutImages(
  perClass = 4,
  seed = 9173,
): { images: ImageInput[]; truth: number[]; labels: string[] } {
  const set = heldOutSet(seed, perClass);
  const labels = CLASSES.map(([c, s]) => `a photo of a ${c} ${s}`);
  const truth = set.map((im) => CLASSES.findIndex(([c, s]) => c === im.color && s === im.shape));
  return { images: set.map(pixelsOf), truth, labels };
}

function cosine(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return d / Math.sqrt(na * nb);
}

function stats(xs: readonly number[]): CosineStats {
  return { mean: xs.reduce((s, x) => s + x, 0) / xs.length, min: Math.min(...xs) };
}

function argmax(row: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

interface ClipRun {
  image: Float32Array[];
  text: Float32Array[];
  top1: number[];
}

async function clipRun(
  model: string,
  precision: Precision,
  images: readonly ImageInput[],
  labels: readonly string[],
  threads: number,
): Promise<ClipRun> {
  const clip = await loadClip({ model, platform: 'cpu', config: { precision, numThreads: threads } });
  try {
    const image = await clip.embedImages(images);
    const text = await clip.embedTexts(labels);
    const top1 = image.map((v) => argmax(text.map((t) => cosine(v, t))));
    return { image, text, top1 };
  } finally {
    await clip.dispose();
  }
}

/** CLIP drift of each precision against fp32 (see the module comment). */
export async function clipDrift(
  model: string,
  precisions: readonly Precision[],
  set: { images: readonly ImageInput[]; labels: readonly string[]; truth?: readonly number[] },
  threads = 1,
): Promise<ClipDrift[]> {
  const ref = await clipRun(model, 'fp32', set.images, set.labels, threads);
  const out: ClipDrift[] = [];
  for (const precision of precisions) {
    const run = precision === 'fp32' ? ref : await clipRun(model, precision, set.images, set.labels, threads);
    const agree = run.top1.filter((t, i) => t === ref.top1[i]).length;
    const right = set.truth ? run.top1.filter((t, i) => t === set.truth![i]).length : undefined;
    out.push({
      precision,
      images: set.images.length,
      top1Agreement: agree / set.images.length,
      ...(right !== undefined && { accuracy: right / set.images.length }),
      imageCosine: stats(run.image.map((v, i) => cosine(v, ref.image[i]!))),
      textCosine: stats(run.text.map((v, i) => cosine(v, ref.text[i]!))),
    });
  }
  return out;
}

interface VlmRun {
  logits: Float32Array[];
  tokens: number[][];
  answers: string[];
}

async function vlmRun(
  model: string,
  precision: Precision,
  prompts: readonly VlmPrompt[],
  newTokens: number | undefined,
  threads: number,
): Promise<VlmRun> {
  const vlm = await loadLlava({ model, platform: 'cpu', config: { precision, numThreads: threads } });
  try {
    const run: VlmRun = { logits: [], tokens: [], answers: [] };
    for (const p of prompts) {
      let first: Float32Array | undefined;
      const r = await vlm.ask(p.image, p.question, {
        ...(newTokens !== undefined && { maxNewTokens: newTokens, minNewTokens: newTokens }),
        onLogits: (l, step) => {
          if (step === 0) first = l.slice();
        },
      }).result;
      run.logits.push(first!);
      run.tokens.push([...r.tokenIds]);
      run.answers.push(r.text);
    }
    return run;
  } finally {
    await vlm.dispose();
  }
}

/**
 * VLM drift of each precision against fp32. `newTokens` fixes the answer length (EOS
 * suppressed: random-weight models); absent, answers end at EOS as a user's would.
 */
export async function vlmDrift(
  model: string,
  precisions: readonly Precision[],
  prompts: readonly VlmPrompt[],
  options: { newTokens?: number; threads?: number } = {},
): Promise<VlmDrift[]> {
  const threads = options.threads ?? 1;
  const ref = await vlmRun(model, 'fp32', prompts, options.newTokens, threads);
  const out: VlmDrift[] = [];
  for (const precision of precisions) {
    const run =
      precision === 'fp32' ? ref : await vlmRun(model, precision, prompts, options.newTokens, threads);
    let maxDiff = 0;
    let equal = 0;
    let matched = 0;
    let total = 0;
    for (const [i, want] of ref.tokens.entries()) {
      const a = ref.logits[i]!;
      const b = run.logits[i]!;
      for (let k = 0; k < a.length; k++) maxDiff = Math.max(maxDiff, Math.abs(a[k]! - b[k]!));
      const got = run.tokens[i]!;
      if (got.length === want.length && got.every((t, k) => t === want[k])) equal++;
      let k = 0;
      while (k < want.length && got[k] === want[k]) k++;
      matched += k;
      total += want.length;
    }
    out.push({
      precision,
      prompts: prompts.length,
      firstLogitsMaxAbsDiff: maxDiff,
      answersEqual: equal / prompts.length,
      tokenAgreement: total ? matched / total : 1,
      answers: run.answers,
    });
  }
  return out;
}

/** Held-out images with the three reference questions: the VLM's prompt set. */
export function referencePrompts(perQuestion = 8, seed = 4409): VlmPrompt[] {
  const questions = ['What color is the shape?', 'What shape is this?', 'Describe the image.'];
  const n = perQuestion * questions.length;
  const set = heldOutSet(seed, Math.ceil(n / CLASSES.length)).slice(0, n);
  return set.map((img, i) => ({ image: pixelsOf(img), question: questions[i % questions.length]! }));
}

/** A drift as `onnx/quantization.json` records it per variant (what `mmrt explain` reads). */
export function driftRecord(
  d: ClipDrift | VlmDrift,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  if ('top1Agreement' in d) {
    return {
      kind: 'dual-encoder',
      images: d.images,
      top1Agreement: d.top1Agreement,
      ...(d.accuracy !== undefined && { accuracy: d.accuracy }),
      imageCosine: d.imageCosine,
      textCosine: d.textCosine,
      ...extra,
    };
  }
  return {
    kind: 'vision-language',
    prompts: d.prompts,
    answersEqual: d.answersEqual,
    tokenAgreement: d.tokenAgreement,
    firstLogitsMaxAbsDiff: d.firstLogitsMaxAbsDiff,
    ...extra,
  };
}

/** Write each precision's drift into every variant entry of that precision in `<model>/onnx/quantization.json`. */
export async function recordDrift(
  model: string,
  drifts: ReadonlyArray<ClipDrift | VlmDrift>,
  extra: Record<string, unknown> = {},
): Promise<Record<string, { precision: string; bytes: number; sourceBytes: number }>> {
  const path = join(model, 'onnx', 'quantization.json');
  const json = JSON.parse(await readFile(path, 'utf8'));
  const variants = json.variants as Record<
    string,
    { precision: string; bytes: number; sourceBytes: number; drift?: unknown }
  >;
  for (const e of Object.values(variants)) {
    const d = drifts.find((x) => x.precision === e.precision);
    if (d && d.precision !== 'fp32') e.drift = driftRecord(d, extra);
  }
  await writeFile(path, `${JSON.stringify(json, null, 1)}\n`);
  return variants;
}
