import { describe, expect, it } from 'vitest';
import { ConfigError, InputError } from '../../src/errors.js';
import { type ResampleFilter, resampleFilter, resizeRgb } from '../../src/media/resample.js';
import { diff, index, resampled } from './fixtures.js';

const source = resampled(index.resample.source);
const filters = [...new Set(index.resample.cases.map((c) => c.filter))];

describe('resizeRgb vs Pillow Image.resize', () => {
  for (const filter of filters) {
    it(`${filter}: bit-exact or within 1 level on every geometry`, () => {
      const rows: string[] = [];
      let exact = 0;
      let total = 0;
      let max = 0;
      for (const c of index.resample.cases.filter((x) => x.filter === filter)) {
        const ours = resizeRgb(source, c.width, c.height, filter as ResampleFilter);
        const d = diff(ours, resampled(c));
        rows.push(`${c.width}x${c.height}: max ${d.max}, exact ${d.exactPct.toFixed(2)}%`);
        exact += d.exact;
        total += d.total;
        max = Math.max(max, d.max);
      }
      console.info(`[parity] ${filter} 97x61 -> ${rows.join('; ')}`);
      console.info(`[parity] ${filter}: exact ${((100 * exact) / total).toFixed(3)}%, max diff ${max}`);
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
