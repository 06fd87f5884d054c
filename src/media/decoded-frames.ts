/**
 * Already decoded frames as a `VideoSource`, host-free: frame i is shown at i / fps (30 fps for
 * a plain array), every frame is a keyframe, and "decoding" converts the chosen frames to RGB.
 * Samplers and segments then treat them exactly like a decoded file.
 */
import { InputError } from '../errors.js';
import type { RgbImage, VideoSource } from '../host/host.js';
import type { DecodedFramesInput } from './input.js';
import { type RawPixels, assertRawPixels, toRgb } from './pixels.js';

export const DEFAULT_FRAMES_FPS = 30;

export function decodedFramesSource(
  input: readonly RawPixels[] | DecodedFramesInput,
  options: { readonly maxPixels?: number } = {},
): VideoSource {
  const frames = Array.isArray(input) ? input : (input as DecodedFramesInput).frames;
  const fps = Array.isArray(input) ? DEFAULT_FRAMES_FPS : (input as DecodedFramesInput).fps;
  const label = `<${frames.length} decoded frames>`;
  if (frames.length === 0) {
    throw new InputError('VIDEO_EMPTY', `${label}: a video needs at least one frame`, {
      value: 0,
      valid: 'one or more {data, width, height, channels} frames',
    });
  }
  if (!(Number.isFinite(fps) && fps > 0)) {
    throw new InputError('INPUT_INVALID', `${label}: fps must be a positive number, got ${fps}`, {
      value: fps,
    });
  }
  const maxPixels = options.maxPixels ?? 100_000_000;
  frames.forEach((f, i) => {
    assertRawPixels(f, `frame ${i}`);
    if (f.width * f.height > maxPixels) {
      throw new InputError(
        'IMAGE_TOO_LARGE',
        `frame ${i} is ${f.width}x${f.height}, over ${maxPixels} pixels`,
        {
          value: { width: f.width, height: f.height },
          valid: `<= ${maxPixels} pixels`,
        },
      );
    }
  });
  const times = frames.map((_, i) => i / fps);
  const rgb = new Map<number, RgbImage>();
  return {
    label,
    info: {
      durationSec: frames.length / fps,
      width: frames[0]!.width,
      height: frames[0]!.height,
      fps,
      frameTimes: times,
      keyframeTimes: times,
    },
    async decode(timestamps) {
      const indices = timestamps.map((t) =>
        Math.min(frames.length - 1, Math.max(0, Math.floor(t * fps + 1e-6))),
      );
      return {
        frames: indices.map((i) => {
          const known = rgb.get(i);
          if (known) return known;
          const im = toRgb(frames[i]!);
          rgb.set(i, im);
          return im;
        }),
        timestamps: indices.map((i) => times[i]!),
      };
    },
    async close() {
      rgb.clear();
    },
  };
}
