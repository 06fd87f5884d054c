/**
 * Full pipeline vs Python: decode (sharp) + Pillow-exact resize + HF crop, compared with
 * the uint8 pixels tools/fixtures/pillow_preprocess.py got from Pillow 9.4 following
 * transformers' load_image / resize / center_crop; and the float32 tensor vs numpy.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ImageProcessor } from '../../src/media/processor.js';
import { decodeImage } from '../../src/node/media/decode.js';
import { diff, FIXTURE_DIR, index, normalizedReference, preprocessed } from './fixtures.js';

const processors = Object.fromEntries(
  Object.entries(index.configs).map(([name, cfg]) => [
    name,
    ImageProcessor.fromConfig(cfg, { source: name }),
  ]),
);

describe('decode parity with PIL load_image (exif_transpose + convert("RGB"))', () => {
  for (const fx of index.images) {
    it(`${fx.file} (${fx.format}, PIL mode ${fx.pil_mode})`, async () => {
      const rgb = await decodeImage(join(FIXTURE_DIR, fx.file));
      expect([rgb.width, rgb.height]).toEqual([fx.width, fx.height]);
      if (fx.decoded) {
        const d = diff(rgb, preprocessed(fx.decoded));
        console.info(
          `[parity] decode ${fx.format} ${fx.file}: exact ${d.exactPct.toFixed(2)}%, max ${d.max}, mean ${d.meanAbs.toFixed(4)}`,
        );
        expect(d.max).toBeLessThanOrEqual(1);
      }
      if (fx.decoded_white) {
        const white = await decodeImage(join(FIXTURE_DIR, fx.file), { alpha: 'white' });
        const d = diff(white, preprocessed(fx.decoded_white));
        console.info(`[parity] decode alpha=white ${fx.file}: exact ${d.exactPct.toFixed(2)}%, max ${d.max}`);
        expect(d.max).toBeLessThanOrEqual(1);
      }
    });
  }
});

describe('EXIF orientation is applied like ImageOps.exif_transpose', () => {
  for (const fx of index.images.filter((i) => i.format.startsWith('jpeg-exif'))) {
    it(`${fx.file} carries Orientation ${fx.format.slice(-1)} and decodes upright`, async () => {
      const path = join(FIXTURE_DIR, fx.file);
      expect((await sharp(path).metadata()).orientation).toBe(Number(fx.format.slice(-1)));
      const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
      const stored = { data: new Uint8Array(data), width: info.width, height: info.height };
      const python = preprocessed(fx.decoded!);
      // Without the transpose the pixels would not match Python's.
      if (stored.width === python.width) expect(diff(stored, python).max).toBeGreaterThan(50);
      else expect([stored.height, stored.width]).toEqual([python.width, python.height]);
      expect(diff(await decodeImage(path), python).max).toBe(0);
    });
  }
});

describe('embedded ICC profiles are ignored, as PIL ignores them', () => {
  it('the wide-gamut fixture really carries a profile that sharp would otherwise apply', async () => {
    const fx = index.images.find((i) => i.format === 'jpeg-icc')!;
    const path = join(FIXTURE_DIR, fx.file);
    expect((await sharp(path).metadata()).hasProfile).toBe(true);
    const managed = await sharp(path).raw().toBuffer();
    const python = preprocessed(fx.decoded!);
    const colourManaged = diff({ data: new Uint8Array(managed), width: fx.width, height: fx.height }, python);
    expect(colourManaged.max).toBeGreaterThan(20); // what a colour-managing decoder would hand over
    expect(diff(await decodeImage(path), python).max).toBe(0);
  });
});

describe('resize + center crop parity with the HF Python pipeline', () => {
  for (const fx of index.images) {
    it(`${fx.file} (${fx.format}): ${Object.keys(fx.outputs).join(', ')}`, async () => {
      const rgb = await decodeImage(join(FIXTURE_DIR, fx.file));
      for (const [cfg, entry] of Object.entries(fx.outputs)) {
        const ours = processors[cfg]!.resizeAndCrop(rgb);
        const d = diff(ours, preprocessed(entry));
        console.info(
          `[parity] ${cfg} ${fx.format} ${fx.file}: exact ${d.exactPct.toFixed(2)}%, max ${d.max} (${(d.max / 255).toFixed(4)} after rescale)`,
        );
        // <= 1/255 before normalization.
        expect(d.max).toBeLessThanOrEqual(1);
      }
      for (const [cfg, entry] of Object.entries(fx.outputs_white ?? {})) {
        const white = await decodeImage(join(FIXTURE_DIR, fx.file), { alpha: 'white' });
        const d = diff(processors[cfg]!.resizeAndCrop(white), preprocessed(entry));
        expect(d.max).toBeLessThanOrEqual(1);
      }
    });
  }

  it('rescale + normalize are bit-identical to numpy (float64 rescale, float32 normalize)', async () => {
    const ref = normalizedReference();
    const { image, config } = index.normalized;
    const t = processors[config]!.preprocess(await decodeImage(join(FIXTURE_DIR, image)));
    expect(t.dims).toEqual(index.normalized.dims);
    let maxAbs = 0;
    let exact = 0;
    for (let i = 0; i < ref.length; i++) {
      const d = Math.abs(t.data[i]! - ref[i]!);
      if (d === 0) exact++;
      maxAbs = Math.max(maxAbs, d);
    }
    console.info(`[parity] normalized float32: ${exact}/${ref.length} bit-identical, max abs ${maxAbs}`);
    expect(exact).toBe(ref.length);
  });
});
