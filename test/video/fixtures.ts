/**
 * Test videos made with the system ffmpeg, and an independent read of their frame times with
 * ffprobe (it decodes every frame: `-show_frames`, unlike mmrt's packet listing), so tests can
 * check which frames mmrt picked and decoded.
 */
import { execFileSync, spawnSync } from 'node:child_process';

export const hasFfmpeg =
  spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0 &&
  spawnSync('ffprobe', ['-version'], { stdio: 'ignore' }).status === 0;

export interface EncodeOptions {
  readonly fps: number;
  readonly width: number;
  readonly height: number;
  /** 'mp4' (H.264, B-frames on), 'webm' (VP9), 'lossless' (H.264 qp 0 in mkv). */
  readonly format: 'mp4' | 'webm' | 'lossless';
  /** Keyframe interval in frames. */
  readonly gop?: number;
}

/** Encodes raw RGB frames (each width*height*3 bytes) into `file`. */
export function encodeFrames(frames: readonly Uint8Array[], file: string, o: EncodeOptions): void {
  const codec =
    o.format === 'webm'
      ? [
          '-c:v',
          'libvpx-vp9',
          '-pix_fmt',
          'yuv420p',
          '-crf',
          '20',
          '-b:v',
          '0',
          '-deadline',
          'realtime',
          '-cpu-used',
          '8',
        ]
      : o.format === 'lossless'
        ? ['-c:v', 'libx264', '-qp', '0', '-preset', 'ultrafast', '-pix_fmt', 'yuv444p']
        : [
            '-c:v',
            'libx264',
            '-preset',
            'veryfast',
            '-crf',
            '16',
            '-pix_fmt',
            'yuv420p',
            '-bf',
            '2',
            '-movflags',
            '+faststart',
          ];
  const gop = o.gop ? ['-g', String(o.gop), '-keyint_min', String(o.gop)] : [];
  execFileSync(
    'ffmpeg',
    [
      '-v',
      'error',
      '-y',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-s',
      `${o.width}x${o.height}`,
      '-r',
      String(o.fps),
      '-i',
      '-',
      ...codec,
      ...gop,
      '-threads',
      '1',
      file,
    ],
    { input: Buffer.concat(frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength))) },
  );
}

/** n solid frames whose grey level names them: frame i is 8 * i (n <= 32). */
export function numberedFrames(n: number, width: number, height: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => new Uint8Array(width * height * 3).fill(8 * i));
}

/** Which numbered frame a decoded one is (its mean grey level / 8). */
export function frameNumber(rgb: { data: Uint8Array }): number {
  let s = 0;
  for (let i = 0; i < rgb.data.length; i++) s += rgb.data[i]!;
  return Math.round(s / rgb.data.length / 8);
}

/** ffprobe's decoded frames: presentation times (ascending) and which are keyframes. */
export function probeFrames(file: string): { times: number[]; keyframes: number[] } {
  const out = execFileSync(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-show_entries',
      'frame=pts_time,key_frame',
      '-of',
      'json',
      file,
    ],
    { encoding: 'utf8' },
  );
  const frames = (JSON.parse(out).frames as Array<{ pts_time: string; key_frame: number }>)
    .map((f) => ({ t: Number(f.pts_time), key: f.key_frame === 1 }))
    .sort((a, b) => a.t - b.t);
  return { times: frames.map((f) => f.t), keyframes: frames.filter((f) => f.key).map((f) => f.t) };
}
