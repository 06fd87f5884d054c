/**
 * Node video decoding through the system ffprobe and ffmpeg (Debian package `ffmpeg`).
 *
 * `openVideo` probes once: ffprobe lists the packets of the first real video stream (no decoding:
 * fast even for long videos), which gives the presentation time of every frame and the keyframes.
 * `decode(times)` then decodes only the frames asked for: the picks are grouped into runs that no
 * keyframe separates, and each run is one ffmpeg process that seeks to the picks' keyframe
 * (`-ss` before `-i`, timestamps kept with `-copyts`), selects exactly the listed frames by their
 * presentation time and writes them as raw RGB24 at full size (the core's Pillow-exact resampler
 * does the resizing). Picks that are all keyframes decode in one process that skips every other
 * frame (`-skip_frame nokey`). Runs decode in parallel, `concurrency` processes at a time.
 *
 * Every process is bounded (tool.ts): a time limit, the caller's signal, capped output. Inputs:
 * a path or file: URL (read in place), http(s) and data: URLs and in-memory bytes (with the image
 * limits, then written to a private temp file that `close()` removes). Frames are not rotated by
 * the container's display matrix (`-noautorotate`), as PyAV hands them to Python.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError, isMmrtError } from '../../errors.js';
import type { DecodedFrames, RgbImage, VideoInfo, VideoOpenOptions, VideoSource } from '../../host/host.js';
import type { EncodedVideo } from '../../media/input.js';
import { DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT_MS, checkFile, resolveImageSource } from './source.js';
import { errorLines, runTool } from './tool.js';

export interface NodeVideoOptions {
  /** Default `ffmpeg` (on PATH). */
  readonly ffmpegPath?: string;
  /** Default `ffprobe` (on PATH). */
  readonly ffprobePath?: string;
  /** ffmpeg processes decoding at once, per host. Default 2. */
  readonly concurrency?: number;
}

export const DEFAULT_VIDEO_TIMEOUT_MS = 120_000;
export const DEFAULT_MAX_DECODED_BYTES = 1 << 30;
const DEFAULT_MAX_PIXELS = 100_000_000;
const MAX_PROBE_BYTES = 256 << 20;

/** A tiny semaphore: at most `n` tasks at once. */
function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (task) => {
    if (active >= n) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/** The Node host's `openVideo`, with its binaries and its process limit. */
export function nodeVideoOpener(options: NodeVideoOptions = {}) {
  const ffmpeg = options.ffmpegPath ?? process.env.MMRT_FFMPEG ?? 'ffmpeg';
  const ffprobe = options.ffprobePath ?? process.env.MMRT_FFPROBE ?? 'ffprobe';
  const concurrency = options.concurrency ?? 2;
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new InputError(
      'INPUT_INVALID',
      `video concurrency must be a positive integer, got ${concurrency}`,
      {
        value: concurrency,
      },
    );
  }
  const slot = limiter(concurrency);
  return (input: EncodedVideo, open: VideoOpenOptions = {}): Promise<VideoSource> =>
    openVideo(input, open, { ffmpeg, ffprobe, slot });
}

interface Tools {
  readonly ffmpeg: string;
  readonly ffprobe: string;
  readonly slot: <T>(task: () => Promise<T>) => Promise<T>;
}

interface Located {
  readonly path: string;
  readonly label: string;
  /** A temp dir to remove on close. */
  readonly temp?: string;
}

async function locate(input: EncodedVideo, open: VideoOpenOptions): Promise<Located> {
  const maxBytes = open.maxBytes ?? DEFAULT_MAX_BYTES;
  let bytes: Uint8Array;
  let label: string;
  if (typeof input === 'string' || input instanceof URL) {
    const src = await resolveImageSource(input, {
      maxBytes,
      timeoutMs: open.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      ...(open.signal && { signal: open.signal }),
    });
    if (src.kind === 'path') {
      await checkFile(src.path);
      if ((await stat(src.path)).size === 0) throw empty(src.path);
      return { path: src.path, label: src.path };
    }
    bytes = src.bytes;
    label = src.label;
  } else if (input instanceof Uint8Array || input instanceof ArrayBuffer) {
    bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
    label = `<${bytes.byteLength} bytes>`;
    if (bytes.byteLength > maxBytes) {
      throw new InputError(
        'IMAGE_TOO_LARGE',
        `${label}: over the ${maxBytes}-byte limit for in-memory videos`,
        {
          value: bytes.byteLength,
          valid: `<= ${maxBytes} bytes`,
          hint: 'Pass a file path (read in place, no limit), or raise maxBytes.',
        },
      );
    }
  } else {
    throw new InputError(
      'INPUT_INVALID',
      `Unsupported video input of type ${Object.prototype.toString.call(input)}`,
      {
        value: typeof input,
        valid: [
          'file path',
          'URL (http, https, data, file)',
          'Uint8Array/Buffer',
          'ArrayBuffer',
          'decoded frames',
        ],
      },
    );
  }
  if (bytes.byteLength === 0) throw empty(label);
  const temp = await mkdtemp(join(tmpdir(), 'mmrt-video-'));
  const path = join(temp, 'input');
  await writeFile(path, bytes, { mode: 0o600 });
  return { path, label, temp };
}

function empty(label: string): InputError {
  return new InputError('VIDEO_EMPTY', `${label} is empty (0 bytes): no video to read`, {
    value: label,
    valid: 'a video file (mp4, webm, mkv, mov, ...)',
  });
}

async function openVideo(input: EncodedVideo, open: VideoOpenOptions, tools: Tools): Promise<VideoSource> {
  const where = await locate(input, open);
  try {
    const info = await probe(where, open, tools);
    return videoSource(where, info, open, tools);
  } catch (e) {
    if (where.temp) await rm(where.temp, { recursive: true, force: true });
    throw e;
  }
}

interface ProbeJson {
  streams?: Array<Record<string, unknown>>;
  packets?: Array<{ pts_time?: string; flags?: string }>;
  format?: { duration?: string; format_name?: string; nb_streams?: number };
}

const rate = (r: unknown): number | undefined => {
  if (typeof r !== 'string') return undefined;
  const [n, d] = r.split('/').map(Number);
  return n && d ? n / d : undefined;
};

async function probe(where: Located, open: VideoOpenOptions, tools: Tools): Promise<VideoInfo> {
  const what = `probing ${where.label}`;
  const run = await runTool(
    tools.ffprobe,
    [
      '-v',
      'error',
      '-of',
      'json',
      '-show_entries',
      'format=duration,format_name,nb_streams',
      '-show_entries',
      'stream=codec_name,width,height,avg_frame_rate,r_frame_rate,duration',
      '-show_entries',
      'packet=pts_time,flags',
      '-select_streams',
      'V:0',
      where.path,
    ],
    {
      timeoutMs: open.timeoutMs ?? DEFAULT_VIDEO_TIMEOUT_MS,
      maxStdoutBytes: MAX_PROBE_BYTES,
      what,
      ...(open.signal && { signal: open.signal }),
    },
  );
  let json: ProbeJson;
  try {
    json = JSON.parse(run.stdout.toString('utf8')) as ProbeJson;
  } catch {
    json = {};
  }
  if (run.code !== 0 || !json.format) {
    throw new InputError(
      'VIDEO_DECODE_FAILED',
      `${where.label} is not a video ffmpeg can read: ${errorLines(run.stderr)}`,
      {
        value: where.label,
        valid: 'a video file ffmpeg reads (mp4, webm, mkv, mov, avi, ...)',
      },
    );
  }
  const stream = json.streams?.[0];
  // ffmpeg also "reads" text (as ANSI art, `tty`) and still images (`image2`, `png_pipe`, ...).
  const format = json.format.format_name ?? '';
  if (format === 'tty' || format === 'image2' || format.endsWith('_pipe')) {
    throw new InputError(
      'VIDEO_DECODE_FAILED',
      `${where.label} is not a video (ffmpeg reads it as ${format})`,
      {
        value: where.label,
        valid: 'a video file (mp4, webm, mkv, mov, avi, ...); images go to the image APIs',
      },
    );
  }
  if (!stream) {
    throw new InputError(
      'VIDEO_NO_STREAM',
      `${where.label} has no video stream (${json.format.format_name}, ${json.format.nb_streams ?? 0} stream(s))`,
      {
        value: where.label,
        valid: 'a file with a video stream (cover art does not count)',
      },
    );
  }
  const width = Number(stream.width);
  const height = Number(stream.height);
  const maxPixels = open.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!(width > 0 && height > 0)) {
    throw new InputError('VIDEO_DECODE_FAILED', `${where.label}: the video stream has no frame size`, {
      value: where.label,
    });
  }
  if (width * height > maxPixels) {
    throw new InputError(
      'IMAGE_TOO_LARGE',
      `${where.label} has ${width}x${height} frames, over the limit of ${maxPixels} pixels`,
      {
        value: { width, height },
        valid: `<= ${maxPixels} pixels`,
        hint: 'Raise maxPixels if this video is expected.',
      },
    );
  }
  const frames: Array<{ t: number; key: boolean }> = [];
  for (const p of json.packets ?? []) {
    const t = Number(p.pts_time);
    // D: a packet the demuxer marks to be discarded (edit-list pre-roll): never shown.
    if (p.pts_time === undefined || !Number.isFinite(t) || p.flags?.includes('D')) continue;
    frames.push({ t, key: !!p.flags?.includes('K') });
  }
  frames.sort((a, b) => a.t - b.t);
  if (frames.length === 0) {
    throw new InputError('VIDEO_EMPTY', `${where.label}: its video stream has no frames`, {
      value: where.label,
      valid: 'a video with at least one frame',
    });
  }
  const times = frames.map((f) => f.t);
  const fps = rate(stream.avg_frame_rate) ?? rate(stream.r_frame_rate);
  const gap =
    times.length > 1 ? (times[times.length - 1]! - times[0]!) / (times.length - 1) : fps ? 1 / fps : 0;
  return {
    durationSec: times[times.length - 1]! - times[0]! + gap,
    width,
    height,
    ...(fps && { fps }),
    frameTimes: times,
    keyframeTimes: frames.filter((f) => f.key).map((f) => f.t),
    ...(typeof stream.codec_name === 'string' && { codec: stream.codec_name }),
    ...(json.format.format_name && { container: json.format.format_name }),
  };
}

/** Estimated cost of starting one ffmpeg process, and of decoding one frame of `pixels`. */
const PROCESS_MS = 40;
const frameMs = (pixels: number) => 2.5e-6 * pixels;
const MAX_RUN = 256;

/**
 * Groups sorted frame picks into decoding runs (one ffmpeg process each). The next pick joins
 * the current run when decoding through the gap costs less than a new process seeking to the
 * pick's keyframe and decoding from there; no keyframe in the gap means seeking cannot help.
 */
export function planRuns(picks: readonly number[], keyIndex: readonly boolean[], pixels: number): number[][] {
  const runs: number[][] = [];
  const perFrame = frameMs(pixels);
  let lastKey = 0;
  const keyBefore: number[] = keyIndex.map((k, i) => {
    if (k) lastKey = i;
    return lastKey;
  });
  for (const i of picks) {
    const cur = runs[runs.length - 1];
    const prev = cur?.[cur.length - 1];
    if (prev === undefined || cur!.length >= MAX_RUN) {
      runs.push([i]);
      continue;
    }
    const through = (i - prev) * perFrame;
    const seek =
      keyBefore[i]! > prev ? PROCESS_MS + (i - keyBefore[i]!) * perFrame : Number.POSITIVE_INFINITY;
    if (through <= seek) cur!.push(i);
    else runs.push([i]);
  }
  return runs;
}

function videoSource(where: Located, info: VideoInfo, open: VideoOpenOptions, tools: Tools): VideoSource {
  const times = info.frameTimes!;
  const keys = new Set(info.keyframeTimes);
  const keyIndex = times.map((t) => keys.has(t));
  let minGap = Number.POSITIVE_INFINITY;
  for (let i = 1; i < times.length; i++)
    if (times[i]! > times[i - 1]!) minGap = Math.min(minGap, times[i]! - times[i - 1]!);
  // Selecting a frame by its time: anything within a third of the closest frame spacing is it.
  const eps = Number.isFinite(minGap) ? Math.max(1e-6, minGap / 3) : 1e-3;
  let closed = false;

  /** The frame shown at t: the last one that starts at or before it (the first before the start). */
  const frameAt = (t: number): number => {
    let lo = 0;
    let hi = times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (times[mid]! <= t + 1e-9) lo = mid + 1;
      else hi = mid;
    }
    return Math.max(0, lo - 1);
  };

  const decodeRun = async (run: readonly number[], signal: AbortSignal | undefined): Promise<RgbImage[]> => {
    const allKeys = run.every((i) => keyIndex[i]);
    const first = times[run[0]!]!;
    const select = run
      .map((i) => `between(t,${(times[i]! - eps).toFixed(6)},${(times[i]! + eps).toFixed(6)})`)
      .join('+');
    const frameBytes = info.width * info.height * 3;
    const maxBytes = open.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES;
    if (frameBytes * run.length > maxBytes) {
      throw new InputError(
        'IMAGE_TOO_LARGE',
        `${where.label}: ${run.length} frames of ${info.width}x${info.height} exceed ${maxBytes} decoded bytes`,
        {
          value: frameBytes * run.length,
          valid: `<= ${maxBytes} bytes per decode`,
        },
      );
    }
    // One decoding thread per process (`-threads 1` before `-i`): runs decode in parallel as
    // processes, and frame threads would only add latency and contend with ONNX Runtime's threads.
    const args = [
      '-threads',
      '1',
      '-nostdin',
      '-hide_banner',
      '-nostats',
      '-loglevel',
      'level+error',
      '-xerror',
      ...(allKeys ? ['-skip_frame', 'nokey'] : ['-ss', Math.max(0, first - eps).toFixed(6)]),
      '-copyts',
      '-noautorotate',
      '-i',
      where.path,
      '-map',
      '0:V:0',
      '-an',
      '-sn',
      '-dn',
      '-vf',
      `select='${select}'`,
      '-fps_mode',
      'passthrough',
      '-frames:v',
      String(run.length),
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-sws_flags',
      'bilinear',
      'pipe:1',
    ];
    const what = `decoding ${run.length} frame(s) of ${where.label} from ${first.toFixed(3)} s`;
    const out = await tools.slot(() =>
      runTool(tools.ffmpeg, args, {
        timeoutMs: open.timeoutMs ?? DEFAULT_VIDEO_TIMEOUT_MS,
        maxStdoutBytes: frameBytes * run.length,
        what,
        ...(signal && { signal }),
      }),
    );
    const got = Math.floor(out.stdout.length / frameBytes);
    if (out.code !== 0 || got !== run.length) {
      throw new InputError(
        'VIDEO_DECODE_FAILED',
        `${where.label}: ${what} failed after ${got} of ${run.length} frame(s): ${errorLines(out.stderr)}`,
        { value: where.label, frames: { decoded: got, asked: run.length }, exitCode: out.code },
      );
    }
    return run.map((_, k) => ({
      data: new Uint8Array(out.stdout.buffer, out.stdout.byteOffset + k * frameBytes, frameBytes),
      width: info.width,
      height: info.height,
    }));
  };

  return {
    label: where.label,
    info,
    async decode(timestamps, options = {}): Promise<DecodedFrames> {
      if (closed) throw new InputError('INPUT_INVALID', `${where.label} was closed`, { value: where.label });
      if (timestamps.length === 0) return { frames: [], timestamps: [] };
      const signal = options.signal ?? open.signal;
      const wanted = timestamps.map((t) => {
        if (!Number.isFinite(t))
          throw new InputError('INPUT_INVALID', `frame time ${t} is not a number`, { value: t });
        return frameAt(t);
      });
      const unique = [...new Set(wanted)].sort((a, b) => a - b);
      const keysOnly = unique.every((i) => keyIndex[i]);
      const runs = planRuns(unique, keyIndex, info.width * info.height);
      // Keyframes only: one process, reading only the keyframes.
      const batches = keysOnly ? [unique] : runs;
      const decoded = new Map<number, RgbImage>();
      try {
        const results = await Promise.all(batches.map((r) => decodeRun(r, signal)));
        for (const [k, r] of batches.entries()) {
          for (const [j, i] of r.entries()) decoded.set(i, results[k]![j]!);
        }
      } catch (e) {
        if (isMmrtError(e)) throw e;
        throw new InputError(
          'VIDEO_DECODE_FAILED',
          `${where.label}: ${e instanceof Error ? e.message : String(e)}`,
          {},
          { cause: e },
        );
      }
      return { frames: wanted.map((i) => decoded.get(i)!), timestamps: wanted.map((i) => times[i]!) };
    },
    async close() {
      closed = true;
      if (where.temp) await rm(where.temp, { recursive: true, force: true });
    },
  };
}
