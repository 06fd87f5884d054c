/**
 * A one-node ONNX graph, `Y = X · W` (W a float32 initializer, so ONNX Runtime pre-packs it as it
 * does a model's weights), encoded by hand: the machine's MatMul roof is measured on the same ORT
 * build the encoders run on, without a Python step. Only the protobuf fields that graph needs.
 */

function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt(n);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

type Field = readonly number[] | Uint8Array;
const join = (parts: readonly Field[]): Uint8Array => {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
/** Length-delimited field (wire type 2). */
const bytesField = (tag: number, body: Field): Uint8Array =>
  join([varint((tag << 3) | 2), varint(body.length), body]);
const stringField = (tag: number, s: string): Uint8Array => bytesField(tag, new TextEncoder().encode(s));
/** Varint field (wire type 0). */
const intField = (tag: number, v: number): number[] => [...varint(tag << 3), ...varint(v)];

const FLOAT = 1;

function valueInfo(name: string, dims: readonly (number | string)[]): Uint8Array {
  const shape = join(
    dims.map((d) => bytesField(1, typeof d === 'number' ? intField(1, d) : stringField(2, d))),
  );
  const tensorType = join([intField(1, FLOAT), bytesField(2, shape)]);
  return join([stringField(1, name), bytesField(2, bytesField(1, tensorType))]);
}

/** `Y[m, n] = X[m, k] · W[k, n]`, m symbolic, W filled with small deterministic values. */
export function matmulModel(k: number, n: number): Uint8Array {
  const w = new Float32Array(k * n);
  for (let i = 0; i < w.length; i++) w[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  const initializer = join([
    intField(1, k),
    intField(1, n),
    intField(2, FLOAT),
    stringField(8, 'W'),
    bytesField(9, new Uint8Array(w.buffer)),
  ]);
  const node = join([
    stringField(1, 'X'),
    stringField(1, 'W'),
    stringField(2, 'Y'),
    stringField(4, 'MatMul'),
  ]);
  const graph = join([
    bytesField(1, node),
    stringField(2, 'roof'),
    bytesField(5, initializer),
    bytesField(11, valueInfo('X', ['m', k])),
    bytesField(12, valueInfo('Y', ['m', n])),
  ]);
  const opset = join([stringField(1, ''), intField(2, 17)]);
  return join([intField(1, 8), stringField(2, 'mmrt-bench'), bytesField(8, opset), bytesField(7, graph)]);
}
