/**
 * The tensor `image-feature-extraction` returns, with the members transformers.js's Tensor has
 * that callers read (`dims`, `type`, `data`, `size`, `tolist()`), so code written for it runs.
 */
type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array;

export class Tensor {
  constructor(
    readonly type: string,
    readonly data: TensorData,
    readonly dims: readonly number[],
  ) {}

  get size(): number {
    return this.dims.reduce((a, b) => a * b, 1);
  }

  /** Nested arrays of numbers (bigints for int64), shaped like `dims`. */
  tolist(): unknown[] {
    const values = Array.from(this.data as ArrayLike<number | bigint>);
    const build = (offset: number, axis: number): unknown[] => {
      const n = this.dims[axis]!;
      if (axis === this.dims.length - 1) return values.slice(offset, offset + n);
      const stride = this.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: n }, (_, i) => build(offset + i * stride, axis + 1));
    };
    return this.dims.length === 0 ? values : build(0, 0);
  }
}
