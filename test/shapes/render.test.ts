/**
 * Freshly rendered images from the Python renderer CLI (tools/shapes/render.py): other seeds,
 * a non-square size and the held-out gradient backgrounds. The tiny CLIP labels them through
 * @huggingface/transformers. Skipped where Debian's python3 with Pillow and numpy is absent.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { env, pipeline } from '@huggingface/transformers';
import { afterAll, describe, expect, it } from 'vitest';
import { MODELS, REPO, type SampleLabels } from './reference.js';

const PY = '/usr/bin/python3';
const hasPython =
  existsSync(PY) && spawnSync(PY, ['-c', 'import PIL, numpy'], { stdio: 'ignore' }).status === 0;

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = `${MODELS}/`;

const dir = mkdtempSync(join(tmpdir(), 'shapes-render-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!hasPython)('render.py CLI', () => {
  it('writes N images of the requested size and a labels.json, deterministically', () => {
    const run = (out: string) =>
      spawnSync(
        PY,
        [
          'tools/shapes/render.py',
          '--seed',
          '31337',
          '--size',
          '120x80',
          '--count',
          '24',
          '--background',
          'any',
          '--out',
          out,
        ],
        { cwd: REPO, encoding: 'utf8' },
      );
    const r = run(join(dir, 'a'));
    expect(r.status, r.stderr).toBe(0);
    run(join(dir, 'b'));
    const labels = JSON.parse(readFileSync(join(dir, 'a', 'labels.json'), 'utf8')) as SampleLabels;
    expect(labels.images).toHaveLength(24);
    for (const im of labels.images) {
      expect([im.width, im.height]).toEqual([120, 80]);
      expect(im.caption).toBe(`${im.color === 'orange' ? 'an' : 'a'} ${im.color} ${im.shape}`);
      expect(readFileSync(join(dir, 'a', im.file)).equals(readFileSync(join(dir, 'b', im.file)))).toBe(true);
    }
    // balanced: every colour-shape class exactly once
    expect(new Set(labels.images.map((im) => `${im.color} ${im.shape}`)).size).toBe(24);
  });

  it('the tiny CLIP labels freshly rendered images (>= 90% zero-shot over 24 classes)', async () => {
    const labels = JSON.parse(readFileSync(join(dir, 'a', 'labels.json'), 'utf8')) as SampleLabels;
    const classes = ['red', 'green', 'blue', 'yellow', 'purple', 'orange'].flatMap((c) =>
      ['circle', 'square', 'triangle', 'star'].map((s) => `${c} ${s}`),
    );
    const clf = await pipeline('zero-shot-image-classification', 'shapes-clip', {
      dtype: 'fp32',
      session_options: { intraOpNumThreads: 1 },
    });
    let correct = 0;
    for (const im of labels.images) {
      const [top] = (await clf(join(dir, 'a', im.file), classes)) as Array<{ label: string }>;
      if (top!.label === `${im.color} ${im.shape}`) correct++;
    }
    expect(correct / labels.images.length).toBeGreaterThanOrEqual(0.9);
    await clf.dispose();
  });
});
