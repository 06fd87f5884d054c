/**
 * fp16 <-> fp32 for the tensors that cross the family/decoder boundary: an fp16 decoder or
 * embedder hands back (and wants) float16 data, while mmrt merges image features and reads
 * logits in float32. ONNX Runtime JS carries float16 as raw bits in a Uint16Array.
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Round-to-nearest-even, as numpy's astype(float16). */
export function floatToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && r & 1)) r++;
    return sign | r;
  }
  let r = mant >> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && r & 1)) {
    r++;
    if (r === 0x400) {
      r = 0;
      e++;
      if (e >= 31) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | r;
}

/** Tensor data as float32, converting fp16 bits when needed (no copy for float32). */
export function toFloat32(data: unknown, type: string): Float32Array {
  if (data instanceof Float32Array) return data;
  if (type === 'float16' && (data instanceof Uint16Array || isFloat16Array(data))) {
    const src = data as ArrayLike<number>;
    const out = new Float32Array(src.length);
    if (data instanceof Uint16Array) for (let i = 0; i < src.length; i++) out[i] = halfToFloat(src[i]!);
    else for (let i = 0; i < src.length; i++) out[i] = src[i]!;
    return out;
  }
  throw new TypeError(`expected float32 or float16 tensor data, got ${type}`);
}

/** float32 data in the dtype a session input wants. */
export function fromFloat32(data: Float32Array, type: string): Float32Array | Uint16Array {
  if (type !== 'float16') return data;
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = floatToHalf(data[i]!);
  return out;
}

function isFloat16Array(v: unknown): boolean {
  return Object.prototype.toString.call(v) === '[object Float16Array]';
}
