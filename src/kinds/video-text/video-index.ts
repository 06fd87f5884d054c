/**
 * An in-memory index of videos for text search: per video and per temporal segment, the
 * normalized video embedding and the prompt features (X-CLIP conditions the query text on each
 * candidate's features, so they are kept), with a compact binary form (JSON header + float32
 * rows) a host writes to a file. Searching is `XclipModel.searchVideos(index, query)`.
 */
import { InputError } from '../../errors.js';
import type { VideoEmbedding } from './model.js';

const MAGIC = 'MMRTVID1';

export interface IndexRow {
  readonly id: string;
  readonly embedding: Float32Array;
  readonly features: Float32Array;
  readonly startSec?: number;
  readonly endSec?: number;
  readonly metadata?: unknown;
}

interface EntryHeader {
  readonly id: string;
  readonly durationSec: number;
  readonly segments: ReadonlyArray<readonly [number, number]>;
  readonly metadata?: unknown;
}

interface Entry extends EntryHeader {
  readonly embedding: Float32Array;
  readonly features: Float32Array;
  readonly segmentRows: ReadonlyArray<{ readonly embedding: Float32Array; readonly features: Float32Array }>;
}

export class VideoIndex {
  private readonly entries: Entry[] = [];
  dim = 0;
  featureSize = 0;

  constructor(readonly model = '') {}

  get size(): number {
    return this.entries.length;
  }

  /** Adds one video (its whole-video and per-segment rows). Ids are kept as given; repeats are allowed. */
  add(id: string, video: VideoEmbedding, metadata?: unknown): void {
    if (this.entries.length === 0) {
      this.dim = video.embedding.length;
      this.featureSize = video.features.length;
    }
    if (video.embedding.length !== this.dim || video.features.length !== this.featureSize) {
      throw new InputError(
        'INPUT_INVALID',
        `video "${id}" has ${video.embedding.length}-d embeddings and ${video.features.length} feature values; this index holds ${this.dim} and ${this.featureSize} (another model?)`,
        { value: [video.embedding.length, video.features.length], valid: [this.dim, this.featureSize] },
      );
    }
    this.entries.push({
      id,
      durationSec: video.durationSec,
      segments: video.segments.map((s) => [s.startSec, s.endSec] as const),
      ...(metadata !== undefined && { metadata }),
      embedding: Float32Array.from(video.embedding),
      features: Float32Array.from(video.features),
      segmentRows: video.segments.map((s) => ({
        embedding: Float32Array.from(s.embedding),
        features: Float32Array.from(s.features),
      })),
    });
  }

  /** The searchable rows: one per video, or one per segment of every video. */
  rows(level: 'video' | 'segment'): IndexRow[] {
    if (level !== 'video' && level !== 'segment') {
      throw new InputError('INPUT_INVALID', `unknown search level ${JSON.stringify(level)}`, {
        value: level,
        valid: ['video', 'segment'],
      });
    }
    if (level === 'video') {
      return this.entries.map((e) => ({
        id: e.id,
        embedding: e.embedding,
        features: e.features,
        ...(e.metadata !== undefined && { metadata: e.metadata }),
      }));
    }
    return this.entries.flatMap((e) =>
      e.segmentRows.map((r, i) => ({
        id: e.id,
        embedding: r.embedding,
        features: r.features,
        startSec: e.segments[i]![0],
        endSec: e.segments[i]![1],
        ...(e.metadata !== undefined && { metadata: e.metadata }),
      })),
    );
  }

  serialize(): Uint8Array {
    const headers: EntryHeader[] = this.entries.map(({ id, durationSec, segments, metadata }) => ({
      id,
      durationSec,
      segments,
      ...(metadata !== undefined && { metadata }),
    }));
    const header = new TextEncoder().encode(
      JSON.stringify({ dim: this.dim, featureSize: this.featureSize, model: this.model, entries: headers }),
    );
    const padded = Math.ceil((header.length + 12) / 4) * 4 - 12;
    const per = this.dim + this.featureSize;
    const rowCount = this.entries.reduce((n, e) => n + 1 + e.segmentRows.length, 0);
    const out = new Uint8Array(12 + padded + rowCount * per * 4);
    out.set(new TextEncoder().encode(MAGIC), 0);
    new DataView(out.buffer).setUint32(8, padded, true);
    out.set(header, 12);
    out.fill(0x20, 12 + header.length, 12 + padded);
    const data = new Float32Array(out.buffer, 12 + padded, rowCount * per);
    let off = 0;
    for (const e of this.entries) {
      for (const r of [{ embedding: e.embedding, features: e.features }, ...e.segmentRows]) {
        data.set(r.embedding, off);
        data.set(r.features, off + this.dim);
        off += per;
      }
    }
    return out;
  }

  static deserialize(bytes: Uint8Array): VideoIndex {
    const bad = (why: string) =>
      new InputError('INPUT_INVALID', `not an mmrt video index: ${why}`, {
        valid: `a file written by VideoIndex.serialize (${MAGIC}), e.g. by mmrt video-index`,
      });
    if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) throw bad('bad magic');
    const headerLen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
    let header: { dim: number; featureSize: number; model: string; entries: EntryHeader[] };
    try {
      header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLen)));
    } catch {
      throw bad('unreadable header');
    }
    const per = header.dim + header.featureSize;
    const rowCount = header.entries.reduce((n, e) => n + 1 + e.segments.length, 0);
    if (bytes.length !== 12 + headerLen + rowCount * per * 4)
      throw bad(`size ${bytes.length} does not match its header`);
    const data = new Float32Array(bytes.slice(12 + headerLen).buffer);
    const index = new VideoIndex(header.model);
    index.dim = header.dim;
    index.featureSize = header.featureSize;
    let off = 0;
    const take = () => {
      const row = {
        embedding: data.slice(off, off + header.dim),
        features: data.slice(off + header.dim, off + per),
      };
      off += per;
      return row;
    };
    for (const h of header.entries) {
      const whole = take();
      index.entries.push({ ...h, ...whole, segmentRows: h.segments.map(() => take()) });
    }
    return index;
  }
}
