/**
 * Records how far @huggingface/transformers (the peer a user would otherwise pick)
 * preprocesses from Python, on the same files, next to mmrt. It resizes with sharp's
 * affine/lanczos instead of Pillow's convolution (transformers.js issues #595, #799), so
 * it drifts; this test writes the drift down and checks only that the comparison ran:
 * it does not assert the peer is wrong.
 */
import { join } from 'node:path';
import { CLIPImageProcessor, RawImage } from '@huggingface/transformers';
import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../../src/host/host.js';
import { ImageProcessor } from '../../src/media/processor.js';
import { decodeImage } from '../../src/node/media/decode.js';
import { diff, FIXTURE_DIR, index, preprocessed } from './fixtures.js';

/** Back from normalized CHW floats to the HWC bytes they came from (round to nearest). */
function denormalize(
  data: ArrayLike<number>,
  width: number,
  height: number,
  mean: number[],
  std: number[],
): RgbImage {
  const n = width * height;
  const out = new Uint8Array(n * 3);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < n; i++) {
      const v = Math.round((data[c * n + i]! * std[c]! + mean[c]!) * 255);
      out[i * 3 + c] = Math.min(255, Math.max(0, v));
    }
  }
  return { data: out, width, height };
}

const cases: Array<[string, string]> = [
  ['photo_1000x750.jpg', 'clip224'],
  ['rgb_320x240.png', 'clip224'],
  ['exif_o6_160x96.jpg', 'clip224'],
  ['tall_150x250.webp', 'siglip64'],
];

describe('@huggingface/transformers preprocessing drift (recorded, not asserted)', () => {
  for (const [file, cfgName] of cases) {
    it(`${file} with ${cfgName}`, async () => {
      const cfg = index.configs[cfgName] as Record<string, unknown> & {
        image_mean: number[];
        image_std: number[];
      };
      const fx = index.images.find((i) => i.file === file)!;
      const python = preprocessed(fx.outputs[cfgName]!);

      const peer = new CLIPImageProcessor(cfg as never);
      const { pixel_values } = await peer(await RawImage.read(join(FIXTURE_DIR, file)));
      const [, , h, w] = pixel_values.dims as number[];
      expect([w, h]).toEqual([python.width, python.height]);
      const peerPx = denormalize(pixel_values.data as Float32Array, w!, h!, cfg.image_mean, cfg.image_std);

      const ours = ImageProcessor.fromConfig(cfg);
      const oursT = ours.preprocess(await decodeImage(join(FIXTURE_DIR, file)));
      const oursPx = denormalize(oursT.data, w!, h!, cfg.image_mean, cfg.image_std);

      let maxFloat = 0;
      for (let i = 0; i < oursT.data.length; i++) {
        maxFloat = Math.max(maxFloat, Math.abs(oursT.data[i]! - (pixel_values.data as Float32Array)[i]!));
      }
      const dPeer = diff(peerPx, python);
      const dOurs = diff(oursPx, python);
      console.info(
        `[peer] ${cfgName} ${file}: transformers.js vs Pillow: exact ${dPeer.exactPct.toFixed(1)}%, ` +
          `mean |d| ${dPeer.meanAbs.toFixed(2)}, max ${dPeer.max} levels; mmrt vs Pillow: exact ` +
          `${dOurs.exactPct.toFixed(1)}%, max ${dOurs.max}; max |pixel_values| diff mmrt-peer ${maxFloat.toFixed(4)}`,
      );
      expect(dOurs.max).toBe(0);
      expect(Number.isFinite(dPeer.meanAbs)).toBe(true);
    });
  }
});
