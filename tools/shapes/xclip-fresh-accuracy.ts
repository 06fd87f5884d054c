/**
 * The tiny X-CLIP on fresh clips drawn by ffmpeg (test/video/shape-clips.ts: squares and discs,
 * mp4 and webm, 1-6 s, 8-30 fps, several sizes), through loadXclip + rankTexts, as the tests do
 * but on more clips: `node --import tsx tools/shapes/xclip-fresh-accuracy.ts [count] [seed]`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadXclip } from '../../src/node/index.js';
import { LABELS, clipSpecs, label, renderClip } from '../../test/video/shape-clips.js';
const dir = mkdtempSync(join(tmpdir(), 'acc-'));
const specs = clipSpecs(Number(process.argv[2] ?? 72), Number(process.argv[3] ?? 99));
const m = await loadXclip({ model: 'models/shapes-xclip', platform: 'cpu' });
const by: Record<string, [number, number]> = {};
let right = 0,
  color = 0,
  dirn = 0;
for (const [i, s] of specs.entries()) {
  const f = await renderClip(s, join(dir, `c${i}.${s.format}`));
  const top = (await m.rankTexts(f, LABELS)).labels[0]!.label;
  const ok = top === label(s.color, s.direction);
  right += +ok;
  color += +top.includes(` ${s.color} `);
  dirn += +top.endsWith(s.direction);
  const k = s.format;
  by[k] ??= [0, 0];
  by[k]![0] += +ok;
  by[k]![1]++;
}
console.log(
  JSON.stringify({
    n: specs.length,
    all: right / specs.length,
    color: color / specs.length,
    direction: dirn / specs.length,
    by,
  }),
);
await m.dispose();
rmSync(dir, { recursive: true, force: true });
