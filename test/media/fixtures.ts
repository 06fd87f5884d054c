/** Loads the Pillow parity fixtures written by tools/fixtures/pillow_preprocess.py. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { RgbImage } from '../../src/host/host.js';

export const FIXTURE_DIR = join(import.meta.dirname, '..', 'fixtures', 'images');

export interface BinEntry {
  offset: number;
  width: number;
  height: number;
}

export interface ImageFixture {
  file: string;
  format: string;
  pil_mode: string;
  stored_size: [number, number];
  width: number;
  height: number;
  decoded?: BinEntry;
  decoded_white?: BinEntry;
  outputs: Record<string, BinEntry>;
  outputs_white?: Record<string, BinEntry>;
}

export interface ResampleCase extends BinEntry {
  filter: string;
  code: number;
}

export interface FixtureIndex {
  pillow: string;
  configs: Record<string, Record<string, unknown>>;
  images: ImageFixture[];
  normalized: { file: string; image: string; config: string; dims: number[] };
  preprocess_bin: string;
  resample: { source: BinEntry; bin: string; cases: ResampleCase[] };
}

export const index: FixtureIndex = JSON.parse(readFileSync(join(FIXTURE_DIR, 'index.json'), 'utf8'));

const bins = new Map<string, Uint8Array>();
function bin(name: string): Uint8Array {
  let b = bins.get(name);
  if (!b) {
    b = new Uint8Array(gunzipSync(readFileSync(join(FIXTURE_DIR, name))));
    bins.set(name, b);
  }
  return b;
}

function slice(name: string, e: BinEntry): RgbImage {
  const len = e.width * e.height * 3;
  return { data: bin(name).subarray(e.offset, e.offset + len), width: e.width, height: e.height };
}

export const preprocessed = (e: BinEntry): RgbImage => slice(index.preprocess_bin, e);
export const resampled = (e: BinEntry): RgbImage => slice(index.resample.bin, e);

export function normalizedReference(): Float32Array {
  const buf = readFileSync(join(FIXTURE_DIR, index.normalized.file));
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

export interface Diff {
  max: number;
  exact: number;
  total: number;
  exactPct: number;
  meanAbs: number;
}

/** Byte-wise comparison of two equally sized RGB images. */
export function diff(a: RgbImage, b: RgbImage): Diff {
  if (a.width !== b.width || a.height !== b.height) {
    throw new Error(`size mismatch: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  }
  let max = 0;
  let exact = 0;
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i]! - b.data[i]!);
    if (d === 0) exact++;
    if (d > max) max = d;
    sum += d;
  }
  const total = a.data.length;
  return { max, exact, total, exactPct: (100 * exact) / total, meanAbs: sum / total };
}
