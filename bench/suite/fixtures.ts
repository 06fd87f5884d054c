/**
 * The suite's inputs, made once and shared by every contender: the bench-size models (built by
 * tools/shapes/make.py --bench when missing) and image folders rendered from the shapes world.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLASSES, encode, renderShape } from '../../tools/shapes/render.js';
import type { Fixtures } from './types.js';

const MODELS = { clip: 'clip-vit-b32', vlm: 'vlm-smol' } as const;

/** Builds whichever bench-size models are missing (about a minute, 2.1 GB, under nice). */
export function ensureModels(
  root: string,
  which: readonly ('clip' | 'vlm')[],
  log: (m: string) => void,
): void {
  const missing = which.filter((k) => !existsSync(join(root, 'models-bench', MODELS[k], 'config.json')));
  if (missing.length === 0) return;
  log(`building bench-size models: ${missing.join(', ')} (tools/shapes/make.py --bench)`);
  execFileSync(
    'nice',
    ['-n', '10', '/usr/bin/python3', 'tools/shapes/make.py', '--bench', '--only', missing.join(',')],
    { cwd: root, stdio: 'inherit' },
  );
}

async function folder(
  dir: string,
  count: number,
  make: (i: number) => Promise<Uint8Array>,
  ext: string,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const have = new Set(await readdir(dir));
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${String(i).padStart(3, '0')}.${ext}`;
    const f = join(dir, name);
    if (!have.has(name)) await writeFile(f, await make(i));
    files.push(f);
  }
  return files;
}

/** Photo-like: one shape on a noisy background, so codecs and resizes cost what photos cost. */
const render = (i: number, w: number, h: number) => {
  const [color, shape] = CLASSES[i % CLASSES.length]!;
  return renderShape(1000 + i, w, h, color, shape, i % 2 ? 'noise' : 'gradient');
};

export async function ensureFixtures(root: string): Promise<Fixtures> {
  const base = join(root, 'models-bench', 'fixtures');
  return {
    clipModel: join(root, 'models-bench', MODELS.clip),
    vlmModel: join(root, 'models-bench', MODELS.vlm),
    png640: await folder(join(base, 'png-640x480'), 64, (i) => encode(render(i, 640, 480), 'png'), 'png'),
    jpeg640: await folder(join(base, 'jpeg-640x480'), 64, (i) => encode(render(i, 640, 480), 'jpeg'), 'jpg'),
    jpeg12mp: await folder(join(base, 'jpeg-12mp'), 4, (i) => encode(render(i, 4000, 3000), 'jpeg'), 'jpg'),
  };
}
