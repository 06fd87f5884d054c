/**
 * The arithmetic of weight quantization, on plain arrays (row-major, as ONNX stores them).
 * Written by hand: it is the quantizer's inner loop over hundreds of millions of weights, and
 * its output layout is what ONNX Runtime's kernels read, bit for bit.
 */

/** Round half to even (numpy's rint), so results match the reference quantizers. */
export function rint(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export interface Int8Weights {
  /** [K, N], int8 (symmetric, zero point 0) or uint8 (zero point 128). */
  readonly q: Int8Array | Uint8Array;
  /** One per output column (per channel), or one. */
  readonly scales: Float32Array;
  /** Zero points, same length as scales. */
  readonly zeroPoints: Int8Array | Uint8Array;
}

/**
 * A MatMul weight B [K, N] to 8 bits, symmetric: scale = max|column| / 127 (per output
 * channel) or max|B| / 127 (per tensor). `unsigned` stores q + 128 as uint8 with zero point 128.
 */
export function quantizeInt8(
  b: Float32Array,
  k: number,
  n: number,
  perChannel: boolean,
  unsigned: boolean,
): Int8Weights {
  const amax = new Float32Array(perChannel ? n : 1);
  for (let r = 0; r < k; r++) {
    const row = r * n;
    for (let c = 0; c < n; c++) {
      const v = Math.abs(b[row + c]!);
      const j = perChannel ? c : 0;
      if (v > amax[j]!) amax[j] = v;
    }
  }
  const scales = new Float32Array(amax.length);
  for (let j = 0; j < amax.length; j++) scales[j] = amax[j]! > 0 ? amax[j]! / 127 : 1;
  const q = unsigned ? new Uint8Array(k * n) : new Int8Array(k * n);
  const shift = unsigned ? 128 : 0;
  for (let r = 0; r < k; r++) {
    const row = r * n;
    for (let c = 0; c < n; c++) {
      const s = scales[perChannel ? c : 0]!;
      const v = Math.max(-127, Math.min(127, rint(b[row + c]! / s)));
      q[row + c] = v + shift;
    }
  }
  const zeroPoints = unsigned ? new Uint8Array(scales.length).fill(128) : new Int8Array(scales.length);
  return { q, scales, zeroPoints };
}

/** Embedding rows [V, H] to int8 with one scale per row (a lookup reads one row per token). */
export function quantizeRows(
  t: Float32Array,
  rows: number,
  width: number,
): { q: Int8Array; scales: Float32Array } {
  const q = new Int8Array(rows * width);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * width;
    let amax = 0;
    for (let c = 0; c < width; c++) amax = Math.max(amax, Math.abs(t[o + c]!));
    const s = amax > 0 ? amax / 127 : 1;
    scales[r] = s;
    for (let c = 0; c < width; c++) q[o + c] = Math.max(-127, Math.min(127, rint(t[o + c]! / s)));
  }
  return { q, scales };
}

export interface FourBitWeights {
  /** MatMulNBits' B: [N, blocks, block / 2] bytes, two weights per byte, low nibble first. */
  readonly packed: Uint8Array;
  /** [N, blocks]. */
  readonly scales: Float32Array;
  readonly blocks: number;
}

/**
 * A MatMul weight B [K, N] to 4-bit blocks along K, symmetric, as ONNX Runtime's MatMulNBits
 * reads it with no zero points (implicit zero point 8): per column and block, the value of
 * largest magnitude m gives scale = m / -8, so m itself is exact (q = 0) and the rest round to
 * q = clamp(rint(v / scale) + 8, 0, 15). K is zero-padded to whole blocks.
 */
export function quantize4Bit(b: Float32Array, k: number, n: number, block: number): FourBitWeights {
  const blocks = Math.ceil(k / block);
  const half = block / 2;
  const packed = new Uint8Array(n * blocks * half);
  const scales = new Float32Array(n * blocks);
  const vals = new Float32Array(block);
  for (let c = 0; c < n; c++) {
    for (let bl = 0; bl < blocks; bl++) {
      const k0 = bl * block;
      let m = 0;
      for (let i = 0; i < block; i++) {
        const kk = k0 + i;
        const v = kk < k ? b[kk * n + c]! : 0;
        vals[i] = v;
        if (Math.abs(v) > Math.abs(m)) m = v;
      }
      const scale = m !== 0 ? m / -8 : 1;
      scales[c * blocks + bl] = scale;
      const inv = 1 / scale;
      const out = (c * blocks + bl) * half;
      for (let i = 0; i < block; i += 2) {
        const lo = Math.max(0, Math.min(15, rint(vals[i]! * inv) + 8));
        const hi = Math.max(0, Math.min(15, rint(vals[i + 1]! * inv) + 8));
        packed[out + i / 2] = lo | (hi << 4);
      }
    }
  }
  return { packed, scales, blocks };
}

/** The weights a 4-bit block quantization stands for (tests and drift reports). */
export function dequantize4Bit(w: FourBitWeights, k: number, n: number, block: number): Float32Array {
  const out = new Float32Array(k * n);
  const half = block / 2;
  for (let c = 0; c < n; c++) {
    for (let bl = 0; bl < w.blocks; bl++) {
      const s = w.scales[c * w.blocks + bl]!;
      for (let i = 0; i < block; i++) {
        const kk = bl * block + i;
        if (kk >= k) break;
        const byte = w.packed[(c * w.blocks + bl) * half + (i >> 1)]!;
        const q = i & 1 ? byte >> 4 : byte & 15;
        out[kk * n + c] = (q - 8) * s;
      }
    }
  }
  return out;
}
