import { describe, expect, it } from 'vitest';
import { ConfigError, InputError } from '../../src/errors.js';
import { centerCrop, resizeOutputSize } from '../../src/media/geometry.js';
import { ImageProcessor, stackBatch } from '../../src/media/processor.js';
import { parseImageProcessorConfig } from '../../src/media/processor-config.js';
import { index } from './fixtures.js';

const clip = index.configs['clip224']!;
const siglip = index.configs['siglip64']!;

function gradient(width: number, height: number) {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 256;
  return { data, width, height };
}

// vitest's deep equality walks 300k floats slowly; compare the bytes instead.
const sameBytes = (a: Float32Array, b: Float32Array) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('parseImageProcessorConfig', () => {
  it('reads the CLIP and SigLIP configs', () => {
    expect(parseImageProcessorConfig(clip)).toMatchObject({
      resize: { shortestEdge: 224 },
      resample: 'bicubic',
      crop: { width: 224, height: 224 },
      rescaleFactor: 1 / 255,
      mean: [0.48145466, 0.4578275, 0.40821073],
    });
    const s = parseImageProcessorConfig(siglip);
    expect(s).toMatchObject({
      resize: { height: 64, width: 64 },
      resample: 'bilinear',
      mean: [0.5, 0.5, 0.5],
    });
    expect(s.crop).toBeUndefined();
  });

  it('fills Python constructor defaults for known classes, and reads a bare int size as Python does', () => {
    const c = parseImageProcessorConfig({
      image_processor_type: 'CLIPImageProcessor',
      size: 336,
      crop_size: 336,
    });
    expect(c).toMatchObject({
      resize: { shortestEdge: 336 },
      crop: { width: 336, height: 336 },
      resample: 'bicubic',
    });
    const s = parseImageProcessorConfig({ image_processor_type: 'SiglipImageProcessor', size: 384 });
    expect(s).toMatchObject({
      resize: { height: 384, width: 384 },
      resample: 'bicubic', // SiglipImageProcessor's constructor default (PILImageResampling.BICUBIC)
      std: [0.5, 0.5, 0.5],
    });
    expect(s.crop).toBeUndefined();
  });

  it('honours do_* switches', () => {
    const c = parseImageProcessorConfig({
      ...clip,
      do_center_crop: false,
      do_normalize: false,
      do_rescale: false,
    });
    expect(c.crop).toBeUndefined();
    expect(c.mean).toBeUndefined();
    expect(c.rescaleFactor).toBeUndefined();
  });

  it('rejects bad values with ConfigError naming the key', () => {
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ ...clip, resample: 7 }, 'resample'],
      [{ ...clip, resample: 'cubic' }, 'resample'],
      [{ ...clip, size: { longest_edge: 224 } }, 'size'],
      [{ ...clip, size: { height: 224 } }, 'size'],
      [{ ...clip, size: -3 }, 'size'],
      [{ ...clip, crop_size: { shortest_edge: 3 } }, 'crop_size'],
      [{ ...clip, image_mean: [0.5, 0.5] }, 'image_mean'],
      [{ ...clip, image_std: [0.5, 0, 0.5] }, 'image_std'],
      [{ ...clip, rescale_factor: 0 }, 'rescale_factor'],
      [{ ...clip, do_resize: 'yes' }, 'do_resize'],
    ];
    for (const [cfg, key] of bad) {
      let err: unknown;
      try {
        parseImageProcessorConfig(cfg, 'preprocessor_config.json');
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(cfg)).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).code).toBe('CONFIG_INVALID_VALUE');
      expect((err as ConfigError).message).toContain(key);
    }
    expect(() => parseImageProcessorConfig(null)).toThrow(ConfigError);
    expect(() => parseImageProcessorConfig([1])).toThrow(ConfigError);
  });

  it('guesses nothing for unknown processor classes: missing size / resample are errors', () => {
    expect(() =>
      parseImageProcessorConfig({ image_processor_type: 'MysteryProcessor', do_resize: true }),
    ).toThrow(/"size" is required/);
    expect(() =>
      parseImageProcessorConfig({ image_processor_type: 'MysteryProcessor', size: { height: 8, width: 8 } }),
    ).toThrow(/"resample" is required/);
    const ok = parseImageProcessorConfig({ size: { height: 8, width: 8 }, resample: 0 });
    expect(ok).toMatchObject({ resize: { height: 8, width: 8 }, resample: 'nearest' });
    expect(ok.mean).toBeUndefined();
  });
});

describe('geometry', () => {
  it('resizeOutputSize follows get_resize_output_image_size (int() truncation)', () => {
    expect(resizeOutputSize(1000, 750, { shortestEdge: 224 })).toEqual({ width: 298, height: 224 });
    expect(resizeOutputSize(750, 1000, { shortestEdge: 224 })).toEqual({ width: 224, height: 298 });
    expect(resizeOutputSize(5, 3, { shortestEdge: 32 })).toEqual({ width: 53, height: 32 });
    expect(resizeOutputSize(640, 640, { shortestEdge: 224 })).toEqual({ width: 224, height: 224 });
    expect(resizeOutputSize(123, 45, { height: 64, width: 32 })).toEqual({ width: 32, height: 64 });
  });

  it('centerCrop pads with zeros, floor offsets like Python //', () => {
    // 3x2 image, crop to 5x1: horizontal padding (ceil((5-3)/2) = 1 left), vertical crop at floor(1/2) = 0.
    const img = {
      data: Uint8Array.from([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6]),
      width: 3,
      height: 2,
    };
    expect(Array.from(centerCrop(img, 5, 1).data)).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 0, 0, 0]);
    // Crop 2x4: offset floor((3-2)/2) = 0 in x; rows padded ceil((4-2)/2) = 1 above.
    expect(Array.from(centerCrop(img, 2, 4).data)).toEqual([
      0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 4, 4, 4, 5, 5, 5, 0, 0, 0, 0, 0, 0,
    ]);
  });
});

describe('ImageProcessor', () => {
  it('produces [1,3,H,W] float32 in CHW order and batches to [N,3,H,W]', () => {
    const p = ImageProcessor.fromConfig(clip);
    const a = p.preprocess(gradient(300, 200));
    expect(a.dims).toEqual([1, 3, 224, 224]);
    expect(a.data).toBeInstanceOf(Float32Array);
    const batch = p.preprocessBatch([gradient(300, 200), gradient(50, 90)]);
    expect(batch.dims).toEqual([2, 3, 224, 224]);
    expect(sameBytes(batch.data.subarray(0, a.data.length), a.data)).toBe(true);
    const stacked = stackBatch([a, p.preprocess(gradient(50, 90))]);
    expect(stacked.dims).toEqual([2, 3, 224, 224]);
    expect(sameBytes(stacked.data, batch.data)).toBe(true);
  });

  it('writes an image straight into a batch buffer: the same floats as preprocess, bounds checked', () => {
    const p = ImageProcessor.fromConfig(clip);
    const one = p.preprocess(gradient(300, 200)).data;
    const batch = new Float32Array(2 * one.length).fill(7);
    p.preprocessInto(gradient(300, 200), batch, one.length, 224, 224);
    expect(batch.subarray(0, one.length).every((v) => v === 7)).toBe(true);
    expect(sameBytes(batch.subarray(one.length), one)).toBe(true);
    expect(() => p.preprocessInto(gradient(300, 200), batch, one.length + 1, 224, 224)).toThrow(InputError);
    expect(() => p.preprocessInto(gradient(300, 200), batch, 0, 64, 64)).toThrow(InputError);
  });

  it('CHW layout: a pure red image gives a constant R plane and constant G/B planes', () => {
    const p = ImageProcessor.fromConfig(siglip);
    const data = new Uint8Array(10 * 10 * 3);
    for (let i = 0; i < data.length; i += 3) data[i] = 255;
    const t = p.preprocess({ data, width: 10, height: 10 });
    const plane = 64 * 64;
    expect(t.data[0]).toBe(1); // (1 - 0.5) / 0.5
    expect(t.data[plane - 1]).toBe(1);
    expect(t.data[plane]).toBe(-1);
    expect(t.data[3 * plane - 1]).toBe(-1);
  });

  it('refuses to batch images of different output sizes without a crop', () => {
    const p = ImageProcessor.fromConfig({ ...clip, do_center_crop: false });
    expect(() => p.preprocessBatch([gradient(300, 200), gradient(200, 300)])).toThrow(InputError);
    expect(() => p.preprocessBatch([])).toThrow(InputError);
    expect(() => stackBatch([p.preprocess(gradient(300, 200)), p.preprocess(gradient(200, 300))])).toThrow(
      InputError,
    );
  });

  it('rejects malformed images and unknown resample modes', () => {
    const p = ImageProcessor.fromConfig(clip);
    expect(() => p.preprocess({ data: new Uint8Array(11), width: 2, height: 2 })).toThrow(InputError);
    expect(() => p.preprocess({ data: new Uint8Array(0), width: 0, height: 0 })).toThrow(InputError);
    expect(() => ImageProcessor.fromConfig(clip, { resampleMode: 'quick' as never })).toThrow(InputError);
  });

  it("only gives a decode hint in 'fast' mode", () => {
    expect(ImageProcessor.fromConfig(clip).decodeHint()).toBeUndefined();
    expect(ImageProcessor.fromConfig(clip, { resampleMode: 'fast' }).decodeHint()).toEqual({
      shortestEdge: 224,
    });
    expect(ImageProcessor.fromConfig(siglip, { resampleMode: 'fast' }).decodeHint()).toEqual({
      width: 64,
      height: 64,
    });
    expect(ImageProcessor.fromConfig(clip).fixedOutputSize).toEqual({ width: 224, height: 224 });
  });
});
