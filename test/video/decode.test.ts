/**
 * Node video decoding (ffprobe + ffmpeg) as a specification: the frame list matches what ffprobe
 * decodes, every sampling strategy decodes exactly the frames it picks (named by their grey level)
 * at ffprobe's timestamps, for H.264 with B-frames, VP9 and lossless files; every kind of input
 * works; every kind of bad input is a typed error, and nothing hangs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VideoSource } from '../../src/host/host.js';
import { type FrameSampling, sampleFrames, splitSegments } from '../../src/media/frame-sampling.js';
import { nodeVideoOpener } from '../../src/node/media/video.js';
import { startImageServer } from '../helpers/http.js';
import { encodeFrames, frameNumber, numberedFrames, probeFrames } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'mmrt-video-'));
const open = nodeVideoOpener();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FILES = {
  'lossless.mkv': { n: 24, fps: 12, gop: 6, format: 'lossless' },
  'bframes.mp4': { n: 30, fps: 10, gop: 8, format: 'mp4' },
  'vp9.webm': { n: 20, fps: 8, gop: 5, format: 'webm' },
} as const;

beforeAll(() => {
  for (const [name, f] of Object.entries(FILES)) {
    encodeFrames(numberedFrames(f.n, 32, 24), join(dir, name), { ...f, width: 32, height: 24 });
  }
});

/** The frames each strategy must pick, computed here from ffprobe's list by the documented rules. */
function expected(times: number[], keyframes: number[], s: FrameSampling, count: number): number[] {
  const n = times.length;
  const ks = keyframes.map((t) => times.indexOf(t));
  switch (s.strategy) {
    case 'uniform':
      return Array.from({ length: count }, (_, k) => Math.floor(((k + 0.5) * n) / count));
    case 'stride':
      return Array.from({ length: count }, (_, k) => Math.min(n - 1, (s.offset ?? 0) + k * s.stride));
    case 'fps':
      return Array.from({ length: count }, (_, k) => {
        const t = times[0]! + (s.offset ?? 0) + k / s.fps;
        return Math.max(0, times.filter((x) => x <= t + 1e-9).length - 1);
      });
    case 'keyframes':
      return Array.from({ length: count }, (_, k) => ks[Math.floor(((k + 0.5) * ks.length) / count)]!);
  }
}

const STRATEGIES: Array<[FrameSampling, number]> = [
  [{ strategy: 'uniform' }, 8],
  [{ strategy: 'uniform' }, 40], // more frames than the video has
  [{ strategy: 'stride', stride: 3, offset: 1 }, 6],
  [{ strategy: 'stride', stride: 5 }, 9], // runs past the end
  [{ strategy: 'fps', fps: 3, offset: 0.2 }, 5],
  [{ strategy: 'keyframes' }, 4],
];

describe.each(Object.keys(FILES))('%s', (name) => {
  let video: VideoSource;
  let ref: { times: number[]; keyframes: number[] };
  beforeAll(async () => {
    video = await open(join(dir, name));
    ref = probeFrames(join(dir, name));
  });
  afterAll(() => video.close());

  it("lists every frame's time and the keyframes as ffprobe decodes them", () => {
    const f = FILES[name as keyof typeof FILES];
    expect(ref.times).toHaveLength(f.n);
    expect(video.info.frameTimes).toEqual(ref.times);
    expect(video.info.keyframeTimes).toEqual(ref.keyframes);
    expect(video.info).toMatchObject({ width: 32, height: 24, fps: f.fps });
    expect(video.info.durationSec).toBeCloseTo(f.n / f.fps, 2);
  });

  // Every strategy on the lossless file; the frame-selection paths (seek + select, keyframes
  // only) on the lossy codecs.
  const strategies = name === 'lossless.mkv' ? STRATEGIES : [STRATEGIES[0]!, STRATEGIES[4]!, STRATEGIES[5]!];
  it.each(strategies)('%j x %i decodes exactly the frames it picks', async (sampling, count) => {
    const want = expected(ref.times, ref.keyframes, sampling, count);
    const picks = sampleFrames(
      video.info,
      splitSegments(video.info, { seconds: Infinity })[0]!,
      sampling,
      count,
    );
    expect(picks.map((p) => p.index)).toEqual(want);
    const got = await video.decode(picks.map((p) => p.time));
    expect(got.timestamps).toEqual(want.map((i) => ref.times[i]));
    expect(got.frames.map(frameNumber)).toEqual(want);
    expect(got.frames[0]).toMatchObject({ width: 32, height: 24 });
  });

  it('decodes picks given in any order, with repeats, one per time asked', async () => {
    const times = [ref.times[9]!, ref.times[2]!, ref.times[9]!, 1e9];
    const got = await video.decode(times);
    expect(got.frames.map(frameNumber)).toEqual([9, 2, 9, ref.times.length - 1]);
  });
});

describe('inputs', () => {
  const file = () => join(dir, 'bframes.mp4');
  const firstFrames = async (input: Parameters<typeof open>[0]) => {
    const v = await open(input);
    try {
      return (await v.decode([0, 1, 2])).frames.map(frameNumber);
    } finally {
      await v.close();
    }
  };

  it('reads paths, file: URLs, Buffers, ArrayBuffers, data: and http URLs alike', async () => {
    const bytes = readFileSync(file());
    const server = await startImageServer({ '/clip.mp4': bytes });
    try {
      const want = [0, 10, 20];
      expect(await firstFrames(file())).toEqual(want);
      expect(await firstFrames(pathToFileURL(file()))).toEqual(want);
      expect(await firstFrames(bytes)).toEqual(want);
      expect(await firstFrames(new Uint8Array(bytes).buffer)).toEqual(want);
      expect(await firstFrames(`data:video/mp4;base64,${bytes.toString('base64')}`)).toEqual(want);
      expect(await firstFrames(`${server.base}/clip.mp4`)).toEqual(want);
    } finally {
      await server.close();
    }
  });

  it('caps in-memory and fetched bytes as for images', async () => {
    const bytes = readFileSync(file());
    await expect(open(bytes, { maxBytes: 100 })).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
  });

  it('refuses frames over the pixel limit before decoding', async () => {
    await expect(open(file(), { maxPixels: 100 })).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
  });
});

describe('bad input is a typed error', () => {
  it('a file that is not a video', async () => {
    const p = join(dir, 'notes.txt');
    writeFileSync(p, 'this is not a video\n'.repeat(50));
    await expect(open(p)).rejects.toMatchObject({ code: 'VIDEO_DECODE_FAILED', message: /not a video/ });
  });

  it('a zero-length file, and empty bytes', async () => {
    const p = join(dir, 'empty.mp4');
    writeFileSync(p, '');
    await expect(open(p)).rejects.toMatchObject({ code: 'VIDEO_EMPTY' });
    await expect(open(new Uint8Array(0))).rejects.toMatchObject({ code: 'VIDEO_EMPTY' });
  });

  it('a file with no video stream (audio only)', async () => {
    const p = join(dir, 'tone.m4a');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=duration=0.5', '-c:a', 'aac', p]);
    await expect(open(p)).rejects.toMatchObject({ code: 'VIDEO_NO_STREAM', message: /no video stream/ });
  });

  it('a missing file', async () => {
    await expect(open(join(dir, 'nope.mp4'))).rejects.toMatchObject({ code: 'INPUT_NOT_FOUND' });
  });

  it('a file cut off midway: only the packets that are there are listed, and the cut one fails', async () => {
    const p = join(dir, 'cut.mp4');
    const whole = readFileSync(join(dir, 'bframes.mp4'));
    writeFileSync(p, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const v = await open(p);
    try {
      const n = v.info.frameTimes!.length;
      expect(n).toBeGreaterThanOrEqual(1);
      expect(n).toBeLessThan(30);
      expect(v.info.durationSec).toBeLessThan(3);
      const last = v.info.frameTimes![n - 1]!;
      await expect(v.decode([last])).rejects.toMatchObject({
        code: 'VIDEO_DECODE_FAILED',
        message: /corrupt/,
      });
    } finally {
      await v.close();
    }
  });

  it('a stream corrupted midway', async () => {
    const p = join(dir, 'corrupt.mp4');
    encodeFrames(numberedFrames(30, 64, 48), p, { fps: 10, width: 64, height: 48, format: 'mp4', gop: 30 });
    const bytes = readFileSync(p);
    // Overwrite the middle of the media data with garbage (the index stays intact).
    for (let i = Math.floor(bytes.length * 0.75); i < Math.floor(bytes.length * 0.9); i++)
      bytes[i] = (i * 151) & 255;
    writeFileSync(p, bytes);
    const v = await open(p);
    try {
      const last = v.info.frameTimes![v.info.frameTimes!.length - 1]!;
      await expect(v.decode([last])).rejects.toMatchObject({ code: 'VIDEO_DECODE_FAILED' });
    } finally {
      await v.close();
    }
  });

  it('ffmpeg or ffprobe missing names the Debian package', async () => {
    const missing = nodeVideoOpener({ ffprobePath: join(dir, 'no-such-ffprobe') });
    await expect(missing(join(dir, 'bframes.mp4'))).rejects.toMatchObject({
      code: 'VIDEO_DECODER_MISSING',
      details: { hint: expect.stringMatching(/apt-get install ffmpeg/) },
    });
    const noFfmpeg = nodeVideoOpener({ ffmpegPath: join(dir, 'no-such-ffmpeg') });
    const v = await noFfmpeg(join(dir, 'bframes.mp4'));
    await expect(v.decode([0])).rejects.toMatchObject({ code: 'VIDEO_DECODER_MISSING' });
    await v.close();
  });

  it('a probe or decode that takes too long is stopped (VIDEO_TIMEOUT), and an abort stops it too', async () => {
    await expect(open(join(dir, 'lossless.mkv'), { timeoutMs: 1 })).rejects.toMatchObject({
      code: 'VIDEO_TIMEOUT',
    });
    const w = await open(join(dir, 'lossless.mkv'));
    const ac = new AbortController();
    const p = w.decode([0.5], { signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
    await w.close();
  });
});
