/**
 * A written variant is kept only if ONNX Runtime loads it and one run on the package's
 * reference inputs gives finite outputs; its drift from the fp32 model on the same inputs is
 * measured on the way. The reference inputs are made from the session's input metadata and the
 * package's configs (image size, vocabulary): a fixed pseudo-random image in the normalized
 * pixel range, fixed token ids inside the vocabulary, a full attention mask, counting position
 * ids, an empty KV cache — the same every time, so drift figures are comparable.
 */
import type { Tensor } from 'onnxruntime-common';
import { type MmrtError, ModelPackageError } from '../errors.js';
import type { OrtModule } from '../host/host.js';
import type { WarmupHints } from '../loader/warmup.js';
import { fromFloat16 } from '../onnx/float16.js';
import { type Feeds, type Outputs, type Session, createSession, firstNonFinite } from '../runtime/session.js';

export interface ReferenceHints extends WarmupHints {
  /** Token ids are drawn below this (default 32). */
  readonly vocabSize?: number;
  /** Tokens per sequence input (default 8). */
  readonly sequenceLength?: number;
}

/** xorshift32 in [0, 1): the same numbers on every host. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

const isPast = (name: string) => /^past_key_values|^past\.|(^|[._])past_(key|value)/.test(name);

function dim(name: string, d: number | string, i: number, h: ReferenceHints): number {
  if (typeof d === 'number') return d;
  const s = d.toLowerCase();
  if (isPast(name)) return i === 0 || s.includes('batch') ? 1 : 0;
  if (s.includes('batch')) return 1;
  if (s.includes('height')) return h.imageSize?.height ?? 1;
  if (s.includes('width')) return h.imageSize?.width ?? 1;
  if (s.includes('channel')) return h.channels ?? 3;
  if (s.includes('frame')) return h.frames ?? 1;
  return h.sequenceLength ?? 8;
}

/** The reference inputs of one session (see the module comment). */
export function referenceFeeds(ort: OrtModule, inputs: Session['inputs'], hints: ReferenceHints = {}): Feeds {
  const feeds: Feeds = {};
  const vocab = Math.max(2, hints.vocabSize ?? 32);
  for (const [k, info] of inputs.entries()) {
    const dims = info.shape.map((d, i) => dim(info.name, d, i, hints));
    const size = dims.reduce((a, b) => a * b, 1);
    const name = info.name.toLowerCase();
    const rand = prng(1234 + k);
    const last = dims[dims.length - 1] ?? 1;
    let value: (i: number) => number;
    if (name === 'use_cache_branch') value = () => 0;
    else if (name.includes('mask') || info.type === 'bool') value = () => 1;
    else if (name.includes('position_ids') || name === 'cache_position') value = (i) => i % Math.max(1, last);
    else if (name === 'num_logits_to_keep' || name === 'logits_to_keep') value = () => 0;
    else if (info.type.startsWith('int') || info.type.startsWith('uint'))
      value = () => 1 + Math.floor(rand() * (vocab - 1));
    else if (name.includes('pixel')) value = () => rand() * 4 - 1.8;
    else value = () => (rand() - 0.5) * 2;
    let data: Tensor['data'];
    switch (info.type) {
      case 'int64':
        data = BigInt64Array.from({ length: size }, (_, i) => BigInt(value(i)));
        break;
      case 'int32':
        data = Int32Array.from({ length: size }, (_, i) => value(i));
        break;
      case 'bool':
      case 'uint8':
        data = Uint8Array.from({ length: size }, (_, i) => value(i));
        break;
      case 'float16': {
        const f = Float32Array.from({ length: size }, (_, i) => value(i));
        data = new Uint16Array(f.length);
        const bits = new Uint32Array(f.buffer);
        for (let i = 0; i < f.length; i++) {
          // Reference values are small: truncating the mantissa is exact enough for a check run.
          const x = bits[i]!;
          const e = ((x >>> 23) & 0xff) - 112;
          data[i] = e <= 0 ? (x >>> 16) & 0x8000 : ((x >>> 16) & 0x8000) | (e << 10) | ((x >>> 13) & 0x3ff);
        }
        break;
      }
      default:
        data = Float32Array.from({ length: size }, (_, i) => value(i));
    }
    feeds[info.name] = new ort.Tensor(info.type as 'float32', data as Float32Array, dims);
  }
  return feeds;
}

export interface OutputDrift {
  readonly output: string;
  readonly maxAbsDiff: number;
  /** Cosine similarity of the flattened outputs. */
  readonly cosine: number;
}

export interface Verification {
  /** Session creation + one run of the variant, ms. */
  readonly createMs: number;
  readonly runMs: number;
  /** Against the fp32 model on the same inputs. */
  readonly drift: readonly OutputDrift[];
}

function floats(t: Tensor): Float32Array | undefined {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') return fromFloat16(t.data as Uint16Array);
  if (t.type === 'float64') return Float32Array.from(t.data as Float64Array);
  return undefined;
}

function drift(name: string, a: Float32Array, b: Float32Array): OutputDrift {
  let max = 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    max = Math.max(max, Math.abs(a[i]! - b[i]!));
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  const cosine = na === 0 && nb === 0 ? 1 : dot / Math.sqrt(na * nb || 1);
  return { output: name, maxAbsDiff: max, cosine };
}

/** The fp32 model's inputs and its outputs on the reference inputs: what variants are checked against. */
export interface ReferenceRun {
  readonly inputs: Session['inputs'];
  readonly outputs: Outputs;
}

/** Run the fp32 model once on the reference inputs. */
export async function referenceRun(
  reference: Session,
  ort: OrtModule,
  hints: ReferenceHints,
): Promise<ReferenceRun> {
  return {
    inputs: reference.inputs,
    outputs: await reference.run(referenceFeeds(ort, reference.inputs, hints)),
  };
}

/**
 * Load `variant` and run it once on the reference inputs, and compare with the fp32 run.
 * Throws `VARIANT_INVALID` when it does not load, fails to run or gives a non-finite value.
 */
export async function verifyVariant(
  ort: OrtModule,
  reference: ReferenceRun,
  variant: { readonly model: string | Uint8Array; readonly name: string },
  hints: ReferenceHints,
): Promise<Verification> {
  const t0 = performance.now();
  let session: Session | undefined;
  try {
    try {
      session = await createSession(ort, {
        name: variant.name,
        model: variant.model,
        providers: ['cpu'],
        intraOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      });
    } catch (e) {
      throw invalid(variant.name, `ONNX Runtime cannot load it: ${(e as Error).message}`, e);
    }
    const createMs = performance.now() - t0;
    const feeds = referenceFeeds(ort, reference.inputs, hints);
    const want = reference.outputs;
    const t1 = performance.now();
    let got: Outputs;
    try {
      got = await session.run(feeds);
    } catch (e) {
      throw invalid(variant.name, `it fails to run on the reference inputs: ${(e as Error).message}`, e);
    }
    const runMs = performance.now() - t1;
    const bad = await firstNonFinite(got);
    if (bad) throw invalid(variant.name, `its first run gives a non-finite value: ${bad}`);
    const drifts: OutputDrift[] = [];
    for (const [name, t] of Object.entries(want)) {
      const a = floats(t);
      const b = got[name] ? floats(got[name]!) : undefined;
      if (a && b && a.length === b.length) drifts.push(drift(name, a, b));
    }
    return { createMs, runMs, drift: drifts };
  } finally {
    await session?.release().catch(() => undefined);
  }
}

function invalid(name: string, why: string, cause?: unknown): MmrtError {
  return new ModelPackageError(
    'VARIANT_INVALID',
    `the ${name} variant was not kept: ${why}`,
    {
      value: name,
      hint: 'exclude the offending nodes (--exclude-ops / --exclude-nodes) or pick another precision',
    },
    cause === undefined ? undefined : { cause },
  );
}
