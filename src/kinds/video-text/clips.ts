/**
 * A video into clips the vision model takes: probe (the host's `openVideo`, or decoded frames
 * read in the core), cut into temporal segments, pick `frames` per segment with the sampler,
 * decode the picks, preprocess each frame (Pillow-exact resize + crop + normalize) into one
 * [clips, frames, 3, H, W] buffer per batch.
 *
 * Parallel (default): the segments of a batch are decoded concurrently (`decodeConcurrency`) and
 * the next batch decodes while the current one is encoded. Sequential: one segment at a time,
 * decoded then encoded, batch 1 — the baseline the benchmark compares against.
 */
import { InputError, isMmrtError } from '../../errors.js';
import type { Host, VideoOpenOptions, VideoSource } from '../../host/host.js';
import { decodedFramesSource } from '../../media/decoded-frames.js';
import {
  type FrameSampling,
  type SegmentOptions,
  type TimeWindow,
  sampleFrames,
  splitSegments,
} from '../../media/frame-sampling.js';
import { type VideoInput, describeInput, isDecodedFramesInput } from '../../media/input.js';
import type { RgbImage } from '../../host/host.js';

export interface ClipPipeline {
  /** RGB frame -> normalized CHW float32 of the model's input size. */
  preprocess(image: RgbImage): Float32Array;
  /** [3, H, W] that `preprocess` writes. */
  readonly pixelShape: readonly [number, number, number];
}

export interface SegmentPlan extends TimeWindow {
  /** The presentation times of the frames picked (one per frame of the clip). */
  readonly times: readonly number[];
}

export interface ClipBatch {
  /** Indices of the segments in this batch. */
  readonly segments: readonly number[];
  /** [segments.length, frames, 3, H, W], normalized. */
  readonly pixels: Float32Array;
  /** The decoded frames' times, per segment of the batch. */
  readonly times: ReadonlyArray<readonly number[]>;
}

/** Which frames of which segments: the sampler's inputs. */
export interface SamplingPlan {
  readonly frames: number;
  readonly sampling: FrameSampling;
  readonly segments: SegmentOptions;
}

export interface ReadOptions {
  readonly frames: number;
  readonly batch: number;
  readonly parallel: boolean;
  readonly decodeConcurrency: number;
  readonly signal?: AbortSignal;
}

export interface Timings {
  probeMs: number;
  decodeMs: number;
  visionMs: number;
  textMs: number;
  promptMs: number;
}

/** Opens any VideoInput: decoded frames in the core, encoded ones through the host. */
export async function openSource(
  host: Pick<Host, 'openVideo' | 'name'>,
  input: VideoInput,
  open: VideoOpenOptions,
): Promise<VideoSource> {
  if (Array.isArray(input) || isDecodedFramesInput(input)) {
    return decodedFramesSource(
      input as never,
      open.maxPixels !== undefined ? { maxPixels: open.maxPixels } : {},
    );
  }
  if (!host.openVideo) {
    throw new InputError(
      'INPUT_INVALID',
      `the ${host.name} host has no video decoder, so ${describeInput(input)} cannot be read`,
      {
        value: describeInput(input),
        valid: 'decoded frames ({ frames: [{data, width, height, channels}], fps })',
        hint: 'Decode the frames yourself and pass them, or use a host with openVideo (Node: ffmpeg).',
      },
    );
  }
  return host.openVideo(input as never, open);
}

/** The segments of a probed video and the frames each shows the model. */
export function planSegments(source: VideoSource, o: SamplingPlan) {
  const windows = splitSegments(source.info, o.segments);
  return windows.map(
    (w, i): SegmentPlan => ({
      ...w,
      times: sampleFrames(source.info, w, o.sampling, o.frames, i === windows.length - 1).map((p) => p.time),
    }),
  );
}

/**
 * Yields the clips batch by batch (see the module comment for the two schedules). `timings`
 * gets the wall time spent waiting for decodes (the part not hidden behind encoding).
 */
export async function* readClips(
  source: VideoSource,
  plan: readonly SegmentPlan[],
  pipe: ClipPipeline,
  o: ReadOptions,
  timings: Timings,
): AsyncGenerator<ClipBatch> {
  const [c, h, w] = pipe.pixelShape;
  const frameSize = c * h * w;
  const clipSize = o.frames * frameSize;
  const batch = o.parallel ? o.batch : 1;
  const groups: number[][] = [];
  for (let i = 0; i < plan.length; i += batch) {
    groups.push(Array.from({ length: Math.min(batch, plan.length - i) }, (_, j) => i + j));
  }

  const decodeSegment = async (s: number, into: Float32Array, at: number): Promise<readonly number[]> => {
    const seg = plan[s]!;
    let got: Awaited<ReturnType<VideoSource['decode']>>;
    try {
      got = await source.decode(seg.times, o.signal ? { signal: o.signal } : {});
    } catch (e) {
      if (!isMmrtError(e)) throw e;
      const where = `segment ${s + 1}/${plan.length} (${seg.startSec.toFixed(2)}-${seg.endSec.toFixed(2)} s)`;
      throw new InputError(e.code, `${e.message} [${where}]`, { ...e.details, segment: s }, { cause: e });
    }
    for (const [k, f] of got.frames.entries()) into.set(pipe.preprocess(f), at + k * frameSize);
    return got.timestamps;
  };

  const decodeGroup = async (g: readonly number[]): Promise<ClipBatch> => {
    const pixels = new Float32Array(g.length * clipSize);
    const times = o.parallel
      ? await mapLimited(g, o.decodeConcurrency, (s, j) => decodeSegment(s, pixels, j * clipSize))
      : [await decodeSegment(g[0]!, pixels, 0)];
    return { segments: g, pixels, times };
  };

  let next: Promise<ClipBatch> | undefined;
  const start = (k: number) => {
    const p = decodeGroup(groups[k]!);
    p.catch(() => undefined); // awaited in turn; not unhandled while the current batch runs
    return p;
  };
  for (let k = 0; k < groups.length; k++) {
    if (o.signal?.aborted) throw new InputError('ABORTED', `reading ${source.label} was aborted`);
    const t0 = performance.now();
    const current = await (next ?? start(k));
    timings.decodeMs += performance.now() - t0;
    next = o.parallel && k + 1 < groups.length ? start(k + 1) : undefined;
    yield current;
  }
}

/** Promise.all over items with at most `limit` running at once, results in order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>) {
  const out = new Array<R>(items.length);
  let nextIndex = 0;
  const worker = async () => {
    for (let i = nextIndex++; i < items.length; i = nextIndex++) out[i] = await fn(items[i]!, i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
