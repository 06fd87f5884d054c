/**
 * SigLIP through mmrt's public API on a tiny random-weight SigLIP in the hub's ONNX layout
 * (test/clip/fixtures/make_tiny_siglip.py writes it and its PyTorch references):
 * family detection, max_length padding, embeddings and zero-shot scores against PyTorch,
 * Pillow-exact plain resize, split vs combined layouts, and @huggingface/transformers on the
 * same folder.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AutoTokenizer,
  env,
  SiglipModel,
  SiglipTextModel,
  SiglipVisionModel,
  Tensor,
} from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClipModel } from '../../src/kinds/dual-encoder/model.js';
import { ImageProcessor } from '../../src/media/processor.js';
import { loadClip } from '../../src/node/index.js';
import { decodeImage } from '../../src/node/media/decode.js';
import { ort } from '../../src/node/ort.js';
import { type B64Tensor, cosine, float32, maxAbsDiff } from '../shapes/reference.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const MODEL = join(FIXTURES, 'tiny-siglip');

interface SiglipReference {
  labels: string[];
  template: string;
  texts: string[];
  max_length: number;
  truncated: number[];
  input_ids: number[][];
  pad_token_id: number;
  eos_token_id: number;
  images: string[];
  image_sizes: Array<[number, number]>;
  resized_uint8: { dtype: 'uint8'; shape: number[]; base64: string };
  pixel_values: B64Tensor;
  text_embeds: number[][];
  image_embeds: number[][];
  text_embeds_normalized: number[][];
  image_embeds_normalized: number[][];
  logits_per_image: number[][];
  logit_scale: number;
  logit_bias: number;
}

const ref = JSON.parse(readFileSync(join(MODEL, 'reference.json'), 'utf8')) as SiglipReference;
const imagePaths = ref.images.map((f) => join(MODEL, 'images', f));
const [, SIZE_H, SIZE_W] = ref.resized_uint8.shape as [number, number, number, number]; // N, H, W, 3
const PIXELS_PER_IMAGE = SIZE_H * SIZE_W * 3;
const resizedU8 = new Uint8Array(Buffer.from(ref.resized_uint8.base64, 'base64'));
/** The reference's resized pixels as raw RGB inputs: at the model's size, so no resample runs. */
const rawResized = ref.images.map((_, i) => ({
  data: resizedU8.slice(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE),
  width: SIZE_W,
  height: SIZE_H,
  channels: 3 as const,
}));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const rowsMaxDiff = (a: ArrayLike<number>[], b: number[][]) =>
  Math.max(...b.map((want, i) => maxAbsDiff(a[i]!, want)));
const fmt = (x: number) => x.toExponential(2);

let clip: ClipModel;
let cacheDir: string;
const warnings: string[] = [];

beforeAll(async () => {
  cacheDir = mkdtempSync(join(tmpdir(), 'mmrt-siglip-'));
  clip = await loadClip({
    model: MODEL,
    platform: 'cpu',
    host: { cacheDir },
    clip: { textCacheBytes: 0 },
    onWarning: (m) => warnings.push(m),
  });
});
afterAll(async () => {
  await clip?.dispose();
  if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
});

describe('tiny SigLIP package', () => {
  it('is described as family siglip, split layout preferred, combined model present', async () => {
    const pkg = clip.loader.package;
    expect(pkg.family).toBe('siglip');
    expect(pkg.modelType).toBe('siglip');
    expect(pkg.layout).toEqual(['text_model', 'vision_model']);
    expect(Object.keys(pkg.components).sort()).toEqual(['model', 'text_model', 'vision_model']);
    {
      const text = await clip.loader.session('text_model');
      expect(text.inputNames).toEqual(['input_ids']);
      expect(text.outputNames).toEqual(['last_hidden_state', 'pooler_output']);
      // The pooled embedding depends on max_length padding (SigLIP pools the last position):
      // the same text unpadded gives another embedding, so the parity tests below check padding.
      const ids = ref.input_ids[0]!.slice(0, ref.input_ids[0]!.indexOf(ref.eos_token_id) + 1);
      const out = await text.run({
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
      });
      const unpadded = out.pooler_output!.data as Float32Array;
      expect(maxAbsDiff(unpadded, ref.text_embeds[0]!)).toBeGreaterThan(1e-2);
    }
    expect(clip.family).toBe('siglip');
  });
});

describe('SigLIP tokenization', () => {
  it('pads to max_length with the pad (= EOS) token, keeping EOS last on truncation', () => {
    expect(clip.tokenizer.maxLength).toBe(ref.max_length);
    expect(clip.tokenizer.padId).toBe(ref.pad_token_id);
    const seen: string[] = [];
    const batch = clip.tokenizer.encodeBatch(ref.texts, {
      padding: 'max_length',
      onWarning: (m) => seen.push(m),
    });
    expect(batch.dims).toEqual([ref.texts.length, ref.max_length]);
    const rows = ref.texts.map((_, r) =>
      Array.from(batch.inputIds.slice(r * ref.max_length, (r + 1) * ref.max_length), Number),
    );
    expect(rows).toEqual(ref.input_ids);
    expect(batch.truncated).toEqual(ref.truncated);
    expect(seen).toHaveLength(ref.truncated.length);
    // even a single short text is padded to max_length: SigLIP pools the last position
    const one = clip.tokenizer.encodeBatch([ref.texts[0]!], { padding: 'max_length' });
    expect(one.dims).toEqual([1, ref.max_length]);
  });
});

describe('SigLIP vs PyTorch', () => {
  it('text embeddings (pooler_output) match, each text alone and in one batch', async () => {
    // One text per call: with 'longest' padding the last position would be EOS, not the
    // max_length pad, and the pooled embedding would differ — this checks the padding too.
    const alone: Float32Array[] = [];
    for (const t of ref.texts) alone.push((await clip.embedTexts([t], { normalize: false }))[0]!);
    const batched = await clip.embedTexts(ref.texts, { normalize: false });
    const dAlone = rowsMaxDiff(alone, ref.text_embeds);
    const dBatch = rowsMaxDiff(batched, ref.text_embeds);
    const normalized = await clip.embedTexts(ref.texts);
    const dNorm = rowsMaxDiff(normalized, ref.text_embeds_normalized);
    console.log(
      `[parity] siglip text_embeds max abs diff: alone ${fmt(dAlone)}, batched ${fmt(dBatch)}, normalized ${fmt(dNorm)}`,
    );
    expect(dAlone).toBeLessThanOrEqual(1e-4);
    expect(dBatch).toBeLessThanOrEqual(1e-4);
    expect(dNorm).toBeLessThanOrEqual(1e-4);
    expect(warnings.some((w) => w.includes('truncated'))).toBe(true);
  });

  it('image embeddings match, on the reference pixels and end to end from the PNG files', async () => {
    const fromPixels = await clip.embedImages(rawResized, { normalize: false });
    const fromFiles = await clip.embedImages(imagePaths, { normalize: false });
    const dPixels = rowsMaxDiff(fromPixels, ref.image_embeds);
    const dFiles = rowsMaxDiff(fromFiles, ref.image_embeds);
    const normalized = await clip.embedImages(imagePaths);
    const dNorm = rowsMaxDiff(normalized, ref.image_embeds_normalized);
    console.log(
      `[parity] siglip image_embeds max abs diff: reference pixels ${fmt(dPixels)}, PNG files ${fmt(dFiles)}, normalized ${fmt(dNorm)}`,
    );
    expect(dPixels).toBeLessThanOrEqual(1e-4);
    expect(dFiles).toBeLessThanOrEqual(1e-4);
    expect(dNorm).toBeLessThanOrEqual(1e-4);
  });

  it('preprocesses the PNGs as SiglipImageProcessor does (plain resize, no crop), within 1/255', async () => {
    const config = JSON.parse(readFileSync(join(MODEL, 'preprocessor_config.json'), 'utf8')) as unknown;
    const processor = ImageProcessor.fromConfig(config);
    expect(processor.config.crop).toBeUndefined();
    expect(processor.config.resample).toBe('bicubic');
    expect(processor.fixedOutputSize).toEqual({ width: SIZE_W, height: SIZE_H });
    const refPixels = float32(ref.pixel_values);
    let maxLevels = 0;
    let maxBeforeNorm = 0;
    for (const [i, path] of imagePaths.entries()) {
      const rgb = await decodeImage(path);
      expect([rgb.width, rgb.height]).toEqual(ref.image_sizes[i]);
      const resized = processor.resizeAndCrop(rgb);
      expect([resized.width, resized.height]).toEqual([SIZE_W, SIZE_H]);
      const want = resizedU8.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE);
      for (let k = 0; k < want.length; k++)
        maxLevels = Math.max(maxLevels, Math.abs(resized.data[k]! - want[k]!));
      // pixel_values back to [0, 1] (mean = std = 0.5) before comparing
      const got = processor.preprocess(rgb).data;
      const wantPx = refPixels.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE);
      for (let k = 0; k < got.length; k++) {
        maxBeforeNorm = Math.max(maxBeforeNorm, Math.abs((got[k]! - wantPx[k]!) * 0.5));
      }
    }
    console.log(
      `[parity] siglip preprocessing vs Pillow: max ${maxLevels} level(s) after resize, ${fmt(maxBeforeNorm)} before normalization`,
    );
    expect(maxLevels).toBeLessThanOrEqual(1);
    expect(maxBeforeNorm).toBeLessThanOrEqual(1 / 255 + 1e-7);
  });

  it('zero-shot scores are sigmoid(exp(logit_scale)·cos + logit_bias) per label, matching PyTorch', async () => {
    const { scale, bias } = await clip.logitScale();
    console.log(
      `[parity] siglip logit scale ${scale.toFixed(6)} (ref ${ref.logit_scale}), bias ${bias.toFixed(6)} (ref ${ref.logit_bias})`,
    );
    expect(Math.abs(scale - ref.logit_scale)).toBeLessThanOrEqual(1e-3);
    expect(Math.abs(bias - ref.logit_bias)).toBeLessThanOrEqual(1e-3);
    // read from model.onnx, not the init-value fallback (which warns)
    expect(warnings.filter((w) => w.includes('logit scale'))).toEqual([]);

    const results = await clip.zeroShot(imagePaths, ref.labels, { template: ref.template });
    const texts = await clip.embedTexts(ref.labels.map((l) => ref.template.replace('{}', l)));
    const images = await clip.embedImages(imagePaths);
    let dRef = 0;
    let dFormula = 0;
    results.forEach((r, i) => {
      expect(r).toHaveLength(ref.labels.length);
      // sigmoid per label: independent probabilities, not a distribution over labels
      const sum = r.reduce((s, x) => s + x.score, 0);
      expect(Math.abs(sum - 1)).toBeGreaterThan(0.1);
      for (let k = 1; k < r.length; k++) expect(r[k - 1]!.score).toBeGreaterThanOrEqual(r[k]!.score);
      ref.labels.forEach((label, j) => {
        const got = r.find((x) => x.label === label)!.score;
        dRef = Math.max(dRef, Math.abs(got - sigmoid(ref.logits_per_image[i]![j]!)));
        const cos = clip.similarity(images[i]!, texts[j]!);
        dFormula = Math.max(dFormula, Math.abs(got - sigmoid(scale * cos + bias)));
      });
    });
    console.log(
      `[parity] siglip zero-shot scores vs sigmoid(PyTorch logits_per_image): max abs diff ${fmt(dRef)}; vs formula ${fmt(dFormula)}`,
    );
    expect(dRef).toBeLessThanOrEqual(1e-4);
    expect(dFormula).toBeLessThanOrEqual(1e-6);
  });
});

describe('SigLIP combined model.onnx layout', () => {
  let combined: ClipModel;
  let onlyCombined: string;
  beforeAll(async () => {
    // The same folder as a package that only has onnx/model.onnx.
    onlyCombined = mkdtempSync(join(tmpdir(), 'mmrt-siglip-combined-'));
    cpSync(MODEL, onlyCombined, {
      recursive: true,
      filter: (src) => !/(text|vision)_model\.onnx$/.test(src),
    });
    combined = await loadClip({
      model: onlyCombined,
      platform: 'cpu',
      config: { num_threads: 1 },
      host: { cacheDir },
      clip: { textCacheBytes: 0 },
    });
    expect(combined.loader.package.layout).toEqual(['model']);
  });
  afterAll(async () => {
    await combined?.dispose();
    rmSync(onlyCombined, { recursive: true, force: true });
  });

  it('gives the same embeddings and zero-shot scores as the split layout', async () => {
    const dText = rowsMaxDiff(await combined.embedTexts(ref.texts), ref.text_embeds_normalized);
    const dImage = rowsMaxDiff(await combined.embedImages(imagePaths), ref.image_embeds_normalized);
    const split = await clip.zeroShot(imagePaths, ref.labels, { template: ref.template });
    const comb = await combined.zeroShot(imagePaths, ref.labels, { template: ref.template });
    let dScores = 0;
    comb.forEach((r, i) => {
      expect(r.map((x) => x.label)).toEqual(split[i]!.map((x) => x.label));
      r.forEach((x, k) => {
        dScores = Math.max(dScores, Math.abs(x.score - split[i]![k]!.score));
      });
    });
    console.log(
      `[parity] siglip combined model.onnx: text ${fmt(dText)}, image ${fmt(dImage)} vs PyTorch; scores vs split layout ${fmt(dScores)}`,
    );
    expect(dText).toBeLessThanOrEqual(1e-4);
    expect(dImage).toBeLessThanOrEqual(1e-4);
    expect(dScores).toBeLessThanOrEqual(1e-5);
  });
});

describe('SigLIP in @huggingface/transformers on the same folder', () => {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = `${FIXTURES}/`;
  const opts = { dtype: 'fp32', session_options: { intraOpNumThreads: 1 } } as const;
  const i64 = (rows: number[][]) =>
    new Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0]!.length]);

  it('its tokenizer gives the same max_length ids (EOS kept only by mmrt on truncation)', async () => {
    const tok = await AutoTokenizer.from_pretrained('tiny-siglip');
    const { input_ids } = tok(ref.texts, { padding: 'max_length', truncation: true });
    const got = input_ids.tolist() as bigint[][];
    ref.input_ids.forEach((want, i) => {
      const row = got[i]!.map(Number);
      if (!ref.truncated.includes(i)) {
        expect(row).toEqual(want);
      } else {
        // transformers.js cuts the end, EOS included; mmrt and Python keep EOS last.
        expect(row.slice(0, -1)).toEqual(want.slice(0, -1));
      }
    });
  });

  it('SiglipTextModel pooler_output agrees with mmrt (cosine >= 0.9999)', async () => {
    const model = await SiglipTextModel.from_pretrained('tiny-siglip', opts);
    try {
      const { pooler_output } = await model({ input_ids: i64(ref.input_ids) });
      const theirs = pooler_output.tolist() as number[][];
      const ours = await clip.embedTexts(ref.texts, { normalize: false });
      const cos = Math.min(...ours.map((o, i) => cosine(o, theirs[i]!)));
      const d = rowsMaxDiff(ours, theirs);
      console.log(
        `[parity] siglip transformers.js text: min cosine ${cos.toFixed(7)}, max abs diff ${fmt(d)}`,
      );
      expect(cos).toBeGreaterThanOrEqual(0.9999);
    } finally {
      await model.dispose();
    }
  });

  it('SiglipVisionModel pooler_output agrees with mmrt on the same pixel_values (cosine >= 0.9999)', async () => {
    const model = await SiglipVisionModel.from_pretrained('tiny-siglip', opts);
    try {
      const pixels = new Tensor('float32', float32(ref.pixel_values), ref.pixel_values.shape);
      const { pooler_output } = await model({ pixel_values: pixels });
      const theirs = pooler_output.tolist() as number[][];
      const ours = await clip.embedImages(rawResized, { normalize: false });
      const cos = Math.min(...ours.map((o, i) => cosine(o, theirs[i]!)));
      const d = rowsMaxDiff(ours, theirs);
      console.log(
        `[parity] siglip transformers.js vision: min cosine ${cos.toFixed(7)}, max abs diff ${fmt(d)}`,
      );
      expect(cos).toBeGreaterThanOrEqual(0.9999);
    } finally {
      await model.dispose();
    }
  });

  it('SiglipModel (model.onnx) logits_per_image match the PyTorch reference', async () => {
    const model = await SiglipModel.from_pretrained('tiny-siglip', opts);
    try {
      const pixels = new Tensor('float32', float32(ref.pixel_values), ref.pixel_values.shape);
      const out = await model({ input_ids: i64(ref.input_ids), pixel_values: pixels });
      const d = maxAbsDiff((out.logits_per_image.tolist() as number[][]).flat(), ref.logits_per_image.flat());
      console.log(`[parity] siglip transformers.js model.onnx logits_per_image max abs diff ${fmt(d)}`);
      expect(d).toBeLessThanOrEqual(1e-4);
    } finally {
      await model.dispose();
    }
  });
});
