/**
 * Whole-array fp32 <-> fp16 (IEEE half as raw bits in a Uint16Array), written for the
 * quantizer: it converts hundreds of millions of weights, so it works on the bits of a
 * Uint32Array view (no per-element scratch) and decodes through a 64 Ki-entry table.
 * Rounding is to nearest, ties to even, as numpy's `astype(float16)`.
 */

/** The largest finite half, 65504. */
export const FLOAT16_MAX = 65504;

export interface HalfConversion {
  readonly data: Uint16Array;
  /** Finite values beyond ±65504 that were clamped to it (they would have become infinite). */
  readonly clamped: number;
}

/** fp32 -> fp16, clamping finite values outside fp16's range to ±65504 (NaN and ±Inf stay). */
export function toFloat16(src: Float32Array): HalfConversion {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  let clamped = 0;
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    const mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    const e = exp - 112; // rebias 127 -> 15
    if (e >= 31) {
      out[i] = sign | 0x7bff;
      clamped++;
      continue;
    }
    if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      const m = mant | 0x800000;
      const shift = 14 - e;
      let r = m >>> shift;
      const rest = m & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      if (rest > half || (rest === half && r & 1)) r++;
      out[i] = sign | r;
      continue;
    }
    let r = (e << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && r & 1)) r++;
    // Rounding up past the largest finite half would make infinity: clamp instead.
    if ((r & 0x7fff) >= 0x7c00) {
      r = 0x7bff;
      clamped++;
    }
    out[i] = sign | r;
  }
  return { data: out, clamped };
}

let table: Float32Array | undefined;

function halfTable(): Float32Array {
  if (table) return table;
  table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    table[h] =
      e === 0
        ? s * m * 2 ** -24
        : e === 31
          ? m
            ? Number.NaN
            : s * Number.POSITIVE_INFINITY
          : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return table;
}

/** fp16 bits -> fp32. */
export function fromFloat16(src: Uint16Array): Float32Array {
  const t = halfTable();
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]!]!;
  return out;
}

/** One fp16 value as bits (same rounding and clamping). */
export function halfBits(v: number): number {
  return toFloat16(Float32Array.of(v)).data[0]!;
}
