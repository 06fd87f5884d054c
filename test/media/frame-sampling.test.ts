/**
 * Frame sampling as a specification: which frames each strategy picks, for videos longer and
 * shorter than the frames asked for, and how videos are cut into temporal segments.
 */
import { describe, expect, it } from 'vitest';
import type { VideoInfo } from '../../src/host/host.js';
import { frameCount, frameTimes, sampleFrames, splitSegments } from '../../src/media/frame-sampling.js';

/** n frames at `fps`, keyframes every `gop` frames. */
function video(n: number, fps = 10, gop = 5): VideoInfo {
  const times = Array.from({ length: n }, (_, i) => i / fps);
  return {
    durationSec: n / fps,
    width: 8,
    height: 8,
    fps,
    frameTimes: times,
    keyframeTimes: times.filter((_, i) => i % gop === 0),
  };
}
const whole = (v: VideoInfo) => splitSegments(v, { seconds: Number.POSITIVE_INFINITY })[0]!;
const indices = (v: VideoInfo, s: Parameters<typeof sampleFrames>[2], count: number) =>
  sampleFrames(v, whole(v), s, count).map((p) => p.index);

describe('uniform (X-CLIP): the middle frame of each of T equal segments', () => {
  it('picks floor((k + 0.5) * n / T)', () => {
    expect(indices(video(20), { strategy: 'uniform' }, 8)).toEqual([1, 3, 6, 8, 11, 13, 16, 18]);
    expect(indices(video(80), { strategy: 'uniform' }, 4)).toEqual([10, 30, 50, 70]);
  });
  it('repeats frames evenly, in order, when the video has fewer frames than asked', () => {
    expect(indices(video(3), { strategy: 'uniform' }, 8)).toEqual([0, 0, 0, 1, 1, 2, 2, 2]);
    expect(indices(video(1), { strategy: 'uniform' }, 4)).toEqual([0, 0, 0, 0]);
  });
  it('gives each pick the time of its frame', () => {
    const picks = sampleFrames(video(20), whole(video(20)), { strategy: 'uniform' }, 2);
    expect(picks).toEqual([
      { index: 5, time: 0.5 },
      { index: 15, time: 1.5 },
    ]);
  });
});

describe('stride: every s-th frame from an offset', () => {
  it('picks offset + k * stride', () => {
    expect(indices(video(40), { strategy: 'stride', stride: 4, offset: 2 }, 8)).toEqual([
      2, 6, 10, 14, 18, 22, 26, 30,
    ]);
  });
  it('repeats the last frame once it runs past the end', () => {
    expect(indices(video(10), { strategy: 'stride', stride: 3 }, 6)).toEqual([0, 3, 6, 9, 9, 9]);
  });
});

describe('fps: the frames on screen at a target rate', () => {
  it('picks the frame shown at offset + k / fps', () => {
    // 30 fps video sampled at 4 fps from 0.1 s: times 0.1, 0.35, 0.6, 0.85 -> frames 3, 10, 18, 25
    expect(indices(video(60, 30), { strategy: 'fps', fps: 4, offset: 0.1 }, 4)).toEqual([3, 10, 18, 25]);
  });
  it('repeats the last frame past the end', () => {
    expect(indices(video(12, 12), { strategy: 'fps', fps: 2 }, 4)).toEqual([0, 6, 11, 11]);
  });
});

describe('keyframes: only frames that decode on their own', () => {
  it('spreads the picks over the keyframes as uniform spreads frames', () => {
    // keyframes 0, 5, 10, ..., 35 (8 of them) -> 4 picks: the middle of each pair
    expect(indices(video(40), { strategy: 'keyframes' }, 4)).toEqual([5, 15, 25, 35]);
    expect(indices(video(40), { strategy: 'keyframes' }, 8)).toEqual([0, 5, 10, 15, 20, 25, 30, 35]);
  });
  it('repeats keyframes when there are fewer than asked', () => {
    expect(indices(video(10), { strategy: 'keyframes' }, 4)).toEqual([0, 0, 5, 5]);
  });
});

describe('temporal segments', () => {
  it('cuts a video into equal segments of at most `seconds`, each sampled on its own', () => {
    const v = video(250, 10); // 25 s
    const segs = splitSegments(v, { seconds: 10 });
    expect(segs.map((s) => [s.startSec, s.endSec].map((x) => Math.round(x * 1000) / 1000))).toEqual([
      [0, 8.333],
      [8.333, 16.667],
      [16.667, 25],
    ]);
    const picks = segs.map((s, i) =>
      sampleFrames(v, s, { strategy: 'uniform' }, 2, i === 2).map((p) => p.index),
    );
    // segment 0 holds frames 0..83 (84 frames): picks 21, 63
    expect(picks[0]).toEqual([21, 63]);
    expect(picks[2]).toEqual([187, 229]);
  });
  it('keeps a short video whole, and Infinity keeps any video whole', () => {
    expect(splitSegments(video(30), { seconds: 10 })).toHaveLength(1);
    expect(splitSegments(video(3000), { seconds: Number.POSITIVE_INFINITY })).toHaveLength(1);
  });
  it('caps the number of segments', () => {
    expect(splitSegments(video(3000), { seconds: 1, max: 7 })).toHaveLength(7);
  });
});

describe('inputs', () => {
  it("reads the brief's temporal_resolution words as frames per clip", () => {
    expect([frameCount('low'), frameCount('medium'), frameCount('high'), frameCount(12)]).toEqual([
      4, 8, 16, 12,
    ]);
    expect(() => frameCount(0)).toThrow(/frames must be/);
    expect(() => frameCount('ultra' as never)).toThrow(/frames must be/);
  });
  it('refuses bad strategies with the valid ones named', () => {
    const v = video(10);
    expect(() => sampleFrames(v, whole(v), { strategy: 'random' } as never, 4)).toThrow(/unknown strategy/);
    expect(() => sampleFrames(v, whole(v), { strategy: 'stride', stride: 0 }, 4)).toThrow(/stride/);
    expect(() => sampleFrames(v, whole(v), { strategy: 'fps', fps: -1 }, 4)).toThrow(/fps/);
  });
  it('assumes one frame per 1/fps when the host cannot list frames', () => {
    expect(frameTimes({ durationSec: 0.5, width: 1, height: 1, fps: 8 })).toEqual([0, 0.125, 0.25, 0.375]);
  });
});
