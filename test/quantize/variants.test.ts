/**
 * The precision variants committed beside the shipped tiny models: regenerating them from the
 * fp32 files gives the same bytes, and each stays within its stated tolerance of fp32 where a
 * user would notice — CLIP zero-shot top-1 agreement >= 99% on held-out images for fp16 and q8,
 * the VLM's greedy answers equal on the reference prompts for fp16 and q8 — with q4's drift
 * measured and bounded loosely (it is reported in models/README.md).
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPlacement } from '../../src/node/index.js';
import { readOnnxFile } from '../../src/node/onnx-files.js';
import { modelBytes } from '../../src/onnx/write.js';
import { parseComponentFileStem } from '../../src/package/precision.js';
import { convertModel } from '../../src/quantize/convert.js';
import { isQuantizePrecision } from '../../src/quantize/options.js';
import { clipDrift, heldOutImages, referencePrompts, vlmDrift } from '../../tools/quantize/drift.js';
import { MODELS } from '../shapes/reference.js';

const PACKAGES = ['shapes-clip', 'shapes-vlm', 'shapes-llava-next'];

async function committedVariants() {
  const out: Array<{ pkg: string; file: string; component: string; precision: string }> = [];
  for (const pkg of PACKAGES) {
    for (const f of (await readdir(join(MODELS, pkg, 'onnx'))).sort()) {
      if (!f.endsWith('.onnx')) continue;
      const { component, precision } = parseComponentFileStem(f.slice(0, -5));
      if (precision !== 'fp32') out.push({ pkg, file: f, component, precision });
    }
  }
  return out;
}

describe('committed variants of the tiny models', () => {
  it('are fp16, q8, q4 and q4f16 of every component, and regenerate byte for byte', async () => {
    const variants = await committedVariants();
    expect(variants.length).toBe(4 * (3 + 3 + 3));
    for (const v of variants) {
      expect(isQuantizePrecision(v.precision)).toBe(true);
      const source = await readOnnxFile(join(MODELS, v.pkg, 'onnx', `${v.component}.onnx`));
      try {
        const { working } = convertModel(source.working, v.precision as 'q4');
        const bytes = await modelBytes(working.model, [...working.initializers.values()]);
        const committed = new Uint8Array(await readFile(join(MODELS, v.pkg, 'onnx', v.file)));
        expect(bytes.byteLength, `${v.pkg}/${v.file}`).toBe(committed.byteLength);
        expect(Buffer.compare(bytes, committed), `${v.pkg}/${v.file} differs`).toBe(0);
      } finally {
        await source.close();
      }
    }
  });

  it('CLIP: zero-shot top-1 agreement with fp32 >= 99% on held-out images for fp16 and q8', async () => {
    const set = heldOutImages(4);
    const drift = await clipDrift(join(MODELS, 'shapes-clip'), ['fp16', 'q8', 'q4', 'q4f16'], set);
    const by = Object.fromEntries(drift.map((d) => [d.precision, d]));
    expect(by.fp16!.top1Agreement).toBeGreaterThanOrEqual(0.99);
    expect(by.q8!.top1Agreement).toBeGreaterThanOrEqual(0.99);
    expect(by.fp16!.imageCosine.min).toBeGreaterThan(0.999);
    expect(by.q8!.imageCosine.min).toBeGreaterThan(0.99);
    // 4-bit weights on a 64-wide model: two blocks per column. Reported, loosely bounded.
    expect(by.q4!.top1Agreement).toBeGreaterThanOrEqual(0.9);
    expect(by.q4f16!.top1Agreement).toBeGreaterThanOrEqual(0.9);
    for (const d of drift)
      console.info(
        `shapes-clip ${d.precision}: top-1 agreement ${(100 * d.top1Agreement).toFixed(1)}% of ${d.images}, accuracy ${(100 * d.accuracy!).toFixed(1)}%, image cosine mean ${d.imageCosine.mean.toFixed(5)} min ${d.imageCosine.min.toFixed(5)}`,
      );
  });

  it('VLM: greedy answers equal to fp32 on the reference prompts for fp16 and q8', async () => {
    const prompts = referencePrompts(4);
    const drift = await vlmDrift(join(MODELS, 'shapes-vlm'), ['fp16', 'q8', 'q4', 'q4f16'], prompts);
    const by = Object.fromEntries(drift.map((d) => [d.precision, d]));
    expect(by.fp16!.answersEqual).toBe(1);
    expect(by.q8!.answersEqual).toBe(1);
    expect(by.fp16!.firstLogitsMaxAbsDiff).toBeLessThan(0.05);
    expect(by.q4!.tokenAgreement).toBeGreaterThanOrEqual(0.8);
    for (const d of drift)
      console.info(
        `shapes-vlm ${d.precision}: answers equal ${(100 * d.answersEqual).toFixed(1)}% of ${d.prompts}, token agreement ${(100 * d.tokenAgreement).toFixed(1)}%, first-step logits max |diff| ${d.firstLogitsMaxAbsDiff.toFixed(4)}`,
      );
  });
});

describe('mmrt explain shows the published drift', () => {
  it('names each planned variant with its drift from onnx/quantization.json', async () => {
    const p = await createPlacement({
      model: join(MODELS, 'shapes-vlm'),
      platform: 'cpu',
      config: { vision_precision: 'fp16', llm_precision: 'q4' },
    });
    const text = p.explain();
    expect(text).toContain('Precision drift (onnx/quantization.json');
    expect(text).toMatch(
      /q4 decoder_model_merged: \d+\.\d% greedy-token disagreement with fp32 on 48 reference prompts/,
    );
    expect(text).toMatch(/fp16 vision_encoder: /);
    const clip = await createPlacement({
      model: join(MODELS, 'shapes-clip'),
      platform: 'cpu',
      config: { precision: 'q8' },
    });
    expect(clip.explainJson().drift).toContainEqual(
      expect.stringMatching(
        /^q8 vision_model: \d+\.\d% zero-shot top-1 agreement with fp32 on 480 held-out images/,
      ),
    );
  });
});
