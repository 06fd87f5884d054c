/**
 * Dummy inputs for a warm-up run, built from a session's input metadata alone: symbolic
 * dimensions become 1 (image height/width/channels/frames come from the package's configs),
 * integer ids are 0 (valid for any vocabulary), attention masks are 1, position ids count up,
 * and past key/values are empty (past length 0, so the total length is the new tokens').
 */
import type { Tensor } from 'onnxruntime-common';
import { RuntimeError } from '../errors.js';
import type { OrtModule } from '../host/host.js';
import type { Json, ModelPackage } from '../package/describe.js';
import { type Feeds, type Outputs, type Session, type TensorInfo, nonFiniteIn } from '../runtime/session.js';

export interface WarmupHints {
  /** Image height/width for symbolic pixel dims. */
  readonly imageSize?: { readonly height: number; readonly width: number };
  readonly channels?: number;
  /** Video frames for symbolic frame dims. */
  readonly frames?: number;
  /**
   * Positions already in a decoder's cache (default 0, the prefill). 1 gives a decode step's
   * shapes: one new token after a past, a mask over both, positions counting from the past.
   */
  readonly pastLength?: number;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;
}

function sizeOf(v: unknown): { height: number; width: number } | undefined {
  const n = num(v);
  if (n) return { height: n, width: n };
  if (v && typeof v === 'object') {
    const o = v as Json;
    const h = num(o.height);
    const w = num(o.width);
    if (h && w) return { height: h, width: w };
    const s = num(o.shortest_edge) ?? num(o.longest_edge);
    if (s) return { height: s, width: s };
  }
  return undefined;
}

/** Image size, channels and frames from config.json / preprocessor_config.json. */
export function warmupHints(pkg: Pick<ModelPackage, 'config' | 'preprocessorConfig'>): WarmupHints {
  const pre = pkg.preprocessorConfig ?? {};
  const vision = (pkg.config.vision_config ?? {}) as Json;
  const imageSize =
    (pre.do_center_crop !== false ? sizeOf(pre.crop_size) : undefined) ??
    // Idefics3/SmolVLM split images into tiles of max_image_size.
    sizeOf(pre.max_image_size) ??
    sizeOf(pre.size) ??
    sizeOf(vision.image_size) ??
    sizeOf(pkg.config.image_size);
  const channels = num(vision.num_channels) ?? 3;
  const frames = num(vision.num_frames) ?? num(pkg.config.num_frames);
  return { ...(imageSize && { imageSize }), channels, ...(frames && { frames }) };
}

const isPast = (name: string) => /^past_key_values|^past\.|(^|[._])past_(key|value)/.test(name);

function dimValue(input: string, dim: number | string, index: number, hints: WarmupHints): number {
  if (typeof dim === 'number') return dim;
  const d = dim.toLowerCase();
  const past = hints.pastLength ?? 0;
  if (isPast(input)) {
    // Batch stays 1; the past length (and any other free dim of a cache) is the hint's.
    return index === 0 || d.includes('batch') ? 1 : past;
  }
  if (d.includes('total')) return past + 1;
  if (d.includes('height')) return hints.imageSize?.height ?? 1;
  if (d.includes('width')) return hints.imageSize?.width ?? 1;
  if (d.includes('channel')) return hints.channels ?? 3;
  if (d.includes('frame')) return hints.frames ?? 1;
  return 1;
}

function filled(type: string, size: number, value: (i: number) => number): Tensor['data'] {
  switch (type) {
    case 'int64': {
      const a = new BigInt64Array(size);
      for (let i = 0; i < size; i++) a[i] = BigInt(value(i));
      return a;
    }
    case 'uint64': {
      const a = new BigUint64Array(size);
      for (let i = 0; i < size; i++) a[i] = BigInt(value(i));
      return a;
    }
    case 'int32':
      return Int32Array.from({ length: size }, (_, i) => value(i));
    case 'uint32':
      return Uint32Array.from({ length: size }, (_, i) => value(i));
    case 'int16':
      return Int16Array.from({ length: size }, (_, i) => value(i));
    case 'uint16':
      return Uint16Array.from({ length: size }, (_, i) => value(i));
    case 'int8':
      return Int8Array.from({ length: size }, (_, i) => value(i));
    case 'uint8':
    case 'bool':
      return Uint8Array.from({ length: size }, (_, i) => value(i));
    case 'float64':
      return new Float64Array(size);
    case 'float16':
      // Zeros in IEEE half are the zero bit pattern.
      return new Uint16Array(size);
    default:
      return new Float32Array(size);
  }
}

/** Whether a session takes a KV cache (its warm-up then also runs a decode step). */
export function hasPastInputs(inputs: readonly TensorInfo[]): boolean {
  return inputs.some((i) => isPast(i.name));
}

/** Dummy feeds for every input of a session, from its metadata. */
export function dummyFeeds(ort: OrtModule, inputs: readonly TensorInfo[], hints: WarmupHints = {}): Feeds {
  const feeds: Feeds = {};
  for (const info of inputs) {
    const dims = info.shape.map((d, i) => dimValue(info.name, d, i, hints));
    const size = dims.reduce((a, b) => a * b, 1);
    const last = dims[dims.length - 1] ?? 1;
    const name = info.name.toLowerCase();
    let value: (i: number) => number = () => 0;
    // Merged decoders take the no-cache branch when the past is empty.
    if (name === 'use_cache_branch') value = () => 0;
    else if (name.includes('attention_mask') || name.endsWith('_mask') || info.type === 'bool')
      value = () => 1;
    else if (name.includes('position_ids') || name === 'cache_position')
      value = (i) => (hints.pastLength ?? 0) + (i % Math.max(1, last));
    const type = info.type === 'unknown' ? 'float32' : info.type;
    feeds[info.name] = new ort.Tensor(type as 'float32', filled(type, size, value) as Float32Array, dims);
  }
  return feeds;
}

/**
 * Float outputs of a run that hold NaN or Inf, by name. Outputs kept on a device (WebGPU
 * `gpu-buffer`) are read back for the check and not disposed: the caller owns them.
 */
export async function nonFiniteOutputs(outputs: Outputs): Promise<string[]> {
  const bad: string[] = [];
  for (const [name, t] of Object.entries(outputs)) if (await nonFiniteIn(t)) bad.push(name);
  return bad;
}

export function invalidOutput(component: string, session: Session, outputs: readonly string[]): RuntimeError {
  return new RuntimeError(
    'SESSION_OUTPUT_INVALID',
    `the first run of "${component}" on ${session.providers.join(', ')} returned NaN or Inf in ${outputs.join(', ')}`,
    { value: outputs, component, providers: session.providers },
  );
}

export function isInvalidOutput(e: unknown): boolean {
  return e instanceof RuntimeError && e.code === 'SESSION_OUTPUT_INVALID';
}
