/**
 * Browser video decoding behind the core's `Host.openVideo` contract (probe once, then decode the
 * frames at chosen times), self-contained so the web host plugs it in as `openVideo`.
 *
 * - WebCodecs present (`VideoDecoder`): mediabunny demuxes (MP4/MOV, WebM/MKV and more) and lists
 *   every packet's presentation time and keyframe flag without decoding; `decode(times)` decodes
 *   exactly the frames shown at those times through WebCodecs (mediabunny's VideoSampleSink seeks
 *   to the keyframe before each and decodes forward). Frames are drawn 1:1 onto an OffscreenCanvas
 *   and read back as RGB; the core's Pillow-exact resampler does any resizing.
 * - No WebCodecs: an HTMLVideoElement (its own decoders): seeks to each time and draws the frame.
 *   It cannot list frames, so `frameTimes` is absent (samplers then assume 1/fps spacing, 30 fps)
 *   and the timestamps returned are the times asked.
 *
 * Inputs: bytes, Blob/File, data: and http(s)/relative URLs (fetched with the image limits: byte
 * cap, timeout, the caller's signal). Every probe and decode is bounded by `timeoutMs`.
 */
import { ALL_FORMATS, BufferSource, EncodedPacketSink, Input, VideoSampleSink } from 'mediabunny';
import { InputError } from '../errors.js';
import type { DecodedFrames, RgbImage, VideoInfo, VideoOpenOptions, VideoSource } from '../host/host.js';
import { isDataUrl, parseDataUrl } from '../media/data-url.js';
import type { EncodedVideo } from '../media/input.js';

export type WebVideoInput = EncodedVideo | Blob;

export interface WebVideoOptions extends VideoOpenOptions {
  /** 'auto' (default): WebCodecs where the browser has it, else the video element. */
  readonly decoder?: 'auto' | 'webcodecs' | 'element';
}

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
const DEFAULT_FETCH_TIMEOUT_MS = 30_000;
const DEFAULT_STEP_TIMEOUT_MS = 120_000;
const DEFAULT_MAX_PIXELS = 100_000_000;

/** The web host's `openVideo`. */
export async function openWebVideo(
  input: WebVideoInput,
  options: WebVideoOptions = {},
): Promise<VideoSource> {
  const mode = options.decoder ?? 'auto';
  const webcodecs = typeof (globalThis as { VideoDecoder?: unknown }).VideoDecoder === 'function';
  if (mode === 'webcodecs' && !webcodecs) {
    throw new InputError('VIDEO_DECODER_MISSING', 'this browser has no WebCodecs VideoDecoder', {
      valid: ["decoder: 'auto' or 'element'"],
    });
  }
  const { bytes, label } = await readInput(input, options);
  if (bytes.byteLength === 0) {
    throw new InputError('VIDEO_EMPTY', `${label} is empty (0 bytes): no video to read`, { value: label });
  }
  return mode === 'element' || !webcodecs
    ? openWithElement(bytes, label, options)
    : openWithWebCodecs(bytes, label, options);
}

async function readInput(
  input: WebVideoInput,
  o: VideoOpenOptions,
): Promise<{ bytes: Uint8Array; label: string }> {
  const maxBytes = o.maxBytes ?? DEFAULT_MAX_BYTES;
  const check = (size: number, label: string) => {
    if (size > maxBytes) {
      throw new InputError('IMAGE_TOO_LARGE', `${label} is ${size} bytes, over the ${maxBytes}-byte limit`, {
        value: size,
        valid: `<= ${maxBytes} bytes`,
        hint: 'Raise maxBytes if this video is expected.',
      });
    }
  };
  const capped = (bytes: Uint8Array, label: string) => {
    check(bytes.byteLength, label);
    return { bytes, label };
  };
  if (input instanceof Uint8Array) return capped(input, `<${input.byteLength} bytes>`);
  if (input instanceof ArrayBuffer) return capped(new Uint8Array(input), `<${input.byteLength} bytes>`);
  if (typeof Blob !== 'undefined' && input instanceof Blob) {
    const label = (input as File).name || `<blob ${input.size} bytes>`;
    check(input.size, label);
    return { bytes: new Uint8Array(await input.arrayBuffer()), label };
  }
  const url = typeof input === 'string' ? input : (input as URL).href;
  if (isDataUrl(url)) return capped(parseDataUrl(url).bytes, `${url.slice(0, 30)}…`);
  const timeout = AbortSignal.timeout(o.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS);
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await fetch(url, { signal });
  } catch (cause) {
    throw new InputError(
      'INPUT_FETCH_FAILED',
      `Could not fetch video ${url}: ${String(cause)}`,
      { value: url },
      { cause },
    );
  }
  if (!res.ok)
    throw new InputError('INPUT_FETCH_FAILED', `Could not fetch video ${url}: HTTP ${res.status}`, {
      value: url,
    });
  const reader = res.body!.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      check(total, url);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    bytes.set(c, off);
    off += c.byteLength;
  }
  return { bytes, label: url };
}

/** Runs a step with the time limit and the caller's signal. */
function bounded<T>(
  what: string,
  o: VideoOpenOptions,
  signal: AbortSignal | undefined,
  step: () => Promise<T>,
): Promise<T> {
  const ms = o.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) return reject(new InputError('ABORTED', `${what} was aborted`));
    const timer = setTimeout(
      () =>
        reject(new InputError('VIDEO_TIMEOUT', `${what} took longer than ${ms} ms; stopped`, { value: ms })),
      ms,
    );
    const onAbort = () => reject(new InputError('ABORTED', `${what} was aborted`));
    signal?.addEventListener('abort', onAbort, { once: true });
    step()
      .then(resolve, reject)
      .finally(() => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      });
  });
}

function checkSize(label: string, width: number, height: number, o: VideoOpenOptions): void {
  const max = o.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (width * height > max) {
    throw new InputError(
      'IMAGE_TOO_LARGE',
      `${label} has ${width}x${height} frames, over the limit of ${max} pixels`,
      {
        value: { width, height },
        valid: `<= ${max} pixels`,
      },
    );
  }
}

/** Draws a frame source 1:1 and reads it back as RGB. */
function readPixels(
  draw: (ctx: OffscreenCanvasRenderingContext2D) => void,
  width: number,
  height: number,
): RgbImage {
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  draw(ctx);
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i]!;
    rgb[j + 1] = rgba[i + 1]!;
    rgb[j + 2] = rgba[i + 2]!;
  }
  return { data: rgb, width, height };
}

async function openWithWebCodecs(
  bytes: Uint8Array,
  label: string,
  o: VideoOpenOptions,
): Promise<VideoSource> {
  const input = new Input({ formats: ALL_FORMATS, source: new BufferSource(bytes) });
  const probed = await bounded(`probing ${label}`, o, o.signal, async () => {
    let track: Awaited<ReturnType<Input['getPrimaryVideoTrack']>>;
    try {
      track = await input.getPrimaryVideoTrack();
    } catch (cause) {
      throw new InputError(
        'VIDEO_DECODE_FAILED',
        `${label} is not a video this browser can read: ${String(cause)}`,
        {
          value: label,
          valid: 'an MP4/MOV, WebM/MKV, ... file',
        },
        { cause },
      );
    }
    if (!track) throw new InputError('VIDEO_NO_STREAM', `${label} has no video stream`, { value: label });
    const codec = await track.getCodec();
    if (!(await track.canDecode())) {
      throw new InputError(
        'VIDEO_DECODE_FAILED',
        `${label}: this browser's WebCodecs cannot decode ${codec ?? 'its codec'}`,
        {
          value: codec,
          valid: 'a codec the browser decodes (VP8/VP9/AV1 everywhere; H.264 where the browser ships it)',
        },
      );
    }
    const width = await track.getDisplayWidth();
    const height = await track.getDisplayHeight();
    checkSize(label, width, height, o);
    const frames: Array<{ t: number; key: boolean }> = [];
    for await (const p of new EncodedPacketSink(track).packets(undefined, undefined, {
      metadataOnly: true,
    })) {
      frames.push({ t: p.timestamp, key: p.type === 'key' });
    }
    frames.sort((a, b) => a.t - b.t);
    if (frames.length === 0)
      throw new InputError('VIDEO_EMPTY', `${label}: its video stream has no frames`, { value: label });
    return { track, codec, width, height, frames };
  });
  const times = probed.frames.map((f) => f.t);
  const gap = times.length > 1 ? (times[times.length - 1]! - times[0]!) / (times.length - 1) : 1 / 30;
  const info: VideoInfo = {
    durationSec: times[times.length - 1]! - times[0]! + gap,
    width: probed.width,
    height: probed.height,
    fps: 1 / gap,
    frameTimes: times,
    keyframeTimes: probed.frames.filter((f) => f.key).map((f) => f.t),
    ...(probed.codec && { codec: probed.codec }),
  };
  const sink = new VideoSampleSink(probed.track);
  const frameAt = (t: number) => {
    let i = 0;
    while (i + 1 < times.length && times[i + 1]! <= t + 1e-9) i++;
    return i;
  };
  return {
    label,
    info,
    async decode(timestamps, options = {}): Promise<DecodedFrames> {
      const wanted = timestamps.map(frameAt);
      const unique = [...new Set(wanted)].sort((a, b) => a - b);
      const decoded = new Map<number, RgbImage>();
      await bounded(
        `decoding ${unique.length} frame(s) of ${label}`,
        o,
        options.signal ?? o.signal,
        async () => {
          let k = 0;
          for await (const sample of sink.samplesAtTimestamps(unique.map((i) => times[i]!))) {
            const i = unique[k++]!;
            if (!sample)
              throw new InputError('VIDEO_DECODE_FAILED', `${label}: no frame at ${times[i]} s`, {
                value: times[i],
              });
            try {
              decoded.set(
                i,
                readPixels((ctx) => sample.draw(ctx, 0, 0, info.width, info.height), info.width, info.height),
              );
            } finally {
              sample.close();
            }
          }
        },
      ).catch((e: unknown) => {
        if (e instanceof InputError) throw e;
        throw new InputError(
          'VIDEO_DECODE_FAILED',
          `${label}: decoding failed: ${String(e)}`,
          { value: label },
          { cause: e },
        );
      });
      return { frames: wanted.map((i) => decoded.get(i)!), timestamps: wanted.map((i) => times[i]!) };
    },
    async close() {
      input.dispose();
    },
  };
}

async function openWithElement(bytes: Uint8Array, label: string, o: VideoOpenOptions): Promise<VideoSource> {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>]));
  const video = document.createElement('video');
  video.muted = true;
  video.preload = 'auto';
  const once = (ok: string) =>
    new Promise<void>((resolve, reject) => {
      const done = () => {
        video.removeEventListener(ok, done);
        video.removeEventListener('error', fail);
        resolve();
      };
      const fail = () => {
        video.removeEventListener(ok, done);
        video.removeEventListener('error', fail);
        reject(
          new InputError(
            'VIDEO_DECODE_FAILED',
            `${label} is not a video this browser can play (${video.error?.message ?? 'error'})`,
            {
              value: label,
            },
          ),
        );
      };
      video.addEventListener(ok, done);
      video.addEventListener('error', fail);
    });
  try {
    await bounded(`probing ${label}`, o, o.signal, async () => {
      const ready = once('loadeddata');
      video.src = url;
      await ready;
    });
  } catch (e) {
    URL.revokeObjectURL(url);
    throw e;
  }
  if (!(video.videoWidth > 0 && video.videoHeight > 0)) {
    URL.revokeObjectURL(url);
    throw new InputError('VIDEO_NO_STREAM', `${label} has no video stream`, { value: label });
  }
  checkSize(label, video.videoWidth, video.videoHeight, o);
  const info: VideoInfo = { durationSec: video.duration, width: video.videoWidth, height: video.videoHeight };
  return {
    label,
    info,
    async decode(timestamps, options = {}): Promise<DecodedFrames> {
      const frames: RgbImage[] = [];
      await bounded(
        `decoding ${timestamps.length} frame(s) of ${label}`,
        o,
        options.signal ?? o.signal,
        async () => {
          for (const t of timestamps) {
            const seeked = once('seeked');
            // The middle of a frame's display interval is inside it whatever the rounding.
            video.currentTime = Math.min(Math.max(0, t + 1e-3), Math.max(0, video.duration - 1e-3));
            await seeked;
            frames.push(readPixels((ctx) => ctx.drawImage(video, 0, 0), info.width, info.height));
          }
        },
      );
      return { frames, timestamps: [...timestamps] };
    },
    async close() {
      video.removeAttribute('src');
      video.load();
      URL.revokeObjectURL(url);
    },
  };
}
