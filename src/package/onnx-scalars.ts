/**
 * CLIP's learned logit scale (and SigLIP's bias) read from a combined `model.onnx` without
 * loading it: the protobuf is walked with positional reads, the graph's nodes are parsed (they
 * are small), every initializer's header is read and its data skipped unless it is a scalar,
 * and the constant expression that multiplies the similarity matrix (`Exp(logit_scale)`, or the
 * folded constant) is evaluated. For ViT-B/32 that is a few hundred reads instead of opening a
 * 577 MB graph in ONNX Runtime. Hand-written: no protobuf library reads a file without holding
 * all of it. Host-free; `read(offset, length)` is the host's.
 */

export type RangeRead = (offset: number, length: number) => Promise<Uint8Array>;

interface SmallTensor {
  readonly values: readonly number[];
}

interface NodeInfo {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly value?: SmallTensor;
}

/** A buffered reader over positional reads: sequential parsing costs one read per 64 KiB window. */
class Source {
  private buf: Uint8Array = new Uint8Array(0);
  private start = 0;
  reads = 0;

  constructor(
    private readonly read: RangeRead,
    readonly size: number,
  ) {}

  async bytes(offset: number, length: number): Promise<Uint8Array> {
    if (offset < this.start || offset + length > this.start + this.buf.length) {
      const want = Math.min(Math.max(length, 64 * 1024), this.size - offset);
      this.buf = await this.read(offset, want);
      this.start = offset;
      this.reads++;
      if (this.buf.length < length) throw new Error('short read');
    }
    return this.buf.subarray(offset - this.start, offset - this.start + length);
  }

  /** A varint at `offset`: its value and length. */
  async varint(offset: number): Promise<[number, number]> {
    const b = await this.bytes(offset, Math.min(10, this.size - offset));
    let v = 0;
    let mul = 1;
    for (let i = 0; i < b.length; i++) {
      v += (b[i]! & 0x7f) * mul;
      if (b[i]! < 0x80) return [v, i + 1];
      mul *= 128;
    }
    throw new Error('bad varint');
  }
}

/** Fields of a message in [start, end): field number, wire type, and where the value is. */
async function* fields(src: Source, start: number, end: number) {
  let at = start;
  while (at < end) {
    const [key, n] = await src.varint(at);
    at += n;
    const field = Math.floor(key / 8);
    const wire = key % 8;
    let valueAt = at;
    let length = 0;
    let value = 0;
    if (wire === 0) {
      const [v, m] = await src.varint(at);
      value = v;
      at += m;
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const [len, m] = await src.varint(at);
      valueAt = at + m;
      length = len;
      at = valueAt + len;
    } else throw new Error(`unsupported wire type ${wire}`);
    if (at > end) throw new Error('field past its message');
    yield { field, wire, valueAt, length, value };
  }
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** A TensorProto's name and, when it holds at most 16 float/double values inline, the values. */
async function tensor(
  src: Source,
  start: number,
  end: number,
): Promise<{ name: string; small?: SmallTensor }> {
  let name = '';
  let type = 0;
  const dims: number[] = [];
  let raw: { at: number; length: number } | undefined;
  let floats: { at: number; length: number; wire: number } | undefined;
  let external = false;
  for await (const f of fields(src, start, end)) {
    if (f.field === 1 && f.wire === 0) dims.push(f.value);
    else if (f.field === 2) type = f.value;
    else if (f.field === 8) name = text(await src.bytes(f.valueAt, f.length));
    else if (f.field === 9) raw = { at: f.valueAt, length: f.length };
    else if (f.field === 4) floats = { at: f.valueAt, length: f.length, wire: f.wire };
    else if (f.field === 14 && f.value === 1) external = true;
  }
  const count = dims.reduce((a, b) => a * b, 1);
  if (external || count > 16) return { name };
  if (type === 1 && raw && raw.length === count * 4) {
    const b = await src.bytes(raw.at, raw.length);
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return { name, small: { values: Array.from({ length: count }, (_, i) => view.getFloat32(i * 4, true)) } };
  }
  if (type === 11 && raw && raw.length === count * 8) {
    const b = await src.bytes(raw.at, raw.length);
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return { name, small: { values: Array.from({ length: count }, (_, i) => view.getFloat64(i * 8, true)) } };
  }
  if (type === 1 && floats && floats.wire === 2) {
    const b = await src.bytes(floats.at, floats.length);
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return {
      name,
      small: { values: Array.from({ length: floats.length / 4 }, (_, i) => view.getFloat32(i * 4, true)) },
    };
  }
  return { name };
}

async function node(src: Source, start: number, end: number): Promise<NodeInfo> {
  const inputs: string[] = [];
  const outputs: string[] = [];
  let op = '';
  let value: SmallTensor | undefined;
  for await (const f of fields(src, start, end)) {
    if (f.field === 1) inputs.push(text(await src.bytes(f.valueAt, f.length)));
    else if (f.field === 2) outputs.push(text(await src.bytes(f.valueAt, f.length)));
    else if (f.field === 4) op = text(await src.bytes(f.valueAt, f.length));
    else if (f.field === 5) {
      // AttributeProto: a Constant's `value` tensor (field 5 in it).
      for await (const a of fields(src, f.valueAt, f.valueAt + f.length)) {
        if (a.field === 5 && a.wire === 2) value = (await tensor(src, a.valueAt, a.valueAt + a.length)).small;
        else if (a.field === 2 && a.wire === 5) {
          const b = await src.bytes(a.valueAt, 4);
          value = { values: [new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true)] };
        }
      }
    }
  }
  return { op, inputs, outputs, ...(value && { value }) };
}

/**
 * `logits = scale * (text · image) + bias` as the graph computes it, or undefined when the
 * graph is not shaped that way (then the caller runs the graph instead).
 */
export async function readLogitScale(
  read: RangeRead,
  size: number,
): Promise<{ scale: number; bias: number; reads: number } | undefined> {
  const src = new Source(read, size);
  const nodes: NodeInfo[] = [];
  const constants = new Map<string, number>();
  try {
    for await (const m of fields(src, 0, size)) {
      if (m.field !== 7 || m.wire !== 2) continue;
      for await (const g of fields(src, m.valueAt, m.valueAt + m.length)) {
        if (g.field === 1 && g.wire === 2) nodes.push(await node(src, g.valueAt, g.valueAt + g.length));
        else if (g.field === 5 && g.wire === 2) {
          const t = await tensor(src, g.valueAt, g.valueAt + g.length);
          if (t.small?.values.length === 1) constants.set(t.name, t.small.values[0]!);
        }
      }
    }
  } catch {
    return undefined;
  }
  const producer = new Map<string, NodeInfo>();
  for (const n of nodes) for (const o of n.outputs) producer.set(o, n);
  const constant = (name: string, depth = 0): number | undefined => {
    if (constants.has(name)) return constants.get(name);
    const n = producer.get(name);
    if (!n || depth > 16) return undefined;
    if (n.op === 'Constant') return n.value?.values.length === 1 ? n.value.values[0] : undefined;
    const args = n.inputs.map((i) => constant(i, depth + 1));
    const [a, b] = args;
    switch (n.op) {
      case 'Exp':
        // float32, as the graph computes it
        return a === undefined ? undefined : Math.fround(Math.exp(a));
      case 'Identity':
      case 'Cast':
      case 'Reshape':
      case 'Unsqueeze':
      case 'Squeeze':
        return a;
      case 'Mul':
        return a !== undefined && b !== undefined ? a * b : undefined;
      case 'Div':
        return a !== undefined && b !== undefined ? a / b : undefined;
      case 'Add':
        return a !== undefined && b !== undefined ? a + b : undefined;
      case 'Sub':
        return a !== undefined && b !== undefined ? a - b : undefined;
      case 'Neg':
        return a === undefined ? undefined : -a;
      default:
        return undefined;
    }
  };
  // From the logits back to the similarity MatMul: Transpose, then Add (bias) and Mul (scale).
  let name = producer.has('logits_per_text') ? 'logits_per_text' : 'logits_per_image';
  let scale: number | undefined;
  let bias = 0;
  for (let step = 0; step < 8; step++) {
    const n = producer.get(name);
    if (!n) return undefined;
    if (n.op === 'MatMul' || n.op === 'Gemm') break;
    if (n.op === 'Transpose' || n.op === 'Identity') {
      name = n.inputs[0]!;
      continue;
    }
    if (n.op !== 'Mul' && n.op !== 'Add') return undefined;
    const [x, y] = n.inputs as [string, string];
    const cx = constant(x);
    const cy = constant(y);
    const c = cy ?? cx;
    if (c === undefined || (cx !== undefined && cy !== undefined)) return undefined;
    if (n.op === 'Mul') scale = (scale ?? 1) * c;
    else bias += c;
    name = cy !== undefined ? x : y;
  }
  if (scale === undefined || !Number.isFinite(scale) || !Number.isFinite(bias)) return undefined;
  return { scale, bias, reads: src.reads };
}
