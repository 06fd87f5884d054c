/**
 * A small in-memory index of normalized embeddings for image search: add, top-k by cosine,
 * and a compact binary form (JSON header + float32 rows) that the host writes to a file.
 * Exhaustive search: at the sizes an in-process index serves (up to ~1e5 rows) a flat scan
 * of contiguous float32 rows is fast and exact.
 */
import { InputError } from '../../errors.js';
import { l2Normalize } from './math.js';

export interface IndexEntry<M = unknown> {
  readonly id: string;
  readonly metadata?: M;
}

export interface SearchHit<M = unknown> extends IndexEntry<M> {
  readonly score: number;
}

const MAGIC = 'MMRTIDX1';

export class ImageIndex<M = unknown> {
  private data: Float32Array;
  private readonly entries: IndexEntry<M>[] = [];

  constructor(
    readonly dim: number,
    readonly model = '',
  ) {
    if (!Number.isInteger(dim) || dim <= 0)
      throw new InputError('INPUT_INVALID', `index dimension must be a positive integer`, { value: dim });
    this.data = new Float32Array(dim * 64);
  }

  get size(): number {
    return this.entries.length;
  }

  add(id: string, embedding: ArrayLike<number>, metadata?: M): void {
    if (embedding.length !== this.dim) {
      throw new InputError(
        'INPUT_INVALID',
        `embedding for "${id}" has ${embedding.length} values; this index holds ${this.dim}`,
        {
          value: embedding.length,
          valid: [this.dim],
        },
      );
    }
    const row = this.entries.length;
    if ((row + 1) * this.dim > this.data.length) {
      const grown = new Float32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data.set(l2Normalize(Float32Array.from(embedding)), row * this.dim);
    this.entries.push(metadata === undefined ? { id } : { id, metadata });
  }

  /** Top-k entries by cosine similarity to `query`, best first. */
  search(query: ArrayLike<number>, k = 10): SearchHit<M>[] {
    if (query.length !== this.dim) {
      throw new InputError(
        'INPUT_INVALID',
        `query has ${query.length} values; this index holds ${this.dim}`,
        {
          value: query.length,
          valid: [this.dim],
        },
      );
    }
    const q = l2Normalize(Float32Array.from(query));
    const n = this.entries.length;
    const scores = new Float32Array(n);
    for (let r = 0; r < n; r++) {
      let s = 0;
      const off = r * this.dim;
      for (let j = 0; j < this.dim; j++) s += this.data[off + j]! * q[j]!;
      scores[r] = s;
    }
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
    return order.slice(0, Math.max(0, k)).map((i) => ({ ...this.entries[i]!, score: scores[i]! }));
  }

  serialize(): Uint8Array {
    const header = new TextEncoder().encode(
      JSON.stringify({ dim: this.dim, count: this.size, model: this.model, entries: this.entries }),
    );
    const headerPadded = Math.ceil((header.length + 12) / 4) * 4 - 12;
    const out = new Uint8Array(12 + headerPadded + this.size * this.dim * 4);
    out.set(new TextEncoder().encode(MAGIC), 0);
    new DataView(out.buffer).setUint32(8, headerPadded, true);
    out.set(header, 12);
    out.fill(0x20, 12 + header.length, 12 + headerPadded); // pad with spaces: still valid JSON
    const rows = new Float32Array(out.buffer, 12 + headerPadded, this.size * this.dim);
    rows.set(this.data.subarray(0, this.size * this.dim));
    return out;
  }

  static deserialize<M = unknown>(bytes: Uint8Array): ImageIndex<M> {
    const bad = (why: string) =>
      new InputError('INPUT_INVALID', `not an mmrt image index: ${why}`, {
        valid: `a file written by ImageIndex.serialize (${MAGIC})`,
      });
    if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) throw bad('bad magic');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const headerLen = view.getUint32(8, true);
    let header: { dim: number; count: number; model: string; entries: IndexEntry<M>[] };
    try {
      header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLen)));
    } catch {
      throw bad('unreadable header');
    }
    const expected = 12 + headerLen + header.count * header.dim * 4;
    if (bytes.length !== expected || header.entries.length !== header.count)
      throw bad(`size ${bytes.length}, expected ${expected}`);
    const index = new ImageIndex<M>(header.dim, header.model);
    const rows = new Float32Array(bytes.slice(12 + headerLen).buffer);
    index.data = new Float32Array(Math.max(rows.length, header.dim * 64));
    index.data.set(rows);
    index.entries.push(...header.entries);
    return index;
  }
}
