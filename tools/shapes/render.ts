/**
 * A TypeScript renderer of the shapes world (tools/shapes/render.py's geometry and colours),
 * so tests can classify freshly rendered images — other seeds, sizes and backgrounds than the
 * training set — without Python on the test machine.
 */
import sharp from 'sharp';

export const COLORS = {
  red: [220, 30, 35],
  green: [35, 160, 55],
  blue: [35, 70, 225],
  yellow: [240, 205, 20],
  purple: [135, 45, 175],
  orange: [250, 135, 20],
} as const satisfies Record<string, readonly [number, number, number]>;
export type Color = keyof typeof COLORS;
export const SHAPES = ['circle', 'square', 'triangle', 'star'] as const;
export type Shape = (typeof SHAPES)[number];
export const CLASSES: ReadonlyArray<readonly [Color, Shape]> = (Object.keys(COLORS) as Color[]).flatMap((c) =>
  SHAPES.map((s) => [c, s] as const),
);

export interface RenderedShape {
  readonly color: Color;
  readonly shape: Shape;
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
  readonly background: 'plain' | 'noise' | 'gradient';
}

/** mulberry32: small, seedable, good enough for scene sampling. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function polygon(shape: Shape, cx: number, cy: number, r: number, rotDeg: number): Array<[number, number]> {
  let a0 = (rotDeg * Math.PI) / 180;
  let n: number;
  let radii: number[];
  if (shape === 'square') {
    n = 4;
    radii = [r];
    a0 += Math.PI / 4;
  } else if (shape === 'triangle') {
    n = 3;
    radii = [r];
    a0 -= Math.PI / 2;
  } else {
    n = 10;
    radii = [r, r * 0.42];
    a0 -= Math.PI / 2;
  }
  return Array.from({ length: n }, (_, i) => {
    const rr = radii[i % radii.length]!;
    const a = a0 + (2 * Math.PI * i) / n;
    return [cx + rr * Math.cos(a), cy + rr * Math.sin(a)] as [number, number];
  });
}

function inside(poly: Array<[number, number]>, x: number, y: number): boolean {
  let c = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i]!;
    const [xj, yj] = poly[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) c = !c;
  }
  return c;
}

export function renderShape(
  seed: number,
  width: number,
  height: number,
  color: Color,
  shape: Shape,
  background: 'plain' | 'noise' | 'gradient' = 'plain',
): RenderedShape {
  const rand = rng(seed);
  const uni = (lo: number, hi: number) => lo + (hi - lo) * rand();
  const int = (lo: number, hi: number) => Math.floor(uni(lo, hi + 1));
  const side = Math.min(width, height);
  const ox = (width - side) / 2;
  const oy = (height - side) / 2;
  const radius = side * uni(0.18, 0.42);
  const margin = radius + 1;
  const cx = ox + uni(margin, Math.max(margin, side - margin));
  const cy = oy + uni(margin, Math.max(margin, side - margin));
  const light = (lo: number) => {
    const base = int(lo, 255);
    return [0, 1, 2].map(() => Math.min(255, Math.max(lo - 10, base + int(-14, 14))));
  };
  const bg1 = light(205);
  const bg2 = light(190);
  const jitter = [0, 1, 2].map(() => int(-18, 18));
  const noise = background === 'noise' ? uni(3, 12) : 0;
  const fg = COLORS[color].map((v, i) => Math.min(255, Math.max(0, v + jitter[i]!)));
  const poly = shape === 'circle' ? [] : polygon(shape, cx, cy, radius, uni(0, 360));
  const rr = radius * 0.9;
  const ss = 3;
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let cover = 0;
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const px = x + (sx + 0.5) / ss;
          const py = y + (sy + 0.5) / ss;
          const hit = shape === 'circle' ? (px - cx) ** 2 + (py - cy) ** 2 <= rr * rr : inside(poly, px, py);
          if (hit) cover++;
        }
      }
      const alpha = cover / (ss * ss);
      const t = background === 'gradient' ? x / Math.max(1, width - 1) : 0;
      for (let c = 0; c < 3; c++) {
        const bg = bg1[c]! * (1 - t) + bg2[c]! * t;
        let v = bg * (1 - alpha) + fg[c]! * alpha;
        if (noise > 0) v += noise * gaussian(rand);
        rgb[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return { color, shape, width, height, rgb, background };
}

function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

export async function encode(img: RenderedShape, format: 'png' | 'jpeg' | 'webp' = 'png'): Promise<Buffer> {
  const s = sharp(Buffer.from(img.rgb), { raw: { width: img.width, height: img.height, channels: 3 } });
  return format === 'png'
    ? s.png().toBuffer()
    : format === 'jpeg'
      ? s.jpeg({ quality: 90 }).toBuffer()
      : s.webp({ quality: 90 }).toBuffer();
}

/** A held-out set: every class, varied sizes (incl. non-square) and backgrounds, a fixed seed. */
export function heldOutSet(seed: number, perClass = 1): RenderedShape[] {
  const rand = rng(seed);
  const sizes: Array<[number, number]> = [
    [48, 48],
    [80, 64],
    [128, 128],
    [200, 120],
    [96, 160],
    [64, 64],
  ];
  const backgrounds = ['plain', 'noise', 'gradient'] as const;
  const out: RenderedShape[] = [];
  let k = 0;
  for (let p = 0; p < perClass; p++) {
    for (const [color, shape] of CLASSES) {
      const [w, h] = sizes[Math.floor(rand() * sizes.length)]!;
      out.push(renderShape(seed * 7919 + k++, w, h, color, shape, backgrounds[k % backgrounds.length]!));
    }
  }
  return out;
}
