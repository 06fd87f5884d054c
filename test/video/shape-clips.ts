/**
 * Fresh shapes-world clips drawn by ffmpeg itself (lavfi sources and its overlay filter), not by
 * the Python renderer the tiny X-CLIP was trained on: a square or a disc of one of the six colours
 * moving left, right, up or down over a light (plain or noisy) background, in H.264 mp4 or VP9
 * webm, at any length, frame rate and size. The geometry follows tools/shapes/xclip.py: the
 * shape stays inside the central square and travels 25-50% of its side over the clip.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { rng } from '../../tools/shapes/render.js';

const run = promisify(execFile);

export const COLORS = {
  red: [220, 30, 35],
  green: [35, 160, 55],
  blue: [35, 70, 225],
  yellow: [240, 205, 20],
  purple: [135, 45, 175],
  orange: [250, 135, 20],
} as const;
export type Color = keyof typeof COLORS;
export const DIRECTIONS = ['left', 'right', 'up', 'down'] as const;
export type Direction = (typeof DIRECTIONS)[number];
export const CLASSES: ReadonlyArray<readonly [Color, Direction]> = (Object.keys(COLORS) as Color[]).flatMap(
  (c) => DIRECTIONS.map((d) => [c, d] as const),
);
export const label = (c: Color, d: Direction) => `a ${c} shape moving ${d}`;
export const LABELS = CLASSES.map(([c, d]) => label(c, d));

export interface ClipSpec {
  readonly color: Color;
  readonly direction: Direction;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly seconds: number;
  readonly format: 'mp4' | 'webm';
  readonly seed: number;
}

const hex = (rgb: readonly number[]) =>
  `0x${rgb.map((v) => Math.round(v).toString(16).padStart(2, '0')).join('')}`;

/** Writes one clip; resolves to its file. */
export async function renderClip(spec: ClipSpec, file: string): Promise<string> {
  const r = rng(spec.seed);
  const u = (a: number, b: number) => a + (b - a) * r();
  const { width: w, height: h, fps, seconds: dur } = spec;
  const side = Math.min(w, h);
  const ox = (w - side) / 2;
  const oy = (h - side) / 2;
  const size = Math.max(4, Math.round(side * u(0.22, 0.36)));
  const margin = size / 2 + 1;
  const length = side * u(0.25, 0.5);
  const [dx, dy] = ({ left: [-1, 0], right: [1, 0], up: [0, -1], down: [0, 1] } as const)[spec.direction];
  const along0 = u(margin, Math.max(margin, side - margin - length));
  const across = u(margin, side - margin);
  const start = dx + dy > 0 ? along0 : along0 + length;
  const c0 = dx !== 0 ? [ox + start, oy + across] : [ox + across, oy + start];
  const x0 = c0[0]! - size / 2;
  const y0 = c0[1]! - size / 2;
  const x1 = x0 + dx * length;
  const y1 = y0 + dy * length;
  const fg = COLORS[spec.color].map((v) => Math.min(255, Math.max(0, v + Math.round(u(-18, 18)))));
  const base = Math.round(u(210, 250));
  const bg = [0, 1, 2].map(() => Math.min(255, base + Math.round(u(-10, 10))));
  const disc = r() < 0.5;
  const noisy = r() < 0.5;
  const shape = disc
    ? `,format=rgba,geq=r=${fg[0]}:g=${fg[1]}:b=${fg[2]}:a='if(lte(hypot(X-(W-1)/2,Y-(H-1)/2),W/2),255,0)'`
    : '';
  // t runs from 0 to the last frame's time: the shape ends its path on the last frame.
  const last = Math.max(1, Math.round(dur * fps) - 1) / fps;
  const pos = (a: number, b: number) =>
    `${a.toFixed(2)}+(${(b - a).toFixed(3)})*min(t/${last.toFixed(4)}\\,1)`;
  const codec =
    spec.format === 'webm'
      ? ['-c:v', 'libvpx-vp9', '-crf', '30', '-b:v', '0', '-deadline', 'realtime', '-cpu-used', '8']
      : ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20'];
  await run('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `color=c=${hex(bg)}:s=${w}x${h}:r=${fps}:d=${dur}${noisy ? ',noise=alls=6:allf=t' : ''}`,
    '-f',
    'lavfi',
    '-i',
    `color=c=${hex(fg)}:s=${size}x${size}:r=${fps}:d=${dur}${shape}`,
    '-filter_complex',
    `[0][1]overlay=x='${pos(x0, x1)}':y='${pos(y0, y1)}':shortest=1,format=yuv420p`,
    ...codec,
    '-threads',
    '1',
    file,
  ]);
  return file;
}

/** n specs that cycle through the 24 classes with varied sizes, rates, lengths and containers. */
export function clipSpecs(n: number, seed: number): ClipSpec[] {
  const r = rng(seed);
  const sizes = [
    [96, 72],
    [128, 96],
    [80, 80],
    [160, 90],
    [72, 96],
    [112, 112],
  ] as const;
  const rates = [8, 12, 24, 30];
  return Array.from({ length: n }, (_, i) => {
    const [color, direction] = CLASSES[(i * 7 + seed) % CLASSES.length]!;
    const [width, height] = sizes[Math.floor(r() * sizes.length)]!;
    return {
      color,
      direction,
      width,
      height,
      fps: rates[Math.floor(r() * rates.length)]!,
      seconds: Math.round((1 + r() * 5) * 10) / 10,
      format: i % 2 === 0 ? 'mp4' : 'webm',
      seed: seed * 1000 + i,
    };
  });
}
