/**
 * Pillow-exact resize of 8-bit RGB images.
 *
 * Hugging Face's Python image processors resize with `PIL.Image.resize`, so embeddings
 * computed in Python are only reproducible if the resize is Pillow's to the bit. This is
 * a re-statement of libImaging/Resample.c (two-pass separable convolution with fixed-point
 * coefficients) and, for NEAREST, of the affine scaling in libImaging/Geometry.c that
 * `Image.resize` routes nearest-neighbour through. Every numeric step (float vs double,
 * truncation vs rounding, pass order, which source rows the first pass covers) follows
 * Pillow, because each of them is visible in the output bytes.
 */
import { ConfigError, InputError } from '../errors.js';
import type { RgbImage } from '../host/host.js';
import { wasmPasses } from './wasm/resample-wasm.js';

export type ResampleFilter = 'nearest' | 'lanczos' | 'bilinear' | 'bicubic' | 'box' | 'hamming';

/** PIL.Image.Resampling codes, as `preprocessor_config.json` writes them in `resample`. */
export const PIL_RESAMPLE_CODES: Readonly<Record<number, ResampleFilter>> = {
  0: 'nearest',
  1: 'lanczos',
  2: 'bilinear',
  3: 'bicubic',
  4: 'box',
  5: 'hamming',
};

export const RESAMPLE_FILTERS: readonly ResampleFilter[] = Object.values(PIL_RESAMPLE_CODES);

/** Maps a PIL resample code (0..5) or filter name to a filter; anything else is a ConfigError. */
export function resampleFilter(value: unknown): ResampleFilter {
  if (typeof value === 'number' && Number.isInteger(value) && PIL_RESAMPLE_CODES[value]) {
    return PIL_RESAMPLE_CODES[value];
  }
  if (typeof value === 'string' && (RESAMPLE_FILTERS as readonly string[]).includes(value.toLowerCase())) {
    return value.toLowerCase() as ResampleFilter;
  }
  throw new ConfigError('CONFIG_INVALID_VALUE', `Unknown resample filter ${JSON.stringify(value)}`, {
    value,
    valid: ['0 nearest', '1 lanczos', '2 bilinear', '3 bicubic', '4 box', '5 hamming'],
    hint: 'Use a PIL.Image.Resampling code (0-5) as Hugging Face preprocessor configs do.',
  });
}

// ---------------------------------------------------------------------------- filters

interface Filter {
  readonly fn: (x: number) => number;
  readonly support: number;
}

// Pillow writes these two constants as C floats (0.54f, 0.46f): the float32 values matter.
const HAMMING_A = Math.fround(0.54);
const HAMMING_B = Math.fround(0.46);

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

const FILTERS: Readonly<Record<Exclude<ResampleFilter, 'nearest'>, Filter>> = {
  // Half-open on the left, closed on the right, as in Resample.c.
  box: { support: 0.5, fn: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: {
    support: 1,
    fn: (x) => {
      const ax = x < 0 ? -x : x;
      return ax < 1 ? 1 - ax : 0;
    },
  },
  hamming: {
    support: 1,
    fn: (x) => {
      const ax = x < 0 ? -x : x;
      if (ax === 0) return 1;
      if (ax >= 1) return 0;
      const px = ax * Math.PI;
      return (Math.sin(px) / px) * (HAMMING_A + HAMMING_B * Math.cos(px));
    },
  },
  // Keys cubic with a = -0.5, written in the same evaluation order as Pillow.
  bicubic: {
    support: 2,
    fn: (x) => {
      const a = -0.5;
      const ax = x < 0 ? -x : x;
      if (ax < 1) return ((a + 2) * ax - (a + 3)) * ax * ax + 1;
      if (ax < 2) return (((ax - 5) * ax + 8) * ax - 4) * a;
      return 0;
    },
  },
  lanczos: { support: 3, fn: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

// ---------------------------------------------------------------------------- coefficients

/** 32 bits minus 8 for the result and 2 for negative lobes / overshoot, as in Pillow. */
const PRECISION_BITS = 22;
const HALF = 1 << (PRECISION_BITS - 1);
const ONE = 1 << PRECISION_BITS;

/** Fixed-point taps of one pass: for output i, `count[i]` taps starting at input `first[i]`. */
interface Taps {
  readonly ksize: number;
  readonly first: Int32Array;
  readonly count: Int32Array;
  readonly coeffs: Int32Array;
}

/**
 * precompute_coeffs + normalize_coeffs_8bpc. The box is (0, inSize) here; Pillow keeps its
 * ends as C floats, which is exact for any size below 2^24 (enforced by the caller).
 */
function computeTaps(inSize: number, outSize: number, filter: Filter): Taps {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const coeffs = new Int32Array(outSize * ksize);
  const weights = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // (int) casts in C truncate toward zero; both ends are then clamped like Pillow does.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.fn((x + xmin - center + 0.5) * ss);
      weights[x] = w;
      ww += w;
    }
    const base = xx * ksize;
    for (let x = 0; x < xmax; x++) {
      const k = ww !== 0 ? weights[x]! / ww : weights[x]!;
      // Round half away from zero via a truncating cast, as normalize_coeffs_8bpc does.
      coeffs[base + x] = k < 0 ? Math.trunc(-0.5 + k * ONE) : Math.trunc(0.5 + k * ONE);
    }
    first[xx] = xmin;
    count[xx] = xmax;
  }
  return { ksize, first, count, coeffs };
}

/** clip8: arithmetic shift, then clamp (Pillow's lookup table covers the reachable range). */
function clip8(ss: number): number {
  const v = ss >> PRECISION_BITS;
  return v < 0 ? 0 : Math.min(v, 255);
}

// ---------------------------------------------------------------------------- passes

/** Horizontal pass over rows [rowStart, rowStart + rows) of `src` (width `inW`). */
function horizontalPass(
  src: Uint8Array,
  inW: number,
  rowStart: number,
  rows: number,
  outW: number,
  taps: Taps,
) {
  const out = new Uint8Array(outW * rows * 3);
  const { ksize, first, count, coeffs } = taps;
  const inStride = inW * 3;
  let o = 0;
  for (let y = 0; y < rows; y++) {
    const rowBase = (y + rowStart) * inStride;
    for (let xx = 0; xx < outW; xx++) {
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      let p = rowBase + first[xx]! * 3;
      const kb = xx * ksize;
      const n = count[xx]!;
      // Sums of int products are exact in doubles (< 2^53); measured faster than Math.imul.
      for (let x = 0; x < n; x++, p += 3) {
        const k = coeffs[kb + x]!;
        s0 += src[p]! * k;
        s1 += src[p + 1]! * k;
        s2 += src[p + 2]! * k;
      }
      out[o++] = clip8(s0);
      out[o++] = clip8(s1);
      out[o++] = clip8(s2);
    }
  }
  return out;
}

/**
 * Vertical pass. `rowOffset` is subtracted from the tap positions because the first pass
 * only produced the source rows the vertical taps use (ybox_first..ybox_last in Pillow).
 * Whole rows are accumulated into a row buffer (sequential memory access), four taps per
 * sweep to cut buffer traffic. The sums are exact integers in doubles, so the result is
 * Pillow's int32 sum (which never overflows in C: |sum| < 2^31 for every filter).
 */
function verticalPass(src: Uint8Array, width: number, rowOffset: number, outH: number, taps: Taps) {
  const rowLen = width * 3;
  const out = new Uint8Array(rowLen * outH);
  const acc = new Float64Array(rowLen);
  const { ksize, first, count, coeffs } = taps;
  for (let yy = 0; yy < outH; yy++) {
    acc.fill(HALF);
    const kb = yy * ksize;
    const y0 = first[yy]! - rowOffset;
    const n = count[yy]!;
    let y = 0;
    for (; y + 3 < n; y += 4) {
      const k0 = coeffs[kb + y]!;
      const k1 = coeffs[kb + y + 1]!;
      const k2 = coeffs[kb + y + 2]!;
      const k3 = coeffs[kb + y + 3]!;
      const r0 = (y0 + y) * rowLen;
      const r1 = r0 + rowLen;
      const r2 = r1 + rowLen;
      const r3 = r2 + rowLen;
      for (let i = 0; i < rowLen; i++) {
        acc[i] = acc[i]! + src[r0 + i]! * k0 + src[r1 + i]! * k1 + src[r2 + i]! * k2 + src[r3 + i]! * k3;
      }
    }
    for (; y < n; y++) {
      const k = coeffs[kb + y]!;
      const r = (y0 + y) * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i] = acc[i]! + src[r + i]! * k;
    }
    const ob = yy * rowLen;
    for (let i = 0; i < rowLen; i++) out[ob + i] = clip8(acc[i]!);
  }
  return out;
}

/**
 * Nearest neighbour as ImagingScaleAffine computes it: a running double sum of the step,
 * truncated, starting half a step in. The running sum (not x * step) is what decides ties.
 */
function nearest(image: RgbImage, outW: number, outH: number): Uint8Array {
  const { data, width: inW, height: inH } = image;
  const out = new Uint8Array(outW * outH * 3);
  const ax = inW / outW;
  const ay = inH / outH;
  const xin = new Int32Array(outW);
  let xo = ax * 0.5;
  for (let x = 0; x < outW; x++) {
    const v = xo < 0 ? -1 : Math.trunc(xo);
    xin[x] = v >= 0 && v < inW ? v : -1;
    xo += ax;
  }
  let yo = ay * 0.5;
  for (let y = 0; y < outH; y++) {
    const yi = yo < 0 ? -1 : Math.trunc(yo);
    yo += ay;
    // Rows or columns that land outside the source stay 0 (Pillow's `fill`).
    if (yi < 0 || yi >= inH) continue;
    const rowBase = yi * inW * 3;
    let o = y * outW * 3;
    for (let x = 0; x < outW; x++, o += 3) {
      const sx = xin[x]!;
      if (sx < 0) continue;
      const p = rowBase + sx * 3;
      out[o] = data[p]!;
      out[o + 1] = data[p + 1]!;
      out[o + 2] = data[p + 2]!;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------- entry point

const MAX_SIDE = 1 << 24; // Pillow's box coordinates are C floats: exact below 2^24.

export function assertRgbImage(image: RgbImage, what = 'image'): void {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InputError('INPUT_INVALID', `The ${what} has invalid dimensions ${width}x${height}`, {
      value: { width, height },
      valid: 'positive integers',
    });
  }
  if (!(data instanceof Uint8Array) || data.length !== width * height * 3) {
    throw new InputError(
      'INPUT_INVALID',
      `The ${what} should hold ${width * height * 3} bytes (RGB, ${width}x${height}), got ${data?.length}`,
      { value: data?.length, valid: `${width * height * 3}` },
    );
  }
}

/**
 * Which implementation of the two convolution passes runs: 'simd' (WebAssembly SIMD,
 * resample.wat), 'js' (the loops above), or 'auto' (SIMD where the engine has it). All three
 * give the same bytes; 'js' is the reference the SIMD passes are tested against.
 */
export type ResampleEngine = 'auto' | 'simd' | 'js';

/**
 * `PIL.Image.resize((width, height), filter)` for an 8-bit RGB image: same output bytes.
 * Returns the input unchanged when the size already matches (Pillow returns a copy).
 */
export function resizeRgb(
  image: RgbImage,
  width: number,
  height: number,
  filter: ResampleFilter,
  engine: ResampleEngine = 'auto',
): RgbImage {
  assertRgbImage(image);
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v >= MAX_SIDE) {
      throw new InputError(
        'INPUT_INVALID',
        `Resize target ${name} must be an integer in 1..${MAX_SIDE - 1}`,
        {
          value: v,
          valid: `1..${MAX_SIDE - 1}`,
        },
      );
    }
  }
  if (image.width >= MAX_SIDE || image.height >= MAX_SIDE) {
    throw new InputError('INPUT_INVALID', `Image side exceeds ${MAX_SIDE - 1} pixels`, {
      value: { width: image.width, height: image.height },
    });
  }
  if (width === image.width && height === image.height) return image;
  if (filter === 'nearest') return { data: nearest(image, width, height), width, height };

  const f = FILTERS[filter];
  if (!f) resampleFilter(filter); // throws the typed error
  const needH = width !== image.width;
  const needV = height !== image.height;

  // Pillow computes the vertical taps first: they decide which rows the first pass covers.
  const vTaps = computeTaps(image.height, height, f);
  const yFirst = vTaps.first[0]!;
  const yLast = vTaps.first[height - 1]! + vTaps.count[height - 1]!;

  const simd = engine === 'js' ? undefined : wasmPasses();
  if (engine === 'simd' && !simd) {
    throw new InputError('INPUT_INVALID', 'This engine has no WebAssembly SIMD for the resize', {
      value: engine,
      valid: ['auto', 'js'],
    });
  }
  if (simd) {
    const hTaps = needH ? computeTaps(image.width, width, f) : undefined;
    const data = simd.resize(
      image.data,
      image.width,
      yFirst,
      yLast - yFirst,
      width,
      height,
      hTaps,
      needV ? vTaps : undefined,
    );
    return { data, width, height };
  }

  let data = image.data;
  let rowOffset = 0;
  if (needH) {
    const hTaps = computeTaps(image.width, width, f);
    data = horizontalPass(image.data, image.width, yFirst, yLast - yFirst, width, hTaps);
    rowOffset = yFirst;
  }
  if (needV) data = verticalPass(data, width, rowOffset, height, vTaps);
  return { data, width, height };
}
