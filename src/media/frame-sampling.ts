/**
 * Which frames of a video a model sees: temporal segments, and in each segment exactly `frames`
 * picks by one of four deterministic strategies. Pure functions of the probe (`VideoInfo`): the
 * same video and options always give the same frames, on every host.
 *
 * The rule for videos (or segments) with fewer frames than asked: every strategy still returns
 * exactly `frames` picks, in time order. `uniform` and `keyframes` spread the repeats evenly
 * (pick k is candidate floor((k + 0.5) * n / frames)); `stride` and `fps` repeat the last frame
 * of the segment once they run past its end.
 */
import { InputError } from '../errors.js';
import type { VideoInfo } from '../host/host.js';

/** The brief's `temporal_resolution` words (frames per clip), or a count. */
export type FrameCount = number | 'low' | 'medium' | 'high';
export const TEMPORAL_RESOLUTION = { low: 4, medium: 8, high: 16 } as const;

export type FrameSampling =
  /** X-CLIP's: `frames` equal segments, the middle frame of each. The default. */
  | { readonly strategy: 'uniform' }
  /** Every `stride`-th frame from frame `offset` (default 0) of the segment. */
  | { readonly strategy: 'stride'; readonly stride: number; readonly offset?: number }
  /** The frames shown at `fps` per second from `offset` seconds (default 0) into the segment. */
  | { readonly strategy: 'fps'; readonly fps: number; readonly offset?: number }
  /** Keyframes only, spread as `uniform` spreads frames: no frame needs another decoded first. */
  | { readonly strategy: 'keyframes' };

export const SAMPLING_STRATEGIES = ['uniform', 'stride', 'fps', 'keyframes'] as const;

/** How a video is cut into temporal segments (one clip of `frames` picks each). */
export interface SegmentOptions {
  /**
   * Longest segment in seconds: a longer video is cut into ceil(duration / seconds) equal
   * segments (a duration within half a frame of a multiple counts as that multiple). Default 10;
   * `Infinity` keeps the whole video as one clip.
   */
  readonly seconds?: number;
  /** At most this many segments (longer ones then). Default 1024. */
  readonly max?: number;
}

export interface TimeWindow {
  readonly startSec: number;
  readonly endSec: number;
}

export interface FramePick {
  /** Index into the video's frame list. */
  readonly index: number;
  /** Its presentation time (seconds). */
  readonly time: number;
}

/** Frames per clip from a count or a `temporal_resolution` word. */
export function frameCount(value: FrameCount): number {
  const n = typeof value === 'string' ? TEMPORAL_RESOLUTION[value] : value;
  if (!(Number.isInteger(n) && n >= 1 && n <= 1024)) {
    throw new InputError(
      'INPUT_INVALID',
      `frames must be 1..1024 or low/medium/high, got ${JSON.stringify(value)}`,
      {
        value,
        valid: ['low', 'medium', 'high', 'an integer 1..1024'],
      },
    );
  }
  return n;
}

export function checkSampling(s: FrameSampling): FrameSampling {
  const bad = (why: string): never => {
    throw new InputError('INPUT_INVALID', `frame sampling ${JSON.stringify(s)}: ${why}`, {
      value: s,
      valid: SAMPLING_STRATEGIES.map((x) => `{ strategy: '${x}' ... }`),
    });
  };
  if (!s || typeof s !== 'object' || !SAMPLING_STRATEGIES.includes(s.strategy)) bad('unknown strategy');
  if (s.strategy === 'stride') {
    if (!(Number.isInteger(s.stride) && s.stride >= 1)) bad('stride must be a positive integer (frames)');
    if (s.offset !== undefined && !(Number.isInteger(s.offset) && s.offset >= 0))
      bad('offset must be a non-negative integer (frames)');
  }
  if (s.strategy === 'fps') {
    if (!(Number.isFinite(s.fps) && s.fps > 0)) bad('fps must be a positive number');
    if (s.offset !== undefined && !(Number.isFinite(s.offset) && s.offset >= 0))
      bad('offset must be a non-negative number of seconds');
  }
  return s;
}

/**
 * The time of every frame: the host's list, or (a host that cannot list frames) one frame every
 * 1/fps seconds over the duration, 30 fps when the rate is unknown too.
 */
export function frameTimes(info: VideoInfo): readonly number[] {
  if (info.frameTimes && info.frameTimes.length > 0) return info.frameTimes;
  const fps = info.fps && info.fps > 0 ? info.fps : 30;
  const n = Math.max(1, Math.floor(info.durationSec * fps + 1e-6));
  return Array.from({ length: n }, (_, i) => i / fps);
}

/** Equal segments of at most `seconds` each over the video's duration. */
export function splitSegments(info: VideoInfo, options: SegmentOptions = {}): TimeWindow[] {
  const seconds = options.seconds ?? 10;
  const max = options.max ?? 1024;
  if (!(seconds > 0)) {
    throw new InputError('INPUT_INVALID', `segment seconds must be positive, got ${seconds}`, {
      value: seconds,
    });
  }
  if (!(Number.isInteger(max) && max >= 1)) {
    throw new InputError('INPUT_INVALID', `segment max must be a positive integer, got ${max}`, {
      value: max,
    });
  }
  const times = frameTimes(info);
  const start = times[0] ?? 0;
  const end = Math.max(start + info.durationSec, times[times.length - 1] ?? 0);
  const span = end - start;
  // Durations come from frame times: within half a frame of a whole number of segments is that number.
  const slack = span / times.length / 2 / seconds;
  const count = Number.isFinite(seconds) ? Math.min(max, Math.max(1, Math.ceil(span / seconds - slack))) : 1;
  return Array.from({ length: count }, (_, i) => ({
    startSec: start + (span * i) / count,
    endSec: i === count - 1 ? end : start + (span * (i + 1)) / count,
  }));
}

/** Indices of the frames shown during [start, end) (the last window includes its end). */
function framesIn(times: readonly number[], w: TimeWindow, last: boolean): number[] {
  const eps = 1e-9;
  const out: number[] = [];
  for (let i = lowerBound(times, w.startSec - eps); i < times.length; i++) {
    const t = times[i]!;
    if (last ? t > w.endSec + eps : t >= w.endSec - eps) break;
    out.push(i);
  }
  // A window shorter than one frame interval still shows a frame: the one on screen at its start.
  if (out.length === 0) out.push(Math.max(0, lowerBound(times, w.startSec + eps) - 1));
  return out;
}

/** First index with times[i] >= t. */
function lowerBound(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `count` picks, candidate floor((k + 0.5) * n / count) for k = 0..count-1. */
function spread(candidates: readonly number[], count: number): number[] {
  const n = candidates.length;
  return Array.from({ length: count }, (_, k) => candidates[Math.floor(((k + 0.5) * n) / count)]!);
}

/**
 * Exactly `count` frames of the window by the strategy, in time order (see the module comment
 * for videos shorter than asked). `last` marks the video's final window, which includes its end.
 */
export function sampleFrames(
  info: VideoInfo,
  window: TimeWindow,
  sampling: FrameSampling,
  count: number,
  last = true,
): FramePick[] {
  checkSampling(sampling);
  const times = frameTimes(info);
  const inWindow = framesIn(times, window, last);
  let indices: number[];
  switch (sampling.strategy) {
    case 'uniform':
      indices = spread(inWindow, count);
      break;
    case 'stride': {
      const offset = sampling.offset ?? 0;
      indices = Array.from(
        { length: count },
        (_, k) => inWindow[Math.min(inWindow.length - 1, offset + k * sampling.stride)]!,
      );
      break;
    }
    case 'fps': {
      const first = inWindow[0]!;
      const lastIn = inWindow[inWindow.length - 1]!;
      indices = Array.from({ length: count }, (_, k) => {
        const t = window.startSec + (sampling.offset ?? 0) + k / sampling.fps;
        // The frame on screen at t: the last one that started at or before it.
        const i = lowerBound(times, t + 1e-9) - 1;
        return Math.min(lastIn, Math.max(first, i));
      });
      break;
    }
    case 'keyframes': {
      const keys = new Set(info.keyframeTimes ?? []);
      let candidates = inWindow.filter((i) => keys.has(times[i]!));
      if (candidates.length === 0) {
        // No keyframe inside the window: the one whose picture is on screen at its start, if
        // the host listed keyframes; else the window's first frame.
        const before = [...keys].filter((t) => t <= window.startSec + 1e-9);
        const t = before.length > 0 ? Math.max(...before) : undefined;
        candidates = [t === undefined ? inWindow[0]! : Math.max(0, lowerBound(times, t))];
      }
      indices = spread(candidates, count);
      break;
    }
  }
  return indices.map((index) => ({ index, time: times[index]! }));
}
