import { describe, expect, it } from 'vitest';
import { ConfigError, InputError } from '../../src/errors.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  RESAMPLE_FILTERS,
  type ResampleEngine,
  type ResampleFilter,
  resampleFilter,
  resizeRgb,
} from '../../src/media/resample.js';
import { diff, index, resampled } from './fixtures.js';

const source = resampled(index.resample.source);
const filters = [...new Set(index.resample.cases.map((c) => c.filter))];
const ENGINES: readonly ResampleEngine[] = ['simd', 'js'];

describe.each(ENGINES)('resizeRgb (%s passes) vs Pillow Image.resize', (engine) => {
  for (const filter of filters) {
    it(`${filter}: bit-exact or within 1 level on every geometry`, () => {
      const rows: string[] = [];
      let exact = 0;
      let total = 0;
      let max = 0;
      for (const c of index.resample.cases.filter((x) => x.filter === filter)) {
        const ours = resizeRgb(source, c.width, c.height, filter as ResampleFilter, engine);
        const d = diff(ours, resampled(c));
        rows.push(`${c.width}x${c.height}: max ${d.max}, exact ${d.exactPct.toFixed(2)}%`);
        exact += d.exact;
        total += d.total;
        max = Math.max(max, d.max);
      }
      console.info(`[parity] ${engine} ${filter} 97x61 -> ${rows.join('; ')}`);
      console.info(
        `[parity] ${engine} ${filter}: exact ${((100 * exact) / total).toFixed(3)}%, max diff ${max}`,
      );
      expect(max).toBeLessThanOrEqual(1);
    });
  }
});

describe('resizeRgb', () => {
  it('maps PIL codes and names, and rejects anything else with a ConfigError', () => {
    expect(resampleFilter(3)).toBe('bicubic');
    expect(resampleFilter(0)).toBe('nearest');
    expect(resampleFilter('LANCZOS')).toBe('lanczos');
    for (const bad of [6, -1, 2.5, 'cubic', null]) {
      expect(() => resampleFilter(bad)).toThrow(ConfigError);
    }
  });

  it('rejects bad images and targets with InputError', () => {
    expect(() => resizeRgb({ data: new Uint8Array(5), width: 2, height: 1 }, 1, 1, 'bilinear')).toThrow(
      InputError,
    );
    expect(() => resizeRgb(source, 0, 10, 'bilinear')).toThrow(InputError);
    expect(() => resizeRgb(source, 10.5, 10, 'bilinear')).toThrow(InputError);
  });

  it('keeps a constant image constant under every filter (normalised taps)', () => {
    const img = { data: new Uint8Array(31 * 17 * 3).fill(200), width: 31, height: 17 };
    for (const f of filters) {
      const out = resizeRgb(img, 13, 40, f as ResampleFilter);
      expect(out.data.every((v) => v === 200)).toBe(true);
    }
  });
});

/** A seeded image of random bytes: every code path sees noise, edges and both extremes. */
function noise(width: number, height: number, seed: number) {
  let a = seed >>> 0;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) {
    a = (Math.imul(a, 1103515245) + 12345) >>> 0;
    data[i] = a >>> 24;
  }
  return { data, width, height };
}

describe('the SIMD passes give the same bytes as the JavaScript passes', () => {
  const smooth = RESAMPLE_FILTERS.filter((f) => f !== 'nearest');

  it('on 400 random geometries (down, up, mixed, 1-pixel sides) under every filter', () => {
    let seed = 7;
    const next = (n: number) => {
      seed = (Math.imul(seed, 48271) + 1) >>> 0;
      return 1 + (seed % n);
    };
    for (let t = 0; t < 400; t++) {
      const img = noise(next(97), next(61), t);
      const [w, h] = [next(130), next(130)];
      for (const f of smooth) {
        const js = resizeRgb(img, w, h, f, 'js');
        const simd = resizeRgb(img, w, h, f, 'simd');
        if (!Buffer.from(simd.data).equals(Buffer.from(js.data))) {
          throw new Error(`${f} ${img.width}x${img.height} -> ${w}x${h} differs`);
        }
      }
    }
  });

  it('on a photo-sized downscale (4000 px rows, 55 taps) and a 4x upscale', () => {
    for (const [src, w, h, fs] of [
      [noise(4000, 12, 1), 298, 3, ['bicubic', 'lanczos', 'bilinear']],
      [noise(640, 480, 2), 298, 224, ['bicubic']],
      [noise(56, 56, 3), 224, 224, ['bicubic']],
    ] as const) {
      for (const f of fs) {
        expect(Buffer.from(resizeRgb(src, w, h, f, 'simd').data)).toEqual(
          Buffer.from(resizeRgb(src, w, h, f, 'js').data),
        );
      }
    }
  });

  it('assembled from resample.wat as committed (node scripts/build-wasm.mjs)', async () => {
    // @ts-expect-error: a plain .mjs build script without types
    const { assemble } = await import('../../scripts/build-wasm.mjs');
    const committed = readFileSync(
      join(import.meta.dirname, '../../src/media/wasm/resample-bytes.ts'),
      'utf8',
    );
    expect(await assemble()).toBe(committed);
  });
});
