/** Reads the PyTorch references that tools/shapes/make.py writes beside each shapes model. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MODELS = join(REPO, 'models');

export interface B64Tensor {
  dtype: 'float32' | 'int64';
  shape: number[];
  base64: string;
}

export function float32(t: B64Tensor): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`expected float32, got ${t.dtype}`);
  const b = Buffer.from(t.base64, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function readJson<T = unknown>(...parts: string[]): T {
  return JSON.parse(readFileSync(join(MODELS, ...parts), 'utf8')) as T;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export interface ClipReference {
  texts: string[];
  input_ids: number[][];
  attention_mask: number[][];
  images: string[];
  pixel_values: B64Tensor;
  text_embeds: number[][];
  image_embeds: number[][];
  text_embeds_normalized: number[][];
  image_embeds_normalized: number[][];
  logits_per_image: number[][];
  labels: string[];
  label_input_ids: number[][];
}

export interface VlmCase {
  image: string;
  messages: Array<{ role: string; content: unknown }>;
  prompt: string;
  input_ids: number[];
  first_logits: number[];
  generated_ids: number[];
  generated_text: string;
}

export interface VlmReference {
  image_token_index: number;
  num_image_tokens: number;
  pixel_values: Record<string, B64Tensor>;
  cases: VlmCase[];
}

export interface SampleLabels {
  images: Array<{
    file: string;
    width: number;
    height: number;
    color: string;
    shape: string;
    caption: string;
    prompt: string;
    qa: Array<{ question: string; answer: string }>;
  }>;
}
